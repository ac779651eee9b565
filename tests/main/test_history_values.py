"""The history shows recorded values as the reader knows them: an enum column by its label,
free text as it was typed, even when the text happens to equal some enum's value."""

from __future__ import annotations

import re

from crm.access import Role
from crm.extensions import db
from crm.models import User
from crm.services import stakeholders
from crm.services.reporting import indicators


def _history(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split("History", 1)[-1]))


def test_free_text_is_shown_as_typed_and_enum_values_by_their_label(app, actor, login_as):
    with app.app_context():
        admin = db.session.get(User, actor.id)
        indicator = indicators.create(
            {
                "code": "1.2",
                "name": "People trained",
                "unit": "people",  # also the value of ImportKind.people, labelled "People"
                "metric": "participants_trained",
                "baseline": "0",
            },
            actor=admin,
        )
        org = stakeholders.create_organisation(
            {
                "display_name": "Acme Textiles",
                "org_type": "enterprise",
                "sector": "textile",
                "city": "other",
            },  # a city typed as "other" is not the enum value "Other"
            actor=admin,
            allow_duplicate=True,
        )
        stakeholders.update(
            org, {"owner_id": actor.id}, version=org.version, actor=admin
        )  # an id in the audit trail, read as the owner's name
        indicator_id, org_id = indicator.id, org.id
    manager = login_as(Role.manager)
    page = _history(manager.get(f"/reports/indicators/{indicator_id}").get_data(as_text=True))
    assert "Unit : people" in page and "Unit : People" not in page
    assert "Figure : Participants trained" in page  # the metric, an enum, by its label
    org_page = _history(manager.get(f"/organisations/{org_id}").get_data(as_text=True))
    assert "Sector : Textile and garment" in org_page
    assert "City : other" in org_page
    assert "Relationship owner : Factory Admin" in org_page
