"""The engagement report at scale: counted by the database, lists cut to what the page shows,
local calendars in any zone, the sector rules in SQL (issue "Instant at a regional
programme's scale")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from crm.access import Role
from crm.extensions import db
from crm.models import (
    AuditAction,
    AuditEvent,
    Organisation,
    Participation,
    Person,
    User,
    UTCDateTime,
)
from crm.services import follow_ups, interactions, reporting, stakeholders
from crm.services.reporting import engagement_queries, facts
from tests.reports.conftest import local
from tests.reports.helpers import csv_rows

Q1 = "/reports?start=2026-01-01&end=2026-03-31"
YEAR = "/reports?start=2026-01-01&end=2026-12-31"
MANY = 30  # more than the page lists (views.PAGE_LIMIT)


def _admin() -> User:
    return db.session.scalar(sa.select(User).where(User.role == Role.admin).limit(1))


def _statements(app: Any, client: Any, url: str) -> tuple[int, Any]:
    found: list[str] = []

    def count(*args: Any) -> None:
        found.append(args[2])

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
        response.get_data()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(found), response


# ---------------------------------------------------------------------------------------------
# A fixed, small number of statements
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        Q1,
        YEAR,
        Q1 + "&sector=textile",
        Q1 + "&type=person",
        Q1 + "&sector=electronics&type=enterprise",
        Q1 + "&format=xlsx",
        Q1 + "&table=not_contacted&format=csv",
    ],
)
def test_the_report_and_its_files_take_at_most_fifteen_statements(app, login_as, known, url):
    client = login_as(Role.coordinator)
    client.get(url)  # a first request may load things once per process
    count, response = _statements(app, client, url)
    assert response.status_code == 200
    assert count <= 15, count


def test_a_ten_year_report_answers_and_more_is_refused_with_a_message(login_as, known):
    client = login_as(Role.manager)
    assert client.get("/reports?start=2016-01-01&end=2026-01-01").status_code == 200
    response = client.get("/reports?start=2016-01-01&end=2026-01-02")
    assert response.status_code == 400
    assert "Choose a period of at most 10 years." in response.get_data(as_text=True)
    response = client.get("/reports?start=2016-01-01&end=2026-01-02&format=xlsx")
    assert response.status_code == 400


# ---------------------------------------------------------------------------------------------
# Lists: the page shows the first rows and says how many there are; files hold them all
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def crowd(app, known) -> list[int]:  # type: ignore[no-untyped-def]
    """MANY more high-influence organisations never contacted, each moved up a level in the
    first quarter of 2026."""
    ids = []
    with app.app_context():
        admin = _admin()
        for n in range(MANY):
            made = stakeholders.create_organisation(
                {
                    "display_name": f"Quiet {n:02d}",
                    "org_type": "ngo",
                    "influence": 5,
                    "interest": 1,
                    "engagement_level": "aware",
                },
                actor=admin,
                allow_duplicate=True,
            )
            ids.append(made.id)
            db.session.add(
                AuditEvent(
                    occurred_at=local(2026, 2, 1, 9, n),
                    action=AuditAction.update,
                    entity_type="organisations",
                    entity_id=made.id,
                    summary="level",
                    changes={"engagement_level": ["unaware", "aware"]},
                )
            )
        db.session.commit()
        db.session.remove()
    return ids


def test_the_page_lists_the_first_stakeholders_not_contacted_and_counts_them_all(login_as, crowd):
    page = login_as(Role.coordinator).get(Q1).get_data(as_text=True)
    listed = re.findall(
        r"Quiet \d\d", page.split('data-table="not_contacted"')[1].split("</table>")[0]
    )
    # The most influential first (Quiet ones have influence 5), then by name.
    assert listed[:3] == ["Quiet 00", "Quiet 01", "Quiet 02"]
    assert len(listed) == 25
    assert "The first 25 of 31 are listed; the export holds all of them." in page


def test_the_export_of_stakeholders_not_contacted_holds_them_all(login_as, crowd):
    response = login_as(Role.coordinator).get(Q1 + "&table=not_contacted&format=csv")
    rows = csv_rows(response.data)[1:]
    assert len(rows) == MANY + 1  # and Cotton Mill, of the known data set
    assert [r[0] for r in rows[:2]] == ["Quiet 00", "Quiet 01"]
    assert rows[-1][0] == "Cotton Mill"  # influence 4 comes after 5


def test_the_page_lists_the_first_level_moves_and_counts_them_all(login_as, crowd):
    page = login_as(Role.coordinator).get(Q1).get_data(as_text=True)
    moves = page.split('data-table="level_moves"')[1].split("</table>")[0]
    assert moves.count("<tr") == 1 + 25  # the header and the first 25
    assert "Moved up: 32" in page and "Moved down: 1" in page
    assert "The first 25 of 33 are listed; the export holds all of them." in page
    response = login_as(Role.coordinator).get(Q1 + "&table=level_moves&format=csv")
    assert len(csv_rows(response.data)) == 1 + 33


def test_a_member_asking_for_a_personal_table_is_refused_before_any_figure(app, login_as, known):
    client = login_as(Role.member)
    count, response = _statements(app, client, Q1 + "&table=not_contacted&format=csv")
    assert response.status_code == 403
    assert count <= 2  # the session's user, nothing of the report


# ---------------------------------------------------------------------------------------------
# Local calendars: months and days in the report's zone, also where clocks change
# ---------------------------------------------------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")


def test_months_and_days_follow_a_zone_whose_clocks_change(app, known):
    """New York moves to summer time on 8 March 2026 and back on 1 November."""
    with app.app_context():
        admin = _admin()
        org = db.session.get(Organisation, known["O7"])
        for when in (
            datetime(2026, 3, 31, 23, 30, tzinfo=NEW_YORK),  # 03:30 UTC on 1 April: March
            datetime(2026, 4, 1, 0, 10, tzinfo=NEW_YORK),  # April
            datetime(2026, 10, 31, 23, 59, tzinfo=NEW_YORK),  # October (summer time)
            datetime(2026, 11, 30, 23, 59, tzinfo=NEW_YORK),  # November (winter time)
        ):
            interactions.log_interaction(
                {
                    "occurred_at": when,
                    "channel": "letter",
                    "subject": "Clock",
                    "stakeholder_ids": [org.id],
                },
                actor=admin,
            )
        made = follow_ups.create(
            {"title": "Across the change", "due_on": date(2026, 3, 20), "assignee_id": admin.id},
            actor=admin,
        )
        # 23:30 on 7 March to 00:30 on 9 March, local: two calendar days (and 24 hours).
        made.created_at = datetime(2026, 3, 7, 23, 30, tzinfo=NEW_YORK)
        made.status = "done"
        made.completed_at = datetime(2026, 3, 9, 0, 30, tzinfo=NEW_YORK)
        db.session.commit()
        report = reporting.engagement(
            date(2026, 3, 1), date(2026, 11, 30), timezone=NEW_YORK, today=date(2026, 12, 1)
        )
    letters = report.channels.index("letter")
    by_month = {row.month: row.counts[letters] for row in report.by_channel}
    assert by_month[date(2026, 3, 1)] == 1
    assert by_month[date(2026, 4, 1)] == 1
    assert by_month[date(2026, 10, 1)] == 1
    assert by_month[date(2026, 11, 1)] == 1
    admin_row = next(r for r in report.follow_ups if r.name == "Factory Admin")
    assert admin_row.median_days == 2.0


def test_local_days_agree_with_python_around_every_change_of_a_zone(app):
    """`local_day` on this database against zoneinfo, an hour either side of each change."""
    zone = ZoneInfo("Europe/Berlin")
    moments = []
    for year in (1996, 2026, 2030):
        for month in (3, 10):
            start = datetime(year, month, 20, tzinfo=UTC)
            moments += [start + timedelta(hours=n) for n in range(14 * 24)]
    found = []
    with app.app_context():
        for first in range(0, len(moments), 40):  # a column each, 40 to a statement
            chunk = moments[first : first + 40]
            days = [engagement_queries.local_day(sa.literal(m, UTCDateTime()), zone) for m in chunk]
            found += list(db.session.execute(sa.select(*days)).one())
    epoch = date(1970, 1, 1)
    for n, moment in enumerate(moments):
        assert found[n] == (moment.astimezone(zone).date() - epoch).days, moment


# ---------------------------------------------------------------------------------------------
# The sector rules, in SQL
# ---------------------------------------------------------------------------------------------


def test_a_persons_sectors_come_from_current_positions_at_live_organisations(
    app, known, make_organisation, make_person
):
    textile = make_organisation(display_name="Old Mill", sector="textile")
    gone = make_organisation(display_name="Gone Works", sector="electronics")
    left = make_person(family_name="Left", given_name="Lu")
    trashed = make_person(family_name="Trash", given_name="Tao")
    with app.app_context():
        admin = _admin()
        stakeholders.add_affiliation(
            db.session.get(Person, left.id),
            organisation_id=textile.id,
            title="Clerk",
            start_on=date(2020, 1, 1),
            end_on=date(2021, 1, 1),  # ended: not a current employer
            actor=admin,
        )
        stakeholders.add_affiliation(
            db.session.get(Person, trashed.id),
            organisation_id=gone.id,
            title="Clerk",
            start_on=date(2020, 1, 1),
            end_on=None,
            actor=admin,
        )
        stakeholders.delete(db.session.get(Organisation, gone.id), actor=admin)
        found = facts.stakeholder_facts()
        rows = {
            row.id: row
            for row in db.session.execute(
                sa.select(facts.stakeholder_rows(sector="textile").subquery())
            )
        }
    assert found[left.id].sectors == {""}
    assert found[trashed.id].sectors == {""}
    assert found[known["P2"]].sectors == {"electronics", "textile"}
    assert found[known["O7"]].sectors == {"both"}
    assert gone.id not in found
    assert set(rows) == {known[k] for k in ("O2", "O4", "O5", "P1", "P2")} | {textile.id}


def test_attendees_are_read_by_a_flat_join(app):
    """A parenthesised (stakeholders JOIN people) makes SQLite without statistics loop over
    every person; the attendance query joins table after table."""
    stmt = facts.attendee_rows([1, 2])
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        text = str(stmt.compile(dialect=dialect))
        assert "JOIN (" not in text, text


def test_attendees_keep_their_columns_and_the_trash_rules(app, known):
    with app.app_context():
        held = facts.held_ids(date(2026, 1, 1), date(2026, 3, 31))
        rows = facts.attendees(held)
        assert rows and set(rows[0]._fields) == {
            "activity_id",
            "person_id",
            "gender",
            "id",
            "org_type",
            "sector",
        }
        attended = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Participation)
            .where(Participation.activity_id.in_(held), Participation.status == "attended")
        )
    # P5 attended A6 but is in the trash; everyone else who attended counts.
    assert len(rows) == attended - 1
    assert known["P5"] not in {r.person_id for r in rows}
