"""Links between stakeholders: relationships (any two) and affiliations (person → organisation)."""

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.common import attach_error
from crm.blueprints.stakeholders import bp
from crm.blueprints.stakeholders.forms import AffiliationForm, EndForm, RelationshipForm
from crm.blueprints.stakeholders.helpers import affiliation_form, relationship_form
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import Affiliation, Organisation, Person, Stakeholder, StakeholderRelationship
from crm.services import stakeholders
from crm.services.errors import NotFound, ServiceError


def _detail_url(stakeholder: Stakeholder) -> str:
    if isinstance(stakeholder, Person):
        return url_for("people.detail", person_id=stakeholder.id)
    return url_for("organisations.detail", organisation_id=stakeholder.id)


def _render_detail(
    stakeholder: Stakeholder,
    *,
    relationship: RelationshipForm | None = None,
    affiliation: AffiliationForm | None = None,
) -> ResponseReturnValue:
    from crm.blueprints.organisations.views import render_detail as organisation_detail
    from crm.blueprints.people.views import render_detail as person_detail

    if isinstance(stakeholder, Person):
        return person_detail(
            stakeholder, status=400, relationship=relationship, affiliation=affiliation
        )
    assert isinstance(stakeholder, Organisation)  # a stakeholder is a person or an organisation
    return organisation_detail(stakeholder, status=400, relationship=relationship)


@bp.route("/<int:stakeholder_id>/relationships", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def add_relationship(stakeholder_id: int):
    stakeholder = stakeholders.get(Stakeholder, stakeholder_id)
    form = relationship_form(stakeholder, RelationshipForm(prefix="rel"))
    if form.validate():
        try:
            stakeholders.add_relationship(
                stakeholder,
                target_id=form.target_id.data,
                type=form.type.data,
                start_on=form.start_on.data,
                end_on=form.end_on.data,
                note=form.note.data,
                actor=current_user,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Relationship added."), "success")
            return redirect(_detail_url(stakeholder) + "#relationships")
    flash(_("The relationship was not added: see the form below."), "danger")
    return _render_detail(stakeholder, relationship=form)


@bp.route("/relationships/<int:relationship_id>/end", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def end_relationship(relationship_id: int):
    rel = db.get_or_404(StakeholderRelationship, relationship_id)
    if rel.deleted_at is not None:
        raise NotFound(_("No such record."))
    form = EndForm(prefix="end")
    if form.validate():
        try:
            stakeholders.end_relationship(rel, end_on=form.end_on.data, actor=current_user)
        except ServiceError as err:
            flash(str(err), "danger")
        else:
            flash(_("Relationship ended."), "success")
    else:
        flash(_("Give the date on which it ended."), "danger")
    return redirect(_detail_url(rel.source) + "#relationships")


@bp.route("/<int:person_id>/affiliations", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def add_affiliation(person_id: int):
    person = stakeholders.get(Person, person_id)
    form = affiliation_form(person, AffiliationForm(prefix="aff"))
    if form.validate():
        try:
            stakeholders.add_affiliation(
                person,
                organisation_id=form.organisation_id.data,
                title=form.title.data,
                start_on=form.start_on.data,
                end_on=form.end_on.data,
                actor=current_user,
            )
        except ServiceError as err:
            attach_error(form, err)
        else:
            flash(_("Position added."), "success")
            return redirect(_detail_url(person) + "#affiliations")
    flash(_("The position was not added: see the form below."), "danger")
    return _render_detail(person, affiliation=form)


@bp.route("/affiliations/<int:affiliation_id>/end", methods=["POST"])
@permission_required(Permission.EDIT_STAKEHOLDERS)
def end_affiliation(affiliation_id: int):
    affiliation = db.get_or_404(Affiliation, affiliation_id)
    if affiliation.deleted_at is not None:
        raise NotFound(_("No such record."))
    form = EndForm(prefix="end")
    if form.validate():
        try:
            stakeholders.end_affiliation(affiliation, end_on=form.end_on.data, actor=current_user)
        except ServiceError as err:
            flash(str(err), "danger")
        else:
            flash(_("Position ended."), "success")
    else:
        flash(_("Give the date on which it ended."), "danger")
    return redirect(_detail_url(affiliation.person) + "#affiliations")
