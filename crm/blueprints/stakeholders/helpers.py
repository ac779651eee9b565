"""View helpers shared by the organisation and people pages."""

from __future__ import annotations

from flask import render_template

from crm.blueprints.common import same_value
from crm.blueprints.stakeholders.forms import AffiliationForm, RelationshipForm
from crm.forms import BaseForm
from crm.models import Person, Stakeholder
from crm.services import audit, stakeholders
from crm.services.errors import Conflict


def conflict_page(form: BaseForm, stakeholder: Stakeholder, err: Conflict, template: str):
    """Both versions side by side; the form keeps the user's values on top of the new version."""
    current = err.current or stakeholders.state(stakeholder)
    mine = form.changes()
    rows = []
    for name, field in form._fields.items():
        if name in form.NOT_DATA or name not in current:
            continue
        theirs = current.get(name)
        yours = mine.get(name)
        yours_json = audit.json_value(yours)
        if isinstance(yours_json, list):
            yours_json = sorted(yours_json)
        rows.append(
            {
                "label": field.label.text,
                "yours": yours_json,
                "theirs": theirs,
                "differs": not same_value(yours_json, theirs),
            }
        )
    form.version.data = str(stakeholder.version)
    return render_template(
        "stakeholders/conflict.html",
        form=form,
        rows=rows,
        stakeholder=stakeholder,
        template=template,
    ), 409


def relationship_form(stakeholder: Stakeholder, form: RelationshipForm | None = None):
    return form or RelationshipForm(prefix="rel")


def affiliation_form(person: Person, form: AffiliationForm | None = None):
    return form or AffiliationForm(prefix="aff")
