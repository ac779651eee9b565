"""Donor indicators (logframe): the list with this year's progress, an indicator's page, the
records behind each figure, and their upkeep by managers and administrators."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.common import attach_error, list_args, save_edit
from crm.blueprints.history import history_names
from crm.blueprints.reports import bp, downloads
from crm.blueprints.reports.forms import IndicatorForm
from crm.blueprints.reports.views import MAX_TEXT
from crm.i18n import gettext as _
from crm.models import Indicator
from crm.services import audit, clock, reporting
from crm.services.errors import InvalidInput, ServiceError
from crm.services.reporting import exports, indicators

# The query-string name of each breakdown on the records page, and of "No sector".
DIMENSION_ARGS = {
    indicators.SEX: "sex",
    indicators.SECTOR: "sector",
    indicators.STAKEHOLDER_TYPE: "type",
}
NO_SECTOR_ARG = "none"


def key_arg(key: str) -> str:
    """A breakdown key as the query string spells it ("" is "none")."""
    return key or NO_SECTOR_ARG


@bp.app_template_global("indicator_records_url")
def indicator_records_url(
    indicator: Indicator, figure: indicators.Figure, dimension: str | None = None, key: str = ""
) -> str:
    """The page listing the records behind a figure (or behind one cell of a breakdown)."""
    args: dict[str, Any] = {"start": figure.start.isoformat(), "end": figure.end.isoformat()}
    if dimension is not None:
        args[DIMENSION_ARGS[dimension]] = key_arg(key)
    return url_for("reports.indicator_records", indicator_id=indicator.id, **args)


bp.add_app_template_global(indicators.key_label, "breakdown_label")


@bp.app_template_filter("amount")
def amount_text(value: Any) -> str:
    """A baseline or target as typed: 40, 12.5; a dash for none."""
    return "—" if value is None else indicators.number_text(value)


def _year(notices: list[str]) -> int:
    """The year of the query string; this year, with a notice, for anything unusable."""
    current = clock.today().year
    text = (request.args.get("year") or "").strip()[:MAX_TEXT]
    if not text:
        return current
    try:
        year = int(text)  # full-width digits typed with a Chinese keyboard are fine too
    except ValueError:
        year = None
    if year is not None and indicators.FIRST_YEAR <= year <= indicators.LAST_YEAR:
        return year
    notices.append(
        _(
            "“%(value)s” is not a year between %(first)d and %(last)d: showing %(year)d.",
            value=text,
            first=indicators.FIRST_YEAR,
            last=indicators.LAST_YEAR,
            year=current,
        )
    )
    return current


def _year_choices(listed: list[Indicator], year: int) -> list[int]:
    """Years worth a link: those with targets, this year, the one shown, and its neighbours."""
    found = {t.year for i in listed for t in i.targets} | {clock.today().year, year}
    found |= {year - 1, year + 1}
    return sorted(y for y in found if indicators.FIRST_YEAR <= y <= indicators.LAST_YEAR)


def _send(
    fmt: str,
    base: str,
    year: int,
    tables: list[reporting.Table],
    about: list[tuple[str, Any]],
) -> Response:
    """One table as CSV (`?table=` chooses it), or every table as a workbook; the file is
    named after the year it reports on."""
    key = (request.args.get("table") or "").strip()[:MAX_TEXT]
    if key and key not in {t.key for t in tables}:
        raise ServiceError(_("There is no such table here."))
    if fmt == "csv":
        chosen = next(t for t in tables if t.key == key) if key else tables[0]
        return downloads.send(fmt, base, [chosen.as_sheet()], period=str(year))
    columns = (
        exports.Column(_("Field"), lambda row: row[0], "text", 24),
        exports.Column(_("Value"), lambda row: row[1], "text", 60),
    )
    sheets = [exports.Sheet(_("Report"), columns, about)]
    sheets += [t.as_sheet() for t in tables]
    return downloads.send(fmt, base, sheets, period=str(year))


def _about(year: int) -> list[tuple[str, Any]]:
    return [
        (_("Report"), _("Donor indicators")),
        (_("Year"), str(year)),
        (_("Produced on"), clock.display(clock.today())),
        (_("Produced by"), current_user.name),
    ]


@bp.route("/indicators")
def indicators_index():
    notices: list[str] = []
    year = _year(notices)
    fmt = downloads.requested_format()
    listed = indicators.list_indicators()
    rows = indicators.year_figures(
        listed,
        year,
        today=clock.today(),
        timezone=clock.zone(),
        # The request has written nothing: the statements may run side by side.
        side_by_side_in=current_app._get_current_object(),  # type: ignore[attr-defined]
    )
    tables = [indicators.summary_table(rows, year), indicators.breakdown_table(rows, year)]
    if fmt:
        return _send(fmt, "indicators", year, tables, _about(year))
    return render_template(
        "reports/indicators/index.html",
        rows=rows,
        year=year,
        years=_year_choices(listed, year),
        notices=notices,
        table=tables[0],
    )


@bp.route("/indicators/<int:indicator_id>")
def indicator(indicator_id: int):
    found = indicators.get(indicator_id)
    notices: list[str] = []
    year = _year(notices)
    figures, years = indicators.overview(found, year, today=clock.today(), timezone=clock.zone())
    fmt = downloads.requested_format()
    if fmt:
        tables = [
            indicators.summary_table([figures], year),
            indicators.breakdown_table([figures], year),
            indicators.year_table(found, years),
        ]
        return _send(fmt, f"indicator-{found.id}", year, tables, _about(year))
    events = audit.history("indicators", found.id, limit=50)
    return render_template(
        "reports/indicators/detail.html",
        indicator=found,
        figures=figures,
        year=year,
        years=years,
        year_choices=_year_choices([found], year),
        notices=notices,
        description=indicators.metric_description(found.metric),
        history=events,
        names=history_names(events),
    )


@dataclass
class RecordsQuery:
    """The records page's query string, read defensively: what was typed is kept."""

    start: date
    end: date
    start_text: str
    end_text: str
    dimension: str | None = None
    key: str = ""
    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _date(name: str, default: date, errors: list[str]) -> tuple[date, str]:
    text = (request.args.get(name) or "").strip()[:MAX_TEXT]
    if not text:
        return default, default.isoformat()
    try:
        return date.fromisoformat(text), text
    except ValueError:
        errors.append(_("“%(value)s” is not a date: use the form 2026-03-31.", value=text))
        return default, text


