"""/api/v1/reports: the engagement report of a period and the donor indicators of a year,
as JSON, computed by crm.services.reporting exactly as the report pages show them (the
lists of people cut as on the page; the files of the report pages hold them whole)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from marshmallow import Schema, fields, validate

from crm.access import Permission
from crm.api import auth, bp, forms
from crm.api.common import READ_ERRORS, documented
from crm.blueprints.reports.views import PAGE_LIMIT
from crm.services import audit, clock, reporting
from crm.services.reporting import indicators

TAGS = ["reports"]


class EngagementQuery(forms.QuerySchema):
    start = fields.Date(metadata={"description": "first day (default: this quarter's)"})
    end = fields.Date(metadata={"description": "last day (default: this quarter's)"})
    sector = fields.String(validate=validate.OneOf(list(reporting.SECTORS), error=forms.CHOICE))
    type = fields.String(validate=validate.OneOf(list(reporting.TYPES), error=forms.CHOICE))


class TableOut(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    note = fields.String(required=True)
    personal = fields.Boolean(required=True)
    has_total = fields.Boolean(required=True, metadata={"description": "the last row sums"})
    columns = fields.List(fields.String(), required=True)
    rows = fields.List(fields.List(fields.Raw(allow_none=True)), required=True)


class EngagementOut(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    sector = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    tables = fields.List(fields.Nested(TableOut), required=True)


class IndicatorQuery(forms.QuerySchema):
    year = fields.Integer(
        validate=validate.Range(
            min=reporting.FIRST_YEAR, max=reporting.LAST_YEAR, error=forms.RANGE
        ),
        metadata={"description": "default: this year"},
    )


class BreakdownOut(Schema):
    dimension = fields.String(required=True)
    values = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class FigureOut(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    value = fields.Integer(required=True)
    named = fields.Integer(required=True)
    unnamed = fields.Integer(required=True)
    has_started = fields.Boolean(required=True)
    breakdowns = fields.List(fields.Nested(BreakdownOut), required=True)


class IndicatorRow(Schema):
    id = fields.Integer(required=True)
    code = fields.String(allow_none=True)
    name = fields.String(required=True)
    name_zh = fields.String(allow_none=True)
    unit = fields.String(required=True)
    metric = fields.String(required=True)
    baseline = fields.Float(required=True)
    target = fields.Float(allow_none=True)
    progress = fields.Float(allow_none=True, metadata={"description": "the year's total / target"})
    total = fields.Nested(FigureOut, required=True)
    quarters = fields.List(fields.Nested(FigureOut), required=True)


class IndicatorsOut(Schema):
    year = fields.Integer(required=True)
    indicators = fields.List(fields.Nested(IndicatorRow), required=True)


def _table(table: Any) -> dict[str, Any]:
    return {
        "key": table.key,
        "title": str(table.title),
        "note": str(table.note or ""),
        "personal": bool(table.personal),
        "has_total": bool(table.has_total),
        "columns": [str(c.header) for c in table.columns],
        "rows": [[audit.json_value(c.value(row)) for c in table.columns] for row in table.rows],
    }


@bp.route("/reports/engagement", methods=["GET"], tags=TAGS)
@bp.arguments(EngagementQuery, location="query", as_kwargs=False)
@bp.response(200, EngagementOut)
@documented(*READ_ERRORS)
def reports_engagement(args: dict[str, Any]) -> Any:
    """The engagement report's tables for a period (default: this quarter)."""
    auth.require(Permission.READ)
    today = clock.today()
    first, last = reporting.quarter_of(today)
    start: date = args.get("start", first)
    end: date = args.get("end", last)
    report = reporting.engagement(
        start,
        end,
        sector=args.get("sector"),
        stakeholder_type=args.get("type"),
        timezone=clock.zone(),
        today=today,
        not_contacted_limit=PAGE_LIMIT,
        level_moves_limit=PAGE_LIMIT,
        # The request has written nothing: the statements may run side by side.
        side_by_side_in=current_app._get_current_object(),  # type: ignore[attr-defined]
    )
    return {
        "start": start,
        "end": end,
        "sector": args.get("sector"),
        "type": args.get("type"),
        "tables": [_table(t) for t in reporting.tables(report)],
    }


def _figure(row: Any, figure: Any) -> dict[str, Any]:
    return {
        "start": figure.start,
        "end": figure.end,
        "value": figure.value,
        "named": figure.named,
        "unnamed": figure.unnamed,
        "has_started": row.has_started(figure),
        "breakdowns": [
            {"dimension": b.dimension, "values": {str(k): int(v) for k, v in b.values}}
            for b in figure.breakdowns
        ],
    }


@bp.route("/reports/indicators", methods=["GET"], tags=TAGS)
@bp.arguments(IndicatorQuery, location="query", as_kwargs=False)
@bp.response(200, IndicatorsOut)
@documented(*READ_ERRORS)
def reports_indicators(args: dict[str, Any]) -> Any:
    """The donor indicators of a year: each quarter, the year, the target and the progress."""
    auth.require(Permission.READ)
    year = args.get("year") or clock.today().year
    rows = indicators.year_figures(
        indicators.list_indicators(),
        year,
        today=clock.today(),
        timezone=clock.zone(),
        # The request has written nothing: the statements may run side by side.
        side_by_side_in=current_app._get_current_object(),  # type: ignore[attr-defined]
    )
    return {
        "year": year,
        "indicators": [
            {
                "id": row.indicator.id,
                "code": row.indicator.code,
                "name": row.indicator.name,
                "name_zh": row.indicator.name_zh,
                "unit": row.indicator.unit,
                "metric": row.indicator.metric.value,
                "baseline": float(row.indicator.baseline or 0),
                "target": None if row.target is None else float(row.target),
                "progress": row.progress,
                "total": _figure(row, row.total),
                "quarters": [_figure(row, q) for q in row.quarters],
            }
            for row in rows
        ],
    }
