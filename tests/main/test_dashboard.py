"""The dashboard: my follow-ups, recent interactions, upcoming activities, quiet stakeholders."""

from datetime import UTC, datetime, timedelta

from crm.extensions import db
from crm.models import Activity, Interaction, Person, User
from crm.services import follow_ups, interactions, overview, stakeholders


def _today():
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _log(user_id, stakeholder_id, *, days_ago, subject="Meeting", confidential=False):
    author = db.session.get(User, user_id)
    return interactions.log_interaction(
        {
            "occurred_at": datetime.now(UTC) - timedelta(days=days_ago),
            "channel": "meeting",
            "subject": subject,
            "summary": "secret words",
            "stakeholder_ids": [stakeholder_id],
            "is_confidential": confidential,
        },
        actor=author,
    )


def test_member_sees_own_follow_ups_and_recent_interactions(login_as, make_person, in_app):
    client = login_as("member")
    person = make_person(family_name="Li", given_name="Na")
    with in_app():
        me = db.session.get(User, client.user.id)
        follow_ups.create(
            {"title": "Overdue call", "due_on": _today() - timedelta(days=1), "assignee_id": me.id},
            actor=me,
        )
        follow_ups.create(
            {"title": "Next month", "due_on": _today() + timedelta(days=40), "assignee_id": me.id},
            actor=me,
        )
        _log(me.id, person.id, days_ago=1, subject="Factory visit in Dongguan")
        db.session.add(
            Activity(
                type="training", title="OSH training Suzhou", start_on=_today() + timedelta(days=10)
            )
        )
        db.session.add(
            Activity(type="forum", title="Old forum", start_on=_today() - timedelta(days=10))
        )
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="open-count">2<' in page and 'data-testid="overdue-count">1<' in page
    assert "Overdue call" in page and "Next month" not in page.split('data-testid="quiet"')[0]
    assert "Factory visit in Dongguan" in page
    assert "OSH training Suzhou" in page and "Old forum" not in page


def test_influential_stakeholders_not_contacted_in_90_days_are_listed(
    login_as, make_organisation, in_app
):
    client = login_as("coordinator")
    quiet = make_organisation(display_name="Quiet Ministry", org_type="government", influence=5)
    make_organisation(display_name="Minor Factory", influence=2)
    recent = make_organisation(display_name="Busy Bureau", org_type="government", influence=4)
    stale = make_organisation(
        display_name="Stale Association", org_type="industry_body", influence=4
    )
    with in_app():
        _log(client.user.id, recent.id, days_ago=10)
        _log(client.user.id, stale.id, days_ago=120)
    page = client.get("/").get_data(as_text=True)
    section = page[page.index('data-testid="quiet"') : page.index('data-testid="upcoming"')]
    assert "Quiet Ministry" in section and "never contacted" in section
    assert "Stale Association" in section and "last contact" in section
    assert "Busy Bureau" not in section and "Minor Factory" not in section
    assert section.index("Quiet Ministry") < section.index("Stale Association")
    with in_app():
        board = overview.dashboard(db.session.get(User, client.user.id), today=_today())
        assert board.quiet_total == 2
    assert quiet.id


def test_confidential_subjects_stay_hidden_on_the_dashboard(login_as, make_person, in_app):
    author = login_as("member")
    person = make_person(family_name="Zhou")
    with in_app():
        _log(author.user.id, person.id, days_ago=1, subject="Union election", confidential=True)
    assert "Union election" in author.get("/").get_data(as_text=True)
    other = login_as("member").get("/").get_data(as_text=True)
    assert "Union election" not in other and "Confidential interaction" in other


def test_dashboard_queries_do_not_grow_with_rows(login_as, make_person, in_app, count_queries):
    client = login_as("member")

    def add(n):
        with in_app():
            me = db.session.get(User, client.user.id)
            for i in range(n):
                person = make_person(family_name=f"P{i}", influence=5)
                _log(me.id, person.id, days_ago=i + 1)
                follow_ups.create(
                    {
                        "title": f"F{i}",
                        "due_on": _today(),
                        "assignee_id": me.id,
                        "stakeholder_id": person.id,
                    },
                    actor=me,
                )
                db.session.add(
                    Activity(type="training", title=f"A{i}", start_on=_today() + timedelta(days=i))
                )
            db.session.commit()

    add(2)
    with count_queries() as few:
        assert client.get("/").status_code == 200
    add(8)
    with count_queries() as many:
        assert client.get("/").status_code == 200
    assert many.count == few.count, (few, many)


def test_a_trashed_interaction_is_no_contact_and_a_confidential_one_is(
    login_as, make_organisation, in_app
):
    client = login_as("coordinator")
    trashed = make_organisation(display_name="Trashed Ministry", org_type="government", influence=5)
    secret = make_organisation(display_name="Secret Bureau", org_type="government", influence=5)
    with in_app():
        older = _log(client.user.id, trashed.id, days_ago=200)
        recent = _log(client.user.id, trashed.id, days_ago=10, subject="Meeting to trash").id
        _log(client.user.id, secret.id, days_ago=10, confidential=True)
        expected = db.session.get(Interaction, older.id).occurred_at
    assert client.post(f"/interactions/{recent}/delete").status_code == 302

    page = client.get("/").get_data(as_text=True)
    section = page[page.index('data-testid="quiet"') : page.index('data-testid="upcoming"')]
    assert "Trashed Ministry" in section and "Secret Bureau" not in section
    with in_app():
        board = overview.dashboard(db.session.get(User, client.user.id), today=_today())
        assert board.quiet_total == 1
        (item,) = board.quiet
        # The last contact shown is the live one, not the trashed one.
        assert item.stakeholder.id == trashed.id and item.last_contacted_at == expected


