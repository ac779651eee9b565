"""Every figure of the donor indicators on the known data set (tests/reports/logframe.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from crm.extensions import db
from crm.models import Indicator, Metric
from crm.services import audit, reporting
from crm.services.errors import InvalidInput
from crm.services.reporting import indicators
from tests.reports.logframe import QUARTERS, WHOLE_YEAR, YEAR

TODAY = date(2026, 6, 30)


def _figures(app, metric: str, dimensions: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """(Q1, Q2, Q3, Q4, year) figures of a metric in 2025."""
    with app.app_context():
        loaded = indicators.items(metric, *WHOLE_YEAR)
        return [
            indicators.figure(loaded, start, end, dimensions=dimensions)
            for start, end in (*QUARTERS, WHOLE_YEAR)
        ]


def _values(figures) -> list[int]:  # type: ignore[no-untyped-def]
    return [f.value for f in figures]


def _breakdown(figure, dimension: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The non-zero cells of a breakdown."""
    return {k: n for k, n in figure.breakdown(dimension).values if n}


# ---------------------------------------------------------------------------------------------
# Each figure, per quarter and for the year
# ---------------------------------------------------------------------------------------------


def test_participants_trained_count_each_person_once_per_period_plus_unnamed_headcounts(
    app, logframe
):
    q1, q2, q3, q4, year = _figures(app, "participants_trained", ("sex", "sector"))
    # Q1: Ai, Bo, Cui at T1 (Ai again at T2; Gao is in the trash) + 10 + 1 unnamed. T0 is the
    # day before the year, T5 the day after; T6 planned, T7 cancelled, T8 in the trash.
    assert (q1.named, q1.unnamed) == (3, 11)
    assert (q2.named, q2.unnamed) == (4, 0)  # T3: Ai, Du, Hu and Ji
    assert (q3.named, q3.unnamed) == (0, 0)
    assert (q4.named, q4.unnamed) == (2, 4)  # T4 on 31 December: En, Fu + 4 unnamed
    # Ai attended in Q1 and Q2: she counts in both quarters, once in the year.
    assert (year.named, year.unnamed, year.value) == (8, 15, 23)
    assert _values((q1, q2, q3, q4)) == [14, 4, 0, 6]


def test_participants_trained_by_sex_add_named_genders_and_sign_in_sheet_headcounts(app, logframe):
    q1, q2, q3, q4, year = _figures(app, "participants_trained", ("sex", "sector"))
    assert _breakdown(q1, "sex") == {"women": 8, "men": 4, "not_stated": 2}
    assert _breakdown(q2, "sex") == {"women": 1, "men": 3}
    assert _breakdown(q3, "sex") == {}
    assert _breakdown(q4, "sex") == {"other": 1, "not_stated": 5}
    assert _breakdown(year, "sex") == {"women": 8, "men": 7, "other": 1, "not_stated": 7}
    assert sum(n for _k, n in year.breakdown("sex").values) == year.value


def test_participants_trained_by_sector_follow_the_training_and_may_count_a_person_twice(
    app, logframe
):
    q1, q2, _q3, q4, year = _figures(app, "participants_trained", ("sex", "sector"))
    assert _breakdown(q1, "sector") == {"electronics": 13, "textile": 2}
    assert _breakdown(q2, "sector") == {"textile": 4}
    assert _breakdown(q4, "sector") == {"": 6}
    # Ai attended an electronics and two textile trainings: in both rows, once in the total.
    assert _breakdown(year, "sector") == {"electronics": 13, "textile": 5, "": 6}


def test_officials_trained_are_attendees_working_for_a_live_government_body(app, logframe):
    q1, q2, q3, q4, year = _figures(app, "officials_trained", ("sex", "sector"))
    # Cui (T1) and Du (T3). Du's no-show at T1 and his webinar do not count; Hu's bureau is
    # in the trash; Cui's T0 is the day before the year.
    assert _values((q1, q2, q3, q4, year)) == [1, 1, 0, 0, 2]
    assert year.unnamed == 0
    assert _breakdown(year, "sex") == {"women": 1, "men": 1}
    assert _breakdown(year, "sector") == {"electronics": 1, "textile": 1}


