"""Erasure: a person's personal data anonymised for good, the figures built on them kept.

What goes (cleared, or replaced by ERASED where a value must stay in place):

* the person's names (family, given, Chinese, the pinyin and initials derived from it), email,
  phone, WeChat ID, job title, notes, preferred language, tags, the consent source and the
  notes of their consent history, their further contact details (the rows are deleted), the
  titles of their positions and the notes of their relationships;
* their name and contact details wherever free text repeats them in records about them: the
  subject, summary and outcome of the interactions they took part in, and the title, details
  and completion note of the follow-ups about them (the text around the name stays);
* in the audit trail of their record, every recorded value of those fields, and their name in
  the summaries of the events of their record, of their interactions and of the activities
  they are listed in; the events themselves stay (who did what, when).

What stays, because the donor figures and the engagement report count it: the row itself,
with its gender, stakeholder type, engagement level, influence and interest and consent
statuses; the positions (organisation and dates, so the sectors they count under do not
move); the participations with status, role and organisation at the time; the links to
interactions and follow-ups.

The record is then shown as "Erased person #<id>", is no longer in the search index, the
people list or the likely duplicates, and cannot be erased again. Purging a person from the
trash applies the same erasure instead of deleting the row when figures are built on the
person (crm.services.lifecycle; `purge`), and brings the anonymous record back out of the
trash, so that it counts in the figures again as it did before it was deleted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Affiliation,
    AuditAction,
    AuditEvent,
    ConsentRecord,
    ContactDetail,
    FollowUp,
    Interaction,
    Participation,
    Person,
    StakeholderRelationship,
    User,
    interaction_stakeholders,
    utcnow,
)
from crm.services import audit, duplicates, follow_ups, interactions, search
from crm.services.errors import InvalidInput, PermissionDenied
from crm.services.text import sort_key

log = logging.getLogger(__name__)

# What replaces an erased value where something must stay in its place.
ERASED = "[erased]"

# The person's own fields that hold personal data, cleared by the erasure; the audit trail of
# their record forgets every value recorded for them.
PERSONAL_FIELDS = (
    "display_name",
    "family_name",
    "given_name",
    "chinese_name",
    "name_pinyin",
    "name_initials",
    "email",
    "phone",
    "phone_key",
    "wechat_id",
    "job_title",
    "notes",
    "preferred_language",
    "consent_source",
    "retention_exempt_reason",
    "tags",
    "title",
    "value",
    "note",
)
# Shorter texts are not looked for in free text: a family name such as "Li" alone would
# blank out every "Li" of unrelated words.
_SHORTEST = 2


def erased_name(person_id: int) -> str:
    """The name an erased record is stored under (the interface translates it for display:
    crm.blueprints.personal_data `shown_name`)."""
    return f"Erased person #{person_id}"


def may_erase(actor: User | None) -> bool:
    return can(actor, Permission.ERASE_PERSONAL)


def erase(person: Person, *, actor: User) -> Person:
    """Anonymise a person irreversibly (see the module); commits once.

    Coordinators and up (Permission.ERASE_PERSONAL). Raises PermissionDenied, InvalidInput for
    a person who is already erased (nothing changes) or in the trash (an administrator purges
    them from there, which erases them the same way).
    """
    if not may_erase(actor):
        raise PermissionDenied(_("You do not have permission to erase personal data."))
    if person.erased_at is not None:
        raise InvalidInput(_("This person's personal data have already been erased."))
    if person.deleted_at is not None:
        raise InvalidInput(
            _("This person is in the trash: purging them from the trash erases their data.")
        )
    anonymise(person, actor=actor, summary="erased on request")
    db.session.commit()
    log.info("person %s erased by user %s", person.id, actor.id)
    return person


def anonymise(person: Person, *, actor: User | None, summary: str) -> bool:
    """The erasure itself, flush-only: the caller checks who may and commits (`erase`, the
    trash's purge, a retention run). Returns False, changing nothing, for a person already
    erased."""
    if person.erased_at is not None:
        return False
    scrub = scrubber([*_identifying_texts(person), *_recorded_names(person.id)])
    cleared = [f for f in PERSONAL_FIELDS if getattr(person, f, None) not in (None, "", [])]
    _clear_person(person)
    _clear_links(person.id)
    interaction_ids = _scrub_interactions(person.id, scrub)
    follow_up_ids = _scrub_follow_ups(person.id, scrub)
    activity_ids = db.session.scalars(
        sa.select(Participation.activity_id).where(Participation.person_id == person.id)
    ).all()
    _scrub_audit(
        person.id,
        scrub,
        around={
            "interactions": interaction_ids,
            "activities": activity_ids,
            "follow_ups": follow_up_ids,
        },
    )
    audit.record(
        person,
        actor=actor,
        action=AuditAction.erase,
        summary=summary,
        changes={"erased": [None, sorted(cleared)]},
    )
    search.remove("person", person.id)
    duplicates.refresh([person.id])
    return True


def purge(person: Person, *, actor: User | None) -> bool:
    """What purging a person from the trash does instead of deleting the row, when figures
    are built on them (they are listed in an activity or linked to an interaction): their
    data erased, the anonymous record kept and taken out of the trash, so it counts as it did
    before it was deleted. Returns False for anyone else, whose row the trash then deletes
    (a duplicate merged into another has nothing left the figures need). Flush-only; the
    trash's lifecycle checked who may and commits."""
    if not _counted(person.id):
        return False
    anonymise(person, actor=actor, summary="purged from the trash: erased, figures kept")
    person.deleted_at = None
    db.session.flush()
    return True


def _counted(person_id: int) -> bool:
    listed = sa.exists().where(Participation.person_id == person_id)
    linked = sa.exists().where(interaction_stakeholders.c.stakeholder_id == person_id)
    return bool(db.session.scalar(sa.select(sa.or_(listed, linked))))


def scrubber(texts: Iterable[str | None]) -> Callable[[str | None], str | None]:
    """A function that replaces each of `texts` (case-insensitive, longest first) by ERASED."""
    wanted = sorted(
        {t.strip() for t in texts if t and len(t.strip()) >= _SHORTEST}, key=len, reverse=True
    )
    if not wanted:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(t) for t in wanted), re.IGNORECASE)

    def scrub(text: str | None) -> str | None:
        return pattern.sub(ERASED, text) if text else text

    return scrub