def test_quiet_list_shows_the_first_ten_and_counts_them_all(make_organisation, in_app):
    for i in range(12):
        make_organisation(display_name=f"Bureau {i:02d}", org_type="government", influence=4)
    make_organisation(display_name="Ministry", org_type="government", influence=5)
    with in_app():
        quiet, total = overview.quiet_stakeholders(today=_today())
        assert total == 13
        assert [q.stakeholder.display_name for q in quiet] == [
            "Ministry",
            *(f"Bureau {i:02d}" for i in range(9)),
        ]


def test_the_counts_of_live_organisations_and_people_leave_the_trash_out(
    login_as, make_organisation, make_person, in_app, actor
):
    """The page counts them beside its other statements (a second connection): the numbers
    shown are those of the database, the trash left out."""
    client = login_as("member")
    for name in ("Alpha Ltd", "Beta Ltd", "Gamma Ltd"):
        make_organisation(display_name=name)
    people = [make_person(family_name=name) for name in ("Li", "Zhao")]
    with in_app():
        admin = db.session.get(User, actor.id)
        stakeholders.delete(db.session.get(Person, people[0].id), actor=admin)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="organisations-count">3<' in html
    assert 'data-testid="people-count">1<' in html


def test_quiet_stakeholders_never_contacted_come_before_the_longest_quiet(
    login_as, make_organisation, in_app
):
    """Most influential first; within an influence level, those never contacted (by name),
    then the longest quiet: on both databases, which keep NULL dates at opposite ends of an
    index."""
    client = login_as("coordinator")
    top = make_organisation(display_name="Top Ministry", org_type="government", influence=5)
    never = [
        make_organisation(display_name=f"Never {n}", org_type="government", influence=4)
        for n in "CAB"
    ]
    quiet = {
        days: make_organisation(display_name=f"Quiet {days}", org_type="government", influence=4)
        for days in (100, 300, 200)
    }
    with in_app():
        _log(client.user.id, top.id, days_ago=120)
        for days, org in quiet.items():
            _log(client.user.id, org.id, days_ago=days)
        panel = overview.quiet_panel(today=_today(), limit=5)
    assert [q.stakeholder.display_name for q in panel.items] == [
        "Top Ministry",
        "Never A",
        "Never B",
        "Never C",
        "Quiet 300",
    ]
    assert (panel.organisations, len(never)) == (7, 3)


def _section(page, testid):
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def test_upcoming_activities_are_those_not_over_that_start_within_60_days(login_as, in_app):
    client = login_as("coordinator")
    today = _today()
    with in_app():
        for title, start, end, status in [
            ("Today only", 0, None, "planned"),
            ("Started, ends in two days", -3, 2, "planned"),
            ("Started, ends today", -2, 0, "held"),
            ("In thirty days", 30, 31, "planned"),
            ("In sixty days", 60, None, "planned"),
            ("Ended yesterday", -5, -1, "held"),
            ("Yesterday only", -1, None, "held"),
            ("In sixty-one days", 61, None, "planned"),
            ("Cancelled next week", 7, None, "cancelled"),
        ]:
            db.session.add(
                Activity(
                    type="training",
                    title=title,
                    status=status,
                    start_on=today + timedelta(days=start),
                    end_on=None if end is None else today + timedelta(days=end),
                )
            )
        db.session.commit()
    section = _section(client.get("/").get_data(as_text=True), "upcoming")
    shown = [
        "Started, ends in two days",
        "Started, ends today",
        "Today only",
        "In thirty days",
        "In sixty days",
    ]
    assert [t for t in shown if t in section] == shown
    assert sorted(shown, key=section.index) == shown  # by start date
    for title in ("Ended yesterday", "Yesterday only", "In sixty-one days", "Cancelled"):
        assert title not in section


def test_the_follow_ups_panel_shows_the_first_eight_due_by_the_week_end_overdue_first(
    login_as, in_app
):
    client = login_as("member")
    today = _today()
    with in_app():
        me = db.session.get(User, client.user.id)
        for title, due, priority in [
            *((f"This week {n}", 3, "normal") for n in range(6)),
            ("Due today", 0, "normal"),
            ("Overdue low", -4, "low"),
            ("Overdue high", -4, "high"),
            ("Later", 9, "high"),
        ]:
            follow_ups.create(
                {
                    "title": title,
                    "due_on": today + timedelta(days=due),
                    "assignee_id": me.id,
                    "priority": priority,
                },
                actor=me,
            )
    page = client.get("/").get_data(as_text=True)
    section = _section(page, "my-follow-ups")
    expected = ["Overdue high", "Overdue low", "Due today"] + [f"This week {n}" for n in range(5)]
    assert sorted(expected, key=section.index) == expected
    assert "This week 5" not in section and "Later" not in section
    assert 'data-testid="open-count">10<' in page and 'data-testid="overdue-count">2<' in page
