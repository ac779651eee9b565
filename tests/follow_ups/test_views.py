"""Follow-ups: assign, my list grouped by due date, complete, reopen, reassign, cancel, team."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditEvent, FollowUp, User
from crm.services import follow_ups


def today():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _make(in_app, *, assignee_id, creator_id, title="Send invitation", due=None, **over):
    with in_app():
        creator = db.session.get(User, creator_id)
        data = {"title": title, "due_on": due or today(), "assignee_id": assignee_id, **over}
        return follow_ups.create(data, actor=creator).id


def test_member_can_assign_a_follow_up_to_a_colleague(login_as, make_user, make_person, in_app):
    client = login_as("member")
    colleague = make_user("member", name="Zhang Wei")
    person = make_person(family_name="Li", given_name="Na")
    response = client.post(
        "/follow-ups/new",
        data={
            "version": "0",
            "title": "Share the OSH checklist",
            "due_on": "2026-12-01",
            "assignee_id": str(colleague.id),
            "priority": "high",
            "stakeholder_id": str(person.id),
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Share the OSH checklist" in page and "Zhang Wei" in page and "Li Na" in page
    with in_app():
        follow_up = db.session.scalar(sa.select(FollowUp))
        assert follow_up.created_by_id == client.user.id and follow_up.status == "open"


def test_follow_up_needs_title_due_date_and_an_active_assignee(login_as, make_user, in_app):
    gone = make_user("member", is_enabled=False)
    client = login_as("member")
    missing = client.post(
        "/follow-ups/new",
        data={"version": "0", "title": "", "due_on": "", "assignee_id": str(client.user.id)},
    )
    page = missing.get_data(as_text=True)
    assert missing.status_code == 400 and "Give a due date." in page
    assert "This field is required." in page
    disabled = client.post(
        "/follow-ups/new",
        data={"version": "0", "title": "Call", "due_on": "2026-12-01", "assignee_id": str(gone.id)},
    )
    assert disabled.status_code == 400
    assert 'value="Call"' in disabled.get_data(as_text=True)
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 0


def test_my_follow_ups_are_grouped_by_when_they_are_due(login_as, in_app):
    client = login_as("member")
    me = client.user.id
    _make(in_app, assignee_id=me, creator_id=me, title="Late one", due=today() - timedelta(days=2))
    _make(in_app, assignee_id=me, creator_id=me, title="Today one", due=today())
    _make(in_app, assignee_id=me, creator_id=me, title="Soon one", due=today() + timedelta(days=3))
    _make(
        in_app, assignee_id=me, creator_id=me, title="Later one", due=today() + timedelta(days=30)
    )
    page = client.get("/follow-ups/mine").get_data(as_text=True)

    def section(key):
        start = page.index(f'data-testid="group-{key}"')
        return page[start : page.index("</section>", start)]

    assert "Late one" in section("overdue") and "overdue" in section("overdue")
    assert "Today one" in section("today")
    assert "Soon one" in section("week")
    assert "Later one" in section("later")


def test_assignee_completes_with_a_note_and_can_reopen(login_as, in_app):
    client = login_as("member")
    follow_up_id = _make(in_app, assignee_id=client.user.id, creator_id=client.user.id)
    done = client.post(
        f"/follow-ups/{follow_up_id}/complete",
        data={"done-note": "Invitation sent by WeChat"},
        follow_redirects=True,
    )
    page = done.get_data(as_text=True)
    assert "Invitation sent by WeChat" in page and ">Done<" in page
    with in_app():
        follow_up = db.session.get(FollowUp, follow_up_id)
        assert follow_up.status == "done" and follow_up.completed_by_id == client.user.id
        assert follow_up.completed_at is not None
    client.post(f"/follow-ups/{follow_up_id}/reopen")
    with in_app():
        follow_up = db.session.get(FollowUp, follow_up_id)
        assert follow_up.status == "open" and follow_up.completed_at is None


def test_reassign_and_cancel(login_as, make_user, in_app):
    client = login_as("coordinator")
    other = make_user("member", name="Other Member")
    follow_up_id = _make(in_app, assignee_id=client.user.id, creator_id=client.user.id)
    client.post(f"/follow-ups/{follow_up_id}/reassign", data={"reassign-assignee_id": other.id})
    client.post(f"/follow-ups/{follow_up_id}/cancel")
    with in_app():
        follow_up = db.session.get(FollowUp, follow_up_id)
        assert follow_up.assignee_id == other.id and follow_up.status == "cancelled"
        actions = db.session.scalars(
            sa.select(AuditEvent.changes).where(
                AuditEvent.entity_type == "follow_ups", AuditEvent.action == "update"
            )
        ).all()
        assert any("assignee_id" in c for c in actions) and any("status" in c for c in actions)


def test_member_cannot_complete_a_colleagues_follow_up(login_as, make_user, in_app):
    owner = make_user("member")
    follow_up_id = _make(in_app, assignee_id=owner.id, creator_id=owner.id)
    assert login_as("member").post(f"/follow-ups/{follow_up_id}/complete").status_code == 403
    assert login_as("viewer").post(f"/follow-ups/{follow_up_id}/complete").status_code == 403
    assert login_as("coordinator").post(f"/follow-ups/{follow_up_id}/complete").status_code == 302


def test_team_view_counts_per_assignee(login_as, make_user, in_app):
    manager = login_as("manager")
    member = make_user("member", name="Busy Member")
    for due in (
        today() - timedelta(days=1),
        today() + timedelta(days=2),
        today() + timedelta(days=40),
    ):
        _make(in_app, assignee_id=member.id, creator_id=manager.user.id, due=due)
    page = manager.get("/follow-ups/team").get_data(as_text=True)
    row = page[page.index("Busy Member") :]
    row = row[: row.index("</tr>")]
    cells = [c.split("<")[0].strip() for c in row.split('class="text-end">')[1:]]
    assert cells[0] == "3" and cells[2] == "1" and cells[3] == "0"
    assert ">1</a>" in row  # overdue count links to the filtered list
    assert login_as("member").get("/follow-ups/team").status_code == 403


def test_list_filters_by_status_assignee_and_overdue(login_as, make_user, in_app):
    client = login_as("coordinator")
    other = make_user("member")
    _make(
        in_app,
        assignee_id=client.user.id,
        creator_id=client.user.id,
        title="Mine late",
        due=today() - timedelta(days=5),
    )
    _make(
        in_app,
        assignee_id=other.id,
        creator_id=client.user.id,
        title="Theirs later",
        due=today() + timedelta(days=5),
    )
    page = client.get(f"/follow-ups?assignee={other.id}").get_data(as_text=True)
    assert "Theirs later" in page and "Mine late" not in page
    page = client.get("/follow-ups?overdue=1").get_data(as_text=True)
    assert "Mine late" in page and "Theirs later" not in page
    page = client.get("/follow-ups?status=done").get_data(as_text=True)
    assert "Mine late" not in page and "No follow-up matches" in page


def test_unknown_follow_up_is_404(login_as):
    assert login_as("viewer").get("/follow-ups/424242").status_code == 404


def test_due_date_boundaries(in_app, make_user):
    with in_app():
        user = db.session.get(User, make_user("member").id)
        base = date(2026, 3, 10)
        for offset in (-1, 0, 7, 8):
            follow_ups.add(
                {
                    "title": f"d{offset}",
                    "due_on": base + timedelta(days=offset),
                    "assignee_id": user.id,
                },
                actor=user,
            )
        db.session.commit()
        agenda = follow_ups.agenda(user, today=base)
        assert [f.title for f in agenda.overdue] == ["d-1"]
        assert [f.title for f in agenda.today] == ["d0"]
        assert [f.title for f in agenda.this_week] == ["d7"]
        assert [f.title for f in agenda.later] == ["d8"]