def _identifying_texts(person: Person) -> list[str | None]:
    family, given = person.family_name or "", person.given_name or ""
    return [
        person.display_name,
        person.chinese_name,
        f"{family} {given}".strip() if family and given else None,
        f"{given} {family}".strip() if family and given else None,
        f"{family}{given}" if family and given else None,
        person.email,
        person.phone,
        person.phone_key,
        person.wechat_id,
        *(detail.value for detail in person.contact_details),
    ]


# The fields whose earlier values, kept in the audit trail, are looked for in free text too
# (a name or an address the person had before an edit).
_SEARCHED_FIELDS = (
    "display_name",
    "chinese_name",
    "email",
    "phone",
    "wechat_id",
    "value",
)


def _recorded_names(person_id: int) -> list[str]:
    stmt = sa.select(AuditEvent.changes).where(
        AuditEvent.entity_type == "people", AuditEvent.entity_id == person_id
    )
    found: list[str] = []
    for changes in db.session.scalars(stmt):
        for field in _SEARCHED_FIELDS:
            recorded = (changes or {}).get(field)
            values = recorded if isinstance(recorded, list) else [recorded]
            found += [v for v in values if isinstance(v, str)]
    return found


def _clear_person(person: Person) -> None:
    for name in (
        "family_name",
        "given_name",
        "chinese_name",
        "name_pinyin",
        "name_initials",
        "match_key",
        "match_key_zh",
        "email",
        "phone",
        "phone_key",
        "wechat_id",
        "job_title",
        "notes",
        "preferred_language",
        "consent_source",
        "retention_exempt_reason",
    ):
        setattr(person, name, None)
    person.display_name = erased_name(person.id)
    person.sort_name = sort_key(person.display_name, None)
    person.tags = []
    person.erased_at = utcnow()
    # An erased record is never in the trash: it counts in the figures as before.
    person.deleted_at = None