def test_enterprises_trained_are_distinct_live_enterprises_reached_by_trainings(app, logframe):
    q1, q2, q3, q4, year = _figures(app, "enterprises_trained", ("sector",))
    # Q1: E2 (Ai), E1 (Bo), E3 and E5 (participating parties); the union hosting T1 is not
    # trained. E4 is in the trash: neither Ji's employer at T3 nor T3's party counts.
    assert _values((q1, q2, q3, q4, year)) == [4, 1, 0, 1, 4]
    assert _breakdown(year, "sector") == {"electronics": 1, "textile": 1, "both": 1, "": 1}


def test_forums_held_count_held_live_forums_starting_in_the_period(app, logframe):
    figures = _figures(app, "forums_held", ("sector",))
    assert _values(figures) == [1, 0, 0, 1, 2]  # F1 on 31 March, F2 on 1 October
    assert _breakdown(figures[-1], "sector") == {"textile": 1, "": 1}


def test_mous_signed_count_the_signing_date_whatever_the_status_now(app, logframe):
    figures = _figures(app, "mous_signed", ("sector",))
    assert _values(figures) == [1, 0, 0, 1, 2]  # M1 on 1 January, M2 (terminated) on 31 Dec.
    assert _breakdown(figures[-1], "sector") == {"textile": 1, "electronics": 1}


def test_research_published_count_on_the_end_date_when_a_publication_is_recorded(app, logframe):
    figures = _figures(app, "research_published", ("sector",))
    # R5 ends on 1 January, R1 on 30 April, R2 (planned, no end) starts on 9 September. R3
    # has no publication, R4 is cancelled, R6 ends in 2026, R7 is in the trash.
    assert _values(figures) == [1, 1, 1, 0, 3]
    assert _breakdown(figures[-1], "sector") == {"electronics": 1, "textile": 1, "": 1}


def test_stakeholders_engaged_count_live_stakeholders_by_local_day(app, logframe):
    figures = _figures(app, "stakeholders_engaged", ("stakeholder_type", "sector"))
    # I1 at 00:30 on 1 January and I3 at 23:30 on 31 December count, I2 and I4 a few
    # minutes outside do not; E4 is in the trash, I6 too. E1 is engaged in Q1 and Q3.
    assert _values(figures) == [1, 0, 2, 2, 4]
    year = figures[-1]
    assert _breakdown(year, "stakeholder_type") == {
        "enterprise": 1,
        "government": 1,
        "person": 2,
    }
    assert _breakdown(year, "sector") == {"electronics": 2, "textile": 1, "": 1}


def test_stakeholders_engaged_agree_with_the_engagement_report(app, logframe):
    with app.app_context():
        for start, end in (*QUARTERS, WHOLE_YEAR):
            report = reporting.engagement(start, end, today=TODAY)
            found = indicators.compute("stakeholders_engaged", start, end)
            assert found.value == report.engaged.engaged, (start, end)


def test_a_period_of_one_day_counts_that_day_only(app, logframe):
    with app.app_context():
        first = indicators.compute("participants_trained", date(2025, 1, 1), date(2025, 1, 1))
        last = indicators.compute("participants_trained", date(2025, 12, 31), date(2025, 12, 31))
        after = indicators.compute("participants_trained", date(2026, 1, 1), date(2026, 1, 1))
    assert (first.named, first.unnamed) == (3, 10)
    assert (last.named, last.unnamed) == (2, 4)
    assert (after.named, after.unnamed) == (1, 9)  # T5, the day after the year


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2025, 3, 1), date(2025, 2, 1), "The end date is before the start date."),
        (date(2000, 1, 1), date(2049, 12, 31), "Choose a period of at most 10 years."),
        (date(1900, 1, 1), date(1900, 12, 31), "Choose dates between 1990 and 2100."),
    ],
)
def test_a_figure_refuses_a_period_the_reports_refuse(app, start, end, message):
    with app.app_context(), pytest.raises(InvalidInput, match=message):
        indicators.compute("forums_held", start, end)


# ---------------------------------------------------------------------------------------------
# Indicators: year figures, targets, progress, and the records behind a figure
# ---------------------------------------------------------------------------------------------


def _indicator(logframe, code: str) -> Indicator:  # type: ignore[no-untyped-def]
    return indicators.get(logframe[code])


