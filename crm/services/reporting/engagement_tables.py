"""The engagement report's tables: what the report page shows and the exports write.

`tables(report)` turns an EngagementReport (crm.services.reporting.engagement_report) into
titled tables with translated headers, in page order; the page renders them and the CSV and
XLSX downloads write them, so a file always holds what the page shows. Tables that name
people are marked `personal`: exporting them needs Permission.EXPORT_PERSONAL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from crm.i18n import gettext as _
from crm.models import ActivityType, Channel, EngagementLevel, OrgType, label
from crm.services import clock
from crm.services.reporting.engagement_report import EngagementReport, MonthRow, Reached
from crm.services.reporting.exports import Table, percent, tuple_columns
from crm.services.reporting.facts import (
    LEVELS,
    StakeholderFacts,
    ordered_sectors,
    sector_label,
    type_label,
)


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _rows(body: Iterable[tuple[Any, ...]], *last: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    return (*body, *last)


def _stakeholder_cells(f: StakeholderFacts) -> tuple[Any, ...]:
    return (
        f.name,
        f.chinese_name or "",
        type_label(f.type),
        ", ".join(sector_label(s) for s in ordered_sectors(f.sectors)),
        f.influence,
        f.interest,
        label(EngagementLevel(f.level)),
    )


def _monthly(
    key: str, title: str, names: Sequence[str], rows: Sequence[MonthRow], total: int, note: str
) -> Table:
    columns = [(_("Month"), "month"), *((name, "int") for name in names), (_("Total"), "int")]
    sums = tuple(sum(r.counts[i] for r in rows) for i in range(len(names)))
    return Table(
        key,
        title,
        tuple_columns(columns),
        _rows(((r.month, *r.counts, r.total) for r in rows), (_("Total"), *sums, total)),
        has_total=True,
        note=note,
    )


def _reach_table(
    key: str,
    title: str,
    heading: str,
    rows: Iterable[tuple[str, Reached]],
    overall: Reached,
    note: str = "",
) -> Table:
    columns = [
        (heading, "text"),
        (_("Engaged"), "int"),
        (_("Total"), "int"),
        (_("Engaged (%)"), "percent"),
    ]
    return Table(
        key,
        title,
        tuple_columns(columns),
        _rows(
            ((name, r.engaged, r.total, percent(r.share)) for name, r in rows),
            (_("All stakeholders"), overall.engaged, overall.total, percent(overall.share)),
        ),
        has_total=True,
        note=note,
    )


def _stakeholder_columns() -> list[tuple[str, str]]:
    return [
        (_("Name"), "text"),
        (_("Chinese name"), "text"),
        (_("Type"), "text"),
        (_("Sector"), "text"),
        (_("Influence"), "int"),
        (_("Interest"), "int"),
        (_("Engagement level"), "text"),
    ]


def _interaction_tables(report: EngagementReport) -> list[Table]:
    return [
        _monthly(
            "interactions_by_channel",
            _("Interactions per month by channel"),
            [label(Channel(c)) for c in report.channels],
            report.by_channel,
            report.interactions,
            "",
        ),
        _monthly(
            "interactions_by_sector",
            _("Interactions per month by sector"),
            [sector_label(s) for s in report.sectors],
            report.by_sector,
            report.interactions,
            _(
                "An interaction with stakeholders of several sectors counts once under each of "
                "them, so the sector columns may add up to more than the total."
            ),
        ),
    ]


def _reach_tables(report: EngagementReport) -> list[Table]:
    return [
        _reach_table(
            "engaged_by_type",
            _("Stakeholders engaged by type"),
            _("Stakeholder type"),
            ((type_label(r.key), r) for r in report.engaged_by_type),
            report.engaged,
        ),
        _reach_table(
            "engaged_by_sector",
            _("Stakeholders engaged by sector"),
            _("Sector"),
            ((sector_label(r.key), r) for r in report.engaged_by_sector),
            report.engaged,
            _(
                "People count under the sectors of the organisations they currently work for; "
                "someone working in two sectors counts in both rows."
            ),
        ),
    ]


def _coverage_tables(report: EngagementReport) -> list[Table]:
    coverage = report.coverage
    columns = _stakeholder_columns()
    return [
        Table(
            "coverage",
            _("Coverage of high-influence stakeholders"),
            tuple_columns(
                [
                    (_("High-influence stakeholders (influence 4–5)"), "int"),
                    (_("Contacted in the period"), "int"),
                    (_("Not contacted"), "int"),
                    (_("Coverage (%)"), "percent"),
                ]
            ),
            (
                (
                    coverage.total,
                    coverage.contacted,
                    coverage.not_contacted_total,
                    percent(coverage.share),
                ),
            ),
        ),
        Table(
            "not_contacted",
            _("High-influence stakeholders not contacted in the period"),
            tuple_columns([*columns, (_("Last contact (any date)"), "datetime")]),
            tuple(
                (*_stakeholder_cells(item.facts), item.last_contacted_at)
                for item in coverage.not_contacted
            ),
            personal=True,
        ),
    ]


def _level_tables(report: EngagementReport) -> list[Table]:
    levels = report.levels
    columns = _stakeholder_columns()

    def share(n: int) -> float | None:
        return percent(n / levels.total if levels.total else None)

    return [
        Table(
            "levels",
            _("Engagement levels now"),
            tuple_columns(
                [
                    (_("Engagement level"), "text"),
                    (_("Stakeholders"), "int"),
                    (_("Share (%)"), "percent"),
                ]
            ),
            _rows(
                ((label(EngagementLevel(level)), n, share(n)) for level, n in levels.now),
                (_("Total"), levels.total, share(levels.total)),
            ),
            has_total=True,
        ),
        Table(
            "level_moves",
            _("Engagement level changes in the period"),
            tuple_columns(
                [
                    *columns[:4],
                    (_("From"), "text"),
                    (_("To"), "text"),
                    (_("Direction"), "text"),
                    (_("Last changed"), "datetime"),
                ]
            ),
            tuple(
                (
                    *_stakeholder_cells(m.stakeholder)[:4],
                    label(EngagementLevel(m.before)),
                    label(EngagementLevel(m.after)),
                    _("up") if m.is_up else _("down"),
                    m.changed_at,
                )
                for m in levels.moves
            ),
            personal=True,
            note=_(
                "Moved up: %(up)d · moved down: %(down)d",
                up=levels.moved_up,
                down=levels.moved_down,
            ),
        ),
    ]


def _follow_up_table(report: EngagementReport) -> Table:
    return Table(
        "follow_ups",
        _("Follow-ups by assignee"),
        tuple_columns(
            [
                (_("Assignee"), "text"),
                (_("Created in the period"), "int"),
                (_("Completed in the period"), "int"),
                (_("Completion rate (%)"), "percent"),
                (_("Median days to complete"), "number"),
                (_("Overdue now"), "int"),
            ]
        ),
        tuple(
            (
                r.name,
                r.created,
                r.completed,
                percent(r.completion_rate),
                _one_decimal(r.median_days),
                r.overdue,
            )
            for r in (*report.follow_ups, report.follow_ups_total)
        ),
        has_total=True,
        note=_(
            "Completion rate: the share of the follow-ups created in the period (cancelled ones "
            "left out) that were done by its end. Overdue now: open and due before today."
        ),
    )


def _activity_tables(report: EngagementReport) -> list[Table]:
    acts = report.activities
    total = _("Total")
    return [
        Table(
            "activities_held",
            _("Activities held by type"),
            tuple_columns([(_("Activity type"), "text"), (_("Held"), "int")]),
            _rows(((label(ActivityType(t)), n) for t, n in acts.held), (total, acts.held_total)),
            has_total=True,
        ),
        Table(
            "participants_by_sex",
            _("Participants by sex"),
            tuple_columns(
                [
                    (_("Sex"), "text"),
                    (_("Named"), "int"),
                    (_("Unnamed (sign-in sheets)"), "int"),
                    (total, "int"),
                ]
            ),
            (
                (_("Women"), acts.named_women, acts.unnamed_women, acts.women),
                (_("Men"), acts.named_men, acts.unnamed_men, acts.men),
                (_("Other"), acts.named_other, 0, acts.named_other),
                (
                    _("Not stated"),
                    acts.named_undisclosed,
                    acts.unnamed_unspecified,
                    acts.not_stated,
                ),
                (total, acts.named, acts.unnamed, acts.participants),
            ),
            has_total=True,
            note=_("Each person counts once per activity they attended."),
        ),
        Table(
            "activity_summary",
            _("Activity reach"),
            tuple_columns([(_("Figure"), "text"), (_("Value"), "number")]),
            (
                (_("Activities held"), acts.held_total),
                (_("Participants (attendances)"), acts.participants),
                (_("Distinct named participants"), acts.distinct_named),
                (_("Share of women (%)"), percent(acts.share_of_women)),
                (_("Organisations reached"), acts.organisations),
                (_("Government officials reached"), acts.officials),
                (_("Government officials reached who are women"), acts.officials_women),
                (_("MoUs signed in the period"), acts.mous_signed),
                (
                    _("MoUs in force on %(day)s", day=clock.display(acts.mous_as_of)),
                    acts.mous_active,
                ),
                (_("MoUs expiring within 90 days of that day"), acts.mous_expiring),
            ),
        ),
        Table(
            "organisations_reached_by_type",
            _("Organisations reached by type"),
            tuple_columns([(_("Organisation type"), "text"), (_("Organisations"), "int")]),
            _rows(
                ((label(OrgType(t)), n) for t, n in acts.organisations_by_type),
                (total, acts.organisations),
            ),
            has_total=True,
        ),
        Table(
            "organisations_reached_by_sector",
            _("Organisations reached by sector"),
            tuple_columns([(_("Sector"), "text"), (_("Organisations"), "int")]),
            _rows(
                ((sector_label(s), n) for s, n in acts.organisations_by_sector),
                (total, acts.organisations),
            ),
            has_total=True,
        ),
    ]


def _map_table(report: EngagementReport) -> Table:
    return Table(
        "stakeholder_map",
        _("Stakeholder map: influence × interest"),
        tuple_columns(
            [
                (_("Influence"), "int"),
                (_("Interest"), "int"),
                (_("Organisations"), "int"),
                (_("People"), "int"),
                *((label(EngagementLevel(level)), "int") for level in LEVELS),
                (_("Total"), "int"),
            ]
        ),
        tuple(
            (
                c.influence,
                c.interest,
                c.organisations,
                c.people,
                *(n for _level, n in c.levels),
                c.total,
            )
            for c in report.grid
        ),
    )


def _sheet_names() -> dict[str, str]:
    """Short worksheet names (Excel allows 31 characters), one per table key."""
    return {
        "interactions_by_channel": _("Interactions by channel"),
        "interactions_by_sector": _("Interactions by sector"),
        "engaged_by_type": _("Engaged by type"),
        "engaged_by_sector": _("Engaged by sector"),
        "coverage": _("High-influence coverage"),
        "not_contacted": _("High influence, not contacted"),
        "levels": _("Engagement levels"),
        "level_moves": _("Engagement level changes"),
        "follow_ups": _("Follow-ups by assignee"),
        "activities_held": _("Activities by type"),
        "participants_by_sex": _("Participants by sex"),
        "activity_summary": _("Activity reach"),
        "organisations_reached_by_type": _("Organisations by type"),
        "organisations_reached_by_sector": _("Organisations by sector"),
        "stakeholder_map": _("Stakeholder map"),
    }


def tables(report: EngagementReport) -> list[Table]:
    """Every table of the report, in page order, with translated titles, headers and
    worksheet names."""
    built = [
        *_interaction_tables(report),
        *_reach_tables(report),
        *_coverage_tables(report),
        *_level_tables(report),
        _follow_up_table(report),
        *_activity_tables(report),
        _map_table(report),
    ]
    names = _sheet_names()
    return [dataclasses.replace(t, sheet=names.get(t.key, t.sheet)) for t in built]


def table(report: EngagementReport, key: str) -> Table | None:
    return next((t for t in tables(report) if t.key == key), None)


# The tables that name people (those made with `personal=True`): the views refuse them to
# whoever may not export personal data before computing anything.
PERSONAL_TABLE_KEYS = ("not_contacted", "level_moves")

TABLE_KEYS = (
    "interactions_by_channel",
    "interactions_by_sector",
    "engaged_by_type",
    "engaged_by_sector",
    "coverage",
    "not_contacted",
    "levels",
    "level_moves",
    "follow_ups",
    "activities_held",
    "participants_by_sex",
    "activity_summary",
    "organisations_reached_by_type",
    "organisations_reached_by_sector",
    "stakeholder_map",
)
