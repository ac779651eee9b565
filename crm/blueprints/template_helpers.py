"""The filters and globals every template can use; `register_template_helpers` installs them."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from crm import models, provinces
from crm.access import Permission, can
from crm.blueprints.history import change_text, created_summary, this_record
from crm.forms import DATE_MESSAGE, DATETIME_MESSAGE
from crm.i18n import gettext as _
from crm.labels import field_label
from crm.services import clock, personal_data


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


def format_datetime_filter(value: Any, style: str = "datetime") -> str:
    """`{{ moment|datetime }}`: "1 Dec 2026, 09:30" (crm.services.clock.display)."""
    return clock.display(value, style) if value else ""


def format_date_filter(value: Any, style: str = "date") -> str:
    """`{{ day|date }}`: "1 Dec 2026"; `|date('month_long')` and the other named styles of
    crm.services.clock.STYLES. A moment given a date style shows its day in the programme's
    time zone."""
    return clock.display(value, style) if value else ""


def province_name(value: str | None) -> str:
    """`{{ organisation.province|province }}`: "Guangdong" or "广东" (crm.provinces); text no
    rule could read as a province shows as it was typed."""
    return provinces.name_of(value, str(get_locale() or "en"))


def province_choices() -> list[tuple[str, str]]:
    """(code, name) of every province in the reader's language and order, for filters."""
    return provinces.choices(str(get_locale() or "en"))


def date_box_type(text: str | None) -> str:
    """The type of a hand-written date box holding `text`: "date" for a date or nothing,
    "text" for anything else (2026-02-30, 20260301), which a date box would show empty
    (crm.forms.DateInput does the same for form fields)."""
    if not text:
        return "date"
    try:
        return "date" if date.fromisoformat(text).isoformat() == text else "text"
    except ValueError:
        return "text"


def stakeholder_name(stakeholder: Any) -> str:
    """The name a stakeholder is shown by: an erased person's in the reader's language (it is
    stored as an English placeholder, crm.services.personal_data.erased_name). Told by that
    placeholder rather than by `erased_at`: a person loaded as a stakeholder (the people of an
    interaction) has only the shared columns, and reading `erased_at` would cost a query."""
    if stakeholder.display_name == personal_data.erased_name(stakeholder.id):
        return _("Erased person #%(id)d", id=stakeholder.id)
    return str(stakeholder.display_name)


def register_template_helpers(app: Flask) -> None:
    """Install the filters, globals and Jinja settings the templates rely on."""
    app.jinja_env.filters["label"] = models.label
    app.jinja_env.filters["name"] = stakeholder_name
    app.jinja_env.filters["change_text"] = change_text
    app.jinja_env.filters["created_summary"] = created_summary
    app.jinja_env.globals["this_record"] = this_record
    app.jinja_env.globals["stakeholder_url"] = stakeholder_url
    app.jinja_env.filters["field_label"] = field_label
    app.jinja_env.filters["duplicate_reason"] = duplicate_reason
    app.jinja_env.filters["datetime"] = format_datetime_filter
    app.jinja_env.filters["date"] = format_date_filter
    app.jinja_env.globals["date_box_type"] = date_box_type
    app.jinja_env.filters["province"] = province_name
    app.jinja_env.globals["province_choices"] = province_choices
    # For static/js/dates.js (templates/base.html): what a date box says when it holds a day
    # that does not exist, the same words as the server's (crm.forms).
    app.jinja_env.globals["date_messages"] = {
        "date": DATE_MESSAGE,
        "datetime-local": DATETIME_MESSAGE,
    }
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["Permission"] = Permission
    app.jinja_env.globals["E"] = models  # enums for filters: E.Sector, E.OrgType, ...
    app.jinja_env.globals["can"] = lambda permission: can(current_user, permission)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