@pytest.mark.parametrize("side_by_side", [False, True], ids=["in one session", "side by side"])
def test_year_figures_give_quarters_year_target_and_progress_of_each_indicator(
    app, logframe, side_by_side
):
    """As a script counts them (one session), and as the page and the API do (stakeholders
    engaged beside the other metrics, on a second connection)."""
    with app.app_context():
        listed = indicators.list_indicators()
        rows = indicators.year_figures(
            listed, YEAR, today=TODAY, side_by_side_in=app if side_by_side else None
        )
        found = {
            r.indicator.code: (
                [q.value for q in r.quarters],
                r.total.value,
                r.target,
                r.progress,
            )
            for r in rows
        }
    assert list(found) == ["1.1", "1.2", "1.3", "2.1", "2.2", "3.1", "4.1"]  # 9.9 in the trash
    assert found["1.1"] == ([14, 4, 0, 6], 23, Decimal("20"), pytest.approx(23 / 20))
    assert found["1.2"] == ([4, 1, 0, 1], 4, Decimal("8"), pytest.approx(0.5))
    assert found["1.3"] == ([1, 1, 0, 0], 2, Decimal("4"), pytest.approx(0.5))
    assert found["2.1"] == ([1, 0, 0, 1], 2, Decimal("2"), pytest.approx(1.0))
    assert found["2.2"] == ([1, 0, 0, 1], 2, Decimal("1"), pytest.approx(2.0))
    assert found["3.1"] == ([1, 1, 1, 0], 3, Decimal("4"), pytest.approx(0.75))
    assert found["4.1"] == ([1, 0, 2, 2], 4, Decimal("10"), pytest.approx(0.4))


def test_a_year_without_target_has_no_progress(app, logframe):
    with app.app_context():
        (row,) = indicators.year_figures([_indicator(logframe, "1.2")], 2026, today=TODAY)
    assert row.target is None and row.progress is None
    assert [q.value for q in row.quarters] == [1, 0, 0, 0]  # T5 on 1 January: Bo, of E1
    assert row.total.value == 1


def test_the_years_table_computes_each_target_year_as_a_whole(app, logframe):
    with app.app_context():
        rows = indicators.years(_indicator(logframe, "1.1"), today=TODAY, also=[2024])
    found = [(r.year, r.target, r.figure.value, r.has_started) for r in rows]
    assert found == [
        (2024, None, 3, True),  # T0: Cui + 2 unnamed women
        (2025, Decimal("20"), 23, True),
        (2026, Decimal("40"), 10, True),  # T5: Bo + 9 unnamed men
    ]


def test_records_behind_a_figure_add_up_to_it(app, logframe):
    with app.app_context():
        found = indicators.records(_indicator(logframe, "1.1"), *WHOLE_YEAR)
        names = [e.display_name for e in found.entries]
        heads = [(h.activity.title, h.women, h.men, h.not_stated) for h in found.headcounts]
    assert found.figure.value == 23
    assert len(names) == 8 and len(set(names)) == 8
    people = ("Ai", "Bo", "Cui", "Du", "Hu", "Ji", "En", "Fu")
    assert sorted(names) == sorted(f"{n} Test" for n in people)
    assert heads == [
        ("Activity T1", 5, 3, 2),
        ("Activity T2", 1, 0, 0),
        ("Activity T4", 0, 0, 4),
    ]
    assert len(names) + sum(w + m + n for _t, w, m, n in heads) == 23


def test_records_of_one_category_add_up_to_its_cell(app, logframe):
    with app.app_context():
        women = indicators.records(
            _indicator(logframe, "1.1"), *WHOLE_YEAR, dimension="sex", key="women"
        )
        textile = indicators.records(
            _indicator(logframe, "1.1"), *WHOLE_YEAR, dimension="sector", key="textile"
        )
        none = indicators.records(
            _indicator(logframe, "1.2"), *WHOLE_YEAR, dimension="sector", key=""
        )
    assert sorted(e.display_name for e in women.entries) == ["Ai Test", "Cui Test"]
    assert [(h.activity.title, h.women, h.men) for h in women.headcounts] == [
        ("Activity T1", 5, 0),
        ("Activity T2", 1, 0),
    ]
    assert women.figure.value == 8
    assert sorted(e.display_name for e in textile.entries) == [
        "Ai Test",
        "Du Test",
        "Hu Test",
        "Ji Test",
    ]
    assert textile.figure.value == 5
    assert [e.display_name for e in none.entries] == ["Plain Works"]


