"""Memoranda of understanding: where each MoU stands on a given day, and the MoU board.

An MoU is an activity of type "mou" with the dates and status of its agreement (validated
with the other fields in crm.services.activities.records). Whether it is in force, expiring
or expired is computed from those for the day asked about, never stored: nothing has to
update it as the days pass. Callers pass `today`: the programme's date, from
crm.services.clock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.models import (
    LABELS,
    Activity,
    ActivityParty,
    ActivityType,
    AgreementStatus,
    Organisation,
    PartyRole,
)

EXPIRY_WARNING_DAYS = 90


class MouStatus(StrEnum):
    """Where an MoU stands on a given day (computed, not stored)."""

    pending = "pending"  # draft or negotiating
    active = "active"
    expiring = "expiring"  # in force, expires within EXPIRY_WARNING_DAYS (today included)
    expired = "expired"
    terminated = "terminated"


LABELS.add(
    [
        (MouStatus.pending, _l("Not yet signed")),
        (MouStatus.active, _l("Active")),
        (MouStatus.expiring, _l("Expiring soon")),
        (MouStatus.expired, _l("Expired")),
        (MouStatus.terminated, _l("Terminated")),
    ]
)


def mou_status(agreement_status: Any, expires_on: date | None, *, today: date) -> MouStatus:
    """An MoU is in force until the end of its `expires_on` day; "expiring" from 90 days
    before (expires_on - today <= 90) to that day; "expired" from the day after, or when its
    status says so."""
    status = AgreementStatus(agreement_status or AgreementStatus.draft)
    if status in (AgreementStatus.draft, AgreementStatus.negotiating):
        return MouStatus.pending
    if status == AgreementStatus.terminated:
        return MouStatus.terminated
    if status == AgreementStatus.expired or (expires_on is not None and expires_on < today):
        return MouStatus.expired
    if expires_on is not None and (expires_on - today).days <= EXPIRY_WARNING_DAYS:
        return MouStatus.expiring
    return MouStatus.active


@dataclass(frozen=True)
class MouRow:
    activity: Activity
    status: MouStatus
    days_left: int | None
    signatories: tuple[Organisation, ...]


@dataclass(frozen=True)
class MouBoard:
    rows: tuple[MouRow, ...]

    def bucket(self, status: MouStatus | str) -> list[MouRow]:
        return [r for r in self.rows if r.status == status]

    def counts(self) -> dict[str, int]:
        found = Counter(r.status.value for r in self.rows)
        return {s.value: found[s.value] for s in MouStatus}


def mou_board(*, today: date) -> MouBoard:
    """Every live MoU with its computed status and signatory parties (two queries); the
    soonest to expire first."""
    stmt = (
        sa.select(Activity)
        .where(Activity.type == ActivityType.mou, Activity.deleted_at.is_(None))
        .options(selectinload(Activity.parties).joinedload(ActivityParty.organisation))
        .order_by(Activity.expires_on.asc().nulls_last(), Activity.start_on, Activity.id)
    )
    rows = []
    for activity in db.session.scalars(stmt):
        status = mou_status(activity.agreement_status, activity.expires_on, today=today)
        days_left = (activity.expires_on - today).days if activity.expires_on else None
        signatories = tuple(
            p.organisation
            for p in activity.parties
            if p.role == PartyRole.signatory and p.organisation.deleted_at is None
        )
        rows.append(MouRow(activity, status, days_left, signatories))
    return MouBoard(tuple(rows))
