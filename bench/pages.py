"""What the benchmark measures, and the target each measurement must meet at scale 1 on SQLite.

Targets (issue "Instant at a regional programme's scale"): p95 ≤ 50 ms for every list, detail,
dashboard and search page; ≤ 300 ms for a year's engagement report (with its map) and the donor
indicators; CSV export of every organisation under 1 s and XLSX under 3 s; a 10,000-row import
under 20 s; at most 15 SQL statements for any page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Affiliation,
    FollowUp,
    FollowUpStatus,
    Interaction,
    Participation,
    Person,
    Stakeholder,
    User,
    interaction_stakeholders,
)

PAGE_MS = 50
REPORT_MS = 300
MAX_STATEMENTS = 15


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    target_ms: float = PAGE_MS
    max_statements: int | None = MAX_STATEMENTS


@dataclass(frozen=True)
class Subjects:
    """The records worth measuring in this data set: the busiest ones."""

    organisation_id: int
    person_id: int
    employer_id: int
    activity_id: int
    year: int
    month: date


def _busiest(model: type[Stakeholder]) -> int:
    link = interaction_stakeholders.c
    return db.session.execute(
        sa.select(link.stakeholder_id)
        .join(model, model.id == link.stakeholder_id)
        .group_by(link.stakeholder_id)
        .order_by(sa.func.count().desc(), link.stakeholder_id)
        .limit(1)
    ).scalar_one()


def subjects() -> Subjects:
    from crm.models import Organisation

    employer = db.session.execute(
        sa.select(Affiliation.organisation_id)
        .group_by(Affiliation.organisation_id)
        .order_by(sa.func.count().desc(), Affiliation.organisation_id)
        .limit(1)
    ).scalar_one()
    activity = db.session.execute(
        sa.select(Participation.activity_id)
        .group_by(Participation.activity_id)
        .order_by(sa.func.count().desc(), Participation.activity_id)
        .limit(1)
    ).scalar_one()
    latest = db.session.scalar(sa.select(sa.func.max(Interaction.occurred_at)))
    assert latest is not None, "the data set has no interactions"
    latest_day = latest.date() if hasattr(latest, "date") else date.fromisoformat(str(latest)[:10])
    # The last whole year and month before the latest interaction.
    month = date(latest_day.year - (latest_day.month == 1), (latest_day.month - 2) % 12 + 1, 1)
    return Subjects(
        organisation_id=_busiest(Organisation),
        person_id=_busiest(Person),
        employer_id=employer,
        activity_id=activity,
        year=latest_day.year - 1,
        month=month,
    )


def busiest_coordinator() -> User:
    """The coordinator with the most open follow-ups: "my follow-ups" at its longest."""
    from crm.access import Role

    return db.session.execute(
        sa.select(User)
        .outerjoin(
            FollowUp,
            sa.and_(FollowUp.assignee_id == User.id, FollowUp.status == FollowUpStatus.open),
        )
        .where(User.role == Role.coordinator)
        .group_by(User.id)
        .order_by(sa.func.count(FollowUp.id).desc(), User.id)
        .limit(1)
    ).scalar_one()


def _month_end(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def pages(s: Subjects) -> list[Page]:
    year = f"start={s.year}-01-01&end={s.year}-12-31"
    return [
        Page("dashboard", "/"),
        Page("organisations", "/organisations"),
        Page("organisations: textile enterprises", "/organisations?sector=textile&type=enterprise"),
        Page("organisations by last contact", "/organisations?sort=last_contact&dir=desc"),
        Page("organisations, page 200", "/organisations?page=200"),
        Page("organisations: influential and quiet", "/organisations?quiet=1"),
        Page("people", "/people"),
        Page("people by employer", f"/people?organisation={s.employer_id}"),
        Page("organisation with most interactions", f"/organisations/{s.organisation_id}"),
        Page("person with most interactions", f"/people/{s.person_id}"),
        Page("interactions", "/interactions"),
        Page(
            "interactions, one month",
            f"/interactions?from={s.month.isoformat()}&to={_month_end(s.month).isoformat()}",
        ),
        Page("my follow-ups", "/follow-ups/mine"),
        Page("team follow-ups", "/follow-ups/team"),
        Page("search: characters", "/search?q=%E7%8E%8B%E8%8A%B3"),
        Page("search: pinyin", "/search?q=wangfang"),
        Page("search: initials", "/search?q=wf"),
        Page("search: English", "/search?q=harmony"),
        Page("typeahead", "/search.json?q=shenzhen&type=organisation"),
        Page("activities", "/activities"),
        Page("activity with most participants", f"/activities/{s.activity_id}"),
        Page("engagement report and map, one year", f"/reports?{year}", REPORT_MS),
        Page(
            "engagement report and map, one year, textile",
            f"/reports?{year}&sector=textile",
            REPORT_MS,
        ),
        Page("donor indicators", f"/reports/indicators?year={s.year}", REPORT_MS),
        Page("cross-border transfers", "/reports/cross-border"),
        Page("people by consent to reports", "/people?consent_reports=withdrawn"),
        Page("duplicates", "/duplicates?kind=person"),
        Page("export organisations CSV", "/organisations?format=csv", 1000, None),
        Page("export organisations XLSX", "/organisations?format=xlsx", 3000, None),
    ]


# (rows, target in ms): a sign-in sheet's worth and a large contact list.
IMPORTS = [(1_000, 2_000), (10_000, 20_000)]


def people_csv(rows: int, offset: int) -> bytes:
    """A CSV of new people as a sign-in sheet has them: name, sex, employer, phone, email."""
    family, given = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗",
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞",
    )
    lines = ["姓名,性别,单位,职务,手机,邮箱"]
    for n in range(offset, offset + rows):
        # Unique over any 116,640 consecutive numbers: no row matches another as a duplicate.
        name = (
            family[n % 20]
            + given[(n // 20) % 18]
            + given[(n // 360) % 18]
            + given[(n // 6480) % 18]
        )
        lines.append(
            f"{name},{'女' if n % 2 else '男'},东莞第{n % 97}服装有限公司,经理,"
            f"159{n:08d},bench{n}@example.cn"  # 159: no generated phone
        )
    return "\n".join(lines).encode("utf-8")
