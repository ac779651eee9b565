"""The stakeholder tracker: `create_app` builds and wires the Flask application."""

from __future__ import annotations

import sqlite3
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from flask import Flask, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from crm.access import Permission, can
from crm.config import Config, from_environment
from crm.extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent

# Reachable without signing in; everything else requires an active user (tested on url_map).
PUBLIC_ENDPOINTS = frozenset(
    {"auth.login", "main.healthz", "static", "bootstrap.static", "calendar.feed"}
)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless asked; WAL lets readers work during a write."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
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
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(ROOT / "crm" / "translations"),
    )
    _init_login(app)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1, x_host=1
        )

    _register_blueprints(app)
    _init_templates(app)

    from crm.cli import crm as crm_cli

    app.cli.add_command(crm_cli)
    return app


def _select_locale() -> str | None:
    languages = list(Config.LANGUAGES)
    if not has_request_context():
        return None  # the command line: the default locale
    if current_user and current_user.is_authenticated:
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or "en"


def _init_login(app: Flask) -> None:
    from datetime import timedelta

    from crm.services import accounts

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

    @app.before_request
    def require_login() -> Any:
        if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.blueprint == "api" or request.endpoint.startswith("api."):
            return None  # the API authenticates with bearer tokens
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
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
        activities,
        reports,
    ):
        app.register_blueprint(module.bp)


def _url_with(**changes: Any) -> str:
    """The current page's URL with some query parameters changed (sorting, paging)."""
    from flask import url_for

    args = {**request.args.to_dict(), **changes}
    return url_for(request.endpoint, **(request.view_args or {}), **args)  # type: ignore[arg-type]


def _duplicate_reason(reason: str) -> str:
    from flask_babel import gettext as _

    return {
        "email": _("same email"),
        "phone": _("same phone"),
        "wechat": _("same WeChat ID"),
        "name": _("same name"),
        "chinese_name": _("same Chinese name"),
    }.get(reason, reason)


_RELATIONSHIP_FIELDS = frozenset(
    {"relationship", "relationship_ended", "inverse_relationship", "inverse_relationship_ended"}
)


class _Column(NamedTuple):
    enum: type[StrEnum] | None  # an enum column's enum
    refers_to: str | None  # the table a foreign key column points at


@cache
def _columns() -> dict[str, dict[str, _Column]]:
    """Per audited table, what the history needs to know of each of its columns."""
    from crm.extensions import db

    found: dict[str, dict[str, _Column]] = {}
    for mapper in db.Model.registry.mappers:
        table = getattr(mapper.class_, "__tablename__", None)
        if table is None:
            continue
        found[table] = {
            column.key: _Column(
                getattr(column.type, "enum_class", None),
                next((fk.column.table.name for fk in column.foreign_keys), None),
            )
            for column in mapper.columns
        }
    return found


def _record_name(table: str, value: Any) -> str | None:
    """The name of the user, stakeholder or activity a recorded id points at (None when
    the id is not one of those, or the record is gone)."""
    from crm.extensions import db
    from crm.models import Activity, Stakeholder, User

    models = {
        "users": User,
        "stakeholders": Stakeholder,
        "organisations": Stakeholder,
        "people": Stakeholder,
        "activities": Activity,
    }
    model = models.get(table)
    if model is None or isinstance(value, bool) or not str(value).isdigit():
        return None
    found = db.session.get(model, int(value))  # the identity map: one query per record
    if found is None:
        return None
    if isinstance(found, User):
        return found.name
    return found.display_name if isinstance(found, Stakeholder) else found.title


