"""The audit trail: field-level before/after, newest first."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from crm.extensions import db
from crm.models import AuditAction, AuditEvent, EngagementLevel, Organisation, Person, User, label
from crm.services import audit, stakeholders


def test_json_value_renders_column_values_json_safe():
    assert audit.json_value(EngagementLevel.engaged) == "engaged"
    assert audit.json_value(date(2026, 3, 4)) == "2026-03-04"
    assert audit.json_value(datetime(2026, 3, 4, 1, 2, tzinfo=UTC)) == "2026-03-04T01:02:00+00:00"
    assert audit.json_value(Decimal("1.50")) == "1.50"
    assert audit.json_value(("b", EngagementLevel.aware)) == ["b", "aware"]
    assert audit.json_value(None) is None and audit.json_value(3) == 3


def test_diff_lists_only_changed_fields():
    before = {"city": "Suzhou", "province": "Jiangsu", "tags": ["a"], "notes": None}
    after = {"city": "Wuxi", "province": "Jiangsu", "tags": ["a", "b"], "notes": None}
    assert audit.diff(before, after) == {"city": ["Suzhou", "Wuxi"], "tags": [["a"], ["a", "b"]]}
    assert audit.diff(after, after) == {}


def test_an_update_records_before_and_after_of_the_changed_fields_only(
    in_app, make_organisation, actor
):
    org = make_organisation(
        display_name="Alpha Textiles", city="Suzhou", province="Jiangsu", tags=["pilot"]
    )
    with in_app():
        found = db.session.get(Organisation, org.id)
        stakeholders.update(
            found,
            {
                "display_name": "Alpha Textiles",  # unchanged: not recorded
                "province": "Jiangsu",
                "city": "Wuxi",
                "engagement_level": "engaged",
                "influence": 5,
                "chinese_name": "阿尔法纺织",
            },
            version=1,
            actor=db.session.get(User, actor.id),
        )
    with in_app():
        event = audit.history("organisations", org.id)[0]
        assert event.action == "update" and event.actor_id == actor.id
        assert event.summary == "Alpha Textiles"
        assert event.changes == {
            "chinese_name": [None, "阿尔法纺织"],
            "city": ["Suzhou", "Wuxi"],
            "engagement_level": ["unaware", "engaged"],
            "influence": [3, 5],
        }


def test_tag_changes_are_recorded_as_sorted_lists_and_bump_the_version(in_app, make_person, actor):
    wang = make_person(tags=["speaker", "OSH"])
    with in_app():
        person = db.session.get(Person, wang.id)
        stakeholders.update(
            person,
            {"tags": ["OSH", "wages", "工资"]},
            version=1,
            actor=db.session.get(User, actor.id),
        )
        assert person.version == 2
    with in_app():
        event = audit.history("people", wang.id)[0]
        assert event.changes == {"tags": [["OSH", "speaker"], ["OSH", "wages", "工资"]]}


def test_saving_without_changes_records_nothing(in_app, make_person, actor):
    wang = make_person(phone="123 456")
    with in_app():
        person = db.session.get(Person, wang.id)
        stakeholders.update(
            person,
            {"phone": "123 456", "tags": []},
            version=1,
            actor=db.session.get(User, actor.id),
        )
        assert person.version == 1
        assert [e.action for e in audit.history("people", wang.id)] == ["create"]


def test_create_records_the_filled_fields(in_app, make_person):
    wang = make_person(chinese_name="王芳", email="Wang.Fang@Example.CN ")
    with in_app():
        (event,) = audit.history("people", wang.id)
        assert event.action == "create"
        assert event.changes["chinese_name"] == [None, "王芳"]
        assert event.changes["email"] == [None, "wang.fang@example.cn"]
        assert event.changes["display_name"] == [None, "Wang Fang"]
        assert "phone" not in event.changes and "tags" not in event.changes


def test_history_is_newest_first_and_limited_to_one_record(in_app, make_person, actor):
    wang = make_person()
    other = make_person(family_name="Li")
    with in_app():
        person = db.session.get(Person, wang.id)
        admin = db.session.get(User, actor.id)
        for version, city in enumerate(["Suzhou", "Wuxi", "Nantong"], start=1):
            stakeholders.update(person, {"job_title": city}, version=version, actor=admin)
    with in_app():
        events = audit.history("people", wang.id)
        assert [e.action for e in events] == ["update", "update", "update", "create"]
        assert [e.changes.get("job_title", [None, None])[1] for e in events[:3]] == [
            "Nantong",
            "Wuxi",
            "Suzhou",
        ]
        assert all(e.entity_id == wang.id for e in events)
        assert [e.actor.name for e in events] == ["Factory Admin"] * 4
        assert len(audit.history("people", wang.id, limit=2)) == 2
        assert [e.entity_id for e in audit.history("people", other.id)] == [other.id]


def test_history_orders_by_time_before_id(in_app, make_person, actor):
    """An event written later with an earlier time (an import, a merge) sorts by its time."""
    wang = make_person()
    with in_app():
        person = db.session.get(Person, wang.id)
        old = audit.record(
            person,
            actor=None,
            action="update",
            changes={"notes": [None, "imported"]},
            summary="Wang Fang",
        )
        old.occurred_at = datetime.now(UTC) - timedelta(days=30)
        db.session.commit()
    with in_app():
        events = audit.history("people", wang.id)
        assert [e.action for e in events] == ["create", "update"]
        assert events[1].actor is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 2


def test_every_audit_action_has_its_own_label():
    """History reads "Chen Jing updated"; another enum with the same values must not win.

    LABELS is keyed by StrEnum members, which hash and compare like their string values, so
    a later `Foo.update` entry silently replaces `AuditAction.update`.
    """
    assert {a.value: label(a) for a in AuditAction} == {
        "create": "created",
        "update": "updated",
        "delete": "moved to trash",
        "restore": "restored",
        "purge": "purged",
        "merge": "merged",
        "export": "exported",
        "access": "exported their data",
        "erase": "erased",
        "consent": "recorded consent",
        "retention": "applied retention",
    }
