"""No N+1: list and detail pages issue as many queries for 30 rows as for 3."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.extensions import db
from crm.models import Organisation, Person, User
from crm.services import stakeholders
from tests.conftest import QueryCounter


@pytest.fixture
def populate(app: Flask, make_user: Callable[..., User], actor: User) -> Callable[[int], None]:
    """Add `n` organisations and `n` people with everything a list row shows."""
    owners = [make_user("member", name=f"Owner {i}") for i in range(3)]
    counter = iter(range(1, 10_000))

    def add(n: int) -> None:
        with app.app_context():
            admin = db.session.get(User, actor.id)
            for _ in range(n):
                i = next(counter)
                owner_id = owners[i % len(owners)].id
                org = stakeholders.create_organisation(
                    {
                        "display_name": f"Enterprise {i:03d}",
                        "chinese_name": f"企业{i}号",
                        "org_type": "enterprise" if i % 2 else "government",
                        "sector": "textile",
                        "province": f"Province {i % 4}",
                        "owner_id": owner_id,
                        "tags": [f"tag {i % 5}", "pilot"],
                    },
                    actor=admin,
                    allow_duplicate=True,
                )
                former = stakeholders.create_organisation(
                    {"display_name": f"Former {i:03d}", "org_type": "ngo"},
                    actor=admin,
                    allow_duplicate=True,
                )
                person = stakeholders.create_person(
                    {
                        "family_name": "Wang",
                        "given_name": f"Fang {i:03d}",
                        "chinese_name": "王芳",
                        "email": f"wang{i}@example.cn",
                        "owner_id": owner_id,
                        "tags": [f"tag {i % 5}", "speaker"],
                    },
                    actor=admin,
                    allow_duplicate=True,
                )
                for where, start_on, end_on in (
                    (former, date(2018, 1, 1), date(2020, 12, 31)),
                    (org, date(2021, 1, 1), None),
                ):
                    stakeholders.add_affiliation(
                        person,
                        organisation_id=where.id,
                        title="Manager",
                        start_on=start_on,
                        end_on=end_on,
                        actor=admin,
                    )
                stakeholders.add_relationship(
                    org, target_id=former.id, type="partner_of", actor=admin
                )
            db.session.remove()

    return add


def _queries_for(client: Any, count_queries: Callable[[], Any], url: str) -> QueryCounter:
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter


@pytest.mark.parametrize(
    "url",
    [
        "/organisations",
        "/organisations?sort=province&dir=desc",
        "/organisations?q=qi ye&tag=pilot",
        "/people",
        "/people?sort=email&tag=speaker",
        "/people?q=wang",
    ],
)
def test_list_pages_do_not_query_per_row(login_as, populate, count_queries, url):
    client = login_as("viewer")
    populate(3)
    few = _queries_for(client, count_queries, url)
    populate(27)
    many = _queries_for(client, count_queries, url)
    page = client.get(url).get_data(as_text=True)
    assert page.count("<tr>") >= 30 + 1  # the rows are really there (with the header row)
    assert many.count == few.count, many


def _detail_counts(
    client: Any, count_queries: Callable[[], Any], in_app: Callable[[], Any], name: str
) -> tuple[QueryCounter, QueryCounter]:
    with in_app():
        org_id = db.session.scalar(
            sa.select(Organisation.id).where(Organisation.display_name == name)
        )
        person_id = db.session.scalar(
            sa.select(Person.id)
            .join(Person.affiliations)
            .where(Person.affiliations.any(organisation_id=org_id))
        )
    return (
        _queries_for(client, count_queries, f"/organisations/{org_id}"),
        _queries_for(client, count_queries, f"/people/{person_id}"),
    )


def test_detail_pages_do_not_query_per_link(login_as, populate, count_queries, in_app, actor):
    client = login_as("member")
    populate(3)
    org_few, person_few = _detail_counts(client, count_queries, in_app, "Enterprise 001")
    populate(10)
    # Give Enterprise 001 many people, relationships and history events.
    with in_app():
        admin = db.session.get(User, actor.id)
        org = db.session.scalar(
            sa.select(Organisation).where(Organisation.display_name == "Enterprise 001")
        )
        person = db.session.scalar(sa.select(Person).where(Person.given_name == "Fang 001"))
        others = db.session.scalars(
            sa.select(Organisation).where(Organisation.display_name.like("Enterprise 01%"))
        ).all()
        for other in others:
            stakeholders.add_relationship(org, target_id=other.id, type="supplier_to", actor=admin)
            stakeholders.add_relationship(person, target_id=other.id, type="member_of", actor=admin)
            stakeholders.add_affiliation(
                person,
                organisation_id=other.id,
                title="Adviser",
                start_on=None,
                end_on=None,
                actor=admin,
            )
        people = db.session.scalars(sa.select(Person).where(Person.given_name > "Fang 003")).all()
        for somebody in people:
            stakeholders.add_affiliation(
                somebody,
                organisation_id=org.id,
                title=None,
                start_on=None,
                end_on=None,
                actor=admin,
            )
        assert len(others) >= 4 and len(people) >= 10
    org_many, person_many = _detail_counts(client, count_queries, in_app, "Enterprise 001")
    assert org_many.count == org_few.count, org_many
    assert person_many.count == person_few.count, person_many
