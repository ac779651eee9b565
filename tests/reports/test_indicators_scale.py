"""Donor indicators and activity reach at a programme's scale.

The database counts the figures (crm.services.reporting.indicators.tallies): these tests hold
its counts to the definitions written over loaded rows (`indicators.items` and `figure`, and
`compute_reach`) on the known data sets and on random ones, check that the records behind a
figure come a page at a time while their total stays exact, and that the pages cost as many
statements with many records as with a few.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    Affiliation,
    Interaction,
    Metric,
    Organisation,
    Participation,
    Person,
    User,
)
from crm.services import activities
from crm.services.activities.reach import Attendee, Headcounts, OrgFacts, compute_reach
from crm.services.reporting import indicators
from tests.reports.logframe import QUARTERS, WHOLE_YEAR

PERIODS = (*QUARTERS, WHOLE_YEAR)
ZONES = ("Asia/Shanghai", "Europe/London", "America/New_York")


def _expected(metric: Metric, periods, timezone: str) -> list[Any]:  # type: ignore[no-untyped-def]
    first = min(s for s, _e in periods)
    last = max(e for _s, e in periods)
    loaded = indicators.items(metric, first, last, timezone=timezone)
    found = [
        indicators.figure(loaded, s, e, dimensions=indicators.SUPPORTED[metric]) for s, e in periods
    ]
    return [(f.named, f.unnamed, [(b.dimension, b.values) for b in f.breakdowns]) for f in found]


def _counted(metric: Metric, periods, timezone: str) -> list[Any]:  # type: ignore[no-untyped-def]
    found = indicators.counted(
        metric, periods, dimensions=indicators.SUPPORTED[metric], timezone=timezone
    )
    return [(f.named, f.unnamed, [(b.dimension, b.values) for b in f.breakdowns]) for f in found]


def _agree(periods, timezone: str = "Asia/Shanghai") -> None:  # type: ignore[no-untyped-def]
    for metric in Metric:
        assert _counted(metric, periods, timezone) == _expected(metric, periods, timezone), (
            metric,
            periods,
            timezone,
        )


# ---------------------------------------------------------------------------------------------
# The database's counts follow the definitions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timezone", ZONES)
def test_counted_figures_follow_the_definitions_on_the_logframe(app, logframe, timezone):
    with app.app_context():
        _agree(PERIODS, timezone)
        _agree([(date(2024, 1, 1), date(2026, 12, 31))], timezone)
        # Overlapping periods, and a year with gaps between the years asked for.
        _agree([(date(2025, 2, 14), date(2025, 5, 20)), WHOLE_YEAR, (date(2025, 1, 1),) * 2])
        _agree([(date(2024, 1, 1), date(2024, 12, 31)), (date(2026, 1, 1), date(2026, 12, 31))])


def test_counted_figures_follow_the_definitions_on_the_engagement_data_set(app, known):
    # People with two employers in two sectors, and with none; an organisation without sector.
    months = [(date(2026, m, 1), date(2026, m + 1, 1) - timedelta(days=1)) for m in (1, 2)]
    with app.app_context():
        for timezone in ZONES:
            _agree([*months, (date(2026, 1, 1), date(2026, 3, 31))], timezone)
            _agree([(date(2025, 11, 1), date(2026, 4, 1))], timezone)


def _random_data(seed: int, admin: User) -> None:
    """Stakeholders, trainings and interactions drawn at random around 2025's edges, with
    records in the trash, duplicate employers and people working in two sectors."""
    rng = random.Random(seed)
    gone = datetime(2025, 6, 1, tzinfo=UTC)
    sectors = [None, "electronics", "textile", "both", "cross_sector"]
    orgs = []
    for n in range(14):
        org = Organisation(
            display_name=f"Org {n}",
            org_type=rng.choice(["enterprise", "enterprise", "government", "ngo"]),
            sector=rng.choice(sectors),
            deleted_at=gone if rng.random() < 0.15 else None,
        )
        orgs.append(org)
    people = [
        Person(
            display_name=f"Person {n}",
            gender=rng.choice(["female", "male", "other", "undisclosed"]),
            deleted_at=gone if rng.random() < 0.1 else None,
        )
        for n in range(24)
    ]
    db.session.add_all([*orgs, *people])
    db.session.flush()
    for person in people:
        for org in rng.sample(orgs, rng.choice([0, 1, 1, 2, 3])):
            ended = date(2024, 1, 1) if rng.random() < 0.2 else None
            trashed = gone if rng.random() < 0.1 else None
            db.session.add(
                Affiliation(
                    person_id=person.id, organisation_id=org.id, end_on=ended, deleted_at=trashed
                )
            )
    for n in range(18):
        kind = rng.choice(["training", "training", "training", "forum", "mou", "research"])
        start = date(2024, 12, 20) + timedelta(days=rng.randrange(400))
        made = Activity(
            type=kind,
            title=f"Activity {n}",
            start_on=start,
            end_on=start + timedelta(days=rng.randrange(40)) if rng.random() < 0.5 else None,
            status=rng.choice(["held", "held", "held", "planned", "cancelled"]),
            sector=rng.choice(sectors),
            signed_on=start if kind == "mou" and rng.random() < 0.8 else None,
            publication="Report" if kind == "research" and rng.random() < 0.7 else None,
            unnamed_women=rng.choice([0, 0, 2, 5]),
            unnamed_men=rng.choice([0, 1, 3]),
            unnamed_unspecified=rng.choice([0, 0, 4]),
            deleted_at=gone if rng.random() < 0.1 else None,
        )
        db.session.add(made)
        db.session.flush()
        for person in rng.sample(people, rng.randrange(8)):
            db.session.add(
                Participation(
                    activity_id=made.id,
                    person_id=person.id,
                    organisation_id=rng.choice(orgs).id if rng.random() < 0.8 else None,
                    status=rng.choice(["attended", "attended", "no_show", "registered"]),
                )
            )
        for org in rng.sample(orgs, rng.randrange(3)):
            db.session.add(
                ActivityParty(
                    activity_id=made.id,
                    organisation_id=org.id,
                    role=rng.choice(["participant", "participant", "host", "sponsor"]),
                )
            )
    everyone = [*orgs, *people]
    edges = [datetime(2025, m, 1, tzinfo=UTC) for m in (1, 4, 7, 10)] + [
        datetime(2026, 1, 1, tzinfo=UTC)
    ]
    for n in range(60):
        edge = rng.choice(edges)
        when = edge + timedelta(minutes=rng.randrange(-15 * 60, 15 * 60))
        made = Interaction(
            occurred_at=when,
            channel="meeting",
            subject=f"Interaction {n}",
            logged_by_id=admin.id,
            deleted_at=gone if rng.random() < 0.1 else None,
        )
        made.stakeholders = rng.sample(everyone, rng.randrange(1, 4))
        db.session.add(made)
    db.session.commit()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counted_figures_follow_the_definitions_on_random_data(app, actor, seed):
    rng = random.Random(seed)
    with app.app_context():
        _random_data(seed, db.session.get(User, actor.id))
        for _ in range(3):
            days = sorted(date(2024, 12, 25) + timedelta(days=rng.randrange(420)) for _ in "ab")
            periods = [tuple(days), *QUARTERS, WHOLE_YEAR]
            _agree(periods, rng.choice(ZONES))


# ---------------------------------------------------------------------------------------------
# The records behind a figure: a page at a time, the total exact
# ---------------------------------------------------------------------------------------------


def test_records_come_a_page_at_a_time_and_add_up_over_the_pages(app, logframe):
    with app.app_context():
        participants = indicators.get(logframe["1.1"])
        whole = indicators.records(participants, *WHOLE_YEAR)
        pages = [
            indicators.records(participants, *WHOLE_YEAR, page=n, per_page=3) for n in (1, 2, 3)
        ]
        past = indicators.records(participants, *WHOLE_YEAR, page=10**9, per_page=3)
    assert [len(p.entries) for p in pages] == [3, 3, 2]
    assert [e.id for p in pages for e in p.entries] == [e.id for e in whole.entries]
    assert all(p.figure.value == 23 and p.paging.total == 8 for p in pages)
    assert pages[0].paging.pages == 3 and pages[0].paging.has_next
    assert past.entries == () and past.figure.value == 23 and past.paging.total == 8


def test_the_records_page_is_paged_and_survives_any_page_number(login_as, logframe):
    client = login_as(Role.viewer)
    url = f"/reports/indicators/{logframe['4.1']}/records?start=2025-01-01&end=2025-12-31"
    for page in ("", "&page=2", "&page=abc", "&page=-3", "&page=99999999999999999999"):
        response = client.get(url + page)
        assert response.status_code == 200, page
        html = response.get_data(as_text=True)
        assert re.search(r'data-testid="records-total">4<', html), page
    html = client.get(url + "&page=2").get_data(as_text=True)
    assert "No records on this page" in html


def test_records_of_stakeholders_engaged_count_their_interactions(app, logframe):
    with app.app_context():
        found = indicators.records(indicators.get(logframe["4.1"]), *WHOLE_YEAR)
    seen = {e.display_name: (e.day, e.via_count, e.last_day) for e in found.entries}
    assert seen["Bright Electronics"] == (date(2025, 1, 1), 2, date(2025, 7, 7))
    assert seen["Ai Test"] == (date(2025, 12, 31), 1, date(2025, 12, 31))


# ---------------------------------------------------------------------------------------------
# Reach of one activity
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [4, 5])
def test_the_reach_counted_by_the_database_follows_the_definition(app, actor, seed):
    with app.app_context():
        _random_data(seed, db.session.get(User, actor.id))
        for made in db.session.scalars(sa.select(Activity)):
            assert activities.reach(made) == _reach_from_facts(made), made.title


def _org_facts(org: Organisation) -> OrgFacts:
    return OrgFacts(org.id, str(org.org_type), str(org.sector) if org.sector else None)


def _reach_from_facts(activity: Activity):  # type: ignore[no-untyped-def]
    attendees = []
    for p in db.session.scalars(
        sa.select(Participation).where(
            Participation.activity_id == activity.id, Participation.status == "attended"
        )
    ):
        if p.person.deleted_at is not None:
            continue
        org = p.organisation if p.organisation and p.organisation.deleted_at is None else None
        facts = _org_facts(org) if org is not None else None
        attendees.append(Attendee(p.person_id, str(p.person.gender), facts))
    parties = [
        _org_facts(party.organisation)
        for party in activity.parties
        if party.role == "participant" and party.organisation.deleted_at is None
    ]
    counts = Headcounts(activity.unnamed_women, activity.unnamed_men, activity.unnamed_unspecified)
    return compute_reach(attendees, counts, parties)


# ---------------------------------------------------------------------------------------------
# Statements per page do not grow with the data
# ---------------------------------------------------------------------------------------------


def _statements(app, client, url: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(*_args: Any) -> None:
        seen.append("")

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200, url
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_indicator_pages_cost_as_many_statements_with_many_records_as_with_a_few(
    app, login_as, logframe, actor
):
    client = login_as(Role.viewer)
    year = "start=2025-01-01&end=2025-12-31"
    urls = [
        "/reports/indicators?year=2025",
        *(f"/reports/indicators/{logframe[code]}?year=2025" for code in ("1.1", "4.1")),
        *(f"/reports/indicators/{logframe[c]}/records?{year}" for c in ("1.1", "1.2", "2.1")),
        f"/reports/indicators/{logframe['4.1']}/records?{year}&sector=textile",
    ]
    few = {url: _statements(app, client, url) for url in urls}
    with app.app_context():
        _random_data(7, db.session.get(User, actor.id))
    many = {url: _statements(app, client, url) for url in urls}
    assert many == few
    assert max(many.values()) <= 15


def test_the_activity_page_costs_as_many_statements_with_many_attendees(
    app, login_as, logframe, in_app
):
    client = login_as(Role.viewer)
    url = f"/activities/{logframe['T1']}"
    few = _statements(app, client, url)
    with in_app():
        made = db.session.get(Activity, logframe["T1"])
        for n in range(30):
            person = Person(display_name=f"Extra {n}", gender="female")
            db.session.add(person)
            db.session.flush()
            db.session.add(
                Participation(
                    activity_id=made.id,
                    person_id=person.id,
                    organisation_id=logframe["E1"],
                    status="attended",
                )
            )
        db.session.commit()
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'data-testid="reach-total">\s*43\s*<', html)  # 3 + 30 named, 10 unnamed
    assert _statements(app, client, url) == few <= 15


def test_a_long_list_of_records_has_pages_and_keeps_its_total(app, login_as, logframe, actor):
    with app.app_context():
        many = [
            Organisation(display_name=f"Many {n:03d}", org_type="ngo", sector="textile")
            for n in range(120)
        ]
        met = Interaction(
            occurred_at=datetime(2025, 8, 1, 2, 0, tzinfo=UTC),
            channel="meeting",
            subject="Everyone",
            logged_by_id=actor.id,
        )
        met.stakeholders = list(many)
        db.session.add_all([*many, met])
        db.session.commit()
    client = login_as(Role.viewer)
    url = f"/reports/indicators/{logframe['4.1']}/records?start=2025-01-01&end=2025-12-31"
    first = client.get(url).get_data(as_text=True)
    assert re.search(r'data-testid="records-total">124<', first)  # 4 + 120
    assert "1–100 of 124" in first and "page=2" in first
    assert first.count("Many ") == 100 - 2  # two of the first four come before them
    second = client.get(url + "&page=2").get_data(as_text=True)
    assert "101–124 of 124" in second and re.search(r'records-total">124<', second)
    assert second.count("Many ") == 22
    textile = client.get(url + "&sector=textile").get_data(as_text=True)
    assert re.search(r'data-testid="records-total">121<', textile)  # and Ai, of Silk Garments
