"""Donor indicators (logframe): the records the manager keeps, and the figures they track.

An indicator is a record (code, English and Chinese name, unit, baseline, a target per year)
bound to one `Metric`, a figure the system computes from activities and interactions. The
figures are computed for any period; views show them per quarter and per year, and every
figure can be opened as the list of records behind it (`records`).

Callers use the package as one service (`indicators.create(...)`, `indicators.compute(...)`);
the rules live in one module each:

* `metrics`: what an indicator can measure, the breakdowns each metric gives, their labels.
* `logframe`: the indicator records: reading, validation, create, update, delete (to the
  trash), restore and purge. Writes need `Permission.MANAGE_INDICATORS` (managers and
  administrators), validate everything before writing, record one AuditEvent (entity type
  "indicators") and commit once. Reading is for every signed-in role.
* `figures`: the definition of every figure (see its docstring) and its computation over any
  period, by quarter and by year.
* `sources`: the records behind a figure.
* `tables`: the tables the indicator pages show and the exports write.
"""

from __future__ import annotations

from crm.models import Metric
from crm.services.reporting.indicators.figures import (
    Breakdown,
    Figure,
    Item,
    YearFigures,
    YearRow,
    compute,
    counted,
    figure,
    items,
    overview,
    year_figures,
    years,
)
from crm.services.reporting.indicators.logframe import (
    FIELDS,
    LIFECYCLE,
    MAX_AMOUNT,
    MAX_LENGTHS,
    MAX_TARGETS,
    create,
    delete,
    get,
    list_indicators,
    number_text,
    purge,
    restore,
    state,
    target_for,
    update,
)
from crm.services.reporting.indicators.metrics import (
    ACTIVITY_METRICS,
    ALWAYS_SHOWN,
    DIMENSIONS,
    KEYS,
    MEN,
    METRIC_DESCRIPTIONS,
    NOT_STATED,
    OTHER,
    SECTOR,
    SEX,
    SEX_LABELS,
    SEX_OF_GENDER,
    SEXES,
    STAKEHOLDER_TYPE,
    SUPPORTED,
    WOMEN,
    Disaggregation,
    dimension_label,
    key_label,
    metric_description,
)
from crm.services.reporting.indicators.sources import (
    PER_PAGE,
    Entry,
    Headcount,
    Paging,
    Records,
    Via,
    records,
)
from crm.services.reporting.indicators.tables import breakdown_table, summary_table, year_table
from crm.services.reporting.periods import FIRST_YEAR, LAST_YEAR

__all__ = [
    "ACTIVITY_METRICS",
    "ALWAYS_SHOWN",
    "DIMENSIONS",
    "FIELDS",
    "FIRST_YEAR",
    "KEYS",
    "LAST_YEAR",
    "LIFECYCLE",
    "MAX_AMOUNT",
    "MAX_LENGTHS",
    "MAX_TARGETS",
    "MEN",
    "METRIC_DESCRIPTIONS",
    "NOT_STATED",
    "OTHER",
    "PER_PAGE",
    "SECTOR",
    "SEX",
    "SEXES",
    "SEX_LABELS",
    "SEX_OF_GENDER",
    "STAKEHOLDER_TYPE",
    "SUPPORTED",
    "WOMEN",
    "Breakdown",
    "Disaggregation",
    "Entry",
    "Figure",
    "Headcount",
    "Item",
    "Metric",
    "Paging",
    "Records",
    "Via",
    "YearFigures",
    "YearRow",
    "breakdown_table",
    "compute",
    "counted",
    "create",
    "delete",
    "dimension_label",
    "figure",
    "get",
    "items",
    "key_label",
    "list_indicators",
    "metric_description",
    "number_text",
    "overview",
    "purge",
    "records",
    "restore",
    "state",
    "summary_table",
    "target_for",
    "update",
    "year_figures",
    "year_table",
    "years",
]