def test_records_refuse_a_breakdown_the_figure_cannot_give(app, logframe):
    with app.app_context():
        mous = _indicator(logframe, "2.2")
        with pytest.raises(InvalidInput, match="no such breakdown"):
            indicators.records(mous, *WHOLE_YEAR, dimension="sex", key="women")
        with pytest.raises(InvalidInput, match="Unknown category"):
            indicators.records(mous, *WHOLE_YEAR, dimension="sector", key="steel")


# ---------------------------------------------------------------------------------------------
# Writing indicators through the service
# ---------------------------------------------------------------------------------------------


def _data(**over):  # type: ignore[no-untyped-def]
    data = {
        "code": "5.1",
        "name": "Women trained",
        "unit": "people",
        "metric": "participants_trained",
        "disaggregations": ["sex"],
        "baseline": "0",
        "targets": [{"year": 2025, "target": "10"}],
    }
    data.update(over)
    return data


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"name": ""}, "name", "Give the indicator's name."),
        ({"unit": None}, "unit", "Give the unit"),
        ({"metric": "budget_spent"}, "metric", "Choose a figure from the list."),
        ({"disaggregations": ["age"]}, "disaggregations", "Choose disaggregations"),
        ({"metric": "mous_signed"}, "disaggregations", "cannot be broken down by sex"),
        ({"baseline": "-1"}, "baseline", "may not be negative"),
        ({"baseline": "lots"}, "baseline", "Give a number"),
        ({"baseline": "1.234"}, "baseline", "at most two decimals"),
        ({"baseline_year": 1850}, "baseline_year", "between 1990 and 2100"),
        ({"targets": [{"year": 3000, "target": 1}]}, "targets", "between 1990 and 2100"),
        ({"targets": [{"year": 2025, "target": -5}]}, "targets", "may not be negative"),
        ({"targets": [{"year": 2025, "target": None}]}, "targets", "Give the target for 2025"),
        ({"targets": [{"year": None, "target": 3}]}, "targets", "Give the year"),
        (
            {"targets": [{"year": 2025, "target": 1}, {"year": 2025, "target": 2}]},
            "targets",
            "2025 has two targets",
        ),
        ({"code": "1.1"}, "code", "Another indicator has the code 1.1"),
    ],
)
def test_create_refuses_bad_values_and_writes_nothing(app, actor, logframe, over, field, message):
    with app.app_context():
        admin = db.session.get(type(actor), actor.id)
        before = len(indicators.list_indicators())
        with pytest.raises(InvalidInput, match=message) as caught:
            indicators.create(_data(**over), actor=admin)
        assert caught.value.field == field
        db.session.rollback()
        assert len(indicators.list_indicators()) == before


def test_the_code_of_an_indicator_in_the_trash_can_be_used_again(app, actor, logframe):
    with app.app_context():
        admin = db.session.get(type(actor), actor.id)
        made = indicators.create(_data(code="9.9"), actor=admin)
        assert made.code == "9.9"


def test_indicators_are_listed_in_logframe_order(app, actor):
    with app.app_context():
        admin = db.session.get(type(actor), actor.id)
        for code in ("1.10", "2.1", None, "1.2", "1.1a", "1²"):
            indicators.create(_data(code=code, name=f"Indicator {code}"), actor=admin)
        codes = [i.code for i in indicators.list_indicators()]
    assert codes == ["1.1a", "1.2", "1.10", "1²", "2.1", None]


def test_updating_targets_keeps_the_other_years_and_records_the_change(app, actor):
    with app.app_context():
        admin = db.session.get(type(actor), actor.id)
        made = indicators.create(
            _data(targets=[{"year": 2025, "target": 10}, {"year": 2026, "target": 20}]),
            actor=admin,
        )
        version = made.version
        indicators.update(
            made,
            {"targets": [{"year": 2026, "target": "25"}, {"year": 2027, "target": "30.5"}]},
            version=version,
            actor=admin,
        )
        assert made.version == version + 1
        assert [(t.year, t.target) for t in made.targets] == [
            (2026, Decimal("25")),
            (2027, Decimal("30.5")),
        ]
        event, _created = audit.history("indicators", made.id)
        assert event.changes == {"targets": [["2025: 10", "2026: 20"], ["2026: 25", "2027: 30.5"]]}


def test_metric_labels_exist_for_every_metric():
    assert set(indicators.SUPPORTED) == set(Metric)
    assert set(indicators.METRIC_DESCRIPTIONS) == set(Metric)
