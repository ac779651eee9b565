"""Cross-border transfers: the people whose personal data went to headquarters, per year.

An export of personal data marked "for headquarters" (the EU delegation, the ILO in Geneva)
is a transfer out of China. PIPL exempts a handler from a formal transfer assessment while
fewer than a set number of people a year (crm.config CROSS_BORDER_THRESHOLD) are concerned,
so each person counts once a calendar year, however many exports named them:
`record_transfers` inserts one CrossBorderTransfer per person and year if there is none yet
(set-based, the same statement on SQLite and PostgreSQL), linked to the export's audit event.
People who withdrew consent to reports are not named in any export (crm.services.consent),
so they are not counted either. `summary` is what the manager's page shows: this year's
count against the threshold, per month, and whether the assessment is due.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import pairwise
from typing import Any, cast

import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    AuditEvent,
    CrossBorderTransfer,
    Person,
    interaction_stakeholders,
    utcnow,
)
from crm.services import clock, consent

log = logging.getLogger(__name__)

_transfers = cast(sa.Table, CrossBorderTransfer.__table__)
_people = cast(sa.Table, Person.__table__)
# Ids given as a list are written this many at a time (bound parameters per statement).
CHUNK = 500
# Share of the threshold from which the page warns that an assessment is coming due.
WARN_AT = 0.8


def record_transfers(
    people: sa.Select[Any] | Iterable[int], *, event: AuditEvent, at: datetime | None = None
) -> None:
    """Count the people of an export "for headquarters" for this year (in the programme's
    time zone): one CrossBorderTransfer per person and year, added only when absent, pointing
    at `event` (the export's audit event). `people`: a select of one column of person ids
    (any stakeholder ids: organisations are left out) or the ids themselves. Flushes the
    event for its id; the caller commits."""
    if event.id is None:
        db.session.flush()
    moment = at or utcnow()
    year = clock.local_date(moment).year
    if isinstance(people, sa.Select):
        _insert(people.subquery("exported").c[0], year, moment, event.id)
        return
    ids = sorted(set(people))
    for start in range(0, len(ids), CHUNK):
        _insert(ids[start : start + CHUNK], year, moment, event.id)


def ids_in(listing: sa.Select[Any], column: str) -> sa.Select[Any]:
    """A select of the `column` (person or stakeholder ids) of the rows a list's query finds,
    for `record_transfers`: the list's own filters, without its order."""
    return sa.select(listing.order_by(None).subquery("listed").c[column])


def involved_in(listing: sa.Select[Any]) -> sa.Select[Any]:
    """A select of the stakeholders involved in the interactions a list's query finds."""
    return sa.select(interaction_stakeholders.c.stakeholder_id).where(
        interaction_stakeholders.c.interaction_id.in_(ids_in(listing, "id"))
    )


def _insert(ids: Any, year: int, moment: datetime, event_id: int | None) -> None:
    """INSERT … SELECT of the named people among `ids` (a column of a subquery, or a list)
    not yet counted for `year`. The NOT EXISTS keeps it to new rows on both engines; the
    unique constraint (person, year) stays the guard against two exports counting someone
    at once."""
    among = sa.select(ids) if isinstance(ids, sa.ColumnElement) else ids
    source = sa.select(
        _people.c.id,
        sa.literal(year, sa.Integer),
        sa.literal(moment, _transfers.c.first_at.type),
        sa.literal(event_id, sa.Integer),
    ).where(
        _people.c.id.in_(among),
        consent.named_in_reports(_people.c.consent_reports),
        ~sa.exists().where(_transfers.c.person_id == _people.c.id, _transfers.c.year == year),
    )
    db.session.execute(
        sa.insert(_transfers).from_select(
            ["person_id", "year", "first_at", "audit_event_id"], source
        )
    )


@dataclass(frozen=True)
class Summary:
    """A year's people sent to headquarters, against the threshold."""

    year: int
    count: int
    threshold: int
    by_month: tuple[tuple[date, int], ...]  # (first day of the month, people first sent)

    @property
    def share(self) -> float:
        return self.count / self.threshold if self.threshold > 0 else 1.0

    @property
    def state(self) -> str:
        """ "due" at or past the threshold, "warn" from WARN_AT of it, else "ok"."""
        if self.share >= 1:
            return "due"
        return "warn" if self.share >= WARN_AT else "ok"


def summary(year: int, *, threshold: int) -> Summary:
    """How many people were first sent to headquarters in `year`, month by month (months of
    the programme's time zone). One statement."""
    zone = clock.zone()
    starts = [date(year, month, 1) for month in range(1, 13)] + [date(year + 1, 1, 1)]
    bounds = [datetime.combine(day, time(), zone) for day in starts]
    t = _transfers.c
    counts = [
        sa.func.coalesce(
            sa.func.sum(sa.case((sa.and_(t.first_at >= lo, t.first_at < hi), 1), else_=0)), 0
        )
        for lo, hi in pairwise(bounds)
    ]
    row = db.session.execute(
        sa.select(sa.func.count(), *counts).select_from(_transfers).where(t.year == year)
    ).one()
    return Summary(
        year,
        int(row[0]),
        threshold,
        tuple((starts[i], int(row[i + 1])) for i in range(12)),
    )