def _records_query(found: Indicator) -> RecordsQuery:
    """Dates default to this year; a breakdown the figure cannot give is ignored with a
    notice, as is an unknown category."""
    year = clock.today().year
    errors: list[str] = []
    start, start_text = _date("start", date(year, 1, 1), errors)
    end, end_text = _date("end", date(year, 12, 31), errors)
    query = RecordsQuery(start, end, start_text, end_text, errors=errors)
    supported = indicators.SUPPORTED[indicators.Metric(found.metric)]
    for dimension, arg in DIMENSION_ARGS.items():
        if arg not in request.args:
            continue
        text = (request.args.get(arg) or "").strip()[:MAX_TEXT]
        if not text:  # an empty choice: no breakdown
            continue
        key = "" if text == NO_SECTOR_ARG and dimension == indicators.SECTOR else text
        if query.dimension is None and dimension in supported and key in indicators.KEYS[dimension]:
            query.dimension, query.key = dimension, key
        else:
            query.notices.append(
                _(
                    "“%(value)s” is not a category of this figure and was ignored.",
                    value=f"{arg}={text}",
                )
            )
    if not errors:
        try:
            reporting.check_period(start, end)
        except InvalidInput as err:
            errors.append(str(err))
    return query


@bp.route("/indicators/<int:indicator_id>/records")
def indicator_records(indicator_id: int):
    found = indicators.get(indicator_id)
    query = _records_query(found)
    context: dict[str, Any] = {"indicator": found, "query": query}
    if query.errors:
        return render_template("reports/indicators/records.html", listed=None, **context), 400
    listed = indicators.records(
        found,
        query.start,
        query.end,
        dimension=query.dimension,
        key=query.key if query.dimension else None,
        timezone=clock.zone(),
        page=list_args().page(),
    )
    return render_template("reports/indicators/records.html", listed=listed, **context)


# ---------------------------------------------------------------------------------------------
# New, edit, delete (managers and administrators)
# ---------------------------------------------------------------------------------------------


@bp.route("/indicators/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_INDICATORS)
def new_indicator():
    form = IndicatorForm()
    if request.method == "GET":
        form.version.data = "0"
        first = clock.today().year
        form.pad_targets([first, first + 1, first + 2])
    if form.validate_on_submit():
        try:
            created = indicators.create(form.changes(), actor=current_user)
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Indicator “%(name)s” created.", name=created.name), "success")
            return redirect(url_for(".indicator", indicator_id=created.id))
    status = 400 if request.method == "POST" else 200
    return render_template("reports/indicators/edit.html", form=form, indicator=None), status


@bp.route("/indicators/<int:indicator_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_INDICATORS)
def edit_indicator(indicator_id: int):
    found = indicators.get(indicator_id)
    form = IndicatorForm(obj=found)
    if request.method == "GET":
        form.pad_targets()
    return save_edit(
        form,
        found,
        lambda: indicators.update(
            found, form.changes(), version=form.version_number, actor=current_user
        ),
        template="reports/indicators/edit.html",
        context={"indicator": found},
        saved=lambda: IndicatorForm(obj=found, formdata=None),
        done=url_for(".indicator", indicator_id=found.id),
    )


@bp.route("/indicators/<int:indicator_id>/delete", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_INDICATORS)
def delete_indicator(indicator_id: int):
    found = indicators.get(indicator_id)
    if request.method == "POST":
        indicators.delete(found, actor=current_user)
        flash(_("“%(name)s” moved to the trash.", name=found.name), "success")
        return redirect(url_for(".indicators_index"))
    return render_template("reports/indicators/delete.html", indicator=found)
