"""Reporting: the engagement report, the donor indicators and the files they export.

Callers use the engagement report through the package (`reporting.engagement(...)`,
`reporting.tables(report)`) and the other services through their module
(`from crm.services.reporting import exports, indicators`). The rules live in one module
each:

* `periods`: the periods a report covers (local calendar days), quarters, years, presets.
* `facts`: what the engagement report and the indicators both count, written once as SQL
  building blocks: stakeholders with their types and sectors, the interactions of a period,
  the activities held and their attendees.
* `engagement_report`: the engagement report's figures (`engagement`) and their definitions.
* `engagement_counts`, `engagement_queries`: those figures counted by the database (grouped,
  conditional counts over the facts' SQL building blocks), a fixed number of statements
  whatever the volume; `engagement_counts` the one about stakeholders and interactions.
* `engagement_tables`: the report's tables, which the page shows and the exports write.
* `indicators`: donor indicators (a package): the records, their figures and tables.
* `exports`: CSV and XLSX files, the formula guard (`safe_cell`) and the export audit trail.

Dependencies point one way: periods → facts → engagement_counts, engagement_queries →
engagement_report → engagement_tables, and facts → indicators; `exports` depends on none of
them and on nothing of the import pipeline.
"""

from __future__ import annotations

from crm.services.reporting import (
    engagement_counts,
    engagement_queries,
    engagement_report,
    engagement_tables,
    exports,
    facts,
    indicators,
    periods,
)
from crm.services.reporting.engagement_report import (
    HIGH_INFLUENCE,
    ActivityFigures,
    Coverage,
    EngagementReport,
    FollowUpRow,
    LevelMove,
    Levels,
    Listed,
    MapCell,
    MonthRow,
    Reached,
    engagement,
)
from crm.services.reporting.engagement_tables import PERSONAL_TABLE_KEYS, TABLE_KEYS, table, tables
from crm.services.reporting.exports import Table, percent
from crm.services.reporting.facts import (
    LEVELS,
    NO_SECTOR,
    PERSON,
    RANK,
    SECTORS,
    TYPES,
    StakeholderFacts,
    sector_label,
    stakeholder_types,
    type_label,
)
from crm.services.reporting.periods import (
    FIRST_DAY,
    FIRST_YEAR,
    LAST_DAY,
    LAST_YEAR,
    MAX_YEARS,
    Period,
    Preset,
    add_years,
    check_period,
    check_year,
    presets,
    quarter_of,
    quarters,
)

__all__ = [
    "FIRST_DAY",
    "FIRST_YEAR",
    "HIGH_INFLUENCE",
    "LAST_DAY",
    "LAST_YEAR",
    "LEVELS",
    "MAX_YEARS",
    "NO_SECTOR",
    "PERSON",
    "PERSONAL_TABLE_KEYS",
    "RANK",
    "SECTORS",
    "TABLE_KEYS",
    "TYPES",
    "ActivityFigures",
    "Coverage",
    "EngagementReport",
    "FollowUpRow",
    "LevelMove",
    "Levels",
    "Listed",
    "MapCell",
    "MonthRow",
    "Period",
    "Preset",
    "Reached",
    "StakeholderFacts",
    "Table",
    "add_years",
    "check_period",
    "check_year",
    "engagement",
    "engagement_counts",
    "engagement_queries",
    "engagement_report",
    "engagement_tables",
    "exports",
    "facts",
    "indicators",
    "percent",
    "periods",
    "presets",
    "quarter_of",
    "quarters",
    "sector_label",
    "stakeholder_types",
    "table",
    "tables",
    "type_label",
]