def _clear_links(person_id: int) -> None:
    """Contact details go; positions keep organisation and dates but not their title;
    relationships keep their type but not their note; consent history keeps statuses and
    dates but not the notes."""
    db.session.execute(sa.delete(ContactDetail).where(ContactDetail.person_id == person_id))
    db.session.execute(
        sa.update(Affiliation)
        .where(Affiliation.person_id == person_id, Affiliation.title.is_not(None))
        .values(title=None, version=Affiliation.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(StakeholderRelationship)
        .where(
            sa.or_(
                StakeholderRelationship.source_id == person_id,
                StakeholderRelationship.target_id == person_id,
            ),
            StakeholderRelationship.note.is_not(None),
        )
        .values(note=None, version=StakeholderRelationship.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(ConsentRecord)
        .where(ConsentRecord.person_id == person_id, ConsentRecord.note.is_not(None))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    db.session.expire_all()


def _scrub_interactions(person_id: int, scrub: Callable[[str | None], str | None]) -> list[int]:
    """Their name out of the interactions they took part in; each is indexed again (its entry
    names its stakeholders). Returns the interactions' ids."""
    stmt = (
        sa.select(Interaction)
        .join(
            interaction_stakeholders,
            interaction_stakeholders.c.interaction_id == Interaction.id,
        )
        .where(interaction_stakeholders.c.stakeholder_id == person_id)
    )
    found = list(db.session.scalars(stmt))
    for interaction in found:
        subject = scrub(interaction.subject) or ""
        if subject != interaction.subject:
            interaction.subject = subject
        for name in ("summary", "outcome"):
            before = getattr(interaction, name)
            after = scrub(before)
            if after != before:
                setattr(interaction, name, after)
        interactions.index(interaction)
    return [i.id for i in found]


def _scrub_follow_ups(person_id: int, scrub: Callable[[str | None], str | None]) -> list[int]:
    found = list(db.session.scalars(sa.select(FollowUp).where(follow_ups.about(person_id))))
    for follow_up in found:
        for name in ("title", "details", "completion_note"):
            before = getattr(follow_up, name)
            after = scrub(before)
            if after != before:
                setattr(follow_up, name, after or ERASED)
    return [f.id for f in found]


def _scrub_changes(changes: dict[str, Any], scrub: Callable[[str | None], str | None]) -> Any:
    def value(field: str, recorded: Any) -> Any:
        if field in PERSONAL_FIELDS and recorded not in (None, "", []):
            return ERASED
        if isinstance(recorded, str):
            return scrub(recorded)
        if isinstance(recorded, list):
            return [value(field, v) for v in recorded]
        return recorded

    return {field: value(field, recorded) for field, recorded in changes.items()}


def _scrub_audit(
    person_id: int,
    scrub: Callable[[str | None], str | None],
    *,
    around: Mapping[str, Sequence[int]],
) -> None:
    """The events of their record lose every recorded personal value; the events of the
    records about them (`around`: ids by table) lose their name."""
    own = sa.and_(AuditEvent.entity_type == "people", AuditEvent.entity_id == person_id)
    others = [
        sa.and_(AuditEvent.entity_type == table, AuditEvent.entity_id.in_(list(ids)))
        for table, ids in around.items()
        if ids
    ]
    for event in db.session.scalars(sa.select(AuditEvent).where(sa.or_(own, *others))):
        is_own = event.entity_type == "people" and event.entity_id == person_id
        summary = scrub(event.summary) or ""
        if summary != event.summary:
            event.summary = summary
        if is_own:
            changes = _scrub_changes(event.changes or {}, scrub)
        else:
            changes = {
                field: _scrub_changes({"": recorded}, scrub)[""]
                for field, recorded in (event.changes or {}).items()
            }
        if changes != event.changes:
            event.changes = changes
