"""Subject access (/people/<id>/data, .json) and erasure (/people/<id>/erase, `crm erase`)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Affiliation,
    AuditAction,
    AuditEvent,
    ConsentRecord,
    ContactDetail,
    FollowUp,
    Interaction,
    Participation,
    Person,
    SearchDocument,
    User,
)
from crm.services import search, stakeholders
from tests.personal_data.helpers import person_with_everything

WANG_TEXTS = (
    "Wang Fang",
    "王芳",
    "wang.fang@example.cn",
    "wangfang88",
    "0013 8000",
    "139 0000 1111",
)


@pytest.fixture
def held(app, actor, make_person, make_organisation):  # type: ignore[no-untyped-def]
    return person_with_everything(app, actor, make_person, make_organisation)


def _events(app, action: AuditAction) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


# --- subject access ----------------------------------------------------------------------------


def test_coordinator_can_download_everything_held_about_a_person_as_json(login_as, held, app):
    client = login_as(Role.coordinator)
    response = client.get(f"/people/{held.person_id}/data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Cache-Control"] == "private, no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["profile"]["chinese_name"] == "王芳"
    assert data["profile"]["email"] == "wang.fang@example.cn"
    assert data["profile"]["notes"].startswith("Met Wang Fang")
    assert [c["value"] for c in data["contact_details"]] == ["139 0000 1111"]
    assert [(c["purpose"], c["status"]) for c in data["consents"]] == [("reports", "given")]
    assert [p["organisation"] for p in data["positions"]] == ["Shenzhen Bright Electronics"]
    assert [(p["activity"], p["status"]) for p in data["participations"]] == [
        ("OSH training", "attended")
    ]
    subjects = {i["subject"]: i for i in data["interactions"]}
    assert set(subjects) == {"Working hours with Wang Fang", "Grievance follow-up"}
    # Confidential summaries are about the person: included.
    assert "supervisor" in subjects["Grievance follow-up"]["summary"]
    assert [f["title"] for f in data["follow_ups"]] == ["Send Wang Fang the OSH checklist"]
    assert data["attachments"] == []
    assert data["history"][0]["action"] == "create"


def test_the_export_names_nobody_else(login_as, held):
    client = login_as(Role.coordinator)
    for url in (f"/people/{held.person_id}/data.json", f"/people/{held.person_id}/data"):
        text = client.get(url).get_data(as_text=True)
        assert "Zhao" not in text and "赵敏" not in text and "zhao.min" not in text
        assert "Factory Admin" not in text  # nor the staff who logged or changed things


def test_the_readable_and_printable_pages_show_each_kind_of_record(login_as, held):
    client = login_as(Role.manager)
    page = client.get(f"/people/{held.person_id}/data")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in (
        "王芳",
        "wang.fang@example.cn",
        "139 0000 1111",
        "OSH training",
        "Working hours with Wang Fang",
        "supervisor",
        "Send Wang Fang the OSH checklist",
        "Signed at the Wang Fang training",
        "Shenzhen Bright Electronics",
    ):
        assert expected in text
    printable = client.get(f"/people/{held.person_id}/data?print=1").get_data(as_text=True)
    assert "王芳" in printable and "navbar" not in printable


def test_every_subject_access_export_is_audited(login_as, held, app):
    client = login_as(Role.coordinator)
    client.get(f"/people/{held.person_id}/data")
    client.get(f"/people/{held.person_id}/data.json")
    events = _events(app, AuditAction.access)
    assert [(e.entity_id, e.changes["format"][1], e.actor_id) for e in events] == [
        (held.person_id, "page", client.user.id),
        (held.person_id, "json", client.user.id),
    ]


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
def test_members_and_viewers_cannot_export_or_erase(login_as, held, role, app):
    client = login_as(role)
    assert client.get(f"/people/{held.person_id}/data").status_code == 403
    assert client.get(f"/people/{held.person_id}/data.json").status_code == 403
    assert client.post(f"/people/{held.person_id}/erase", data={"confirm": "y"}).status_code == 403
    assert "Download their data" not in client.get(f"/people/{held.person_id}").get_data(
        as_text=True
    )
    assert _events(app, AuditAction.access) == []


def test_exporting_a_person_in_the_trash_is_refused(login_as, held, app, actor):
    with app.app_context():
        stakeholders.delete(
            db.session.get(Person, held.person_id), actor=db.session.get(User, actor.id)
        )
    client = login_as(Role.coordinator)
    assert client.get(f"/people/{held.person_id}/data.json").status_code == 404
    assert _events(app, AuditAction.access) == []


# --- erasure -----------------------------------------------------------------------------------


def _erase(client, person_id: int):  # type: ignore[no-untyped-def]
    return client.post(f"/people/{person_id}/erase", data={"confirm": "y"}, follow_redirects=True)


def test_coordinator_sees_a_confirmation_page_before_erasing(login_as, held, app):
    client = login_as(Role.coordinator)
    detail = client.get(f"/people/{held.person_id}").get_data(as_text=True)
    assert "Download their data" in detail and "Erase personal data" in detail
    page = client.get(f"/people/{held.person_id}/erase")
    assert page.status_code == 200 and "cannot be undone" in page.get_data(as_text=True)
    # Not confirmed: nothing happens.
    refused = client.post(f"/people/{held.person_id}/erase", data={})
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.get(Person, held.person_id).erased_at is None


def test_coordinator_can_erase_a_person_and_nothing_identifying_remains(login_as, held, app):
    client = login_as(Role.coordinator)
    page = _erase(client, held.person_id)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and f"Erased person #{held.person_id}" in text
    assert "were erased" in text
    with app.app_context():
        person = db.session.get(Person, held.person_id)
        assert person.erased_at is not None and person.deleted_at is None
        assert (person.family_name, person.given_name, person.chinese_name) == (None, None, None)
        assert (person.email, person.phone, person.wechat_id, person.job_title) == (
            None,
            None,
            None,
            None,
        )
        assert person.notes is None and person.match_key is None and person.tags == []
        assert person.gender == "female"  # kept for the figures
        assert (
            db.session.scalars(
                sa.select(ContactDetail).where(ContactDetail.person_id == held.person_id)
            ).all()
            == []
        )
        (position,) = db.session.scalars(
            sa.select(Affiliation).where(Affiliation.person_id == held.person_id)
        ).all()
        assert position.organisation_id == held.organisation_id and position.title is None
        (participation,) = db.session.scalars(
            sa.select(Participation).where(Participation.person_id == held.person_id)
        ).all()
        assert participation.status == "attended"
        (consent,) = db.session.scalars(
            sa.select(ConsentRecord).where(ConsentRecord.person_id == held.person_id)
        ).all()
        assert consent.status == "given" and consent.note is None
        texts = [
            " ".join(filter(None, (i.subject, i.summary, i.outcome)))
            for i in db.session.scalars(sa.select(Interaction))
        ]
        texts += [f.title for f in db.session.scalars(sa.select(FollowUp))]
        texts += [
            e.summary + json.dumps(e.changes, ensure_ascii=False)
            for e in db.session.scalars(sa.select(AuditEvent))
        ]
        texts += [
            d.title + d.subtitle + d.terms + d.keys
            for d in db.session.scalars(sa.select(SearchDocument))
        ]
        joined = "\n".join(texts)
        for secret in WANG_TEXTS:
            assert secret.lower() not in joined.lower(), secret
        # The rest of the text stays; the other person is untouched.
        assert "asked about overtime caps" in joined
        assert "Zhao Min" in joined
        assert db.session.get(Person, held.other_id).email == "zhao.min@example.cn"


def test_an_erasure_is_audited_without_the_erased_values(login_as, held, app):
    client = login_as(Role.manager)
    _erase(client, held.person_id)
    (event,) = _events(app, AuditAction.erase)
    assert (event.entity_id, event.actor_id) == (held.person_id, client.user.id)
    assert "email" in event.changes["erased"][1]
    assert "Wang" not in event.summary
    with app.app_context():
        created = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.entity_id == held.person_id, AuditEvent.action == AuditAction.create
            )
        )
        assert created is not None and created.changes  # the event stays, its values do not
        assert "[erased]" in json.dumps(created.changes)


def test_an_erased_person_is_in_no_list_search_or_export(login_as, held, app):
    client = login_as(Role.coordinator)
    _erase(client, held.person_id)
    assert "Erased person" not in client.get("/people").get_data(as_text=True)
    assert "Zhao Min" in client.get("/people").get_data(as_text=True)
    export = client.get("/people?format=csv").get_data(as_text=True)
    assert "Wang" not in export and "Erased person" not in export and "Zhao" in export
    for query in ("wang", "王芳", "wangfang88", "Erased"):
        found = client.get(f"/search?q={query}").get_data(as_text=True)
        assert "Wang Fang" not in found and f'/people/{held.person_id}"' not in found
    with app.app_context():
        assert search.matching_ids("wang fang", "person") in ([], None) or (
            held.person_id not in (search.matching_ids("wang fang", "person") or [])
        )
    activity = client.get(f"/activities/{held.activity_id}").get_data(as_text=True)
    # The attendee is still listed, anonymously (the picker's placeholder shows a sample name).
    assert f"Erased person #{held.person_id}" in activity and "Zhao Min" in activity
    assert "wang.fang@" not in activity and "EHS manager" not in activity


def test_erasing_twice_says_so_and_changes_nothing(login_as, held, app):
    client = login_as(Role.coordinator)
    _erase(client, held.person_id)
    with app.app_context():
        before = db.session.get(Person, held.person_id).version
    again = _erase(client, held.person_id)
    assert "already been erased" in again.get_data(as_text=True)
    assert len(_events(app, AuditAction.erase)) == 1
    with app.app_context():
        assert db.session.get(Person, held.person_id).version == before


def test_the_erase_command_erases_once_and_refuses_bad_input(runner, held, app, make_user):
    coordinator = make_user(Role.coordinator)
    member = make_user(Role.member)
    result = runner.invoke(args=["crm", "erase", str(held.person_id), "--as", member.email])
    assert result.exit_code == 1 and "permission" in result.output
    result = runner.invoke(args=["crm", "erase", "999999", "--as", coordinator.email])
    assert result.exit_code == 1 and "no person 999999" in result.output
    result = runner.invoke(args=["crm", "erase", str(held.person_id), "--as", coordinator.email])
    assert result.exit_code == 0, result.output
    assert f"person {held.person_id}" in result.output
    result = runner.invoke(args=["crm", "erase", str(held.person_id), "--as", coordinator.email])
    assert result.exit_code == 1 and "already been erased" in result.output
    with app.app_context():
        assert db.session.get(Person, held.person_id).chinese_name is None


def test_purging_a_person_from_the_trash_erases_them_instead_of_deleting_the_row(
    login_as, held, app, actor
):
    with app.app_context():
        stakeholders.delete(
            db.session.get(Person, held.person_id), actor=db.session.get(User, actor.id)
        )
    admin = login_as(Role.admin)
    response = admin.post(f"/trash/{held.person_id}/purge", follow_redirects=True)
    assert response.status_code == 200
    with app.app_context():
        person = db.session.get(Person, held.person_id)
        assert person is not None and person.erased_at is not None
        assert person.deleted_at is None and person.chinese_name is None
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Participation)
                .where(Participation.person_id == held.person_id)
            )
            == 1
        )
    trash = admin.get("/trash").get_data(as_text=True)
    assert "Erased person" not in trash and "Wang Fang" not in trash


def test_the_subject_access_page_costs_the_same_few_statements_however_much_is_held(
    login_as, held, app, actor, count_queries
):
    from datetime import UTC, datetime

    from crm.services import interactions

    client = login_as(Role.coordinator)
    url = f"/people/{held.person_id}/data"
    client.get(url)

    def statements() -> int:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter.count

    few = statements()
    with app.app_context():
        for n in range(10):
            interactions.log_interaction(
                {
                    "occurred_at": datetime(2026, 4, 1 + n, 2, 0, tzinfo=UTC),
                    "channel": "call",
                    "subject": f"Call {n}",
                    "stakeholder_ids": [held.person_id],
                },
                actor=db.session.get(User, actor.id),
            )
    assert statements() == few <= 15


def test_the_subject_access_profile_holds_every_field_of_the_person_form():
    """A field added to people later is in the export without anyone remembering to add it."""
    from crm.services.personal_data.subject_access import PROFILE_FIELDS
    from crm.services.stakeholders import PERSON_FIELDS

    assert set(PERSON_FIELDS) - {"owner_id"} <= set(PROFILE_FIELDS)


def test_an_erased_participant_reads_in_the_readers_language(login_as, held):
    """The activity still lists the erased attendee (the headcount stays), under a name the
    reader's language gives: it is stored in English only as a placeholder."""
    _erase(login_as(Role.coordinator), held.person_id)
    english = login_as(Role.coordinator).get(f"/activities/{held.activity_id}")
    chinese = login_as(Role.coordinator, locale="zh").get(f"/activities/{held.activity_id}")
    assert f"Erased person #{held.person_id}" in english.get_data(as_text=True)
    text = chinese.get_data(as_text=True)
    assert f"已删除个人信息的人员 #{held.person_id}" in text
    assert f"Erased person #{held.person_id}" not in text
    assert "wang.fang@example.cn" not in text and "EHS manager" not in text
