"""The filters and globals every template can use; `register_template_helpers` installs them."""

from __future__ import annotations

from typing import Any

from flask import Flask, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from crm import models
from crm.access import Permission, can
from crm.blueprints.history import change_text, created_summary, this_record
from crm.labels import field_label


def url_with(**changes: Any) -> str:
    """The current page's URL with some query parameters changed (sorting, paging)."""
    args = {**request.args.to_dict(), **changes}
    endpoint = request.endpoint
    assert endpoint is not None  # used by list and detail pages, which a route matched
    return url_for(endpoint, **(request.view_args or {}), **args)


def duplicate_reason(reason: str) -> str:
    return {
        "email": _("same email"),
        "phone": _("same phone"),
        "wechat": _("same WeChat ID"),
        "name": _("same name"),
        "chinese_name": _("same Chinese name"),
        "organisation": _("same organisation"),
    }.get(reason, reason)


def stakeholder_url(stakeholder: Any) -> str:
    """The detail page of an organisation or a person."""
    if str(getattr(stakeholder.kind, "value", stakeholder.kind)) == "person":
        return url_for("people.detail", person_id=stakeholder.id)
    return url_for("organisations.detail", organisation_id=stakeholder.id)


def format_datetime_filter(value: Any, fmt: str = "medium") -> str:
    return format_datetime(value, fmt) if value else ""


def format_date_filter(value: Any, fmt: str = "medium") -> str:
    return format_date(value, fmt) if value else ""


def register_template_helpers(app: Flask) -> None:
    """Install the filters, globals and Jinja settings the templates rely on."""
    app.jinja_env.filters["label"] = models.label
    app.jinja_env.filters["change_text"] = change_text
    app.jinja_env.filters["created_summary"] = created_summary
    app.jinja_env.globals["this_record"] = this_record
    app.jinja_env.globals["stakeholder_url"] = stakeholder_url
    app.jinja_env.filters["field_label"] = field_label
    app.jinja_env.filters["duplicate_reason"] = duplicate_reason
    app.jinja_env.filters["datetime"] = format_datetime_filter
    app.jinja_env.filters["date"] = format_date_filter
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["Permission"] = Permission
    app.jinja_env.globals["E"] = models  # enums for filters: E.Sector, E.OrgType, ...
    app.jinja_env.globals["can"] = lambda permission: can(current_user, permission)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
