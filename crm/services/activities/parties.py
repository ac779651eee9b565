"""The parties of an activity: organisations linked to it with a role.

A host, co-organiser, partner, sponsor or signatory delivers, funds or signs the activity;
a party with the role "participant" took part as an organisation (and counts as reached,
see crm.services.activities.reach). The same organisation may hold several roles, each
once. Adding and removing a party checks `EDIT_ACTIVITIES`, writes an audit event on the
activity and commits once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from crm.access import Permission
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import LABELS, Activity, ActivityParty, AuditAction, Organisation, PartyRole, User
from crm.services import audit
from crm.services.activities._checks import choice, require, require_live
from crm.services.errors import InvalidInput, NotFound


def _party_text(organisation: Organisation, role: PartyRole) -> str:
    return f"{LABELS.get(role, role.value)}: {organisation.display_name}"


def add_party(
    activity: Activity, *, organisation_id: int | None, role: Any, actor: User
) -> ActivityParty:
    """Link an organisation to the activity with a role (host, signatory, ...).

    The same organisation may hold several roles, but each role once: a repeat raises
    InvalidInput on `organisation_id` (never an IntegrityError).
    """
    require(actor, Permission.EDIT_ACTIVITIES)
    require_live(activity)
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or organisation.deleted_at is not None:
        raise InvalidInput(_("Choose an existing organisation."), field="organisation_id")
    party_role = choice(PartyRole, role, "role", _("Choose a role."))
    if party_role is None:
        raise InvalidInput(_("Choose a role."), field="role")
    message = _(
        "%(name)s already has the role “%(role)s” in this activity.",
        name=organisation.display_name,
        role=str(LABELS.get(party_role)),
    )
    exists = db.session.scalar(
        sa.select(ActivityParty.id).where(
            ActivityParty.activity_id == activity.id,
            ActivityParty.organisation_id == organisation.id,
            ActivityParty.role == party_role,
        )
    )
    if exists is not None:
        raise InvalidInput(message, field="organisation_id")
    party = ActivityParty(activity_id=activity.id, organisation_id=organisation.id, role=party_role)
    try:
        db.session.add(party)
        db.session.flush()
    except IntegrityError:
        # Someone added the same party between the check and the insert.
        db.session.rollback()
        raise InvalidInput(message, field="organisation_id") from None
    audit.record(
        activity,
        actor=actor,
        action=AuditAction.update,
        changes={"parties_added": [None, _party_text(organisation, party_role)]},
        summary=activity.title,
    )
    db.session.commit()
    return party


def get_party(activity: Activity, party_id: int) -> ActivityParty:
    party = db.session.get(ActivityParty, party_id)
    if party is None or party.activity_id != activity.id:
        raise NotFound(_("This organisation is not a party to the activity."))
    return party


def remove_party(party: ActivityParty, *, actor: User) -> None:
    """Unlink an organisation from the activity (the organisation itself stays)."""
    require(actor, Permission.EDIT_ACTIVITIES)
    activity = party.activity
    audit.record(
        activity,
        actor=actor,
        action=AuditAction.update,
        changes={"parties_removed": [_party_text(party.organisation, party.role), None]},
        summary=activity.title,
    )
    db.session.delete(party)
    db.session.commit()


def parties(activity: Activity) -> list[ActivityParty]:
    """The activity's parties with live organisations, by role then name."""
    order = sa.case({role.value: n for n, role in enumerate(PartyRole)}, value=ActivityParty.role)
    stmt = (
        sa.select(ActivityParty)
        .join(Organisation, Organisation.id == ActivityParty.organisation_id)
        .where(ActivityParty.activity_id == activity.id, Organisation.deleted_at.is_(None))
        .options(joinedload(ActivityParty.organisation))
        .order_by(order, Organisation.sort_name)
    )
    return list(db.session.scalars(stmt))
