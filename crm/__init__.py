"""The stakeholder tracker: `create_app` builds and wires the Flask application."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, g, has_request_context, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from crm import i18n
from crm import requests as crm_requests
from crm.config import Config, from_environment
from crm.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate
from crm.i18n import lazy_gettext as _l
from crm.security import init_security_headers

ROOT = Path(__file__).resolve().parent.parent

# Reachable without signing in; everything else requires an active user (tested on url_map).
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "auth.login_code",  # the second factor, asked before the session is signed in
        "main.healthz",
        "static",
        "bootstrap.static",
        "calendar.feed",
    }
)
# What a user whose role requires a second factor may open before setting one up.
TWO_FACTOR_SETUP_ENDPOINTS = frozenset({"auth.two_factor", "auth.logout"})


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless asked; WAL lets readers work during a write; the
    planner's statistics are kept fresh."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # SQLite's advice for long-lived connections: refresh the planner's statistics where
        # they are stale, bounded in cost (from 3.46 it checks every table; the worker also
        # runs `PRAGMA optimize` daily).
        cursor.execute("PRAGMA analysis_limit = 400")
        cursor.execute("PRAGMA optimize = 0x10002")
        cursor.close()


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the application. Makes no queries and runs no migrations (deploys do)."""
    config_class = config_class or from_environment()
    config_class.validate()
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(config_class)
    # Before any route is added: the id-sized `int` converter, and the request id.
    crm_requests.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # The report queries are short-lived: PostgreSQL's JIT spent 90–700 ms compiling each
        # one to save a few (a year's report: 2.8 s with it, 1.1 s without).
        # A CRM's database stays in memory (2 GB at 300,000 interactions): a random page costs
        # about what a sequential one does, not the 4 times of PostgreSQL's default, which is
        # priced for spinning disks. At 4 the planner read all 80,000 stakeholders to join 500
        # positions to their employers (33 ms; 6 ms by index) and scanned every person to
        # match 500 phone numbers during an import. 1.1 is PostgreSQL's usual advice for SSDs.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("options", "-c jit=off -c random_page_cost=1.1")
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": connect_args}

    db.init_app(app)
    from crm.services import sector_masks

    sector_masks.init_app(app)  # the stored sector masks follow every ORM write
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(ROOT / "crm" / "translations"),
    )
    i18n.init_app(app)  # after Babel, whose template callables it replaces
    _init_login(app)
    init_security_headers(app)
    if app.config["PROXY_FIX_X_FOR"]:
        # Flask's documented way to wrap the WSGI app, which mypy sees as replacing a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1, x_host=1
        )

    _register_blueprints(app)
    from crm.blueprints.template_helpers import register_template_helpers

    register_template_helpers(app)

    from crm.cli import crm as crm_cli

    app.cli.add_command(crm_cli)
    return app


def _select_locale() -> str | None:
    languages = list(Config.LANGUAGES)
    if not has_request_context():
        return None  # the command line: the default locale
    api_user = g.get("api_user")  # the JSON API's token user (crm.api.auth)
    if api_user is not None:
        return str(api_user.locale)
    if current_user and current_user.is_authenticated:
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or "en"


def _init_login(app: Flask) -> None:
    from datetime import timedelta

    from flask import flash, redirect, url_for
    from flask_login import login_url

    from crm.blueprints.auth import sessions
    from crm.i18n import gettext as _
    from crm.services import accounts, two_factor

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    # "basic" marks a session non-fresh when the address changes (mobile networks do);
    # revocation works through the session token in the user id.
    login_manager.session_protection = "basic"
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(
        days=app.config["REMEMBER_COOKIE_DURATION_DAYS"]
    )
    login_manager.user_loader(accounts.load_session_user)
    # Before require_login: an idle session is signed out before anyone reads the user.
    sessions.init_idle_sessions(app)

    @app.before_request
    def require_login() -> Any:
        if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.blueprint == "api" or request.endpoint.startswith("api."):
            return None  # the API authenticates with bearer tokens
        if not current_user.is_authenticated:
            if sessions.expired():  # the sign-in page says why, once
                return redirect(login_url(login_manager.login_view, request.url))
            return login_manager.unauthorized()
        if (
            request.endpoint not in TWO_FACTOR_SETUP_ENDPOINTS
            and not current_user.has_two_factor
            and two_factor.is_required(current_user, app.config["REQUIRE_2FA_ROLES"])
        ):
            flash(_("Your role requires two-factor sign-in. Set it up to continue."), "warning")
            return redirect(url_for("auth.two_factor"))
        return None


def _register_blueprints(app: Flask) -> None:
    from crm.blueprints import (
        activities,
        admin,
        auth,
        calendar,
        duplicates,
        errors,
        follow_ups,
        imports,
        interactions,
        jobs,
        main,
        organisations,
        people,
        reports,
        search,
        stakeholders,
    )

    for module in (
        auth,
        main,
        errors,
        admin,
        organisations,
        people,
        stakeholders,
        search,
        duplicates,
        interactions,
        follow_ups,
        calendar,
        imports,
        jobs,
        activities,
        reports,
    ):
        app.register_blueprint(module.bp)

    from crm.blueprints import personal_data

    app.register_blueprint(personal_data.bp)  # issue #11: subject access, erasure, retention

    from crm import api

    api.init_app(app)  # /api/v1: bearer tokens, JSON, described by /api/v1/openapi.json
