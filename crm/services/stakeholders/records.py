"""Organisations and people as records: their fields, create, update, and the trash.

The fields each kind takes and the columns derived from them (pinyin, sort key, duplicate
keys, a person's display name) are defined here once. `insert` and `apply_changes` are the
flush-only building blocks: `create_*` and `update` wrap them in one unit of work, and
workflows that write many records in one transaction (crm.services.imports, participant
quick-create in crm.services.activities) call them directly and commit themselves.
`delete`, `restore` and `purge` follow the one lifecycle of crm.services.lifecycle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from crm import provinces
from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    AuditAction,
    ConsentSource,
    EngagementLevel,
    Organisation,
    Person,
    Stakeholder,
    Tag,
    User,
    utcnow,
)
from crm.services import (
    audit,
    consent,
    contact_details,
    duplicates,
    lifecycle,
    names,
    personal_data,
    search,
)
from crm.services.errors import (
    Conflict,
    InvalidInput,
    LikelyDuplicate,
    NotFound,
    PermissionDenied,
)
from crm.services.text import pinyin, sort_key

log = logging.getLogger(__name__)

S = TypeVar("S", bound=Stakeholder)

COMMON_FIELDS = (
    "display_name",
    "chinese_name",
    "notes",
    "owner_id",
    "engagement_level",
    "influence",
    "interest",
)
ORGANISATION_FIELDS = (
    *COMMON_FIELDS,
    "org_type",
    "sector",
    "ownership",
    "size_band",
    "supply_chain_role",
    "province",
    "city",
    "address",
    "website",
    "parent_id",
)
PERSON_FIELDS = (
    *(f for f in COMMON_FIELDS if f != "display_name"),
    "family_name",
    "given_name",
    "gender",
    "job_title",
    "email",
    "phone",
    "wechat_id",
    "preferred_language",
    "consent",
    "consent_on",
    "consent_source",
    "consent_reports",
    "consent_publication",
)
# What the audit trail and the conflict page compare (tags included, as a list of names).
AUDITED = {
    Organisation: (*ORGANISATION_FIELDS, "tags"),
    Person: (*PERSON_FIELDS, "display_name", "tags"),
}


def _require(actor: User | None, permission: Permission) -> None:
    if not can(actor, permission):
        raise PermissionDenied(_("You do not have permission to do that."))


def fields_of(stakeholder: Stakeholder) -> tuple[str, ...]:
    return AUDITED[type(stakeholder)]


def state(stakeholder: Stakeholder) -> dict[str, Any]:
    """The audited fields as JSON-safe values: what History and the conflict page show."""
    values = audit.snapshot(stakeholder, (f for f in fields_of(stakeholder) if f != "tags"))
    values["tags"] = sorted(tag.name for tag in stakeholder.tags)
    return values


def get(model: type[S], stakeholder_id: int, *, include_deleted: bool = False) -> S:
    """The live record with that id, or NotFound (also for records in the trash)."""
    found = db.session.get(model, stakeholder_id)
    if found is None or (found.deleted_at is not None and not include_deleted):
        raise NotFound(_("No such record."))
    return found


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _tags(names: Sequence[str]) -> list[Tag]:
    cleaned = sorted({n.strip()[:60] for n in names if n and n.strip()})
    if not cleaned:
        return []
    existing = {t.name: t for t in db.session.scalars(sa.select(Tag).where(Tag.name.in_(cleaned)))}
    tags = []
    for name in cleaned:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags


def person_display_name(
    *, family_name: str | None, given_name: str | None, chinese_name: str | None
) -> str:
    """The name a person is shown by, from the parts of their name: family name first for a
    Chinese name, in characters or in pinyin ("Wang Fang" for 王芳, and for family Wang, given
    Fang), given name first for others ("Anna Schmidt", "Lisa Wang"): the rule of
    crm.services.names. Derived on every save (`derive`); the import preview shows a row's
    name the same way before there is a record."""
    family = (family_name or "").strip()
    given = (given_name or "").strip()
    if family and given:
        first = names.shows_family_first(family, given, chinese_name)
        return " ".join([family, given] if first else [given, family])
    return family or given or (chinese_name or "")


def derive(stakeholder: Stakeholder) -> None:
    """Fill the derived columns: pinyin, initials, display name of people, sort key, and an
    organisation's province as its code (crm.provinces)."""
    if isinstance(stakeholder, Person):
        if stakeholder.email:
            stakeholder.email = contact_details.email_key(stakeholder.email)
        stakeholder.display_name = person_display_name(
            family_name=stakeholder.family_name,
            given_name=stakeholder.given_name,
            chinese_name=stakeholder.chinese_name,
        )
    if isinstance(stakeholder, Organisation):
        # A province is stored as its code however it came (a form, the API, an import).
        stakeholder.province = provinces.normalised(stakeholder.province)
    stakeholder.name_pinyin, stakeholder.name_initials = pinyin(stakeholder.chinese_name)
    stakeholder.sort_name = sort_key(stakeholder.display_name, stakeholder.name_pinyin)
    duplicates.derive_keys(stakeholder)


