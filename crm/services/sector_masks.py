"""Stored sector masks: the sectors each stakeholder and interaction counts under, and when each
link to an interaction counts.

The engagement report and the donor indicators (crm.services.reporting) count stakeholders by
sector and interactions by month, channel and sector for whole years at a time. Worked out from
the positions and links on every page, those rules read every current position and every link
of the period (about a second at scale 1); stored, each figure is a pass over one index. Three
derived columns hold them:

* `stakeholders.sector_mask`, one bit per sector (SECTOR_BITS; 0 is "No sector"): an
  organisation's is the bit of its own sector; a person's the union of the bits of the live
  organisations where they hold a current position (no end date, not in the trash), so a
  person may have two sectors, or none. Whether the record itself is in the trash does not
  matter: every reader leaves those out.
* `interaction_stakeholders.occurred_at`: the interaction's moment while it is live, NULL while
  it is in the trash. A stakeholder's contacts in a period are a range of its index.
* `interactions.sector_mask`: the union of the masks of its live stakeholders.

Kept in the transaction of every write, in two ways:

* ORM writes, whatever the service: session events (`init_app`) note, at each flush, the
  records whose changes can move a stored value (a new stakeholder, an organisation's sector,
  any stakeholder going to or coming back from the trash, a new, changed or deleted position,
  a new interaction, one moved in time, trashed, restored, or given other stakeholders) and
  recompute those values right after the flush, before anything else reads them.
* Writes that bypass the ORM call `refresh` themselves: the positions of an import
  (crm.services.imports.bulk) and a merge's re-pointed links (crm.services.merge). The
  generator (crm.demo.generate) computes the values as it writes its rows. A purge needs
  nothing: only records already in the trash are purged, and nothing stored counts those.

`refresh` recomputes from the source rows, never by increment: an organisation's change
reaches its current employees, and a stakeholder's change every interaction it is linked to.
`rebuild` does the same for everyone (`flask crm reindex`). They write with Core UPDATEs,
which leave each record's `version` alone (an edit form open elsewhere would otherwise get a
conflict it cannot understand), and only rows whose value changes. On PostgreSQL they first
lock, in id order, the stakeholders whose masks they write or read: under READ COMMITTED the
UPDATEs that follow then see what any concurrent writer of those stakeholders committed.
SQLite has one writer at a time and needs no lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, UOWTransaction

from crm.extensions import db
from crm.models import (
    Affiliation,
    Interaction,
    Organisation,
    Sector,
    Stakeholder,
    StakeholderKind,
    interaction_stakeholders,
)

# One bit per sector, in the order of the enumeration: a set of sectors is one integer.
SECTOR_BITS = {sector.value: 1 << n for n, sector in enumerate(Sector)}
# Records per statement: bounded IN lists.
CHUNK = 500

_stakeholders = cast(sa.Table, Stakeholder.__table__)
_organisations = cast(sa.Table, Organisation.__table__)
_affiliations = cast(sa.Table, Affiliation.__table__)
_interactions = cast(sa.Table, Interaction.__table__)
_links = interaction_stakeholders
_PENDING = "sector_masks.pending"
# The attributes of a record whose change can move its mask, or its interactions'.
_WATCHED: dict[type[Any], tuple[str, ...]] = {Organisation: ("sector", "deleted_at")}


def bit_of(sector: Any) -> sa.Case[Any]:
    """SQL: the bit of a sector column (0 for none)."""
    return sa.case({s: b for s, b in SECTOR_BITS.items()}, value=sector, else_=0)


def union_of(mask: Any) -> sa.ColumnElement[int]:
    """SQL aggregate: the union of the masks of a group (NULL for no row). Neither database
    shares a bitwise-OR aggregate with the other: the maximum of each bit, added up."""
    bits = [sa.func.max(mask.op("&")(bit)) for bit in SECTOR_BITS.values()]
    total: sa.ColumnElement[int] = bits[0]
    for bit in bits[1:]:
        total = total + bit
    return total


# ---------------------------------------------------------------------------------------------
# Recomputing
# ---------------------------------------------------------------------------------------------


def _among(column: Any, ids: Sequence[int] | None) -> list[sa.ColumnElement[bool]]:
    return [] if ids is None else [column.in_(ids)]


def _stakeholder_masks(session: Session, ids: Sequence[int] | None) -> None:
    """The masks of these stakeholders (everyone's for None): organisations first, since a
    person's comes from their employers'."""
    st, org = _stakeholders, _organisations
    own = bit_of(org.c.sector)
    session.execute(
        sa.update(st)
        .where(st.c.id == org.c.id, st.c.sector_mask != own, *_among(st.c.id, ids))
        .values(sector_mask=own)
    )
    employer = st.alias("employer")
    employed = (
        sa.select(
            _affiliations.c.person_id.label("id"), union_of(employer.c.sector_mask).label("mask")
        )
        .join(employer, employer.c.id == _affiliations.c.organisation_id)
        .where(
            _affiliations.c.end_on.is_(None),
            _affiliations.c.deleted_at.is_(None),
            employer.c.deleted_at.is_(None),
            *_among(_affiliations.c.person_id, ids),
        )
        .group_by(_affiliations.c.person_id)
        .subquery("employed")
    )
    session.execute(
        sa.update(st)
        .where(st.c.id == employed.c.id, st.c.sector_mask != employed.c.mask)
        .values(sector_mask=employed.c.mask)
    )
    session.execute(
        sa.update(st)
        .where(
            st.c.kind == StakeholderKind.person,
            st.c.sector_mask != 0,
            st.c.id.not_in(sa.select(employed.c.id)),
            *_among(st.c.id, ids),
        )
        .values(sector_mask=0)
    )


def _interaction_values(session: Session, ids: Sequence[int] | None) -> None:
    """The moments on the links and the masks of these interactions (every one's for None)."""
    it, links = _interactions, _links
    moment = sa.case((it.c.deleted_at.is_(None), it.c.occurred_at))
    session.execute(
        sa.update(links)
        .where(
            it.c.id == links.c.interaction_id,
            links.c.occurred_at.is_distinct_from(moment),
            *_among(links.c.interaction_id, ids),
        )
        .values(occurred_at=moment)
    )
    member = _stakeholders.alias("member")
    found = (
        sa.select(links.c.interaction_id.label("id"), union_of(member.c.sector_mask).label("mask"))
        .join(member, member.c.id == links.c.stakeholder_id)
        .where(member.c.deleted_at.is_(None), *_among(links.c.interaction_id, ids))
        .group_by(links.c.interaction_id)
        .subquery("found")
    )
    session.execute(
        sa.update(it)
        .where(it.c.id == found.c.id, it.c.sector_mask != found.c.mask)
        .values(sector_mask=found.c.mask)
    )
    session.execute(
        sa.update(it)
        .where(it.c.sector_mask != 0, it.c.id.not_in(sa.select(found.c.id)), *_among(it.c.id, ids))
        .values(sector_mask=0)
    )


def _ids(session: Session, stmt: sa.Select[Any], ids: Sequence[int], column: Any) -> set[int]:
    """The values `stmt` finds for `ids`, asked a chunk at a time."""
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(session.scalars(stmt.where(column.in_(ids[start : start + CHUNK]))))
    return found


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


def _refresh(
    session: Session, stakeholder_ids: Iterable[int], interaction_ids: Iterable[int]
) -> None:
    """Recompute what the changes of these records can move (see the module); no flush."""
    asked = sorted({i for i in stakeholder_ids if i})
    employees = _ids(
        session,
        sa.select(_affiliations.c.person_id).distinct(),
        asked,
        _affiliations.c.organisation_id,
    )
    stakeholders = sorted(set(asked) | employees)
    linked = _ids(
        session,
        sa.select(_links.c.interaction_id).distinct(),
        stakeholders,
        _links.c.stakeholder_id,
    )
    interactions = sorted({i for i in interaction_ids if i} | linked)
    if session.get_bind().dialect.name == "postgresql":
        members = _ids(
            session,
            sa.select(_links.c.stakeholder_id).distinct(),
            interactions,
            _links.c.interaction_id,
        )
        for chunk in _chunks(set(stakeholders) | members):
            session.execute(
                sa.select(_stakeholders.c.id)
                .where(_stakeholders.c.id.in_(chunk))
                .order_by(_stakeholders.c.id)
                .with_for_update()
            )
    for chunk in _chunks(stakeholders):
        _stakeholder_masks(session, chunk)
    for chunk in _chunks(interactions):
        _interaction_values(session, chunk)
    _expire(session, Stakeholder, stakeholders)
    _expire(session, Interaction, interactions)


def _expire(session: Session, model: type[Any], ids: Iterable[int]) -> None:
    """Forget the stored mask of loaded records, which an UPDATE just changed behind the ORM's
    back: the next read loads it again."""
    mapper = sa.inspect(model)
    for record_id in ids:
        loaded = session.identity_map.get(mapper.identity_key_from_primary_key((record_id,)))
        if loaded is not None:
            session.expire(loaded, ["sector_mask"])


def refresh(
    stakeholder_ids: Iterable[int | None] = (), interaction_ids: Iterable[int | None] = ()
) -> None:
    """Recompute the stored values that changes of these records can move, in the current
    transaction: their masks, those of an organisation's current employees, and the links and
    masks of every interaction linked to any of them. For writes that bypass the ORM (the ORM's
    are followed by themselves); flushes first, the caller commits."""
    session = db.session()
    session.flush()
    _refresh(session, (i for i in stakeholder_ids if i), (i for i in interaction_ids if i))


def rebuild() -> None:
    """Recompute every stored value from the records (`flask crm reindex`, after a restore or
    a bulk load): a handful of set-based UPDATEs that write only what differs. Commits."""
    session = db.session()
    session.flush()
    _stakeholder_masks(session, None)
    _interaction_values(session, None)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Stakeholder | Interaction):
            session.expire(obj, ["sector_mask"])
    session.commit()


# ---------------------------------------------------------------------------------------------
# Following the ORM's writes
# ---------------------------------------------------------------------------------------------


def _changed(obj: Any, *names: str) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _pending(session: Session) -> tuple[set[int], set[int]]:
    found: tuple[set[int], set[int]] = session.info.setdefault(_PENDING, (set(), set()))
    return found


def _before_flush(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    """A stakeholder deleted outright takes its links and positions with it (ON DELETE
    CASCADE): note its interactions and employees while they can still be read."""
    gone = [obj.id for obj in session.deleted if isinstance(obj, Stakeholder)]
    if not gone:
        return
    stakeholders, interactions = _pending(session)
    with session.no_autoflush:
        interactions.update(
            _ids(session, sa.select(_links.c.interaction_id), gone, _links.c.stakeholder_id)
        )
        stakeholders.update(
            _ids(
                session,
                sa.select(_affiliations.c.person_id),
                gone,
                _affiliations.c.organisation_id,
            )
        )


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    """Note the records whose flushed changes can move a stored value."""
    stakeholders, interactions = _pending(session)
    for obj in session.new:
        if isinstance(obj, Stakeholder):
            stakeholders.add(obj.id)
        elif isinstance(obj, Affiliation):
            stakeholders.add(obj.person_id)
        elif isinstance(obj, Interaction):
            interactions.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Stakeholder) and _changed(
            obj, *_WATCHED.get(type(obj), ("deleted_at",))
        ):
            stakeholders.add(obj.id)
        elif isinstance(obj, Affiliation) and _changed(
            obj, "person_id", "organisation_id", "end_on", "deleted_at"
        ):
            stakeholders.add(obj.person_id)
            stakeholders.update(sa.inspect(obj).attrs.person_id.history.deleted or ())
        elif isinstance(obj, Interaction) and _changed(
            obj, "occurred_at", "deleted_at", "stakeholders"
        ):
            interactions.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Affiliation):
            stakeholders.add(obj.person_id)
    if not stakeholders and not interactions:
        session.info.pop(_PENDING, None)


def _after_flush_postexec(session: Session, _context: UOWTransaction) -> None:
    """Recompute what the flush moved, before anything reads it."""
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        _refresh(session, *pending)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def init_app(_app: Flask) -> None:
    """Follow the ORM's writes on the application's session (once per process: the session
    belongs to the module-level `db`, whichever app uses it)."""
    target = db.session
    if sa.event.contains(target, "after_flush", _after_flush):
        return
    sa.event.listen(target, "before_flush", _before_flush)
    sa.event.listen(target, "after_flush", _after_flush)
    sa.event.listen(target, "after_flush_postexec", _after_flush_postexec)
    sa.event.listen(target, "after_rollback", _after_rollback)
