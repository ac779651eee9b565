"""A large, deterministic data set for benchmarks (`flask crm generate --scale N`).

Scale 1 is about 20,000 organisations, 60,000 people, 3,000 activities, 300,000 interactions
and 60,000 follow-ups. Rows go in with bulk INSERTs (no per-row ORM work or audit events),
then the stored contact dates are computed and the search index is rebuilt, so the result is
what a long-used database looks like to the queries, not how it was written. The same scale
always yields the same rows.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    Affiliation,
    FollowUp,
    Interaction,
    Organisation,
    Participation,
    Person,
    Stakeholder,
    User,
    interaction_stakeholders,
)
from crm.services import contact_dates, duplicates, interactions, search
from crm.services.text import pinyin, sort_key

log = logging.getLogger(__name__)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志伟文斌海燕雪梅俊峰鹏辉"
CITIES = [
    ("Guangdong", "Shenzhen", "深圳"),
    ("Guangdong", "Dongguan", "东莞"),
    ("Guangdong", "Guangzhou", "广州"),
    ("Jiangsu", "Suzhou", "苏州"),
    ("Jiangsu", "Wuxi", "无锡"),
    ("Zhejiang", "Ningbo", "宁波"),
    ("Zhejiang", "Shaoxing", "绍兴"),
    ("Fujian", "Xiamen", "厦门"),
    ("Shanghai", "Shanghai", "上海"),
    ("Beijing", "Beijing", "北京"),
]
WORDS = [
    ("Bright", "明亮"),
    ("Harmony", "和谐"),
    ("Golden", "金"),
    ("Green", "绿源"),
    ("Star", "星辰"),
    ("Ocean", "海洋"),
    ("Pioneer", "先锋"),
    ("Union", "联合"),
    ("Peak", "高峰"),
    ("Rising", "腾飞"),
    ("Jade", "翠玉"),
    ("Dragon", "龙"),
]
TRADES = [
    ("Electronics", "电子", "electronics"),
    ("Garments", "服装", "textile"),
    ("Textiles", "纺织", "textile"),
    ("Precision", "精密", "electronics"),
    ("Knitting", "针织", "textile"),
    ("Circuits", "电路", "electronics"),
]
ORG_TYPES = ["enterprise"] * 14 + [
    "government",
    "industry_body",
    "trade_union",
    "ngo",
    "academic",
    "international",
]

# Every row carries the same moment: the data set must not depend on the day it is made.
NOW = datetime(2026, 11, 1, tzinfo=UTC)
# Bumped whenever the rows generated change: the benchmark keeps one data set per version.
DATA_VERSION = 3


@dataclass(frozen=True)
class Generated:
    organisations: int
    people: int
    activities: int
    interactions: int
    follow_ups: int
    search_documents: int


@dataclass(frozen=True)
class _Plan:
    """How many rows of each kind, where the new stakeholder ids start, and who owns them."""

    organisations: int
    people: int
    activities: int
    interactions: int
    follow_ups: int
    first_id: int
    user_ids: list[int]

    @property
    def first_person_id(self) -> int:
        return self.first_id + self.organisations

    @property
    def stakeholders(self) -> int:
        return self.organisations + self.people


def _chunks(rows: list[dict[str, Any]], size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(table: sa.FromClause, rows: list[dict[str, Any]]) -> None:
    # A model's `__table__`: SQLAlchemy types it as any FromClause, but a plain model has a Table.
    assert isinstance(table, sa.Table)
    for chunk in _chunks(rows):
        db.session.execute(sa.insert(table), chunk)


def generate(*, scale: float = 1.0, seed: int = 2026) -> Generated:
    """Append a generated data set to the database and commit; returns the counts.

    One random generator, seeded, feeds every step in a fixed order: reordering the steps
    (or the draws inside one) changes the data set.
    """
    rng = random.Random(seed)
    user_ids = _add_users(seed)
    plan = _Plan(
        organisations=max(10, int(20_000 * scale)),
        people=max(30, int(60_000 * scale)),
        activities=max(5, int(3_000 * scale)),
        interactions=max(50, int(300_000 * scale)),
        follow_ups=max(10, int(60_000 * scale)),
        first_id=(db.session.scalar(sa.select(sa.func.max(Stakeholder.id))) or 0) + 1,
        user_ids=user_ids,
    )
    _add_stakeholders(rng, plan)
    activity_ids = _add_activities(rng, plan)
    _add_participations(rng, plan, activity_ids)
    _add_interactions(rng, plan, activity_ids)
    _add_follow_ups(rng, plan)
    # Statistics first: without them PostgreSQL planned the rebuilds below as nested scans
    # of every interaction (still running after 29 minutes).
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    # Bulk INSERTs skip the services, which keep the stored contact dates: compute them all.
    contact_dates.rebuild()
    duplicates.rebuild()  # the pairs, which the services keep, likewise
    interactions.register_index()
    documents = search.rebuild()
    log.info(
        "generated scale %s: %d organisations, %d people", scale, plan.organisations, plan.people
    )
    return Generated(
        plan.organisations,
        plan.people,
        plan.activities,
        plan.interactions,
        plan.follow_ups,
        documents,
    )


def _add_users(seed: int) -> list[int]:
    """Four staff accounts who own and log the generated records; their ids."""
    users = []
    cheap = generate_password_hash(secrets.token_hex(8), method="pbkdf2:sha256:1000")
    for i, role in enumerate([Role.coordinator, Role.member, Role.member, Role.manager]):
        user = User(
            email=f"generated{seed}-{i}@example.org",
            name=f"Generated {role.value} {i}",
            role=role,
            password_hash=cheap,
            session_token=secrets.token_hex(8),
        )
        db.session.add(user)
        users.append(user)
    db.session.flush()
    return [u.id for u in users]


def _add_stakeholders(rng: random.Random, plan: _Plan) -> None:
    """Organisations, then people with one position each, with ids set here (bulk INSERTs
    return none); PostgreSQL's id sequence is moved past them afterwards."""
    stakeholder_rows, organisation_rows = _organisation_rows(rng, plan)
    _insert(Stakeholder.__table__, stakeholder_rows)
    _insert(Organisation.__table__, organisation_rows)
    chunk = 5000  # people are written a chunk at a time: memory stays flat
    for start in range(0, plan.people, chunk):
        numbers = range(start, min(start + chunk, plan.people))
        person_stakeholder_rows, person_rows, affiliation_rows = _person_rows(rng, plan, numbers)
        _insert(Stakeholder.__table__, person_stakeholder_rows)
        _insert(Person.__table__, person_rows)
        _insert(Affiliation.__table__, affiliation_rows)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('stakeholders', 'id'), "
                "(SELECT MAX(id) FROM stakeholders))"
            )
        )


