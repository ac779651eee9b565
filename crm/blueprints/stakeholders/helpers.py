"""View helpers shared by the organisation and people pages."""

from __future__ import annotations

from crm.blueprints.stakeholders.forms import AffiliationForm, RelationshipForm
from crm.models import Person, Stakeholder


def relationship_form(stakeholder: Stakeholder, form: RelationshipForm | None = None):
    return form or RelationshipForm(prefix="rel")


def affiliation_form(person: Person, form: AffiliationForm | None = None):
    return form or AffiliationForm(prefix="aff")
