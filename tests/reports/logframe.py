"""A known data set for the donor indicators: the year 2025, Asia/Shanghai.

Organisations: E1 Bright Electronics (enterprise, electronics), E2 Silk Garments (enterprise,
textile), E3 Both Co (enterprise, both), E4 Trashed Factory (enterprise, textile, in the
trash), E5 Plain Works (enterprise, no sector), G1 Labour Bureau (government), G2 Trashed
Bureau (government, in the trash), U1 Textile Union (trade union, textile, host only).

People (gender; current employer): Ai (f; E2), Bo (m; E1), Cui (f; G1), Du (m; G1),
En (undisclosed; none), Fu (other; none), Gao (f; in the trash), Hu (m; none), Ji (m; none).

Trainings (attended; "@" is the organisation at the time):
  T0 held 2024-12-31 (the day before): Cui@G1, unnamed 2 women.
  T1 held 2025-01-01 (first day), electronics: Ai@E2, Bo@E1, Cui@G1; Du@G1 no-show;
     parties E3 and E5 participants, U1 host; unnamed 5 women, 3 men, 2 unspecified.
  T2 held 2025-02-14, textile: Ai@E2, Gao@E4 (Gao in the trash); unnamed 1 woman.
  T3 held 2025-05-20, textile: Ai@E2, Du@G1, Hu@G2 (G2 in the trash), Ji@E4 (E4 in the
     trash); party E4 participant.
  T4 held 2025-12-31 (last day), no sector: En (no organisation), Fu@E1; unnamed 4
     unspecified.
  T5 held 2026-01-01 (the day after): Bo@E1, unnamed 9 men.
  T6 planned 2025-06-01: unnamed 7 men. T7 cancelled 2025-07-01: unnamed 3 women.
  T8 held 2025-08-08, in the trash: Bo@E1, unnamed 6 women.
  W1 webinar held 2025-03-03: Du@G1 (not a training).
Forums: F1 held 2025-03-31 textile; F2 held 2025-10-01; F3 planned 2025-06-01; F4 cancelled
  2025-07-01; F5 held 2025-04-04 in the trash; F6 held 2026-01-01.
MoUs (signed on): M1 2025-01-01 textile; M2 2025-12-31 electronics, terminated since;
  M3 2024-12-31; M4 a draft, not signed; M5 2025-06-06, in the trash.
Research (counted on the end date, else the start date; needs a publication, not cancelled):
  R1 2025-01-10 to 2025-04-30 electronics, published; R2 planned from 2025-09-09, published;
  R3 2025-05-05 no publication; R4 2025-05-05 cancelled, published; R5 2024-11-01 to
  2025-01-01 textile, published; R6 2025-12-01 to 2026-01-01, published; R7 2025-03-03
  published, in the trash.
Interactions (local time): I1 2025-01-01 00:30 E1; I2 2024-12-31 23:30 E2; I3 2025-12-31
  23:30 Ai + G1; I4 2026-01-01 00:10 E3; I5 2025-05-05 E4 (in the trash); I6 2025-05-06 E5,
  the interaction in the trash; I7 2025-07-07 E1 + Bo.

Indicators: 1.1 participants trained (sex, sector; baseline 0 in 2024; targets 2025: 20,
2026: 40), 1.2 enterprises trained (sector; 2025: 8), 1.3 officials trained (sex, sector;
2025: 4), 2.1 forums held (sector; 2025: 2), 2.2 MoUs signed (2025: 1), 3.1 research
published (sector; 2025: 4), 4.1 stakeholders engaged (type, sector; 2025: 10), and 9.9 in
the trash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from crm.extensions import db
from crm.models import Activity, Organisation, Person, User
from crm.services import activities, interactions, stakeholders
from crm.services.reporting import indicators

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = 2025
QUARTERS = ((date(2025, 1, 1), date(2025, 3, 31)), (date(2025, 4, 1), date(2025, 6, 30)))
QUARTERS += ((date(2025, 7, 1), date(2025, 9, 30)), (date(2025, 10, 1), date(2025, 12, 31)))
WHOLE_YEAR = (date(2025, 1, 1), date(2025, 12, 31))


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


@dataclass
class Logframe:
    ids: dict[str, int]

    def __getitem__(self, key: str) -> int:
        return self.ids[key]


ORGANISATIONS = {
    "E1": ("Bright Electronics", "光明电子", "enterprise", "electronics"),
    "E2": ("Silk Garments", "丝绸服装", "enterprise", "textile"),
    "E3": ("Both Co", None, "enterprise", "both"),
    "E4": ("Trashed Factory", None, "enterprise", "textile"),
    "E5": ("Plain Works", None, "enterprise", None),
    "G1": ("Labour Bureau", "劳动局", "government", None),
    "G2": ("Trashed Bureau", None, "government", None),
    "U1": ("Textile Union", None, "trade_union", "textile"),
}
PEOPLE = {
    "Ai": ("female", "E2"),
    "Bo": ("male", "E1"),
    "Cui": ("female", "G1"),
    "Du": ("male", "G1"),
    "En": ("undisclosed", None),
    "Fu": ("other", None),
    "Gao": ("female", None),
    "Hu": ("male", None),
    "Ji": ("male", None),
}
INDICATORS = {
    "1.1": ("participants_trained", ["sex", "sector"], {2025: 20, 2026: 40}),
    "1.2": ("enterprises_trained", ["sector"], {2025: 8}),
    "1.3": ("officials_trained", ["sex", "sector"], {2025: 4}),
    "2.1": ("forums_held", ["sector"], {2025: 2}),
    "2.2": ("mous_signed", [], {2025: 1}),
    "3.1": ("research_published", ["sector"], {2025: 4}),
    "4.1": ("stakeholders_engaged", ["stakeholder_type", "sector"], {2025: 10}),
    "9.9": ("forums_held", [], {2025: 1}),
}


def build(admin: User) -> dict[str, int]:
    """Write the data set through the services (inside an application context)."""
    ids: dict[str, int] = {}
    for key, (name, chinese, kind, sector) in ORGANISATIONS.items():
        ids[key] = stakeholders.create_organisation(
            {"display_name": name, "chinese_name": chinese, "org_type": kind, "sector": sector},
            actor=admin,
            allow_duplicate=True,
        ).id
    for key, (gender, employer) in PEOPLE.items():
        person = stakeholders.create_person(
            {"family_name": "Test", "given_name": key, "gender": gender},
            actor=admin,
            allow_duplicate=True,
        )
        ids[key] = person.id
        if employer:
            stakeholders.add_affiliation(
                person,
                organisation_id=ids[employer],
                title="Manager",
                start_on=date(2020, 1, 1),
                end_on=None,
                actor=admin,
            )

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

    def party(made: Activity, org: str, role: str = "participant") -> None:
        activities.add_party(made, organisation_id=ids[org], role=role, actor=admin)

    held = {"status": "held"}
    t0 = activity("T0", "training", date(2024, 12, 31), unnamed_women=2, **held)
    attend(t0, "Cui", "G1")
    t1 = activity(
        "T1",
        "training",
        date(2025, 1, 1),
        sector="electronics",
        unnamed_women=5,
        unnamed_men=3,
        unnamed_unspecified=2,
        **held,
    )
    attend(t1, "Ai", "E2")
    attend(t1, "Bo", "E1")
    attend(t1, "Cui", "G1")
    attend(t1, "Du", "G1", status="no_show")
    party(t1, "E3")
    party(t1, "E5")
    party(t1, "U1", role="host")
    t2 = activity("T2", "training", date(2025, 2, 14), sector="textile", unnamed_women=1, **held)
    attend(t2, "Ai", "E2")
    attend(t2, "Gao", "E4")
    t3 = activity("T3", "training", date(2025, 5, 20), sector="textile", **held)
    attend(t3, "Ai", "E2")
    attend(t3, "Du", "G1")
    attend(t3, "Hu", "G2")
    attend(t3, "Ji", "E4")
    party(t3, "E4")
    t4 = activity("T4", "training", date(2025, 12, 31), unnamed_unspecified=4, **held)
    attend(t4, "En", None)
    attend(t4, "Fu", "E1")
    t5 = activity("T5", "training", date(2026, 1, 1), unnamed_men=9, **held)
    attend(t5, "Bo", "E1")
    activity("T6", "training", date(2025, 6, 1), status="planned", unnamed_men=7)
    activity("T7", "training", date(2025, 7, 1), status="cancelled", unnamed_women=3)
    t8 = activity("T8", "training", date(2025, 8, 8), unnamed_women=6, **held)
    attend(t8, "Bo", "E1")
    w1 = activity("W1", "webinar", date(2025, 3, 3), **held)
    attend(w1, "Du", "G1")

    activity("F1", "forum", date(2025, 3, 31), sector="textile", **held)
    activity("F2", "forum", date(2025, 10, 1), **held)
    activity("F3", "forum", date(2025, 6, 1), status="planned")
    activity("F4", "forum", date(2025, 7, 1), status="cancelled")
    f5 = activity("F5", "forum", date(2025, 4, 4), **held)
    activity("F6", "forum", date(2026, 1, 1), **held)

    def mou(key: str, signed: date | None, status: str, **more: Any) -> Activity:
        return activity(
            key,
            "mou",
            signed or date(2025, 5, 5),
            signed_on=signed,
            agreement_status=status,
            **more,
        )

    mou("M1", date(2025, 1, 1), "signed", sector="textile")
    mou("M2", date(2025, 12, 31), "terminated", sector="electronics")
    mou("M3", date(2024, 12, 31), "signed")
    mou("M4", None, "draft")
    m5 = mou("M5", date(2025, 6, 6), "signed")

    def research(key: str, start: date, end: date | None, publication: str | None, **more: Any):  # type: ignore[no-untyped-def]
        return activity(key, "research", start, end_on=end, publication=publication, **more)

    research("R1", date(2025, 1, 10), date(2025, 4, 30), "Wages report", sector="electronics")
    research("R2", date(2025, 9, 9), None, "https://example.org/r2", status="planned")
    research("R3", date(2025, 5, 5), None, None, **held)
    research("R4", date(2025, 5, 5), None, "Cancelled study", status="cancelled")
    research("R5", date(2024, 11, 1), date(2025, 1, 1), "Supply chains", sector="textile")
    research("R6", date(2025, 12, 1), date(2026, 1, 1), "Next year's report")
    r7 = research("R7", date(2025, 3, 3), None, "Trashed report")

    def log(key: str, when: datetime, *who: str) -> None:
        ids[key] = interactions.log_interaction(
            {
                "occurred_at": when,
                "channel": "meeting",
                "subject": f"Interaction {key}",
                "stakeholder_ids": [ids[w] for w in who],
            },
            actor=admin,
        ).id

    log("I1", local(2025, 1, 1, 0, 30), "E1")
    log("I2", local(2024, 12, 31, 23, 30), "E2")
    log("I3", local(2025, 12, 31, 23, 30), "Ai", "G1")
    log("I4", local(2026, 1, 1, 0, 10), "E3")
    log("I5", local(2025, 5, 5, 10, 0), "E4")
    log("I6", local(2025, 5, 6, 10, 0), "E5")
    log("I7", local(2025, 7, 7, 10, 0), "E1", "Bo")
    interactions.delete(interactions.get(ids["I6"]), actor=admin)

    for key, (metric, dimensions, targets) in INDICATORS.items():
        ids[key] = indicators.create(
            {
                "code": key,
                "name": f"Indicator {key}",
                "name_zh": f"指标 {key}",
                "unit": "people",
                "metric": metric,
                "disaggregations": dimensions,
                "baseline": 0,
                "baseline_year": 2024,
                "targets": [{"year": y, "target": t} for y, t in targets.items()],
            },
            actor=admin,
        ).id
    indicators.delete(indicators.get(ids["9.9"]), actor=admin)

    # The trash: records that must never count.
    for made in (t8, f5, m5, r7):
        activities.delete(made, actor=admin)
    for key in ("E4", "G2"):
        stakeholders.delete(db.session.get(Organisation, ids[key]), actor=admin)
    stakeholders.delete(db.session.get(Person, ids["Gao"]), actor=admin)
    return ids