def _organisation_rows(
    rng: random.Random, plan: _Plan
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(stakeholder rows, organisation rows) of the generated organisations."""
    stakeholder_rows, organisation_rows = [], []
    for i in range(plan.organisations):
        word, word_zh = WORDS[i % len(WORDS)]
        trade, trade_zh, sector = TRADES[(i // len(WORDS)) % len(TRADES)]
        province, city, city_zh = CITIES[rng.randrange(len(CITIES))]
        name = f"{city} {word} {trade} No.{i} Co., Ltd."
        zh = f"{city_zh}{word_zh}{trade_zh}{i}号有限公司"
        full, initials = pinyin(zh)
        stakeholder_rows.append(
            {
                "id": plan.first_id + i,
                "kind": "organisation",
                "display_name": name,
                "chinese_name": zh,
                "name_pinyin": full,
                "name_initials": initials,
                "sort_name": sort_key(name),
                "match_key": duplicates.organisation_key(name),
                "match_key_zh": duplicates.organisation_key(zh),
                "engagement_level": rng.choice(["unaware", "aware", "engaged", "committed"]),
                "influence": rng.randint(1, 5),
                "interest": rng.randint(1, 5),
                "owner_id": rng.choice(plan.user_ids),
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
        )
        organisation_rows.append(
            {
                "id": plan.first_id + i,
                "org_type": rng.choice(ORG_TYPES),
                "sector": sector,
                "province": province,
                "city": city,
            }
        )
    return stakeholder_rows, organisation_rows


def _person_rows(
    rng: random.Random, plan: _Plan, numbers: range
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(stakeholder rows, person rows, affiliation rows) of the generated people `numbers`,
    each working at one of the generated organisations."""
    stakeholder_rows, person_rows, affiliation_rows = [], [], []
    for i in numbers:
        family = SURNAMES[rng.randrange(len(SURNAMES))]
        given = GIVEN[rng.randrange(len(GIVEN))] + (
            GIVEN[rng.randrange(len(GIVEN))] if rng.random() < 0.6 else ""
        )
        zh = family + given
        full, initials = pinyin(zh)
        syllables = (full or "").split()
        family_py, given_py = syllables[0].title(), "".join(syllables[1:]).title()
        display = f"{family_py} {given_py}"
        sid = plan.first_person_id + i
        stakeholder_rows.append(
            {
                "id": sid,
                "kind": "person",
                "display_name": display,
                "chinese_name": zh,
                "name_pinyin": full,
                "name_initials": initials,
                "sort_name": sort_key(display),
                "match_key": duplicates.person_key(zh, family_py, given_py),
                "match_key_zh": duplicates.chinese_key(zh),
                "engagement_level": rng.choice(["unaware", "aware", "engaged"]),
                "influence": rng.randint(1, 5),
                "interest": rng.randint(1, 5),
                "owner_id": None,
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
        )
        phone = f"+86 13{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        person_rows.append(
            {
                "id": sid,
                "family_name": family_py,
                "given_name": given_py,
                "gender": rng.choice(["female", "male", "female", "male", "undisclosed"]),
                "email": f"p{sid}@example.cn",
                "phone": phone,
                # What contact_details.phone_key gives for a +86 13x mobile, without parsing
                # 60,000 numbers: the digits after the plus (tests/test_demo.py checks).
                "phone_key": "+" + phone[1:].replace(" ", ""),
                "consent": "given",
                "job_title": rng.choice(
                    ["HR Director", "CSR Manager", "EHS Manager", "Union Chair"]
                ),
            }
        )
        affiliation_rows.append(
            {
                "person_id": sid,
                "organisation_id": plan.first_id + rng.randrange(plan.organisations),
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
        )
    return stakeholder_rows, person_rows, affiliation_rows


def _add_activities(rng: random.Random, plan: _Plan) -> list[int]:
    """Activities over about three years from 2024; their ids, newest first."""
    activity_rows = []
    for i in range(plan.activities):
        start = date(2024, 1, 1) + timedelta(days=rng.randrange(1000))
        activity_rows.append(
            {
                "type": rng.choice(["training", "training", "forum", "dialogue", "webinar", "mou"]),
                "title": f"Activity {i}: responsible business conduct",
                "title_zh": f"负责任商业行为活动{i}",
                "status": "held" if start < NOW.date() else "planned",
                "start_on": start,
                "city": rng.choice(CITIES)[1],
                "sector": rng.choice(["electronics", "textile", "both"]),
                "unnamed_women": rng.randint(0, 10),
                "unnamed_men": rng.randint(0, 10),
                "unnamed_unspecified": 0,
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
        )
    _insert(Activity.__table__, activity_rows)
    return list(
        db.session.scalars(
            sa.select(Activity.id).order_by(Activity.id.desc()).limit(plan.activities)
        )
    )


def _add_participations(rng: random.Random, plan: _Plan, activity_ids: list[int]) -> None:
    """About 15 people per activity (a pair drawn twice is listed once)."""
    participation_rows = []
    seen: set[tuple[int, int]] = set()
    for _ in range(plan.activities * 15):
        pair = (rng.choice(activity_ids), plan.first_person_id + rng.randrange(plan.people))
        if pair in seen:
            continue
        seen.add(pair)
        participation_rows.append(
            {
                "activity_id": pair[0],
                "person_id": pair[1],
                "status": rng.choice(["attended", "attended", "registered", "no_show"]),
                "role": "participant",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    _insert(Participation.__table__, participation_rows)


def _add_interactions(rng: random.Random, plan: _Plan, activity_ids: list[int]) -> None:
    """Interactions over the 900 days before NOW, each with one or two stakeholders; one in
    twenty is about an activity. Written a chunk at a time (rows and links), with ids set here,
    so memory stays flat; PostgreSQL's id sequence is moved past them afterwards."""
    first = (db.session.scalar(sa.select(sa.func.max(Interaction.id))) or 0) + 1
    chunk = 5000
    for start in range(0, plan.interactions, chunk):
        interaction_rows, link_rows = [], []
        for i in range(start, min(start + chunk, plan.interactions)):
            interaction_rows.append(
                {
                    "id": first + i,
                    "occurred_at": NOW - timedelta(minutes=rng.randrange(60 * 24 * 900)),
                    "channel": rng.choice(["meeting", "call", "wechat", "email", "visit"]),
                    "direction": "outbound",
                    "subject": f"Follow-up on training {i % 997}",
                    "summary": "讨论了加班时长、工资和职业安全卫生。",
                    "is_confidential": i % 50 == 0,
                    "activity_id": rng.choice(activity_ids) if rng.random() < 0.05 else None,
                    "logged_by_id": rng.choice(plan.user_ids),
                    "created_by_id": rng.choice(plan.user_ids),
                    "created_at": NOW,
                    "updated_at": NOW,
                    "version": 1,
                }
            )
            for sid in {
                plan.first_id + rng.randrange(plan.stakeholders) for _ in range(rng.randint(1, 2))
            }:
                link_rows.append({"interaction_id": first + i, "stakeholder_id": sid})
        _insert(Interaction.__table__, interaction_rows)
        _insert(interaction_stakeholders, link_rows)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('interactions', 'id'), "
                "(SELECT MAX(id) FROM interactions))"
            )
        )


def _add_follow_ups(rng: random.Random, plan: _Plan) -> None:
    """Follow-ups due from 60 days before NOW to 90 days after, about half of them done."""
    follow_up_rows = []
    for i in range(plan.follow_ups):
        due = NOW.date() + timedelta(days=rng.randint(-60, 90))
        done = rng.random() < 0.5
        follow_up_rows.append(
            {
                "title": f"Send materials {i}",
                "due_on": due,
                "priority": rng.choice(["low", "normal", "normal", "high"]),
                "status": "done" if done else "open",
                "assignee_id": rng.choice(plan.user_ids),
                "stakeholder_id": plan.first_id + rng.randrange(plan.stakeholders),
                "completed_at": NOW if done else None,
                "created_by_id": rng.choice(plan.user_ids),
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
        )
    _insert(FollowUp.__table__, follow_up_rows)
