"""A year of routine outreach in the demo: the calls, visits, WeChat exchanges and letters
between the milestones of crm.demo.programme, with the follow-ups they led to.

Spread evenly over the twelve months before the day the demo is loaded (one every three days
or so, the last one that day), over every channel but "other", over electronics, textile and
cross-sector stakeholders, and over the four staff roles that log outreach, so that every
chart of the engagement report of the last twelve months has something to show in every
month. The choices are made by position in fixed lists, never at random: two seeds give the
same records. A few engagement levels change as well (the report's level moves).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import FollowUp, Organisation, Person, User
from crm.services import clock, follow_ups, interactions, stakeholders

COUNT = 132  # with crm.demo.programme's 24: 156 interactions in the year
DAYS = 364  # the first one on the first day of "the last 12 months"

# The organisations contacted in turn, and what the team talks about with each kind of them.
ROTATION = (
    "hongxin", "yongjiang", "gd_hrss", "prsd", "cntac", "jiayi", "huawei", "fengyi",
    "sz_hrss", "lakeview", "jinlan", "ceea", "gdftu", "haicang", "rhone", "mohrss",
    "nordlicht", "lanyu", "ilo", "prsd_precision", "minnan_knit", "culr", "jinhe",
    "yongjiang_knit", "hexie", "ccct", "nanyue", "eu_delegation", "xishan_silk", "acftu",
    "taihu_semi",
)  # fmt: skip
TOPICS = {
    "enterprise": (
        "OSH committee: quarterly check",
        "Working hours in the peak season",
        "工人申诉热线使用情况",
        "Supplier code of conduct: comments on the draft",
        "Chemical safety self-assessment",
        "宿舍消防安全整改跟进",
        "Wage slips and overtime pay",
        "Corrective action plan after a buyer audit",
    ),
    "government": (
        "Labour inspection statistics for the year",
        "Joint workplan: quarterly review",
        "劳动监察培训需求调研",
        "Guidance on due diligence: draft chapter",
        "Invitation to the provincial forum",
    ),
    "industry_body": (
        "Member survey on due diligence",
        "Forum co-organisation: speakers",
        "行业协会年度工作计划",
        "CSC9000T update for members",
    ),
    "trade_union": (
        "Collective wage consultation",
        "工会参与申诉机制",
        "Union training on grievance handling",
    ),
    "international": (
        "Steering committee preparation",
        "Donor reporting: indicators",
        "Coordination on the joint workplan",
    ),
    "academic": ("Survey data: first results", "调研问卷修改意见", "Comments on the draft report"),
    "ngo": ("Hotline cases this quarter", "Worker outreach in the industrial parks"),
}
# The channels each kind of organisation is reached by, used in turn.
CHANNELS = {
    "enterprise": ("visit", "wechat", "call", "meeting", "email", "video_call"),
    "government": ("meeting", "letter", "email", "call"),
    "industry_body": ("meeting", "event", "wechat", "email"),
    "trade_union": ("meeting", "call", "event", "wechat"),
    "international": ("video_call", "email", "meeting"),
    "academic": ("email", "video_call", "meeting"),
    "ngo": ("wechat", "call", "visit"),
}
# Who logs them, in turn (the viewer logs nothing); every fourth has a colleague along.
AUTHORS = (Role.coordinator, Role.member, Role.manager, Role.coordinator, Role.member, Role.admin)
TASKS = (
    "Send the meeting notes",
    "Share the OSH checklist",
    "发送会议纪要",
    "Confirm the training dates",
    "Prepare the data request",
    "Draft the follow-up letter",
    "Send the self-assessment tool",
    "预约下一次工厂走访",
)
# Level moves recorded during the year: (organisation key, new level).
LEVEL_MOVES = (
    ("huawei", "aware"),
    ("xishan_silk", "aware"),
    ("jinhe", "engaged"),
    ("miit", "engaged"),
    ("taihu_semi", "unaware"),
)


@dataclass(frozen=True)
class Loaded:
    interactions: int
    follow_ups: int


def load(
    *,
    users: Sequence[User],
    orgs: Mapping[str, Organisation],
    people_by_org: Mapping[str, Sequence[Person]],
    today: date | None = None,
) -> Loaded:
    """Log the year's routine outreach with its follow-ups, then the year's level moves."""
    today = today or clock.today()
    by_role = {user.role: user for user in users}
    logged = tasks = 0
    for n in range(COUNT):
        tasks += _log(n, today=today, by_role=by_role, orgs=orgs, people_by_org=people_by_org)
        logged += 1
    for key, level in LEVEL_MOVES:
        org = orgs[key]
        db.session.refresh(org)  # its version, after the interactions logged above
        stakeholders.update(
            org, {"engagement_level": level}, version=org.version, actor=by_role[Role.admin]
        )
    return Loaded(logged, tasks)


def _kind(org: Organisation) -> str:
    kind = str(org.org_type)  # a StrEnum, or the string the demo created it with
    return kind if kind in TOPICS else "enterprise"


def _log(
    n: int,
    *,
    today: date,
    by_role: Mapping[Role, User],
    orgs: Mapping[str, Organisation],
    people_by_org: Mapping[str, Sequence[Person]],
) -> int:
    """The n-th interaction and its follow-up (every third has one); returns how many."""
    key = ROTATION[n % len(ROTATION)]
    turn = n // len(ROTATION)  # how many times this organisation was contacted before
    org = orgs[key]
    kind = _kind(org)
    days_ago = DAYS - n * DAYS // (COUNT - 1)
    day = today - timedelta(days=days_ago)
    # Office hours in the programme's time zone, stored in UTC like every moment.
    moment = datetime.combine(day, time(9 + n % 8, 15 * (n % 4)), tzinfo=clock.zone())
    author = by_role[AUTHORS[n % len(AUTHORS)]]
    staff = [author.id]
    if n % 4 == 0:
        staff.append(by_role[AUTHORS[(n + 1) % len(AUTHORS)]].id)
    people = [p.id for p in people_by_org.get(key, ())][: 1 + n % 2]
    tasks = []
    if n % 3 == 0:
        tasks.append(
            {
                "title": TASKS[n // 3 % len(TASKS)],
                "due_on": day + timedelta(days=7 + n % 14),
                "priority": ("normal", "high", "low")[n // 3 % 3],
                "assignee_id": by_role[AUTHORS[(n + 2) % len(AUTHORS)]].id,
            }
        )
    interaction = interactions.log_interaction(
        {
            "occurred_at": moment.astimezone(UTC),
            "channel": CHANNELS[kind][(n + turn) % len(CHANNELS[kind])],
            "direction": "inbound" if n % 5 == 0 else "outbound",
            "subject": TOPICS[kind][turn % len(TOPICS[kind])],
            "summary": None,
            "outcome": None,
            "activity_id": None,
            "is_confidential": False,
            "stakeholder_ids": [org.id, *people],
            "staff_ids": staff,
        },
        follow_ups_data=tasks,
        actor=author,
    )
    for task in db.session.scalars(
        sa.select(FollowUp).where(FollowUp.interaction_id == interaction.id)
    ):
        _settle(task, n=n, today=today, by_role=by_role)
    return len(tasks)


def _settle(task: FollowUp, *, n: int, today: date, by_role: Mapping[Role, User]) -> None:
    """Follow-ups due more than a week ago are mostly done; one in seven was cancelled, one
    in five is still open (overdue). Those due later stay open."""
    if task.due_on >= today - timedelta(days=7):
        return
    coordinator = by_role[Role.coordinator]
    if n % 7 == 0:
        follow_ups.cancel(task, actor=coordinator)
    elif n % 5 != 0:
        follow_ups.complete(task, note="Done.", actor=coordinator)
