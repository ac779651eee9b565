"""Stored contact dates: when each stakeholder was last contacted, when its next follow-up is due.

`stakeholders.last_contacted_at` is the latest `occurred_at` of the live interactions linked
to the record; `stakeholders.next_follow_up_on` the earliest `due_on` of its open live
follow-ups (those about it, and those about all the stakeholders of an interaction with it).
The lists sort by them and the dashboard finds quiet stakeholders by them, over an index,
instead of computing them for every row.

Every write that can change them calls `refresh` in its own transaction, before its commit:
interactions logged, edited, trashed, restored or purged; follow-ups created, edited,
completed, reopened, cancelled, trashed, restored or purged; merges. `rebuild` computes them
for everyone (`flask crm reindex`); the generator writes them from what it generated.

They are written by Core UPDATE statements, never through the ORM attributes: an UPDATE
through the mapper would bump the stakeholder's `version`, and whoever has its edit form open
would get a conflict for a change they cannot see.

`refresh` recomputes from the source rows rather than moving a date by the change at hand
(`max(last, new)`): one rule serves additions and removals alike (a trashed interaction can
make the date earlier), and `rebuild` is the same statements without the id filter. On
PostgreSQL it first locks the stakeholders' rows (SELECT ... FOR UPDATE, in id order): the
UPDATEs that follow are new statements with a new snapshot under READ COMMITTED, so they see
every interaction committed by a concurrent transaction that held the lock before, and two
transactions logging contacts with one stakeholder at once cannot leave it with the older
date. SQLite has one writer at a time and needs no lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import sqlalchemy as sa

from crm.extensions import db
from crm.models import FollowUp, FollowUpStatus, Interaction, Stakeholder, interaction_stakeholders

STORED = ("last_contacted_at", "next_follow_up_on")
# Stakeholders per statement: bounded IN lists.
CHUNK = 500

# The tables of the models (typed as any FromClause by SQLAlchemy; a plain model has a Table).
_stakeholders = cast(sa.Table, Stakeholder.__table__)
_interactions = cast(sa.Table, Interaction.__table__)
_follow_ups = cast(sa.Table, FollowUp.__table__)
_links = interaction_stakeholders


def _live() -> sa.ColumnElement[bool]:
    """`interactions.deleted_at IS NULL`, written so that SQLite cannot answer it from
    ix_interactions_deleted_occurred: without statistics (a new database) it would walk every
    live interaction and probe its links, instead of following the links of the stakeholders
    asked about. PostgreSQL folds it back into the plain test."""
    return _interactions.c.deleted_at.is_(None).self_group() == sa.true()


def _recompute(ids: Sequence[int] | None) -> None:
    """Bring the stored dates of the stakeholders `ids` (everyone's for None) in line with
    their interactions and follow-ups. Set-based, on every engine: each date is an aggregate
    per stakeholder, written by an UPDATE joined to it (UPDATE ... FROM), then cleared where
    the aggregate has no row; only rows whose date changes are written. Flush first."""

    def among(column: sa.ColumnElement[int]) -> list[sa.ColumnElement[bool]]:
        return [] if ids is None else [column.in_(ids)]

    latest = (
        sa.select(
            _links.c.stakeholder_id.label("id"),
            sa.func.max(_interactions.c.occurred_at).label("value"),
        )
        .join(_interactions, _interactions.c.id == _links.c.interaction_id)
        .where(_live(), *among(_links.c.stakeholder_id))
        .group_by(_links.c.stakeholder_id)
        .subquery("latest_contact")
    )
    open_live = (
        _follow_ups.c.status == FollowUpStatus.open.value,
        _follow_ups.c.deleted_at.is_(None),
    )
    # A follow-up about one stakeholder, and one about all of an interaction's stakeholders
    # (no stakeholder of its own: crm.services.follow_ups.about), which counts for each.
    due = sa.union_all(
        sa.select(_follow_ups.c.stakeholder_id.label("id"), _follow_ups.c.due_on).where(
            _follow_ups.c.stakeholder_id.is_not(None),
            *open_live,
            *among(_follow_ups.c.stakeholder_id),
        ),
        sa.select(_links.c.stakeholder_id.label("id"), _follow_ups.c.due_on)
        .join(_links, _links.c.interaction_id == _follow_ups.c.interaction_id)
        .where(
            # Read from the links of the stakeholders asked about, not from the index of every
            # follow-up about nobody or of every live one (SQLite, without statistics).
            _follow_ups.c.stakeholder_id.is_(None).self_group() == sa.true(),
            _follow_ups.c.status == FollowUpStatus.open.value,
            _follow_ups.c.deleted_at.is_(None).self_group() == sa.true(),
            *among(_links.c.stakeholder_id),
        ),
    ).subquery("due")
    soonest = (
        sa.select(due.c.id, sa.func.min(due.c.due_on).label("value"))
        .group_by(due.c.id)
        .subquery("next_follow_up")
    )
    session = db.session()
    for column, found in (
        (_stakeholders.c.last_contacted_at, latest),
        (_stakeholders.c.next_follow_up_on, soonest),
    ):
        session.execute(
            sa.update(_stakeholders)
            .where(_stakeholders.c.id == found.c.id, column.is_distinct_from(found.c.value))
            .values({column.name: found.c.value})
        )
        session.execute(
            sa.update(_stakeholders)
            .where(
                column.is_not(None),
                _stakeholders.c.id.not_in(sa.select(found.c.id)),
                *among(_stakeholders.c.id),
            )
            .values({column.name: None})
        )


def refresh(stakeholder_ids: Iterable[int | None]) -> None:
    """Recompute the stored dates of these stakeholders from their interactions and
    follow-ups, in the current transaction (flushes pending changes first; the caller
    commits). Ids of records in the trash are refreshed too: their links may come back."""
    ids = sorted({i for i in stakeholder_ids if i})
    if not ids:
        return
    session = db.session()
    session.flush()
    lock = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if lock:
            session.execute(
                sa.select(_stakeholders.c.id)
                .where(_stakeholders.c.id.in_(chunk))
                .order_by(_stakeholders.c.id)
                .with_for_update()
            )
        _recompute(chunk)
    _expire(ids)


def rebuild() -> None:
    """Recompute the stored dates of every stakeholder (`flask crm reindex`, after a bulk
    load or a restore from backup). Four set-based UPDATEs; commits."""
    db.session.flush()
    _recompute(None)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Stakeholder):
            db.session.expire(obj, list(STORED))
    db.session.commit()


def of_interaction(interaction_id: int) -> list[int]:
    """The stakeholders an interaction is linked to, read from the links (no objects)."""
    return list(
        db.session.scalars(
            sa.select(_links.c.stakeholder_id).where(_links.c.interaction_id == interaction_id)
        )
    )


def _expire(ids: Iterable[int]) -> None:
    """Forget the stored dates of loaded records, which the UPDATE just changed behind the
    ORM's back: the next read loads them again."""
    session = db.session()
    mapper = sa.inspect(Stakeholder)
    for stakeholder_id in ids:
        loaded = session.identity_map.get(mapper.identity_key_from_primary_key((stakeholder_id,)))
        if loaded is not None:
            session.expire(loaded, list(STORED))
