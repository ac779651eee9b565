"""Consent by purpose: the person page's panel, its history, the person form, lists and imports.

Every statement goes through crm.services.consent: a ConsentRecord (the history), the person's
current column for the purpose, and a "consent" audit event.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    AuditAction,
    AuditEvent,
    Consent,
    ConsentPurpose,
    ConsentRecord,
    ConsentSource,
    Person,
    User,
)
from crm.services import activities, clock, consent
from crm.services.errors import InvalidInput
from tests.imports.conftest import batch_id_of, csv_bytes, upload


def _statement(**over: str) -> dict[str, str]:
    values = {
        "consent-purpose": "reports",
        "consent-status": "withdrawn",
        "consent-stated_on": "2026-03-02",
        "consent-source": "email",
        "consent-note": "Asked by email not to be named",
    }
    values.update(over)
    return values


def _records(person_id: int) -> list[ConsentRecord]:
    return list(
        db.session.scalars(
            sa.select(ConsentRecord)
            .where(ConsentRecord.person_id == person_id)
            .order_by(ConsentRecord.id)
        )
    )


def test_coordinator_can_record_consent_to_a_purpose(login_as, in_app, make_person):
    wang = make_person(family_name="Wang", given_name="Fang")
    client = login_as(Role.coordinator, name="Chen Coordinator")
    response = client.post(f"/people/{wang.id}/consent", data=_statement())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/people/{wang.id}#consent")
    page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    assert "Consent recorded." in page
    assert "Reports for donors and headquarters" in page and "Withdrawn" in page
    assert "Asked by email not to be named" in page and "Chen Coordinator" in page
    with in_app():
        person = db.session.get(Person, wang.id)
        assert person.consent_reports == Consent.withdrawn
        assert person.consent == Consent.unknown  # another purpose: unchanged
        (record,) = _records(wang.id)
        assert (record.purpose, record.status, record.source) == (
            ConsentPurpose.reports,
            Consent.withdrawn,
            ConsentSource.email,
        )
        assert record.stated_on == date(2026, 3, 2)
        assert record.recorded_by_id == client.user.id
        event = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.action == AuditAction.consent, AuditEvent.entity_id == wang.id
            )
        )
        assert event is not None and event.actor_id == client.user.id
        assert event.changes["purpose"] == [None, "reports"]
        assert event.changes["status"] == ["unknown", "withdrawn"]


def test_member_can_record_consent_as_they_edit_people(login_as, in_app, make_person):
    wang = make_person()
    client = login_as(Role.member)
    data = _statement(**{"consent-purpose": "communication", "consent-status": "given"})
    assert client.post(f"/people/{wang.id}/consent", data=data).status_code == 302
    with in_app():
        person = db.session.get(Person, wang.id)
        assert person.consent == Consent.given and person.consent_on == date(2026, 3, 2)


@pytest.mark.parametrize(("role", "status"), [(Role.viewer, 403), (None, 302)])
def test_viewers_and_visitors_cannot_record_consent(login_as, in_app, make_person, role, status):
    wang = make_person()
    response = login_as(role).post(f"/people/{wang.id}/consent", data=_statement())
    assert response.status_code == status
    with in_app():
        assert _records(wang.id) == []
        assert db.session.get(Person, wang.id).consent_reports == Consent.unknown


def test_viewer_sees_the_consent_panel_without_its_form(login_as, make_person):
    wang = make_person()
    page = login_as(Role.viewer).get(f"/people/{wang.id}").get_data(as_text=True)
    assert 'data-testid="consent-current"' in page
    assert 'data-testid="consent-form"' not in page


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"consent-stated_on": "2999-01-01"}, "This date is in the future."),
        ({"consent-purpose": "marketing"}, "Not a valid choice."),
        ({"consent-status": "perhaps"}, "Not a valid choice."),
        ({"consent-source": "rumour"}, "Not a valid choice."),
        ({"consent-note": "x" * 201}, "Field cannot be longer than 200 characters."),
    ],
)
def test_bad_consent_is_refused_at_its_field_and_keeps_what_was_typed(
    login_as, in_app, make_person, over, message
):
    wang = make_person()
    data = _statement(**over)
    response = login_as(Role.coordinator).post(f"/people/{wang.id}/consent", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'id="consent-purpose"' in page and "invalid-feedback" in page
    if "consent-note" not in over:
        assert 'value="Asked by email not to be named"' in page  # kept as typed
    with in_app():
        assert _records(wang.id) == []
        assert db.session.get(Person, wang.id).consent_reports == Consent.unknown


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"purpose": "marketing", "status": "given"}, "purpose"),
        ({"purpose": "reports", "status": "maybe"}, "status"),
        ({"purpose": "reports", "status": "given", "source": "rumour"}, "source"),
        ({"purpose": "reports", "status": "given", "stated_on": "2026-02-30"}, "stated_on"),
    ],
)
def test_the_service_refuses_bad_statements_at_their_field(
    in_app, actor, make_person, values, field
):
    wang = make_person()
    with in_app():
        person = db.session.get(Person, wang.id)
        with pytest.raises(InvalidInput) as refused:
            consent.record(person, values, actor=db.session.get(User, actor.id))
        assert refused.value.field == field
        assert _records(wang.id) == []


def test_the_service_refuses_a_consent_date_in_the_future(in_app, actor, make_person):
    wang = make_person()
    tomorrow = clock.today() + timedelta(days=1)
    with in_app():
        person = db.session.get(Person, wang.id)
        values = {"purpose": "publication", "status": "given", "stated_on": tomorrow}
        with pytest.raises(InvalidInput, match=r"This date is in the future\.") as refused:
            consent.record(person, values, actor=db.session.get(User, actor.id))
        assert refused.value.field == "stated_on"
        assert db.session.get(Person, wang.id).consent_publication == Consent.unknown


def test_the_history_keeps_every_statement_newest_first(login_as, in_app, make_person):
    wang = make_person()
    client = login_as(Role.coordinator)
    given = {"consent-status": "given", "consent-stated_on": "2025-06-01", "consent-note": ""}
    assert client.post(f"/people/{wang.id}/consent", data=_statement(**given)).status_code == 302
    assert client.post(f"/people/{wang.id}/consent", data=_statement()).status_code == 302
    page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    history = page[page.index('data-testid="consent-history"') :]
    assert history.index("Withdrawn") < history.index("Given")
    with in_app():
        assert [r.status for r in _records(wang.id)] == [Consent.given, Consent.withdrawn]
        assert db.session.get(Person, wang.id).consent_reports == Consent.withdrawn


def test_the_person_form_records_communication_consent_through_the_rule(
    login_as, in_app, make_person
):
    wang = make_person()
    client = login_as(Role.member)
    with in_app():
        version = db.session.get(Person, wang.id).version
    form = {
        "family_name": "Wang",
        "given_name": "Fang",
        "gender": "female",
        "consent": "given",
        "consent_on": "2025-03-01",
        "consent_source": "Sign-in sheet, March training",
        "engagement_level": "unaware",
        "influence": "3",
        "interest": "3",
        "version": str(version),
    }
    assert client.post(f"/people/{wang.id}/edit", data=form).status_code == 302
    with in_app():
        (record,) = _records(wang.id)
        assert (record.purpose, record.status, record.stated_on) == (
            ConsentPurpose.communication,
            Consent.given,
            date(2025, 3, 1),
        )
        assert record.note == "Sign-in sheet, March training"
    # Saved again unchanged: no new statement.
    with in_app():
        form["version"] = str(db.session.get(Person, wang.id).version)
    assert client.post(f"/people/{wang.id}/edit", data=form).status_code == 302
    with in_app():
        assert len(_records(wang.id)) == 1
    page = client.get(f"/people/{wang.id}").get_data(as_text=True)
    assert "Sign-in sheet, March training" in page


def test_people_list_filters_on_consent_per_purpose(login_as, in_app, actor, make_person):
    named = make_person(family_name="Named", given_name="Person")
    hidden = make_person(family_name="Hidden", given_name="Person", consent_reports="withdrawn")
    quiet = make_person(family_name="Quiet", given_name="Person", consent="withdrawn")
    client = login_as(Role.viewer)

    def listed(query: str) -> set[int]:
        page = client.get(f"/people?{query}").get_data(as_text=True)
        return {p.id for p in (named, hidden, quiet) if f'href="/people/{p.id}"' in page}

    assert listed("consent_reports=withdrawn") == {hidden.id}
    assert listed("consent_communication=withdrawn") == {quiet.id}
    assert listed("consent_reports=unknown&consent_communication=unknown") == {named.id}
    assert listed("consent_reports=nonsense") == {named.id, hidden.id, quiet.id}


def test_a_people_import_records_consent_per_purpose_as_imported(login_as, in_app):
    client = login_as(Role.coordinator)
    sheet = [
        ["姓名", "邮箱", "同意", "同意日期", "报告同意", "发布同意"],
        ["Zhou Jie", "zj@example.org", "同意", "2026-01-15", "撤回", "yes"],
        ["Li Na", "ln@example.org", "", "", "", ""],
    ]
    batch_id = batch_id_of(upload(client, csv_bytes(sheet)))
    done = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    with in_app():
        zhou = db.session.scalar(sa.select(Person).where(Person.email == "zj@example.org"))
        li = db.session.scalar(sa.select(Person).where(Person.email == "ln@example.org"))
        assert (zhou.consent, zhou.consent_reports, zhou.consent_publication) == (
            Consent.given,
            Consent.withdrawn,
            Consent.given,
        )
        records = _records(zhou.id)
        assert {(r.purpose, r.status) for r in records} == {
            (ConsentPurpose.communication, Consent.given),
            (ConsentPurpose.reports, Consent.withdrawn),
            (ConsentPurpose.publication, Consent.given),
        }
        assert {r.source for r in records} == {ConsentSource.import_}
        assert {r.stated_on for r in records} == {date(2026, 1, 15)}
        assert {r.recorded_by_id for r in records} == {client.user.id}
        events = db.session.scalar(
            sa.select(sa.func.count()).where(
                AuditEvent.action == AuditAction.consent, AuditEvent.entity_id == zhou.id
            )
        )
        assert events == 3
        assert _records(li.id) == [] and li.consent_reports == Consent.unknown


def test_an_import_refuses_a_consent_date_in_the_future(login_as, in_app):
    client = login_as(Role.coordinator)
    sheet = [["姓名", "同意", "同意日期"], ["Zhou Jie", "同意", "2999-01-01"]]
    batch_id = batch_id_of(upload(client, csv_bytes(sheet)))
    page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
    assert "2999-01-01 is in the future." in page
    refused = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "skip"})
    assert refused.status_code != 303
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0


def test_a_sign_in_sheet_records_consent_from_the_sheet(login_as, in_app, app, actor, make_person):
    with app.app_context():
        training = activities.create(
            {
                "type": "training",
                "title": "OSH training",
                "status": "held",
                "start_on": date(2026, 3, 4),
                "end_on": date(2026, 3, 4),
            },
            actor=db.session.get(User, actor.id),
        )
        training_id = training.id
    known = make_person(family_name="Wang", given_name="Fang", email="wf@example.org")
    client = login_as(Role.coordinator)
    sheet = [
        ["姓名", "邮箱", "同意", "报告同意"],
        ["Wang Fang", "wf@example.org", "同意", "撤回"],
        ["Sun Li", "sl@example.org", "同意", ""],
    ]
    response = client.post(
        f"/activities/{training_id}/attendance",
        data={"sheet-file": (io.BytesIO(csv_bytes(sheet)), "sheet.csv")},
        content_type="multipart/form-data",
    )
    batch_id = batch_id_of(response)
    done = client.post(f"/imports/{batch_id}/commit", data={"on_duplicate": "update"})
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    with in_app():
        wang = db.session.get(Person, known.id)
        assert (wang.consent, wang.consent_reports) == (Consent.given, Consent.withdrawn)
        sun = db.session.scalar(sa.select(Person).where(Person.email == "sl@example.org"))
        assert sun.consent == Consent.given
        sources = {r.source for p in (wang, sun) for r in _records(p.id)}
        assert sources == {ConsentSource.sign_in_sheet}
        assert db.session.get(Activity, training_id) is not None
