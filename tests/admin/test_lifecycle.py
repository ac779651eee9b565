"""One lifecycle for every kind in the trash (crm.services.lifecycle): organisations, people,
activities, interactions and donor indicators follow the same rules, through their pages and
the trash's.

For each kind: a record deleted twice is refused the second time, a live record cannot be
restored or purged, only administrators restore and purge, and a purged record is gone from
the database and from search, with a purge event in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    AuditEvent,
    Indicator,
    Interaction,
    Organisation,
    Person,
    SearchDocument,
    User,
)
from crm.services import activities, interactions, search, stakeholders
from crm.services.errors import NotFound
from crm.services.reporting import indicators


@dataclass(frozen=True)
class Kind:
    """How a test reaches one kind of record: its pages, its service and its search type."""

    name: str  # the trash's kind (`?kind=`); "stakeholder" for organisations and people
    model: type[Any]
    table: str  # the audit trail's entity type
    delete_url: str  # with {id}
    deleter: Role  # the lowest role whose delete button works for a record they did not write
    delete: Callable[..., None]  # the kind's service
    create: Callable[[User], Any]
    summary: str  # what the audit trail calls the record
    search_type: str | None = None  # None: not in the search index
    search_text: str = ""


def _organisation(admin: User) -> Organisation:
    return stakeholders.create_organisation(
        {"display_name": "Alpha Textiles", "chinese_name": "阿尔法纺织", "org_type": "enterprise"},
        actor=admin,
    )


def _person(admin: User) -> Person:
    return stakeholders.create_person(
        {"family_name": "Li", "given_name": "Na", "chinese_name": "李娜"}, actor=admin
    )


def _activity(admin: User) -> Activity:
    return activities.create(
        {
            "type": "training",
            "title": "OSH training for electronics suppliers",
            "start_on": date(2026, 3, 4),
            "city": "Shenzhen",
        },
        actor=admin,
    )


def _interaction(admin: User) -> Interaction:
    wang = stakeholders.create_person({"family_name": "Wang", "given_name": "Fang"}, actor=admin)
    return interactions.log_interaction(
        {
            "occurred_at": datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
            "channel": "wechat",
            "subject": "Overtime survey follow-up",
            "stakeholder_ids": [wang.id],
        },
        actor=admin,
    )


def _indicator(admin: User) -> Indicator:
    return indicators.create(
        {
            "code": "1.1",
            "name": "Enterprises trained on due diligence",
            "unit": "enterprises",
            "metric": "enterprises_trained",
            "baseline": "0",
            "targets": [{"year": 2026, "target": "15"}],
        },
        actor=admin,
    )


KINDS = [
    Kind(
        "stakeholder",
        Organisation,
        "organisations",
        "/organisations/{id}/delete",
        Role.coordinator,
        stakeholders.delete,
        _organisation,
        summary="Alpha Textiles",
        search_type="organisation",
        search_text="alpha",
    ),
    Kind(
        "stakeholder",
        Person,
        "people",
        "/people/{id}/delete",
        Role.coordinator,
        stakeholders.delete,
        _person,
        summary="Li Na",
        search_type="person",
        search_text="李娜",
    ),
    Kind(
        "activity",
        Activity,
        "activities",
        "/activities/{id}/delete",
        Role.coordinator,
        activities.delete,
        _activity,
        summary="OSH training for electronics suppliers",
        search_type="activity",
        search_text="electronics",
    ),
    Kind(
        "interaction",
        Interaction,
        "interactions",
        "/interactions/{id}/delete",
        Role.coordinator,
        interactions.delete,
        _interaction,
        summary="Overtime survey follow-up",
        search_type="interaction",
        search_text="overtime",
    ),
    Kind(
        "indicator",
        Indicator,
        "indicators",
        "/reports/indicators/{id}/delete",
        Role.manager,
        indicators.delete,
        _indicator,
        summary="Enterprises trained on due diligence",
    ),
]


@pytest.fixture(params=KINDS, ids=lambda kind: kind.table)
def kind(request) -> Kind:  # type: ignore[no-untyped-def]
    return request.param


@pytest.fixture
def record_id(app, actor, kind: Kind) -> int:
    """A live record of the kind, written by the factory administrator."""
    with app.app_context():
        return kind.create(db.session.get(User, actor.id)).id


def _trash_url(kind: Kind, record_id: int, action: str) -> str:
    # Stakeholders keep their short URLs; other kinds name theirs.
    url = f"/trash/{record_id}/{action}"
    return url if kind.name == "stakeholder" else f"{url}?kind={kind.name}"


def _actions(kind: Kind, record_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.entity_type == kind.table, AuditEvent.entity_id == record_id)
            .order_by(AuditEvent.id)
        )
    )


def _found(kind: Kind, record_id: int) -> bool:
    """Whether search knows the record: its document, and a hit for its text."""
    assert kind.search_type is not None
    documents = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(SearchDocument)
        .where(
            SearchDocument.entity_type == kind.search_type,
            SearchDocument.entity_id == record_id,
        )
    )
    hits = search.search(kind.search_text, types=[kind.search_type]).groups.get(
        kind.search_type, []
    )
    return bool(documents) or record_id in [hit.entity_id for hit in hits]


def _delete(login_as, kind: Kind, record_id: int):  # type: ignore[no-untyped-def]
    client = login_as(kind.deleter)
    assert client.post(kind.delete_url.format(id=record_id)).status_code == 302
    return client


def test_deleting_a_record_twice_is_refused(login_as, actor, kind, record_id, in_app):
    client = _delete(login_as, kind, record_id)
    # The page of a record in the trash is gone, and so is its delete button.
    assert client.post(kind.delete_url.format(id=record_id)).status_code == 404
    with in_app():
        # The service refuses too, whoever calls it (an interaction once went to the trash
        # again, with a second delete event).
        admin = db.session.get(User, actor.id)
        with pytest.raises(NotFound):
            kind.delete(db.session.get(kind.model, record_id), actor=admin)
        assert _actions(kind, record_id) == ["create", "delete"]
        assert db.session.get(kind.model, record_id).deleted_at is not None


def test_a_live_record_cannot_be_restored_or_purged(login_as, kind, record_id, in_app):
    admin = login_as(Role.admin)
    response = admin.post(_trash_url(kind, record_id, "restore"))
    assert response.status_code == 422
    assert "This record is not in the trash." in response.get_data(as_text=True)
    response = admin.post(_trash_url(kind, record_id, "purge"))
    assert response.status_code == 422
    assert "Only records in the trash can be purged." in response.get_data(as_text=True)
    with in_app():
        assert db.session.get(kind.model, record_id).deleted_at is None
        assert _actions(kind, record_id) == ["create"]


@pytest.mark.parametrize("role", [Role.member, Role.coordinator])
def test_only_administrators_restore_or_purge(login_as, kind, record_id, in_app, role):
    _delete(login_as, kind, record_id)
    client = login_as(role)
    assert client.post(_trash_url(kind, record_id, "restore")).status_code == 403
    assert client.post(_trash_url(kind, record_id, "purge")).status_code == 403
    with in_app():
        assert db.session.get(kind.model, record_id).deleted_at is not None
        assert _actions(kind, record_id) == ["create", "delete"]


@pytest.mark.parametrize("kind", [k for k in KINDS if k.search_type], ids=lambda kind: kind.table)
def test_a_restored_record_is_back_in_search(login_as, kind, record_id, in_app):
    with in_app():
        assert _found(kind, record_id)
    _delete(login_as, kind, record_id)
    with in_app():
        assert not _found(kind, record_id)
    assert login_as(Role.admin).post(_trash_url(kind, record_id, "restore")).status_code == 302
    with in_app():
        assert _found(kind, record_id)
        assert db.session.get(kind.model, record_id).deleted_at is None
        assert _actions(kind, record_id) == ["create", "delete", "restore"]


def test_a_purged_record_is_gone_from_the_database_and_search(login_as, kind, record_id, in_app):
    _delete(login_as, kind, record_id)
    admin = login_as(Role.admin)
    response = admin.post(_trash_url(kind, record_id, "purge"))
    assert response.status_code == 302
    assert response.headers["Location"] == "/trash"
    with in_app():
        assert db.session.get(kind.model, record_id) is None
        if kind.search_type is not None:
            assert not _found(kind, record_id)
        purge = db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.entity_type == kind.table,
                AuditEvent.entity_id == record_id,
                AuditEvent.action == "purge",
            )
        ).one()
        assert (purge.actor_id, purge.summary) == (admin.user.id, kind.summary)
    # Purged twice: nothing is left to find.
    assert admin.post(_trash_url(kind, record_id, "purge")).status_code == 404
