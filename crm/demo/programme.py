"""The programme's own records in the demo: activities, attendance and a year of outreach.

Dates are counted back (and forward) from the day the demo is loaded (the programme's
today, crm.services.clock), so a fresh demo always has a recent past and an upcoming
agenda: the reports' "this quarter" and the donor indicators' current year have figures,
the MoU list has an agreement expiring soon, the dashboard has upcoming activities and
overdue follow-ups. Everything is written through the services, so it has audit history
and search entries like hand-made records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import Activity, FollowUp, Organisation, Person, User
from crm.services import activities, clock, follow_ups, interactions


@dataclass(frozen=True)
class _Activity:
    key: str
    type: str
    title: str
    title_zh: str
    start: int  # days from the day the demo is loaded (negative: in the past)
    days: int
    city: str | None
    sector: str | None
    description: str
    parties: tuple[tuple[str, str], ...]  # (organisation key, role)
    # (organisation key, how many of its people, status); the first people listed there.
    people: tuple[tuple[str, int, str], ...] = ()
    unnamed: tuple[int, int, int] = (0, 0, 0)  # women, men, not recorded
    signed: int | None = None  # MoUs: days from today
    expires: int | None = None
    publication: str | None = None
    topics: tuple[str, ...] = ()


# fmt: off
ACTIVITIES: tuple[_Activity, ...] = (
    _Activity(
        "osh_sz", "training", "OSH training for electronics suppliers",
        "电子行业供应商职业安全与健康培训", -300, 2, "Shenzhen", "electronics",
        "Two days on risk assessment, chemical safety and OSH committees, for HR and EHS "
        "managers of first- and second-tier suppliers.",
        (("sz_hrss", "host"), ("ilo", "co_organiser"), ("prsd", "participant")),
        (("prsd", 2, "attended"), ("prsd_precision", 2, "attended"), ("hongxin", 2, "attended"),
         ("jinhe", 2, "attended"), ("nanyue", 1, "attended"), ("haicang", 1, "no_show")),
        unnamed=(6, 5, 1), topics=("Occupational safety and health (OSH)",),
    ),
    _Activity(
        "forum_bj", "forum", "National forum on responsible business conduct",
        "全国负责任商业行为论坛", -200, 1, "Beijing", "both",
        "Government, business, unions and buyers on due diligence in supply chains; launch of "
        "the programme's sector guidance.",
        (("mofcom", "host"), ("oecd", "co_organiser"), ("ilo", "co_organiser"),
         ("eu_delegation", "sponsor")),
        (("mofcom", 1, "attended"), ("cntac", 2, "attended"), ("ceea", 1, "attended"),
         ("euccc", 1, "attended"), ("acftu", 1, "attended"), ("lakeview", 2, "attended"),
         ("yongjiang", 2, "attended"), ("nordlicht", 1, "attended"), ("rhone", 1, "registered")),
        unnamed=(22, 19, 4), topics=("Due diligence",),
    ),
    _Activity(
        "dd_textile", "training", "Due diligence in textile supply chains",
        "纺织供应链尽责管理培训", -75, 2, "Ningbo", "textile",
        "CSC9000T and the OECD garment guidance in practice: mapping suppliers, prioritising "
        "risks, grievance channels.",
        (("cntac", "host"), ("oecd", "partner")),
        (("yongjiang", 3, "attended"), ("yongjiang_knit", 1, "attended"), ("jinlan", 2, "attended"),
         ("fengyi", 2, "attended"), ("lanyu", 1, "no_show"), ("jiayi", 3, "attended")),
        unnamed=(9, 3, 0), topics=("Due diligence",),
    ),
    _Activity(
        "inspectors_gz", "training", "Labour inspection in supply chains",
        "供应链劳动保障监察培训", -25, 2, "Guangzhou", None,
        "For labour inspectors of the Pearl River Delta: working time, wages and OSH in "
        "electronics and garment factories.",
        (("gd_hrss", "host"), ("ilo", "co_organiser")),
        (("gd_hrss", 3, "attended"), ("sz_hrss", 2, "attended"), ("mohrss", 1, "attended")),
        unnamed=(7, 8, 0), topics=("Wages and working time",),
    ),
    _Activity(
        "wages_dialogue", "dialogue", "Textile industry dialogue on wages",
        "纺织行业工资集体协商对话会", -40, 1, "Dongguan", "textile",
        "Employers, the textile workers' union and brands on sector wage guidelines.",
        (("gdftu", "host"), ("cec", "partner")),
        (("gdftu", 2, "attended"), ("jiayi", 2, "attended"), ("lanyu", 1, "attended"),
         ("xishan_silk", 1, "attended")),
        unnamed=(4, 3, 0), topics=("Social dialogue", "Wages and working time"),
    ),
    _Activity(
        "mou_mohrss", "mou", "MoU on labour standards in supply chains",
        "关于供应链劳动标准的合作谅解备忘录", -420, 1, "Beijing", None,
        "Cooperation on labour inspection training, guidance and a national forum each year.",
        (("mohrss", "signatory"), ("ilo", "signatory")),
        signed=-420, expires=680,
    ),
    _Activity(
        "mou_cntac", "mou", "MoU on CSC9000T and due diligence",
        "关于CSC9000T与尽责管理的合作谅解备忘录", -1050, 1, "Beijing", "textile",
        "Joint trainings for textile enterprises and a due diligence self-assessment tool.",
        (("cntac", "signatory"), ("ilo", "signatory"), ("oecd", "signatory")),
        signed=-1050, expires=45,
    ),
    _Activity(
        "research_hours", "research", "Working time in Pearl River Delta electronics factories",
        "珠三角电子厂工作时间调研", -110, 1, "Guangzhou", "electronics",
        "Survey of 1,200 workers in 30 factories, with interviews of managers and unions.",
        (("sysu", "partner"), ("culr", "partner")),
        publication="Working time in electronics supply chains in the Pearl River Delta "
        "(ILO–OECD working paper)",
    ),
    _Activity(
        "grievance_dg", "training", "Grievance mechanisms for garment factories",
        "服装企业申诉机制培训", 16, 1, "Dongguan", "textile",
        "Designing and running worker grievance channels that workers trust.",
        (("hexie", "co_organiser"), ("cntac", "host")),
        (("jiayi", 2, "registered"), ("lanyu", 2, "invited"), ("fengyi", 1, "invited")),
        topics=("Grievance mechanisms",),
    ),
    _Activity(
        "webinar_chem", "webinar", "Chemical safety in electronics manufacturing",
        "电子制造业化学品安全网络研讨会", 38, 1, None, "electronics",
        "Online session for EHS managers.",
        (("ceea", "host"),),
    ),
)


@dataclass(frozen=True)
class _Contact:
    days_ago: int
    channel: str
    subject: str
    with_orgs: tuple[str, ...]
    people: int  # how many of the first organisation's people took part
    by: Role
    outcome: str | None = None
    activity: str | None = None
    # (title, due in days from today, priority, assignee, done)
    tasks: tuple[tuple[str, int, str, Role, bool], ...] = ()
    confidential: bool = False


CONTACTS: tuple[_Contact, ...] = (
    _Contact(330, "meeting", "Programme launch with the ministry", ("mohrss",), 1, Role.manager,
             "Agreed on a joint workplan."),
    _Contact(310, "call", "OSH training: invitation to suppliers", ("prsd",), 1,
             Role.coordinator, activity="osh_sz"),
    _Contact(290, "wechat", "Follow-up on OSH committee set-up", ("prsd_precision",), 1,
             Role.member),
    _Contact(260, "visit", "Factory visit: dormitory and OSH", ("hongxin",), 2, Role.coordinator,
             "Union chair to join the next training."),
    _Contact(230, "email", "Forum speakers and agenda", ("mofcom", "oecd"), 1, Role.manager,
             activity="forum_bj"),
    _Contact(215, "meeting", "Buyer expectations for Chinese suppliers", ("euccc",), 1,
             Role.manager),
    _Contact(190, "video_call", "Forum debrief with co-organisers", ("oecd", "ilo"), 1,
             Role.manager, activity="forum_bj"),
    _Contact(170, "wechat", "CSC9000T pilot companies", ("cntac",), 2, Role.coordinator),
    _Contact(150, "meeting", "Union role in grievance mechanisms", ("acftu",), 1, Role.manager,
             "Interest in a joint guidance note.", confidential=True),
    _Contact(130, "call", "Research design review", ("sysu",), 1, Role.coordinator,
             activity="research_hours"),
    _Contact(120, "visit", "Dyeing plant: chemical storage", ("jinlan",), 1, Role.member),
    _Contact(100, "email", "Survey access to factories", ("culr",), 1, Role.coordinator,
             activity="research_hours"),
    _Contact(85, "meeting", "Due diligence training: host arrangements", ("cntac",), 1,
             Role.coordinator, activity="dd_textile",
             tasks=(("Send the training agenda to CNTAC", -80, "normal", Role.coordinator, True),)),
    _Contact(70, "wechat", "Sportswear supplier: grievance hotline", ("fengyi",), 1, Role.member),
    _Contact(60, "meeting", "Industry association workplan 2026", ("ceea",), 1, Role.manager),
    _Contact(48, "call", "Wage dialogue preparation", ("gdftu",), 1, Role.coordinator,
             activity="wages_dialogue"),
    _Contact(35, "visit", "Garment factory follow-up visit", ("jiayi",), 2, Role.member,
             "Worker representatives elected to the OSH committee.",
             tasks=(("Share the OSH committee checklist", -5, "high", Role.member, False),)),
    _Contact(28, "meeting", "Inspector training: final programme", ("gd_hrss",), 1,
             Role.coordinator, activity="inspectors_gz"),
    _Contact(21, "email", "MoU renewal: first exchange", ("cntac",), 1, Role.manager,
             tasks=(("Draft the MoU renewal text", 10, "high", Role.manager, False),)),
    _Contact(14, "wechat", "Grievance training: registrations", ("jiayi",), 1, Role.coordinator,
             activity="grievance_dg",
             tasks=(("Confirm the trainer's travel", 5, "normal", Role.coordinator, False),)),
    _Contact(9, "call", "Battery maker: supplier code of conduct", ("haicang",), 1, Role.member,
             tasks=(("Send the model supplier code", -2, "normal", Role.member, False),)),
    _Contact(6, "meeting", "Denim laundry: wastewater and OSH", ("lanyu",), 1, Role.coordinator),
    _Contact(3, "video_call", "Research launch planning", ("sysu", "ilo"), 1, Role.manager,
             activity="research_hours",
             tasks=(("Book the launch venue", 12, "low", Role.coordinator, False),)),
    _Contact(1, "wechat", "Webinar speaker confirmed", ("ceea",), 1, Role.coordinator,
             activity="webinar_chem"),
)
# fmt: on


@dataclass(frozen=True)
class Loaded:
    activities: int
    participants: int
    interactions: int
    follow_ups: int


def load(
    *,
    users: Sequence[User],
    orgs: Mapping[str, Organisation],
    people_by_org: Mapping[str, Sequence[Person]],
    topic_ids: Mapping[str, int],
    today: date | None = None,
) -> Loaded:
    """Write the activities, their parties and participants, and the interactions."""
    today = today or clock.today()
    by_role = {user.role: user for user in users}
    made, participants = _create_activities(
        today=today,
        admin=by_role[Role.admin],
        lead=by_role[Role.coordinator],
        orgs=orgs,
        people_by_org=people_by_org,
        topic_ids=topic_ids,
    )
    logged, tasks_made = _log_contacts(
        today=today, by_role=by_role, orgs=orgs, people_by_org=people_by_org, made=made
    )
    return Loaded(len(made), participants, logged, tasks_made)


def _activity_data(
    spec: _Activity, *, today: date, lead: User, topic_ids: Mapping[str, int]
) -> dict[str, Any]:
    """The values of one activity, its dates counted from today."""
    start = today + timedelta(days=spec.start)
    data = {
        "type": spec.type,
        "title": spec.title,
        "title_zh": spec.title_zh,
        "status": "held" if spec.start < 0 else "planned",
        "start_on": start,
        "end_on": start + timedelta(days=spec.days - 1) if spec.days > 1 else None,
        "city": spec.city,
        "sector": spec.sector,
        "description": spec.description,
        "lead_id": lead.id,
        "publication": spec.publication,
        "unnamed_women": spec.unnamed[0],
        "unnamed_men": spec.unnamed[1],
        "unnamed_unspecified": spec.unnamed[2],
        "topic_ids": [topic_ids[name] for name in spec.topics if name in topic_ids],
    }
    if spec.type == "mou":
        assert spec.signed is not None and spec.expires is not None
        data |= {
            "signed_on": today + timedelta(days=spec.signed),
            "expires_on": today + timedelta(days=spec.expires),
            "agreement_status": "signed",
        }
    return data


def _create_activities(
    *,
    today: date,
    admin: User,
    lead: User,
    orgs: Mapping[str, Organisation],
    people_by_org: Mapping[str, Sequence[Person]],
    topic_ids: Mapping[str, int],
) -> tuple[dict[str, Activity], int]:
    """Each activity with its parties and participants; returns them by key, and how many
    participants were listed."""
    made: dict[str, Activity] = {}
    participants = 0
    for spec in ACTIVITIES:
        data = _activity_data(spec, today=today, lead=lead, topic_ids=topic_ids)
        activity = activities.create(data, actor=admin)
        made[spec.key] = activity
        for org_key, role in spec.parties:
            activities.add_party(activity, organisation_id=orgs[org_key].id, role=role, actor=admin)
        for org_key, count, status in spec.people:
            chosen = [p.id for p in people_by_org.get(org_key, ())[:count]]
            if chosen:
                activities.add_participants(activity, chosen, status=status, actor=admin)
                participants += len(chosen)
    return made, participants


def _log_contacts(
    *,
    today: date,
    by_role: Mapping[Role, User],
    orgs: Mapping[str, Organisation],
    people_by_org: Mapping[str, Sequence[Person]],
    made: Mapping[str, Activity],
) -> tuple[int, int]:
    """Each interaction with its follow-ups, some already done; returns how many of each."""
    logged = tasks_made = 0
    # Half past ten in the programme's time zone, stored in UTC like every moment.
    now = datetime.combine(today, time(10, 30), tzinfo=clock.zone()).astimezone(UTC)
    for contact in CONTACTS:
        author = by_role[contact.by]
        stakeholder_ids = [orgs[key].id for key in contact.with_orgs]
        stakeholder_ids += [p.id for p in people_by_org.get(contact.with_orgs[0], ())][
            : contact.people
        ]
        interaction = interactions.log_interaction(
            {
                "occurred_at": now - timedelta(days=contact.days_ago, hours=contact.days_ago % 5),
                "channel": contact.channel,
                "subject": contact.subject,
                "summary": None,
                "outcome": contact.outcome,
                "activity_id": made[contact.activity].id if contact.activity else None,
                "is_confidential": contact.confidential,
                "stakeholder_ids": stakeholder_ids,
                "staff_ids": [author.id],
            },
            follow_ups_data=[
                {
                    "title": title,
                    "due_on": today + timedelta(days=due),
                    "priority": priority,
                    "assignee_id": by_role[assignee].id,
                }
                for title, due, priority, assignee, _done in contact.tasks
            ],
            actor=author,
        )
        logged += 1
        made_tasks = db.session.scalars(
            sa.select(FollowUp)
            .where(FollowUp.interaction_id == interaction.id)
            .order_by(FollowUp.id)
        ).all()
        for follow_up, (*_rest, done) in zip(made_tasks, contact.tasks, strict=True):
            tasks_made += 1
            if done:
                follow_ups.complete(follow_up, note="Sent.", actor=by_role[Role.admin])
    return logged, tasks_made
