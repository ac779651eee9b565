"""Stakeholder services called directly, with plain arguments and an explicit actor."""

from datetime import date

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Affiliation,
    AuditEvent,
    Organisation,
    Person,
    Stakeholder,
    StakeholderRelationship,
    User,
)
from crm.services import stakeholders, trash
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _events(entity_id: int) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(AuditEvent.entity_id == entity_id).order_by(AuditEvent.id)
    return list(db.session.scalars(stmt))


def test_update_records_only_the_changed_fields(in_app, make_person, actor):
    wang = make_person(chinese_name="王芳", phone="+86 138 0000 0000")
    with in_app():
        person = db.session.get(Person, wang.id)
        stakeholders.update(
            person,
            {"phone": "+86 139 1111 1111", "given_name": "Fang"},
            version=1,
            actor=db.session.get(User, actor.id),
        )
        assert person.version == 2
        update = _events(wang.id)[-1]
        assert update.action == "update"
        assert update.changes == {"phone": ["+86 138 0000 0000", "+86 139 1111 1111"]}


def test_update_with_a_stale_version_raises_conflict_and_writes_nothing(in_app, make_person, actor):
    wang = make_person(phone="+86 138 0000 0000")
    with in_app():
        person = db.session.get(Person, wang.id)
        stakeholders.update(
            person, {"phone": "111 222"}, version=1, actor=db.session.get(User, actor.id)
        )
    with in_app():
        person = db.session.get(Person, wang.id)
        with pytest.raises(Conflict) as caught:
            stakeholders.update(
                person, {"phone": "333 444"}, version=1, actor=db.session.get(User, actor.id)
            )
        assert caught.value.current["phone"] == "111 222"
    with in_app():
        person = db.session.get(Person, wang.id)
        assert (person.phone, person.version) == ("111 222", 2)
        assert [e.action for e in _events(wang.id)] == ["create", "update"]


def test_a_concurrent_write_between_load_and_update_is_a_conflict(in_app, make_person, actor):
    """The version check in SQL (StaleDataError) catches what the early check cannot see."""
    wang = make_person(phone="+86 138 0000 0000")
    with in_app():
        person = db.session.get(Person, wang.id)
        assert person.version == 1
        # Another process saves the record after we loaded it: bypass the session.
        with db.engine.begin() as other:
            other.execute(
                sa.update(Stakeholder.__table__)
                .where(Stakeholder.__table__.c.id == wang.id)
                .values(version=Stakeholder.__table__.c.version + 1, notes="theirs")
            )
        with pytest.raises(Conflict) as caught:
            stakeholders.update(
                person,
                {"phone": "+86 139 9999 9999", "tags": ["mine"]},
                version=1,
                actor=db.session.get(User, actor.id),
            )
        assert caught.value.current["notes"] == "theirs"
        assert caught.value.current["phone"] == "+86 138 0000 0000"
    with in_app():
        person = db.session.get(Person, wang.id)
        assert (person.phone, person.notes, person.version) == (
            "+86 138 0000 0000",
            "theirs",
            2,
        )
        assert person.tags == []
        assert [e.action for e in _events(wang.id)] == ["create"]


def test_invalid_input_rolls_back_the_whole_update(in_app, make_organisation, actor):
    org = make_organisation(display_name="Alpha Textiles", city="Suzhou")
    with in_app():
        found = db.session.get(Organisation, org.id)
        with pytest.raises(InvalidInput) as caught:
            stakeholders.update(
                found,
                {"city": "Wuxi", "parent_id": org.id},
                version=1,
                actor=db.session.get(User, actor.id),
            )
        assert caught.value.field == "parent_id"
    with in_app():
        found = db.session.get(Organisation, org.id)
        assert (found.city, found.parent_id, found.version) == ("Suzhou", None, 1)
        assert [e.action for e in _events(org.id)] == ["create"]


@pytest.mark.parametrize("role", ["viewer", None])
def test_viewer_cannot_write_through_the_services(in_app, make_user, make_person, role):
    wang = make_person()
    user = make_user("viewer") if role else None
    with in_app():
        viewer = db.session.get(User, user.id) if user else None
        person = db.session.get(Person, wang.id)
        with pytest.raises(PermissionDenied):
            stakeholders.create_person({"family_name": "Li"}, actor=viewer, allow_duplicate=True)
        with pytest.raises(PermissionDenied):
            stakeholders.update(person, {"phone": "123456"}, version=1, actor=viewer)
        with pytest.raises(PermissionDenied):
            stakeholders.delete(person, actor=viewer)
    with in_app():
        assert _count(Person) == 1
        assert db.session.get(Person, wang.id).phone is None
        assert [e.action for e in _events(wang.id)] == ["create"]


