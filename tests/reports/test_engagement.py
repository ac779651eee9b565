"""Every figure of the engagement report on the known data set (tests/reports/conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm.services import reporting as reports
from crm.services.errors import InvalidInput
from tests.reports.conftest import END, START, TODAY, local

MONTHS = (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1))


@pytest.fixture(params=[False, True], ids=["in one session", "side by side"])
def report(app, known, request):  # type: ignore[no-untyped-def]
    """The report as a script computes it (one session), and as the page and the API do: its
    statements side by side on two connections (crm.services.reporting.side_by_side)."""
    with app.app_context():
        return reports.engagement(
            START, END, today=TODAY, side_by_side_in=app if request.param else None
        )


@pytest.mark.parametrize(
    "filters", [{}, {"sector": "textile"}, {"stakeholder_type": "person"}], ids=str
)
def test_side_by_side_the_report_is_the_one_computed_in_one_session(app, known, filters):
    with app.app_context():
        alone = reports.engagement(START, END, today=TODAY, **filters)
        beside = reports.engagement(START, END, today=TODAY, side_by_side_in=app, **filters)
    assert beside == alone
    assert beside.interactions > 0


def _rows(month_rows):  # type: ignore[no-untyped-def]
    return [(r.month, r.counts, r.total) for r in month_rows]


def _reached(rows):  # type: ignore[no-untyped-def]
    return [(r.key, r.engaged, r.total) for r in rows]


def test_interactions_per_month_by_channel_count_both_period_ends_and_skip_the_trash(report):
    assert report.interactions == 6
    assert report.channels == ("meeting", "call", "email", "wechat", "visit")
    assert _rows(report.by_channel) == [
        (MONTHS[0], (1, 0, 0, 0, 0), 1),  # I1 at 00:30 on 1 January (I2 just before: out)
        (MONTHS[1], (1, 1, 1, 0, 0), 3),  # I7 counts: the interaction itself is live
        (MONTHS[2], (0, 0, 0, 1, 1), 2),  # I3 at 23:30 on 31 March; I8 is in the trash
    ]


def test_interactions_per_month_by_sector_count_each_sector_of_the_stakeholders(report):
    assert report.sectors == ("electronics", "textile", "")
    assert _rows(report.by_sector) == [
        (MONTHS[0], (1, 0, 0), 1),
        (MONTHS[1], (1, 1, 2), 3),  # I5: Bo works in both sectors; I6, I7: no sector
        (MONTHS[2], (0, 1, 1), 2),
    ]


def test_distinct_stakeholders_engaged_by_type_and_sector_against_the_totals(report):
    assert (report.engaged.engaged, report.engaged.total) == (7, 10)
    assert report.engaged.share == pytest.approx(0.7)
    assert _reached(report.engaged_by_type) == [
        ("enterprise", 2, 4),
        ("government", 1, 1),
        ("trade_union", 0, 1),
        ("person", 4, 4),
    ]
    assert _reached(report.engaged_by_sector) == [
        ("electronics", 2, 2),
        ("textile", 3, 5),
        ("both", 0, 1),
        ("", 3, 3),
    ]


def test_coverage_of_high_influence_stakeholders_lists_those_not_contacted(report, known):
    coverage = report.coverage
    assert (coverage.total, coverage.contacted, coverage.not_contacted_total) == (6, 5, 1)
    assert coverage.share == pytest.approx(5 / 6)
    (missed,) = coverage.not_contacted
    assert missed.facts.id == known["O5"] and missed.facts.name == "Cotton Mill"
    assert missed.last_contacted_at == local(2025, 11, 1, 10, 0).astimezone(UTC)


def test_engagement_levels_now_and_net_moves_in_the_period_from_the_audit_trail(report, known):
    assert report.levels.now == (
        ("unaware", 3),
        ("aware", 3),
        ("engaged", 2),
        ("committed", 1),
        ("champion", 1),
    )
    moves = [
        (m.stakeholder.id, m.before, m.after, m.is_up, m.changed_at) for m in report.levels.moves
    ]
    assert moves == [
        (known["O1"], "aware", "engaged", True, local(2026, 2, 1, 9, 0)),
        (known["O3"], "aware", "committed", True, local(2026, 3, 10, 9, 0)),
        (known["O2"], "engaged", "aware", False, local(2026, 3, 1, 9, 0)),
    ]
    assert (report.levels.moved_up, report.levels.moved_down) == (2, 1)


def test_follow_ups_per_assignee_created_completed_rate_median_and_overdue(report, known):
    rows = [
        (r.name, r.created, r.completed, r.completion_rate, r.median_days, r.overdue)
        for r in (*report.follow_ups, report.follow_ups_total)
    ]
    assert rows == [
        ("Alice", 5, 3, 0.5, 10.0, 1),
        ("Bob", 1, 1, 1.0, 1.0, 1),
        ("All assignees", 6, 4, 0.6, 6.5, 2),
    ]
    assert [r.user_id for r in report.follow_ups] == [known.alice.id, known.bob.id]


def test_activity_figures_count_people_once_per_activity_with_unnamed_headcounts(report):
    acts = report.activities
    assert acts.held == (("training", 2), ("forum", 1), ("mou", 1))
    assert acts.held_total == 4
    named = (acts.named_women, acts.named_men, acts.named_other, acts.named_undisclosed)
    assert named == (4, 1, 0, 0)
    assert (acts.unnamed_women, acts.unnamed_men, acts.unnamed_unspecified) == (6, 5, 2)
    assert (acts.women, acts.men, acts.not_stated, acts.participants) == (10, 6, 2, 18)
    assert acts.share_of_women == pytest.approx(10 / 18)
    assert acts.distinct_named == 3


def test_organisations_and_officials_reached_are_distinct_over_the_period(report):
    acts = report.activities
    assert acts.organisations == 4  # O1, O2, O3 as employers; O5 as a participant party
    assert acts.organisations_by_type == (("enterprise", 3), ("government", 1))
    assert acts.organisations_by_sector == (("electronics", 1), ("textile", 2), ("", 1))
    assert (acts.officials, acts.officials_women) == (1, 1)


def test_mous_signed_in_the_period_and_in_force_on_its_last_day(report):
    acts = report.activities
    assert acts.mous_as_of == END
    assert (acts.mous_signed, acts.mous_active, acts.mous_expiring) == (2, 2, 1)


def test_mous_in_force_are_counted_today_when_the_period_has_not_ended(app, known):
    with app.app_context():
        report = reports.engagement(START, date(2026, 12, 31), today=date(2026, 7, 1))
    acts = report.activities
    # On 1 July M2 has expired; M1 runs until February 2027, more than 90 days ahead.
    assert acts.mous_as_of == date(2026, 7, 1)
    assert (acts.mous_active, acts.mous_expiring) == (1, 0)


def test_stakeholder_map_counts_each_cell_with_its_levels(report):
    assert len(report.grid) == 25
    assert [(c.influence, c.interest) for c in report.grid[:6]] == [
        (5, 1),
        (5, 2),
        (5, 3),
        (5, 4),
        (5, 5),
        (4, 1),
    ]
    top = report.cell(5, 4)  # Bright Electronics and Cui
    assert (top.organisations, top.people, top.total) == (1, 1, 2)
    assert dict(top.levels) == {
        "unaware": 0,
        "aware": 0,
        "engaged": 1,
        "committed": 0,
        "champion": 1,
    }
    assert top.main_level == "champion"
    assert report.cell(5, 5).total == 0  # Trashed Textiles is in the trash
    assert report.cell(5, 5).main_level is None
    assert sum(c.total for c in report.grid) == 10


def test_a_sector_keeps_its_stakeholders_and_their_interactions(app, known):
    with app.app_context():
        report = reports.engagement(START, END, sector="textile", today=TODAY)
    assert report.interactions == 2
    assert report.channels == ("call", "wechat")
    assert report.sectors == ("textile",)
    assert _rows(report.by_sector) == [
        (MONTHS[0], (0,), 0),
        (MONTHS[1], (1,), 1),
        (MONTHS[2], (1,), 1),
    ]
    # "Both Co" (electronics and textile) is not in "textile".
    assert (report.engaged.engaged, report.engaged.total) == (3, 5)
    assert _reached(report.engaged_by_type) == [
        ("enterprise", 1, 2),
        ("trade_union", 0, 1),
        ("person", 2, 2),
    ]
    assert _reached(report.engaged_by_sector) == [("textile", 3, 5)]
    assert (report.coverage.total, report.coverage.contacted) == (3, 2)
    assert dict(report.levels.now) == {
        "unaware": 3,
        "aware": 1,
        "engaged": 1,
        "committed": 0,
        "champion": 0,
    }
    assert (report.levels.moved_up, report.levels.moved_down) == (0, 1)
    rows = [
        (r.name, r.created, r.completed, r.completion_rate, r.median_days, r.overdue)
        for r in (*report.follow_ups, report.follow_ups_total)
    ]
    assert rows == [
        ("Alice", 3, 1, pytest.approx(1 / 3), 10.0, 1),
        ("Bob", 1, 1, 1.0, 1.0, 0),
        ("All assignees", 4, 2, 0.5, 5.5, 1),
    ]
    acts = report.activities
    assert acts.held == (("training", 1), ("forum", 1), ("mou", 1))
    assert (acts.women, acts.men, acts.participants, acts.distinct_named) == (3, 2, 5, 2)
    assert acts.organisations_by_type == (("enterprise", 1), ("government", 1))
    assert (acts.mous_signed, acts.mous_active, acts.mous_expiring) == (1, 1, 0)


def test_a_stakeholder_type_keeps_only_those_stakeholders(app, known):
    with app.app_context():
        report = reports.engagement(START, END, stakeholder_type="person", today=TODAY)
    assert report.interactions == 4  # I3, I5, I6, I9
    assert _reached(report.engaged_by_type) == [("person", 4, 4)]
    assert _reached(report.engaged_by_sector) == [
        ("electronics", 1, 1),
        ("textile", 2, 2),
        ("", 2, 2),
    ]
    assert sum(c.organisations for c in report.grid) == 0


def test_an_empty_period_gives_an_empty_report(app, known):
    with app.app_context():
        report = reports.engagement(date(2020, 1, 1), date(2020, 3, 31), today=TODAY)
    assert report.is_empty
    assert report.interactions == 0 and report.channels == () and report.sectors == ()
    assert [r.total for r in report.by_channel] == [0, 0, 0]
    assert report.engaged.engaged == 0 and report.engaged.total == 10
    assert report.activities.held == () and report.activities.share_of_women is None
    assert report.levels.moves == ()
    assert report.follow_ups_total.created == 0
    assert report.follow_ups_total.completion_rate is None
    # Overdue is "now", whatever the period.
    assert report.follow_ups_total.overdue == 2


def test_an_empty_database_gives_an_empty_report(app):
    with app.app_context():
        report = reports.engagement(START, END, today=TODAY)
    assert report.is_empty and report.engaged.total == 0 and report.coverage.share is None
    assert all(len(t.rows) >= 0 for t in reports.tables(report))


def test_the_period_follows_the_local_calendar():
    period = reports.Period(START, END)
    assert period.start_at == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert period.end_at == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert period.months == MONTHS
    assert reports.Period(date(2025, 12, 15), date(2026, 1, 2)).months == (
        date(2025, 12, 1),
        date(2026, 1, 1),
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 3, 1), date(2026, 2, 1), "The end date is before the start date."),
        (date(2000, 1, 1), date(2050, 1, 1), "Choose a period of at most 10 years."),
        (date(2016, 1, 1), date(2026, 1, 2), "Choose a period of at most 10 years."),
        (date(1, 1, 1), date(1, 1, 2), "Choose dates between 1990 and 2100."),
        (date(2026, 1, 1), date(9999, 12, 31), "Choose dates between 1990 and 2100."),
    ],
)
def test_a_bad_period_is_refused_with_a_reason(app, start, end, message):
    with app.test_request_context(), pytest.raises(InvalidInput, match=message):
        reports.engagement(start, end)


def test_ten_years_to_the_day_and_a_single_day_are_accepted():
    reports.check_period(date(2016, 1, 1), date(2026, 1, 1))
    reports.check_period(date(2026, 1, 1), date(2026, 1, 1))
    reports.check_period(date(2016, 2, 29), date(2026, 2, 28))


def test_an_unknown_sector_or_type_is_refused_by_the_service(app):
    with app.test_request_context():
        with pytest.raises(InvalidInput):
            reports.engagement(START, END, sector="steel")
        with pytest.raises(InvalidInput):
            reports.engagement(START, END, stakeholder_type="robot")


def test_quarters_and_presets_follow_the_calendar():
    assert reports.quarter_of(date(2026, 11, 25)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert reports.quarter_of(date(2026, 2, 28)) == (date(2026, 1, 1), date(2026, 3, 31))
    found = {p.key: (p.start, p.end) for p in reports.presets(date(2026, 1, 15))}
    assert found["this_quarter"] == (date(2026, 1, 1), date(2026, 3, 31))
    assert found["last_quarter"] == (date(2025, 10, 1), date(2025, 12, 31))
    assert found["last_year"] == (date(2025, 1, 1), date(2025, 12, 31))
    assert found["last_12_months"] == (date(2025, 1, 16), date(2026, 1, 15))


def test_tables_hold_the_figures_with_totals(app, known):
    with app.test_request_context():
        report = reports.engagement(START, END, today=TODAY)
        found = {t.key: t for t in reports.tables(report)}
    assert list(found) == list(reports.TABLE_KEYS)
    assert found["interactions_by_channel"].rows[-1] == ("Total", 2, 1, 1, 1, 1, 6)
    assert found["engaged_by_type"].rows[-1] == ("All stakeholders", 7, 10, 70.0)
    assert found["coverage"].rows == ((6, 5, 1, 83.3),)
    assert found["follow_ups"].rows[-1] == ("All assignees", 6, 4, 60.0, 6.5, 2)
    assert found["participants_by_sex"].rows[0] == ("Women", 4, 6, 10)
    assert found["participants_by_sex"].rows[-1] == ("Total", 5, 13, 18)
    summary = dict(found["activity_summary"].rows)
    assert summary["Share of women (%)"] == 55.6
    assert summary["Government officials reached"] == 1
    assert [t.key for t in found.values() if t.personal] == ["not_contacted", "level_moves"]
