"""Configuration classes. Secrets and locations come only from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from crm.services.clock import PROGRAMME_TIMEZONE

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'crm.sqlite3'}"


def default_job_queue_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'jobs.sqlite3'}"


class Config:
    # None only in production with the variable unset, which `validate` then refuses.
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL") or default_database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Forms: the CSRF token lives as long as the session, so a long edit does not lose work.
    WTF_CSRF_TIME_LIMIT = None

    # Flask-Babel: the user's profile, then Accept-Language, then English.
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = PROGRAMME_TIMEZONE  # crm.services.clock: the one setting
    LANGUAGES = ("en", "zh")

    # Bootstrap-Flask serves its CSS and JS from the installed package: no CDN.
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None

    # Flask-Limiter: memory for one process, Redis to share counts between processes.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_FAILURE_LIMIT = "5 per minute"

    REMEMBER_COOKIE_DURATION_DAYS = 30
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Number of reverse proxies in front of the app (nginx: 1). 0 means none.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))

    PER_PAGE = 50

    # Background jobs (crm.jobs), run by `flask --app wsgi crm worker`. The queue lives in a
    # SQLite file next to the database by default (nothing to install, one machine); with
    # several machines every web process and worker must share one queue: redis://host:6379/0.
    # JOB_QUEUE_IMMEDIATE runs each job inline, in the request that asks for it (tests).
    JOB_QUEUE_URL = os.environ.get("JOB_QUEUE_URL") or default_job_queue_url()
    JOB_QUEUE_IMMEDIATE = _bool("JOB_QUEUE_IMMEDIATE")

    # Imports (crm.services.imports): the largest file accepted. A request may be a little
    # larger (the form around the file); anything beyond gets the 413 page, never a 500.
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
    MAX_CONTENT_LENGTH = IMPORT_MAX_BYTES + 1024 * 1024

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_FROM = os.environ.get("MAIL_FROM", "crm@localhost")
    # The address people open the app at, for links in emails sent by commands.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    @classmethod
    def validate(cls) -> None:
        """Refuse to start with an unsafe configuration; the base class accepts anything."""


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or "sqlite://"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    SERVER_NAME = None
    # Jobs run inline, so a test sees an import done when its request returns; a test that
    # needs a real worker sets this to False and JOB_QUEUE_URL to a file of its own.
    JOB_QUEUE_IMMEDIATE = True


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")

    @classmethod
    def validate(cls) -> None:
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                "Production configuration needs these environment variables: " + ", ".join(missing)
            )


def from_environment() -> type[Config]:
    """Pick the configuration class named by CRM_ENV (development by default)."""
    name = os.environ.get("CRM_ENV", "development").strip().lower()
    classes = {
        "development": DevelopmentConfig,
        "production": ProductionConfig,
        "testing": TestingConfig,
    }
    if name not in classes:
        raise RuntimeError(f"CRM_ENV must be one of {', '.join(classes)}, not {name!r}")
    return classes[name]
