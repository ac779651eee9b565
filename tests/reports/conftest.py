"""A known data set for the engagement report: the first quarter of 2026, Asia/Shanghai.

Stakeholders (type, sector, influence × interest, level now):

| key | name              | type        | sector(s)            | infl × int | level     |
|-----|-------------------|-------------|----------------------|------------|-----------|
| O1  | Bright Electronics| enterprise  | electronics          | 5 × 4      | engaged   |
| O2  | Silk Garments     | enterprise  | textile              | 4 × 5      | aware     |
| O3  | Labour Bureau     | government  | —                    | 5 × 3      | committed |
| O4  | Textile Union     | trade union | textile              | 2 × 2      | unaware   |
| O5  | Cotton Mill       | enterprise  | textile              | 4 × 2      | unaware   |
| O6  | Trashed Textiles  | enterprise  | textile (in trash)   | 5 × 5      | aware     |
| O7  | Both Co           | enterprise  | both                 | 1 × 1      | aware     |
| P1  | Ai (f)            | person      | textile (works at O2)| 4 × 4      | engaged   |
| P2  | Bo (m)            | person      | electronics, textile (O1, O2) | 3 × 3 | unaware |
| P3  | Cui (f)           | person      | — (works at O3)      | 5 × 4      | champion  |
| P4  | Du (m)            | person      | — (no employer)      | 2 × 5      | aware     |
| P5  | En                | person      | in the trash         | 3 × 3      | unaware   |

Interactions (local time): I1 2026-01-01 00:30 meeting O1 (first minute of the period);
I2 2025-12-31 23:30 meeting O1 (before); I3 2026-03-31 23:30 WeChat P1+O2 (last minutes);
I4 2026-04-01 00:10 meeting O2 (after); I5 2026-02-10 call P2+O3; I6 2026-02-11 email P4;
I7 2026-02-12 meeting O6 (its only stakeholder is in the trash); I8 2026-03-05 meeting O2,
in the trash; I9 2026-03-20 visit P3+O3; I10 2025-11-01 10:00 meeting O5 (before).

Level changes (audit trail): O1 aware → engaged on 2026-02-01 (through the real update
service); O2 engaged → aware on 2026-03-01; O3 aware → engaged (2026-01-15) → committed
(2026-03-10); P1 engaged → committed (01-20) → engaged (02-20), no net move; P3 committed →
champion on 2025-12-31 23:59 local (before); O6 aware → engaged in the period (in the trash).

Follow-ups, today = 2026-04-15. Alice: F1 created 01-05 done 01-08 (O1); F2 created 02-01
done 02-11 (O2); F3 created 03-31 23:00, open, due 04-10 (P1); F4 created 03-01 cancelled;
F5 created 2025-12-20 done 01-02 (O3); F6 created 02-15 done 04-02 (O2); F7 created 02-20,
in the trash. Bob: F8 created 01-10 done 01-11 (O2); F9 created 2025-11-01, open, due
2026-01-01.

Activities: A1 training, electronics, held 2026-01-01, unnamed 5 women 3 men 2 unspecified;
P1 (at O2), P2 (at O1), P3 (at O3) attended, P4 no-show; O5 participant party, O4 host.
A2 forum, textile, held 2026-03-31, unnamed 1 woman; P1 (O2) and P3 (O3) attended.
A3 training held 2026-04-01 (after). A4 training 2026-02-01 planned. A5 training held
2026-02-02, in the trash. A6 training, textile, held 2026-02-03, unnamed 2 men; P5 (in the
trash) attended. MoUs: M1 textile, held 2026-02-15, signed 2026-02-15, expires 2027-02-15;
M2 signed 2024-05-01, expires 2026-05-31; M3 signed 2023-01-01, expires 2025-12-31; M4
signed 2026-01-01, terminated; M5 signed 2026-03-01, in the trash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    AuditAction,
    AuditEvent,
    FollowUp,
    Organisation,
    Participation,
    Person,
    User,
)
from crm.services import activities, follow_ups, interactions, stakeholders
from tests.reports.logframe import Logframe
from tests.reports.logframe import build as build_logframe

SHANGHAI = ZoneInfo("Asia/Shanghai")
START, END = date(2026, 1, 1), date(2026, 3, 31)
TODAY = date(2026, 4, 15)
PERIOD = {"start": "2026-01-01", "end": "2026-03-31"}


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


@dataclass
class Known:
    ids: dict[str, int]
    alice: User
    bob: User

    def __getitem__(self, key: str) -> int:
        return self.ids[key]


ORGANISATIONS = {
    "O1": ("Bright Electronics", "光明电子", "enterprise", "electronics", 5, 4, "aware"),
    "O2": ("Silk Garments", "丝绸服装", "enterprise", "textile", 4, 5, "engaged"),
    "O3": ("Labour Bureau", "劳动局", "government", None, 5, 3, "committed"),
    "O4": ("Textile Union", None, "trade_union", "textile", 2, 2, "unaware"),
    "O5": ("Cotton Mill", "棉纺厂", "enterprise", "textile", 4, 2, "unaware"),
    "O6": ("Trashed Textiles", None, "enterprise", "textile", 5, 5, "aware"),
    "O7": ("Both Co", None, "enterprise", "both", 1, 1, "aware"),
}
PEOPLE = {
    "P1": ("Ai", "female", 4, 4, "engaged"),
    "P2": ("Bo", "male", 3, 3, "unaware"),
    "P3": ("Cui", "female", 5, 4, "champion"),
    "P4": ("Du", "male", 2, 5, "aware"),
    "P5": ("En", "undisclosed", 3, 3, "unaware"),
}


def _event(entity_type: str, entity_id: int, before: str, after: str, when: datetime) -> None:
    db.session.add(
        AuditEvent(
            occurred_at=when,
            action=AuditAction.update,
            entity_type=entity_type,
            entity_id=entity_id,
            summary="level",
            changes={"engagement_level": [before, after]},
        )
    )


def build(admin: User, alice: User, bob: User) -> dict[str, int]:
    """Write the data set through the services (inside an application context)."""
    ids: dict[str, int] = {}
    for key, (name, chinese, kind, sector, influence, interest, level) in ORGANISATIONS.items():
        ids[key] = stakeholders.create_organisation(
            {
                "display_name": name,
                "chinese_name": chinese,
                "org_type": kind,
                "sector": sector,
                "influence": influence,
                "interest": interest,
                "engagement_level": level,
            },
            actor=admin,
            allow_duplicate=True,
        ).id
    for key, (given, gender, influence, interest, level) in PEOPLE.items():
        ids[key] = stakeholders.create_person(
            {
                "family_name": "Test",
                "given_name": given,
                "gender": gender,
                "influence": influence,
                "interest": interest,
                "engagement_level": level,
            },
            actor=admin,
            allow_duplicate=True,
        ).id
    for person, org in (("P1", "O2"), ("P2", "O1"), ("P2", "O2"), ("P3", "O3")):
        stakeholders.add_affiliation(
            db.session.get(Person, ids[person]),
            organisation_id=ids[org],
            title="Manager",
            start_on=date(2020, 1, 1),
            end_on=None,
            actor=admin,
        )

    def log(key: str, when: datetime, channel: str, *who: str) -> None:
        ids[key] = interactions.log_interaction(
            {
                "occurred_at": when,
                "channel": channel,
                "subject": f"Interaction {key}",
                "summary": f"Summary of {key}",
                "stakeholder_ids": [ids[w] for w in who],
            },
            actor=admin,
        ).id

    log("I1", local(2026, 1, 1, 0, 30), "meeting", "O1")
    log("I2", local(2025, 12, 31, 23, 30), "meeting", "O1")
    log("I3", local(2026, 3, 31, 23, 30), "wechat", "P1", "O2")
    log("I4", local(2026, 4, 1, 0, 10), "meeting", "O2")
    log("I5", local(2026, 2, 10, 10, 0), "call", "P2", "O3")
    log("I6", local(2026, 2, 11, 10, 0), "email", "P4")
    log("I7", local(2026, 2, 12, 10, 0), "meeting", "O6")
    log("I8", local(2026, 3, 5, 10, 0), "meeting", "O2")
    log("I9", local(2026, 3, 20, 10, 0), "visit", "P3", "O3")
    log("I10", local(2025, 11, 1, 10, 0), "meeting", "O5")
    interactions.delete(interactions.get(ids["I8"]), actor=admin)

    # Level changes: one through the service, the others written as the service writes them.
    o1 = db.session.get(Organisation, ids["O1"])
    stakeholders.update(o1, {"engagement_level": "engaged"}, version=o1.version, actor=admin)
    db.session.execute(
        sa.update(AuditEvent)
        .where(
            AuditEvent.entity_id == ids["O1"],
            AuditEvent.action == AuditAction.update,
            sa.cast(AuditEvent.changes, sa.Text).like("%engagement_level%"),
        )
        .values(occurred_at=local(2026, 2, 1, 9, 0))
    )
    o2 = db.session.get(Organisation, ids["O2"])
    o2.engagement_level = "aware"
    _event("organisations", ids["O2"], "engaged", "aware", local(2026, 3, 1, 9, 0))
    _event("organisations", ids["O3"], "aware", "engaged", local(2026, 1, 15, 9, 0))
    _event("organisations", ids["O3"], "engaged", "committed", local(2026, 3, 10, 9, 0))
    _event("people", ids["P1"], "engaged", "committed", local(2026, 1, 20, 9, 0))
    _event("people", ids["P1"], "committed", "engaged", local(2026, 2, 20, 9, 0))
    _event("people", ids["P3"], "committed", "champion", local(2025, 12, 31, 23, 59))
    _event("organisations", ids["O6"], "aware", "engaged", local(2026, 2, 5, 9, 0))
    db.session.commit()

    # Follow-ups: created through the service, then dated and closed as the story needs.
    def follow(
        key: str,
        assignee: User,
        created: datetime,
        *,
        done: datetime | None = None,
        status: str = "open",
        due: date = date(2026, 6, 30),
        about: str | None = None,
    ) -> None:
        made = follow_ups.create(
            {
                "title": f"Follow-up {key}",
                "due_on": due,
                "assignee_id": assignee.id,
                "stakeholder_id": ids[about] if about else None,
            },
            actor=admin,
        )
        made.created_at = created
        if done is not None:
            made.status = "done"
            made.completed_at = done
        else:
            made.status = status
        db.session.commit()
        ids[key] = made.id

    follow("F1", alice, local(2026, 1, 5, 10, 0), done=local(2026, 1, 8, 9, 0), about="O1")
    follow("F2", alice, local(2026, 2, 1, 10, 0), done=local(2026, 2, 11, 9, 0), about="O2")
    follow("F3", alice, local(2026, 3, 31, 23, 0), due=date(2026, 4, 10), about="P1")
    follow("F4", alice, local(2026, 3, 1, 10, 0), status="cancelled")
    follow("F5", alice, local(2025, 12, 20, 10, 0), done=local(2026, 1, 2, 9, 0), about="O3")
    follow("F6", alice, local(2026, 2, 15, 10, 0), done=local(2026, 4, 2, 9, 0), about="O2")
    follow("F7", alice, local(2026, 2, 20, 10, 0), about="O2")
    follow("F8", bob, local(2026, 1, 10, 10, 0), done=local(2026, 1, 11, 9, 0), about="O2")
    follow("F9", bob, local(2025, 11, 1, 10, 0), due=date(2026, 1, 1))
    follow_ups.delete(db.session.get(FollowUp, ids["F7"]), actor=admin)

    # Activities.
    def activity(key: str, kind: str, start: date, **more: Any) -> Activity:
        made = activities.create(
            {"type": kind, "title": f"Activity {key}", "start_on": start, **more}, actor=admin
        )
        ids[key] = made.id
        return made

    def attend(made: Activity, who: str, org: str | None, status: str = "attended") -> None:
        (added,) = activities.add_participants(made, [ids[who]], status=status, actor=admin)
        added.organisation_id = ids[org] if org else None
        db.session.commit()

    a1 = activity(
        "A1",
        "training",
        date(2026, 1, 1),
        status="held",
        sector="electronics",
        unnamed_women=5,
        unnamed_men=3,
        unnamed_unspecified=2,
    )
    attend(a1, "P1", "O2")
    attend(a1, "P2", "O1")
    attend(a1, "P3", "O3")
    attend(a1, "P4", None, status="no_show")
    activities.add_party(a1, organisation_id=ids["O5"], role="participant", actor=admin)
    activities.add_party(a1, organisation_id=ids["O4"], role="host", actor=admin)
    a2 = activity(
        "A2", "forum", date(2026, 3, 31), status="held", sector="textile", unnamed_women=1
    )
    attend(a2, "P1", "O2")
    attend(a2, "P3", "O3")
    a3 = activity("A3", "training", date(2026, 4, 1), status="held", unnamed_women=9)
    attend(a3, "P1", "O2")
    activity("A4", "training", date(2026, 2, 1), status="planned", unnamed_men=4)
    a5 = activity("A5", "training", date(2026, 2, 2), status="held", unnamed_men=7)
    a6 = activity(
        "A6", "training", date(2026, 2, 3), status="held", sector="textile", unnamed_men=2
    )
    attend(a6, "P5", "O2")
    activity(
        "M1",
        "mou",
        date(2026, 2, 15),
        status="held",
        sector="textile",
        signed_on=date(2026, 2, 15),
        expires_on=date(2027, 2, 15),
        agreement_status="signed",
    )
    activity(
        "M2",
        "mou",
        date(2024, 5, 1),
        signed_on=date(2024, 5, 1),
        expires_on=date(2026, 5, 31),
        agreement_status="signed",
    )
    activity(
        "M3",
        "mou",
        date(2023, 1, 1),
        signed_on=date(2023, 1, 1),
        expires_on=date(2025, 12, 31),
        agreement_status="signed",
    )
    activity(
        "M4",
        "mou",
        date(2026, 1, 1),
        signed_on=date(2026, 1, 1),
        agreement_status="terminated",
    )
    m5 = activity(
        "M5", "mou", date(2026, 3, 1), signed_on=date(2026, 3, 1), agreement_status="signed"
    )
    activities.delete(a5, actor=admin)
    activities.delete(m5, actor=admin)

    # The trash: records that must never count.
    stakeholders.delete(db.session.get(Organisation, ids["O6"]), actor=admin)
    stakeholders.delete(db.session.get(Person, ids["P5"]), actor=admin)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participation)) == 8
    return ids


@pytest.fixture
def known(app, actor, make_user) -> Known:  # type: ignore[no-untyped-def]
    alice = make_user(Role.member, name="Alice")
    bob = make_user(Role.coordinator, name="Bob")
    with app.app_context():
        ids = build(db.session.get(User, actor.id), alice, bob)
        db.session.remove()
    return Known(ids, alice, bob)


@pytest.fixture
def logframe(app, actor) -> Logframe:  # type: ignore[no-untyped-def]
    """The donor-indicator data set of tests/reports/logframe.py."""
    with app.app_context():
        ids = build_logframe(db.session.get(User, actor.id))
        db.session.remove()
    return Logframe(ids)