def test_a_disabled_member_cannot_write(in_app, make_user):
    user = make_user("member", is_enabled=False)
    with in_app(), pytest.raises(PermissionDenied):
        stakeholders.create_person({"family_name": "Li"}, actor=db.session.get(User, user.id))


def test_member_cannot_delete_and_coordinator_cannot_restore(in_app, make_user, make_person):
    wang = make_person()
    member, coordinator = make_user("member"), make_user("coordinator")
    with in_app():
        person = db.session.get(Person, wang.id)
        with pytest.raises(PermissionDenied):
            stakeholders.delete(person, actor=db.session.get(User, member.id))
        stakeholders.delete(person, actor=db.session.get(User, coordinator.id))
        with pytest.raises(PermissionDenied):
            stakeholders.restore(person, actor=db.session.get(User, coordinator.id))
        with pytest.raises(PermissionDenied):
            stakeholders.purge(person, actor=db.session.get(User, coordinator.id))


def test_soft_delete_restore_and_purge(in_app, make_person, actor):
    wang = make_person()
    with in_app():
        admin = db.session.get(User, actor.id)
        person = db.session.get(Person, wang.id)
        with pytest.raises(InvalidInput):
            stakeholders.purge(person, actor=admin)  # only from the trash
        stakeholders.delete(person, actor=admin)
    with in_app():
        with pytest.raises(NotFound):
            stakeholders.get(Person, wang.id)
        person = stakeholders.get(Person, wang.id, include_deleted=True)
        assert person.is_deleted
        assert [e.record.id for e in trash.listing()] == [wang.id]
        assert stakeholders.list_people(stakeholders.PersonCriteria()).total == 0
        with pytest.raises(NotFound):
            stakeholders.delete(person, actor=db.session.get(User, actor.id))
        stakeholders.restore(person, actor=db.session.get(User, actor.id))
    with in_app():
        person = stakeholders.get(Person, wang.id)
        assert trash.listing() == []
        assert stakeholders.list_people(stakeholders.PersonCriteria()).total == 1
        with pytest.raises(InvalidInput):
            stakeholders.restore(person, actor=db.session.get(User, actor.id))
        stakeholders.delete(person, actor=db.session.get(User, actor.id))
        stakeholders.purge(person, actor=db.session.get(User, actor.id))
    with in_app():
        assert db.session.get(Stakeholder, wang.id) is None
        assert _count(Person) == 0
        actions = [e.action for e in _events(wang.id)]
        assert actions == ["create", "delete", "restore", "delete", "purge"]


def test_purging_a_person_removes_their_positions_and_relationships(
    in_app, make_person, make_organisation, actor
):
    wang = make_person(chinese_name="王芳")
    li = make_person(family_name="Li", given_name="Lei")
    org = make_organisation(display_name="Alpha Textiles")
    with in_app():
        admin = db.session.get(User, actor.id)
        person = db.session.get(Person, wang.id)
        stakeholders.add_affiliation(
            person,
            organisation_id=org.id,
            title="HR manager",
            start_on=date(2020, 1, 1),
            end_on=None,
            actor=admin,
        )
        stakeholders.add_relationship(
            db.session.get(Person, li.id), target_id=wang.id, type="reports_to", actor=admin
        )
        assert [a.organisation_id for a in person.affiliations] == [org.id]
        stakeholders.delete(person, actor=admin)
        stakeholders.purge(person, actor=admin)
    with in_app():
        assert db.session.get(Stakeholder, wang.id) is None
        assert _count(Affiliation) == 0
        assert _count(StakeholderRelationship) == 0
        assert db.session.get(Organisation, org.id) is not None
        assert db.session.get(Person, li.id) is not None


def test_purging_an_organisation_removes_the_positions_at_it(
    in_app, make_person, make_organisation, actor
):
    wang = make_person()
    org = make_organisation(display_name="Alpha Textiles")
    child = make_organisation(display_name="Alpha Dyeing", parent_id=org.id)
    with in_app():
        admin = db.session.get(User, actor.id)
        stakeholders.add_affiliation(
            db.session.get(Person, wang.id),
            organisation_id=org.id,
            title=None,
            start_on=None,
            end_on=None,
            actor=admin,
        )
        found = db.session.get(Organisation, org.id)
        stakeholders.delete(found, actor=admin)
        stakeholders.purge(found, actor=admin)
    with in_app():
        assert _count(Affiliation) == 0
        assert db.session.get(Organisation, child.id).parent_id is None
        assert stakeholders.affiliations_of_person(db.session.get(Person, wang.id)) == []


