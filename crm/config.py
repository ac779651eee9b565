"""Configuration classes. Secrets and locations come only from the environment."""

from __future__ import annotations

import os
import tempfile
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
    # hide_parameters: a failed statement's error (and so the log of a 500) shows its SQL but
    # not the values, which may be names, phone numbers or emails.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True, "hide_parameters": True}
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
    # Production refuses the per-process memory store unless told it runs one process.
    SINGLE_PROCESS = _bool("SINGLE_PROCESS")
    # Failed sign-ins (wrong password or wrong second-factor code), counted per account and
    # address pair, per address, and per account from browsers that have never signed in to
    # it (crm.blueprints.auth.throttle). One address alone cannot reach the account limit, so
    # a stranger cannot lock the owner out; a browser the owner signed in with before is
    # never held by the account limit.
    LOGIN_FAILURE_LIMIT = "5 per minute;20 per hour"
    LOGIN_ADDRESS_LIMIT = "10 per minute;100 per hour"
    LOGIN_ACCOUNT_LIMIT = "30 per hour"
    KNOWN_BROWSER_DAYS = 365

    # Sessions end after this long without a request (a remembered browser signs in again).
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "120"))
    # Roles that must use two-factor sign-in, comma-separated (e.g. "admin,manager").
    REQUIRE_2FA_ROLES = tuple(
        role.strip().lower()
        for role in os.environ.get("REQUIRE_2FA_ROLES", "").split(",")
        if role.strip()
    )
    # The name authenticator apps show beside the account.
    TWO_FACTOR_ISSUER = os.environ.get("TWO_FACTOR_ISSUER", "RBC Stakeholder Tracker")

    REMEMBER_COOKIE_DURATION_DAYS = 30
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Strict-Transport-Security (crm.security): production only, and only on https requests.
    HSTS_ENABLED = False
    HSTS_MAX_AGE = int(os.environ.get("HSTS_MAX_AGE", str(365 * 24 * 3600)))

    # Number of reverse proxies in front of the app (nginx: 1). 0 means none.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))

    PER_PAGE = 50

    # Background jobs (crm.jobs), run by `flask --app wsgi crm worker`. The queue lives in a
    # SQLite file next to the database by default (nothing to install, one machine); with
    # several machines every web process and worker must share one queue: redis://host:6379/0.
    # JOB_QUEUE_IMMEDIATE runs each job inline, in the request that asks for it (tests).
    JOB_QUEUE_URL = os.environ.get("JOB_QUEUE_URL") or default_job_queue_url()
    JOB_QUEUE_IMMEDIATE = _bool("JOB_QUEUE_IMMEDIATE")

    # List exports (crm.blueprints.reports.list_exports): one of up to EXPORT_INLINE_ROWS rows
    # streams inside its request (under a second or so); a larger one is written by the
    # worker to EXPORT_DIR/<job id>/ while its page shows the progress, then
    # downloaded from there by the person who asked for it. The daily purge removes a file
    # with its job's record (crm.jobs).
    EXPORT_INLINE_ROWS = int(os.environ.get("EXPORT_INLINE_ROWS", "5000"))
    EXPORT_DIR = os.environ.get("EXPORT_DIR") or str(INSTANCE_DIR / "exports")

    # Imports (crm.services.imports): the largest file accepted. A request may be a little
    # larger (the form around the file); anything beyond gets the 413 page, never a 500.
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
    # An upload of up to this many rows is checked inside its request (under half a second);
    # a larger one by the worker, while its page shows how far it has got.
    IMPORT_CHECK_INLINE_ROWS = int(os.environ.get("IMPORT_CHECK_INLINE_ROWS", "500"))
    MAX_CONTENT_LENGTH = IMPORT_MAX_BYTES + 1024 * 1024
    # An upload is read inside the web request (crm.services.imports.reading.Limits), so
    # these bound what one request may cost: about 5 s and 200 MB at the defaults. A workbook
    # is refused before it is parsed when its parts unpack to more than
    # IMPORT_MAX_UNPACKED_BYTES in all (openpyxl reads about 6 MB of sheet XML a second), or
    # when a part over 1 MB unpacks to more than IMPORT_MAX_COMPRESSION_RATIO times its
    # packed size (spreadsheets compress 5 to 30 times; a zip bomb thousands of times).
    # Reading stops with a message at IMPORT_MAX_ROWS data rows, IMPORT_MAX_COLUMNS columns
    # or a cell of more than IMPORT_MAX_CELL_CHARS characters (Excel's own limit).
    IMPORT_MAX_UNPACKED_BYTES = int(
        os.environ.get("IMPORT_MAX_UNPACKED_BYTES", str(32 * 1024 * 1024))
    )
    IMPORT_MAX_COMPRESSION_RATIO = int(os.environ.get("IMPORT_MAX_COMPRESSION_RATIO", "100"))
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "20000"))
    IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", "200"))
    IMPORT_MAX_CELL_CHARS = int(os.environ.get("IMPORT_MAX_CELL_CHARS", "32767"))

    # Backups (crm.services.backup): where "Back up now" on /admin/backups and `crm backup`
    # without a FILE write, and what that page lists. Copy them off the machine as well.
    BACKUP_DIR = os.environ.get("BACKUP_DIR") or str(INSTANCE_DIR / "backups")

    # Personal data (issue #11). RETENTION_YEARS: a person with no activity for that many
    # years is anonymised by `crm retention` unless an administrator exempted them.
    # CROSS_BORDER_THRESHOLD: people a year whose personal data may go in exports "for
    # headquarters" before a formal transfer assessment is due (PIPL's exemption: 100,000).
    RETENTION_YEARS = int(os.environ.get("RETENTION_YEARS", "3"))
    CROSS_BORDER_THRESHOLD = int(os.environ.get("CROSS_BORDER_THRESHOLD", "100000"))

    # The JSON API (issue #12): requests a token may make, in flask-limiter's notation.
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")

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
        """Refuse to start with an unsafe configuration; the base class checks only names."""
        from crm.access import Role

        unknown = sorted(set(cls.REQUIRE_2FA_ROLES) - {role.value for role in Role})
        if unknown:
            raise RuntimeError("REQUIRE_2FA_ROLES names unknown roles: " + ", ".join(unknown))


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
    # Never the real instance/backups; tests that look at backups set a directory of their own.
    BACKUP_DIR = str(Path(tempfile.gettempdir()) / "crm-test-backups")
    # Never the real instance/exports either; tests of large exports set their own.
    EXPORT_DIR = str(Path(tempfile.gettempdir()) / "crm-test-exports")


MIN_SECRET_KEY_BYTES = 32


class ProductionConfig(Config):
    HSTS_ENABLED = True
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")

    @classmethod
    def validate(cls) -> None:
        super().validate()
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                "Production configuration needs these environment variables: " + ", ".join(missing)
            )
        if len((cls.SECRET_KEY or "").encode()) < MIN_SECRET_KEY_BYTES:
            raise RuntimeError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes long; make one with "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        if cls.RATELIMIT_STORAGE_URI.startswith("memory://") and not cls.SINGLE_PROCESS:
            raise RuntimeError(
                "RATELIMIT_STORAGE_URI=memory:// keeps sign-in attempts per process, so each "
                "worker allows its own: set it to a shared store (redis://host:6379/0), or set "
                "SINGLE_PROCESS=1 if the app really runs as one process."
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
