"""A history names the records its ids point at without a query per row: the names of a
page are looked up once per table, however many changes it lists."""

from __future__ import annotations

import re
from typing import Any

from crm.extensions import db
from crm.models import Organisation, User
from crm.services import stakeholders


def _history(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split("Timeline", 1)[-1]))


def test_an_organisation_history_costs_the_same_queries_for_2_and_12_changes(
    app,
    actor,
    make_user,
    login_as,
    count_queries,
):
    owners = [make_user("member", name=f"Owner {letter}") for letter in "ABC"]
    with app.app_context():
        admin = db.session.get(User, actor.id)
        parents = [
            stakeholders.create_organisation(
                {"display_name": f"Parent {letter}", "org_type": "enterprise"},
                actor=admin,
                allow_duplicate=True,
            ).id
            for letter in "ABC"
        ]
        org_id = stakeholders.create_organisation(
            {"display_name": "Acme Textiles", "org_type": "enterprise"},
            actor=admin,
            allow_duplicate=True,
        ).id
    edits = iter(range(100))

    def edit(times: int) -> None:
        """Change the owner (a user id) and the parent (a stakeholder id) `times` times."""
        with app.app_context():
            admin = db.session.get(User, actor.id)
            for _ in range(times):
                i = next(edits)
                org = db.session.get(Organisation, org_id)
                changes = {"owner_id": owners[i % 3].id, "parent_id": parents[i % 3]}
                stakeholders.update(org, changes, version=org.version, actor=admin)
            db.session.remove()

    client = login_as("viewer")

    def queries() -> tuple[Any, str]:
        with count_queries() as counter:
            response = client.get(f"/organisations/{org_id}")
        assert response.status_code == 200
        return counter, _history(response.get_data(as_text=True))

    edit(2)
    few, few_page = queries()
    edit(10)
    many, many_page = queries()

    assert few_page.count("Relationship owner :") == 2
    assert many_page.count("Relationship owner :") == 12  # every change is on the page
    for page in (few_page, many_page):  # each id is read as its record's name
        assert "Relationship owner : Owner A → Owner B" in page
        assert "Parent organisation : Parent A → Parent B" in page
    assert many.count == few.count, many
