"""A person with one record of every kind, and another person sharing some of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from crm.extensions import db
from crm.models import (
    Affiliation,
    Consent,
    ConsentPurpose,
    ConsentRecord,
    ConsentSource,
    ContactDetail,
    ContactKind,
    User,
)
from crm.services import activities, follow_ups, interactions


@dataclass(frozen=True)
class Held:
    person_id: int
    other_id: int
    activity_id: int
    organisation_id: int


def person_with_everything(app, actor, make_person, make_organisation) -> Held:  # type: ignore[no-untyped-def]
    """Wang Fang (王芳) with a position, a further phone, consent history, a training, two
    interactions (one confidential, both also with Zhao Min), a follow-up; and Zhao Min."""
    org = make_organisation(display_name="Shenzhen Bright Electronics", chinese_name="深圳光明电子")
    wang = make_person(
        family_name="Wang",
        given_name="Fang",
        chinese_name="王芳",
        email="wang.fang@example.cn",
        phone="+86 138 0013 8000",
        wechat_id="wangfang88",
        job_title="EHS manager",
        notes="Met Wang Fang at the Dongguan forum; prefers WeChat.",
        gender="female",
    )
    zhao = make_person(
        family_name="Zhao", given_name="Min", chinese_name="赵敏", email="zhao.min@example.cn"
    )
    with app.app_context():
        admin = db.session.get(User, actor.id)
        db.session.add(Affiliation(person_id=wang.id, organisation_id=org.id, title="EHS manager"))
        db.session.add(
            ContactDetail(
                person_id=wang.id,
                kind=ContactKind.phone,
                value="139 0000 1111",
                value_key="+8613900001111",
                source="merged record",
            )
        )
        db.session.add(
            ConsentRecord(
                person_id=wang.id,
                purpose=ConsentPurpose.reports,
                status=Consent.given,
                stated_on=date(2026, 1, 5),
                source=ConsentSource.sign_in_sheet,
                note="Signed at the Wang Fang training",
                recorded_by_id=admin.id,
            )
        )
        db.session.commit()
        activity = activities.create(
            {"type": "training", "title": "OSH training", "start_on": date(2026, 3, 4)},
            actor=admin,
        )
        activities.add_participants(activity, [wang.id, zhao.id], status="attended", actor=admin)
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 5, 2, 0, tzinfo=UTC),
                "channel": "meeting",
                "subject": "Working hours with Wang Fang",
                "summary": "Wang Fang (王芳) asked about overtime caps; call 139 0000 1111.",
                "stakeholder_ids": [wang.id, zhao.id],
            },
            actor=admin,
        )
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 6, 2, 0, tzinfo=UTC),
                "channel": "call",
                "subject": "Grievance follow-up",
                "summary": "Confidential: 王芳 reported pressure from her supervisor.",
                "is_confidential": True,
                "stakeholder_ids": [wang.id],
            },
            actor=admin,
        )
        follow_ups.create(
            {
                "title": "Send Wang Fang the OSH checklist",
                "due_on": date(2026, 12, 1),
                "assignee_id": admin.id,
                "stakeholder_id": wang.id,
            },
            actor=admin,
        )
        return Held(wang.id, zhao.id, activity.id, org.id)