def test_links_reject_unknown_or_trashed_records(in_app, make_person, make_organisation, actor):
    wang = make_person()
    gone = make_organisation(display_name="Gone Ltd")
    with in_app():
        admin = db.session.get(User, actor.id)
        stakeholders.delete(db.session.get(Organisation, gone.id), actor=admin)
        person = db.session.get(Person, wang.id)
        for organisation_id in (gone.id, 999_999):
            with pytest.raises(InvalidInput) as caught:
                stakeholders.add_affiliation(
                    person,
                    organisation_id=organisation_id,
                    title=None,
                    start_on=None,
                    end_on=None,
                    actor=admin,
                )
            assert caught.value.field == "organisation_id"
        for target_id, field in ((wang.id, "target_id"), (gone.id, "target_id"), (999_999, None)):
            with pytest.raises(InvalidInput) as caught:
                stakeholders.add_relationship(
                    person, target_id=target_id, type="partner_of", actor=admin
                )
            assert caught.value.field == (field or "target_id")
        with pytest.raises(InvalidInput) as caught:
            stakeholders.add_affiliation(
                person, organisation_id=None, title=None, start_on=None, end_on=None, actor=admin
            )
        assert caught.value.field == "organisation_id"
        with pytest.raises(InvalidInput) as caught:
            stakeholders.add_relationship(person, target_id=None, type="partner_of", actor=admin)
        assert caught.value.field == "target_id"
    with in_app():
        assert _count(Affiliation) == 0 and _count(StakeholderRelationship) == 0


def test_an_unknown_relationship_type_is_invalid_input(in_app, make_person, actor):
    wang, li = make_person(), make_person(family_name="Li")
    with in_app():
        with pytest.raises(InvalidInput) as caught:
            stakeholders.add_relationship(
                db.session.get(Person, wang.id),
                target_id=li.id,
                type="owns",
                actor=db.session.get(User, actor.id),
            )
        assert caught.value.field == "type"
    with in_app():
        assert _count(StakeholderRelationship) == 0


def test_relationships_are_audited_on_both_ends(in_app, make_person, make_organisation, actor):
    wang = make_person(chinese_name="王芳")
    org = make_organisation(display_name="Alpha Textiles")
    with in_app():
        admin = db.session.get(User, actor.id)
        rel = stakeholders.add_relationship(
            db.session.get(Person, wang.id), target_id=org.id, type="member_of", actor=admin
        )
        stakeholders.end_relationship(rel, end_on=date(2025, 1, 31), actor=admin)
    with in_app():
        assert [e.changes for e in _events(wang.id)[1:]] == [
            {"relationship": [None, "member_of Alpha Textiles"]},
            {"relationship_ended": ["member_of Alpha Textiles", "2025-01-31"]},
        ]
        assert [e.changes for e in _events(org.id)[1:]] == [
            {"inverse_relationship": [None, "Wang Fang member_of"]},
            {"inverse_relationship_ended": ["Wang Fang member_of", "2025-01-31"]},
        ]
        views = stakeholders.relationships_of(db.session.get(Organisation, org.id))
        assert [(v.other.id, v.outgoing) for v in views] == [(wang.id, False)]


def test_positions_and_relationships_keep_their_dates_in_order(
    in_app, make_person, make_organisation, actor
):
    wang = make_person()
    org = make_organisation()
    with in_app():
        admin = db.session.get(User, actor.id)
        person = db.session.get(Person, wang.id)
        with pytest.raises(InvalidInput):
            stakeholders.add_affiliation(
                person,
                organisation_id=org.id,
                title=None,
                start_on=date(2024, 5, 1),
                end_on=date(2024, 4, 30),
                actor=admin,
            )
        affiliation = stakeholders.add_affiliation(
            person,
            organisation_id=org.id,
            title=None,
            start_on=date(2024, 5, 1),
            end_on=None,
            actor=admin,
        )
        with pytest.raises(InvalidInput):
            stakeholders.end_affiliation(affiliation, end_on=date(2024, 1, 1), actor=admin)
        stakeholders.end_affiliation(affiliation, end_on=date(2025, 1, 1), actor=admin)
        with pytest.raises(InvalidInput):
            stakeholders.end_affiliation(affiliation, end_on=date(2025, 2, 1), actor=admin)
        assert stakeholders.current_organisation(person) is None
        assert [a.end_on for a in stakeholders.affiliations_of_person(person)] == [date(2025, 1, 1)]
