from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user

from crm.access import Permission, can
from crm.blueprints.reports import bp, charts, downloads
from crm.i18n import gettext as _
from crm.services import clock, reporting
from crm.services.errors import InvalidInput, ServiceError
from crm.services.reporting import exports

# The page lists this many high-influence stakeholders not contacted, and level moves; the
# exports hold all of them.
PAGE_LIMIT = 25
MAX_TEXT = 40


@dataclass
class Query:
    """The report's query string, read defensively: what was typed is kept for the form."""

    start: date
    end: date
    start_text: str
    end_text: str
    sector: str = ""
    stakeholder_type: str = ""
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def args(self, **more: Any) -> dict[str, Any]:
        """Query parameters that reproduce this report (for export and preset links)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "sector": self.sector or None,
            "type": self.stakeholder_type or None,
            **more,
        }

    def filters(self) -> dict[str, str]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "sector": self.sector,
            "type": self.stakeholder_type,
        }


def _date(name: str, default: date, errors: list[str]) -> tuple[date, str]:
    text = (request.args.get(name) or "").strip()[:MAX_TEXT]
    if not text:
        return default, default.isoformat()
    try:
        return date.fromisoformat(text), text
    except ValueError:
        errors.append(_("“%(value)s” is not a date: use the form 2026-03-31.", value=text))
        return default, text


def read_query(day: date) -> Query:
    """Dates default to this quarter; an unknown sector or type is ignored with a notice."""
    first, last = reporting.quarter_of(day)
    errors: list[str] = []
    start, start_text = _date("start", first, errors)
    end, end_text = _date("end", last, errors)
    query = Query(start, end, start_text, end_text, errors=errors)
    sector = (request.args.get("sector") or "").strip()[:MAX_TEXT]
    if sector in reporting.SECTORS:
        query.sector = sector
    elif sector:
        query.notices.append(
            _("Unknown sector “%(value)s” ignored: the report covers all sectors.", value=sector)
        )
    kind = (request.args.get("type") or "").strip()[:MAX_TEXT]
    if kind in reporting.TYPES:
        query.stakeholder_type = kind
    elif kind:
        query.notices.append(
            _(
                "Unknown stakeholder type “%(value)s” ignored: the report covers all types.",
                value=kind,
            )
        )
    if not errors:
        try:
            reporting.check_period(start, end)
        except InvalidInput as err:
            errors.append(str(err))
    return query


def _engagement(query: Query, day: date, *, limit: int | None) -> reporting.EngagementReport:
    return reporting.engagement(
        query.start,
        query.end,
        sector=query.sector or None,
        stakeholder_type=query.stakeholder_type or None,
        timezone=clock.zone(),
        today=day,
        not_contacted_limit=limit,
        level_moves_limit=limit,
        # The request has written nothing: the statements may run side by side.
        side_by_side_in=current_app._get_current_object(),  # type: ignore[attr-defined]
    )


def _about(query: Query, day: date) -> exports.Sheet:
    """The first sheet of a whole-report workbook: what the figures are of."""
    rows = [
        (_("Report"), _("Engagement report")),
        (_("Start"), query.start),
        (_("End"), query.end),
        (_("Sector"), reporting.sector_label(query.sector) if query.sector else _("All sectors")),
        (
            _("Stakeholder type"),
            reporting.type_label(query.stakeholder_type) if query.stakeholder_type else _("All"),
        ),
        (_("Produced on"), day),
    ]
    columns = (
        exports.Column(_("Field"), lambda row: row[0], "text", 24),
        exports.Column(_("Value"), lambda row: row[1], "date", 40),
    )
    return exports.Sheet(_("Report"), columns, rows)


def _export(query: Query, fmt: str, day: date) -> Response:
    key = (request.args.get("table") or "").strip()[:MAX_TEXT]
    if key and key not in reporting.TABLE_KEYS:
        raise ServiceError(_("There is no such table in the report."))
    if not key and fmt == "csv":
        raise ServiceError(_("A CSV file holds one table: use the CSV link of the table you need."))
    allowed = can(current_user, Permission.EXPORT_PERSONAL)
    if key in reporting.PERSONAL_TABLE_KEYS and not allowed:
        abort(403)
    # The lists are whole in a file that holds them, and cut as on the page otherwise.
    whole = key in reporting.PERSONAL_TABLE_KEYS if key else allowed
    report = _engagement(query, day, limit=None if whole else PAGE_LIMIT)
    if key:
        chosen = [t for t in reporting.tables(report) if t.key == key]
    else:
        chosen = [t for t in reporting.tables(report) if allowed or not t.personal]
    personal = [t for t in chosen if t.personal]
    # Recorded by `send` once the file exists, never before.
    audit = (
        downloads.check_personal(
            f"report: {', '.join(t.key for t in personal)}",
            query.filters(),
            rows=sum(len(t.rows) for t in personal),
        )
        if personal
        else None
    )
    sheets = [t.as_sheet() for t in chosen]
    if not key:
        sheets.insert(0, _about(query, day))
    base = f"report-{key.replace('_', '-')}" if key else "engagement-report"
    return downloads.send(fmt, base, sheets, period=(query.start, query.end), audit=audit)


@bp.app_template_filter("report_cell")
def report_cell(value: Any, kind: str = "text") -> str:
    """A table cell as the page shows it: the export's text, without the formula guard."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return exports.text_of(value, kind, tz=clock.zone())


@bp.app_template_filter("percent_text")
def percent_text(share: float | None) -> str:
    """A share (0.25) as the report shows it: "25.0 %", or a dash without a base."""
    points = reporting.percent(share)
    return "—" if points is None else f"{points:.1f} %"


@bp.route("")
def index():
    day = clock.today()
    query = read_query(day)
    fmt = downloads.requested_format()
    if fmt:
        if query.errors:
            raise ServiceError(" ".join(query.errors))
        return _export(query, fmt, day)
    context: dict[str, Any] = {
        "query": query,
        "presets": reporting.presets(day),
        "sectors": reporting.SECTORS,
        "types": reporting.stakeholder_types(),
        "today": day,
        "can_export_personal": can(current_user, Permission.EXPORT_PERSONAL),
    }
    if query.errors:
        return render_template("reports/index.html", report=None, **context), 400
    report = _engagement(query, day, limit=PAGE_LIMIT)
    return render_template(
        "reports/index.html",
        report=report,
        tables={t.key: t for t in reporting.tables(report)},
        charts=charts.all_charts(report),
        levels=reporting.LEVELS,
        **context,
    )
