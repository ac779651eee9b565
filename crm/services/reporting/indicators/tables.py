"""The indicator tables: what the indicator pages show and the exports write."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from crm.i18n import gettext as _
from crm.models import Indicator, Metric, label
from crm.services.reporting.exports import Table, percent, tuple_columns
from crm.services.reporting.indicators.figures import Figure, YearFigures, YearRow
from crm.services.reporting.indicators.metrics import KEYS, dimension_label, key_label


def _amount_cell(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _value_cell(row: YearFigures, found: Figure) -> int | None:
    return found.value if row.has_started(found) else None


def summary_table(rows: Sequence[YearFigures], year: int) -> Table:
    """The indicator table of a year: baseline, target, each quarter, the year, progress."""
    columns = [
        (_("Code"), "text"),
        (_("Indicator"), "text"),
        (_("Indicator (Chinese)"), "text"),
        (_("Unit"), "text"),
        (_("Figure"), "text"),
        (_("Baseline"), "number"),
        (_("Baseline year"), "int"),
        (_("Target %(year)d", year=year), "number"),
        *((_("Q%(n)d %(year)d", n=n, year=year), "int") for n in range(1, 5)),
        (_("Year %(year)d", year=year), "int"),
        (_("Progress (%)"), "percent"),
    ]
    body = tuple(
        (
            r.indicator.code or "",
            r.indicator.name,
            r.indicator.name_zh or "",
            r.indicator.unit,
            label(Metric(r.indicator.metric)),
            _amount_cell(r.indicator.baseline),
            r.indicator.baseline_year,
            _amount_cell(r.target),
            *(_value_cell(r, q) for q in r.quarters),
            _value_cell(r, r.total),
            percent(r.progress) if r.has_started(r.total) else None,
        )
        for r in rows
    )
    return Table(
        "indicators",
        _("Donor indicators %(year)d", year=year),
        tuple_columns(columns),
        body,
        note=_(
            "A year's value counts each person and organisation once, so it can be less than "
            "the sum of its quarters. Quarters that have not started are left empty."
        ),
    )


def breakdown_table(rows: Sequence[YearFigures], year: int) -> Table:
    """The disaggregations the indicators ask for: one row per indicator and category."""
    columns = [
        (_("Code"), "text"),
        (_("Indicator"), "text"),
        (_("Disaggregation"), "text"),
        (_("Category"), "text"),
        *((_("Q%(n)d %(year)d", n=n, year=year), "int") for n in range(1, 5)),
        (_("Year %(year)d", year=year), "int"),
    ]
    body = []
    for r in rows:
        for dimension in r.indicator.disaggregations or []:
            if dimension not in KEYS:
                continue
            for key in r.shown_keys(dimension):
                cells = []
                for found in r.periods:
                    part = found.breakdown(dimension)
                    shown = r.has_started(found) and part is not None
                    cells.append(part.of(key) if shown and part is not None else None)
                body.append(
                    (
                        r.indicator.code or "",
                        r.indicator.name,
                        dimension_label(dimension),
                        key_label(dimension, key),
                        *cells,
                    )
                )
    return Table(
        "indicator_breakdowns",
        _("Disaggregated figures %(year)d", year=year),
        tuple_columns(columns),
        tuple(body),
        note=_(
            "Someone who counts under two categories (a person trained in two sectors) counts "
            "in both rows, and once in the indicator's total."
        ),
    )


def year_table(indicator: Indicator, rows: Sequence[YearRow]) -> Table:
    return Table(
        "indicator_years",
        _("Targets and values by year"),
        tuple_columns(
            [
                (_("Year"), "int"),
                (_("Target"), "number"),
                (_("Value"), "int"),
                (_("Progress (%)"), "percent"),
            ]
        ),
        tuple(
            (
                r.year,
                _amount_cell(r.target),
                r.figure.value if r.has_started else None,
                percent(r.progress) if r.has_started else None,
            )
            for r in rows
        ),
    )