def _check(stakeholder: Stakeholder) -> None:
    if not (stakeholder.display_name or "").strip():
        raise InvalidInput(_("A name is required."), field="display_name")
    if isinstance(stakeholder, Organisation) and stakeholder.parent_id is not None:
        if stakeholder.parent_id == stakeholder.id:
            raise InvalidInput(_("An organisation cannot be its own parent."), field="parent_id")
        parent = db.session.get(Organisation, stakeholder.parent_id)
        if parent is None or parent.deleted_at is not None:
            raise InvalidInput(_("Choose an existing organisation."), field="parent_id")
    if stakeholder.owner_id is not None:
        owner = db.session.get(User, stakeholder.owner_id)
        if owner is None or not owner.is_enabled:
            raise InvalidInput(_("Choose an active user."), field="owner_id")


def _apply(stakeholder: Stakeholder, data: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = set(data) - set(allowed) - {"tags"}
    if unknown:
        raise InvalidInput(_("Unknown field: %(name)s", name=", ".join(sorted(unknown))))
    for name in allowed:
        if name in data:
            setattr(stakeholder, name, data[name])
    if "tags" in data:
        stakeholder.tags = _tags(data["tags"] or [])


def insert(
    model: type[S],
    data: Mapping[str, Any],
    allowed: Sequence[str],
    actor: User,
    *,
    consent_source: ConsentSource = ConsentSource.other,
) -> S:
    """Add a new record with its derived columns, search entry and audit event.

    Flushes only; the caller commits (or rolls back). The building block of `create_*` and
    of workflows that write many records in one transaction (crm.services.imports,
    participant quick-create). A person's consent fields are recorded as statements of
    crm.services.consent (from `consent_source`). Raises PermissionDenied, InvalidInput.
    """
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    statements = (
        consent.from_fields(data, person=None, source=consent_source) if model is Person else []
    )
    stakeholder = model()
    stakeholder.created_by_id = actor.id
    stakeholder.engagement_level = EngagementLevel.unaware
    stakeholder.influence = 3
    stakeholder.interest = 3
    stakeholder.tags = []  # a new record has none: no query to find out when audited
    _apply(stakeholder, data, allowed)
    derive(stakeholder)
    _check(stakeholder)
    db.session.add(stakeholder)
    db.session.flush()
    search.insert(search.document_for(stakeholder))  # new: no entry to look up and replace
    audit.record(
        stakeholder,
        actor=actor,
        action=AuditAction.create,
        changes={k: [None, v] for k, v in state(stakeholder).items() if v not in (None, [], "")},
        summary=stakeholder.display_name,
    )
    for statement in statements:
        assert isinstance(stakeholder, Person)
        consent.apply(stakeholder, statement, actor=actor, new=True)
    return stakeholder


def _create(
    model: type[S],
    data: Mapping[str, Any],
    allowed: Sequence[str],
    actor: User,
    *,
    allow_duplicate: bool,
    employer: Organisation | None = None,
    form_opened_at: datetime | None = None,
) -> S:
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if form_opened_at is not None:
        earlier = _sent_before(model, data, allowed, actor=actor, since=form_opened_at)
        if earlier is not None:
            log.info("%s %s sent again: not created twice", earlier.__tablename__, earlier.id)
            return earlier
    if not allow_duplicate:
        probe = (
            duplicates.person_probe(data, organisation_id=employer.id if employer else None)
            if model is Person
            else duplicates.organisation_probe(data)
        )
        found = duplicates.find([probe])[0]
        if found:
            raise LikelyDuplicate(
                _("This may already be in the database: %(names)s.", names=_names(found)),
                candidates=found,
            )
    stakeholder = insert(model, data, allowed, actor)
    if employer is not None and isinstance(stakeholder, Person):
        # Imported here: links imports this module for its building blocks.
        from crm.services.stakeholders.links import attach

        attach(
            stakeholder,
            employer,
            title=data.get("job_title"),
            start_on=None,
            end_on=None,
            actor=actor,
        )
    duplicates.refresh([stakeholder.id])
    db.session.commit()
    log.info("created %s %s", stakeholder.__tablename__, stakeholder.id)
    return stakeholder


def _sent_before(
    model: type[S], data: Mapping[str, Any], allowed: Sequence[str], *, actor: User, since: datetime
) -> S | None:
    """The live record `actor` created from these same values since `since` (when their form
    was opened): what the first post of a form sent twice made (a double click on Save, a
    page sent again), or None."""
    recent = db.session.scalars(
        sa.select(model)
        .where(
            model.created_by_id == actor.id,
            model.created_at >= since,
            model.deleted_at.is_(None),
        )
        .order_by(model.id.desc())
        .limit(20)
    ).all()
    if not recent:
        return None
    # The values as `insert` would store them (derived ones too: a normalised email).
    sent = model()
    _apply(sent, {k: v for k, v in data.items() if k != "tags"}, allowed)
    derive(sent)
    fields = [f for f in allowed if f in data]
    wanted = audit.snapshot(sent, fields)
    tags = sorted({t.strip()[:60] for t in data.get("tags") or [] if t and t.strip()})
    for record in recent:
        if audit.snapshot(record, fields) == wanted and sorted(t.name for t in record.tags) == tags:
            return record
    return None


def _names(candidates: Sequence[duplicates.Candidate]) -> str:
    return ", ".join(c.stakeholder.display_name for c in candidates[:3])


def create_organisation(
    data: Mapping[str, Any],
    *,
    actor: User,
    allow_duplicate: bool = False,
    form_opened_at: datetime | None = None,
) -> Organisation:
    """Create an organisation from plain field values and audit it. Commits once.

    Unless `allow_duplicate`, an organisation that looks already recorded (crm.services.
    duplicates) raises LikelyDuplicate carrying the candidates, and nothing is written; the
    caller shows them and may create anyway. Raises InvalidInput, PermissionDenied.

    A form sent twice makes one record: given `form_opened_at` (when the user opened the
    form), an organisation `actor` has created since from the same values is returned as it
    is, and nothing is written, before any duplicate check (it would find that very record).
    """
    return _create(
        Organisation,
        data,
        ORGANISATION_FIELDS,
        actor,
        allow_duplicate=allow_duplicate,
        form_opened_at=form_opened_at,
    )


def create_person(
    data: Mapping[str, Any],
    *,
    actor: User,
    allow_duplicate: bool = False,
    employer_id: int | None = None,
    form_opened_at: datetime | None = None,
) -> Person:
    """Create a person (display name derived from the name parts) and audit it. Commits once.

    With `employer_id`, the person's current position at that organisation (their job title
    as its title) is recorded in the same transaction, as crm.services.stakeholders.links
    records any position; an id that is no live organisation raises InvalidInput on
    `employer_id`. Unless `allow_duplicate`, a person who looks already recorded (the same
    email, phone, WeChat ID, or name unless their employers differ: crm.services.duplicates) raises
    LikelyDuplicate carrying the candidates, and nothing is written. Raises InvalidInput,
    PermissionDenied. A form sent twice makes one person (`form_opened_at`: as
    `create_organisation`).
    """
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    employer = None
    if employer_id is not None:
        employer = db.session.get(Organisation, employer_id)
        if employer is None or employer.deleted_at is not None:
            raise InvalidInput(_("Choose an existing organisation."), field="employer_id")
    return _create(
        Person,
        data,
        PERSON_FIELDS,
        actor,
        allow_duplicate=allow_duplicate,
        employer=employer,
        form_opened_at=form_opened_at,
    )


def apply_changes(
    stakeholder: Stakeholder,
    changes: Mapping[str, Any],
    *,
    actor: User,
    consent_source: ConsentSource = ConsentSource.other,
) -> dict[str, Any]:
    """Apply field changes to a live record: derive, check, audit the diff, re-index.

    Flushes only; the caller commits (the changes reach the database at the caller's commit
    or next flush), so `update` and workflows that change many records in one transaction
    (crm.services.imports) share it. A person's changed consent fields are recorded as
    statements of crm.services.consent (from `consent_source`). Returns the audited diff;
    raises InvalidInput, leaving the rollback to the caller.
    """
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    allowed = ORGANISATION_FIELDS if isinstance(stakeholder, Organisation) else PERSON_FIELDS
    before = state(stakeholder)
    # No flush until the commit: a query for tags or the owner would otherwise write the
    # row half-changed, and each flush bumps the version (one save must be one version).
    with db.session.no_autoflush:
        statements = (
            consent.from_fields(changes, person=stakeholder, source=consent_source)
            if isinstance(stakeholder, Person)
            else []
        )
        _apply(stakeholder, changes, allowed)
        derive(stakeholder)
        _check(stakeholder)
        for statement in statements:
            assert isinstance(stakeholder, Person)
            consent.apply(stakeholder, statement, actor=actor)
        after = state(stakeholder)
    changed = audit.diff(before, after)
    if changed:
        if "tags" in changed and len(changed) == 1:
            # Tags live in another table; bump the version so others see the change.
            stakeholder.updated_at = utcnow()
        audit.record(
            stakeholder,
            actor=actor,
            action=AuditAction.update,
            changes=changed,
            summary=stakeholder.display_name,
        )
    search.index(stakeholder)
    return changed


def update(stakeholder: S, changes: Mapping[str, Any], *, version: int, actor: User) -> S:
    """Apply field changes made on top of `version`; one audit event with the diff.

    Raises Conflict (and writes nothing) when the record was saved by someone else since
    `version` was read, InvalidInput for values the rules reject.
    """
    _require(actor, Permission.EDIT_STAKEHOLDERS)
    if stakeholder.deleted_at is not None:
        raise NotFound(_("No such record."))
    if stakeholder.version != version:
        raise Conflict(
            _("Someone else saved this record while you were editing it."),
            current=state(stakeholder),
        )
    try:
        apply_changes(stakeholder, changes, actor=actor)
        duplicates.refresh([stakeholder.id])
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(stakeholder)
        raise Conflict(
            _("Someone else saved this record while you were editing it."),
            current=state(stakeholder),
        ) from None
    except InvalidInput:
        db.session.rollback()
        raise
    return stakeholder


LIFECYCLE = lifecycle.Lifecycle(
    summary=lambda stakeholder: stakeholder.display_name,
    search_kind=lambda stakeholder: "person" if isinstance(stakeholder, Person) else "organisation",
    reindex=lambda stakeholder: _reindex(stakeholder),
    # A person is anonymised instead of deleted: the figures count their participations.
    keep=lambda stakeholder, actor: (
        isinstance(stakeholder, Person) and personal_data.purge(stakeholder, actor=actor)
    ),
)


def _reindex(stakeholder: Stakeholder) -> None:
    """A record went to the trash or came back: its search entry and its likely duplicates."""
    search.index(stakeholder)
    duplicates.refresh([stakeholder.id])


def delete(stakeholder: Stakeholder, *, actor: User) -> None:
    """Move a stakeholder to the trash: it disappears from lists and search, links are kept.
    NotFound when it is in the trash already."""
    lifecycle.delete(stakeholder, LIFECYCLE, actor=actor)


def restore(stakeholder: Stakeholder, *, actor: User) -> None:
    """Take a stakeholder out of the trash (administrators). InvalidInput for a live one."""
    lifecycle.restore(stakeholder, LIFECYCLE, actor=actor)


def purge(stakeholder: Stakeholder, *, actor: User) -> None:
    """Delete a trashed stakeholder for good (administrators); the audit trail keeps a purge
    event. The database deletes its positions, relationships, contact details, tags,
    activity parties, participations and interaction links with it (ON DELETE CASCADE);
    follow-ups about it and child organisations stay, unlinked (SET NULL). A person is not
    deleted but erased (crm.services.personal_data.erasure.purge): the figures count their
    participations. Raises InvalidInput for a live stakeholder."""
    lifecycle.purge(stakeholder, LIFECYCLE, actor=actor)


def refresh_derived(*, batch: int = 500) -> int:
    """Derive pinyin, sort and duplicate keys again for every record (after an upgrade that
    adds a derived column, or a change of the rules); commits. Returns how many."""
    count = 0
    stmt = sa.select(Stakeholder).execution_options(yield_per=batch)
    for stakeholder in db.session.scalars(stmt):
        derive(stakeholder)
        count += 1
    db.session.commit()
    return count