def _change_text(value: Any, field: str | None = None, entity_type: str | None = None) -> str:
    """A recorded value for the history, with relationship texts in words.

    The audit trail stores "supplier_to X" on the source and "Y supplier_to" on the target
    (crm.services.stakeholders); they read "supplier to X" and "Y — supplier to this
    organisation". An enum column's value is its label; an id of a user, stakeholder or
    activity is that record's name; a free-text column's value is itself (a unit "people" is
    not the import kind "People"); other recorded values (lists, derived fields) take the
    label of any enum value they equal.
    """
    from crm.models import RelationshipType, label

    if not isinstance(value, str) or field not in _RELATIONSHIP_FIELDS:
        column = _columns().get(entity_type or "", {}).get(field or "")
        if column is None:
            return label(value)
        if column.refers_to is not None:
            return _record_name(column.refers_to, value) or label(value)
        if not isinstance(value, str):
            return label(value)
        if column.enum is None:
            return value
        try:
            return label(column.enum(value))
        except ValueError:
            return value
    kinds = {t.value for t in RelationshipType}
    if field.startswith("inverse_"):
        name, _space, kind = value.rpartition(" ")
        if name and kind in kinds:
            return f"{name} — {_this_record(label(kind), entity_type)}"
    else:
        kind, _space, name = value.partition(" ")
        if name and kind in kinds:
            return f"{label(kind)} {name}"
    return value


def _this_record(relationship: str, entity_type: str | None) -> str:
    """'supervised by this organisation': a relationship that points at the record shown."""
    from flask_babel import gettext as _

    if entity_type in ("organisation", "organisations"):
        return _("%(relationship)s this organisation", relationship=relationship)
    if entity_type in ("person", "people"):
        return _("%(relationship)s this person", relationship=relationship)
    return _("%(relationship)s this record", relationship=relationship)


# What a "created" entry in a history shows first: what the record is, then how to reach it.
_CREATED_FIRST = (
    "org_type",
    "sector",
    "city",
    "province",
    "job_title",
    "email",
    "phone",
    "type",
    "channel",
    "start_on",
    "due_on",
    "priority",
)
_CREATED_NEVER = frozenset(
    {"display_name", "chinese_name", "family_name", "given_name", "title", "subject", "name"}
    | {"notes", "summary", "outcome", "description", "details", "consent_source"}
)


def _created_summary(changes: Any, limit: int = 4) -> list[tuple[str, Any]]:
    """A few (field, value) pairs of a create event, for a one-line summary in a history.

    Names are left out (the page shows them), and so are long texts, ids and yes/no flags.
    """
    if not isinstance(changes, dict):
        return []
    values = {
        name: pair[1]
        for name, pair in changes.items()
        if isinstance(pair, list | tuple)
        and len(pair) == 2
        and pair[1] not in (None, "", [])
        and not isinstance(pair[1], bool)
        and name not in _CREATED_NEVER
        and not name.endswith("_id")
    }
    ordered = [n for n in _CREATED_FIRST if n in values] + [
        n for n in values if n not in _CREATED_FIRST
    ]
    return [(name, values[name]) for name in ordered[:limit]]


def _stakeholder_url(stakeholder: Any) -> str:
    """The detail page of an organisation or a person."""
    from flask import url_for

    if str(getattr(stakeholder.kind, "value", stakeholder.kind)) == "person":
        return url_for("people.detail", person_id=stakeholder.id)
    return url_for("organisations.detail", organisation_id=stakeholder.id)


def _init_templates(app: Flask) -> None:
    from crm import models
    from crm.labels import field_label

    app.jinja_env.filters["label"] = models.label
    app.jinja_env.filters["change_text"] = _change_text
    app.jinja_env.filters["created_summary"] = _created_summary
    app.jinja_env.globals["this_record"] = _this_record
    app.jinja_env.globals["stakeholder_url"] = _stakeholder_url
    app.jinja_env.filters["field_label"] = field_label
    app.jinja_env.filters["duplicate_reason"] = _duplicate_reason
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )
    app.jinja_env.filters["date"] = lambda value, fmt="medium": (
        format_date(value, fmt) if value else ""
    )
    app.jinja_env.globals["url_with"] = _url_with
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["Permission"] = Permission
    app.jinja_env.globals["E"] = models  # enums for filters: E.Sector, E.OrgType, ...
    app.jinja_env.globals["can"] = lambda permission: can(current_user, permission)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
