"""A large, deterministic data set for benchmarks (`flask crm generate --scale N`).

Scale 1 is about 20,000 organisations, 60,000 people, 3,000 activities, 300,000 interactions
and 60,000 follow-ups. Rows go in with bulk INSERTs (no per-row ORM work or audit events),
with the values the services store beside them (sector masks and link moments,
crm.services.sector_masks; last contacts and next follow-ups, crm.services.contact_dates),
which the generator knows as it draws the rows; then the duplicate pairs and the search index
are rebuilt, so the result is what a long-used database looks like to the queries, not how it
was written (tests/test_generate.py and tests/reports/test_stored_masks.py hold each stored
value to what the services compute). The same scale always yields the same rows.
"""

from __future__ import annotations

import functools
import logging
import operator
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

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
from crm.services import duplicates, interactions, search
from crm.services.sector_masks import SECTOR_BITS
from crm.services.text import pinyin, sort_key

log = logging.getLogger(__name__)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志伟文斌海燕雪梅俊峰鹏辉"
# (province code as crm.provinces stores it, city, city in Chinese)
CITIES = [
    ("guangdong", "Shenzhen", "深圳"),
    ("guangdong", "Dongguan", "东莞"),
    ("guangdong", "Guangzhou", "广州"),
    ("jiangsu", "Suzhou", "苏州"),
    ("jiangsu", "Wuxi", "无锡"),
    ("zhejiang", "Ningbo", "宁波"),
    ("zhejiang", "Shaoxing", "绍兴"),
    ("fujian", "Xiamen", "厦门"),
    ("shanghai", "Shanghai", "上海"),
    ("beijing", "Beijing", "北京"),
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

# The end of every generated organisation's Chinese name, after its number.
ORGANISATION_TAIL = "号有限公司"
# SQLite's page cache while generating (KiB): well within the 300 MB the generator may use.
PAGE_CACHE_KIB = 16 * 1024
# Every row carries the same moment: the data set must not depend on the day it is made.
NOW = datetime(2026, 11, 1, tzinfo=UTC)
# Bumped whenever the rows generated change: the benchmark keeps one data set per version.
DATA_VERSION = 5


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


@functools.cache
def _pinyin(text: str) -> tuple[str | None, str | None]:
    """`text.pinyin`, once per distinct text (60,000 people share about 45,000 names)."""
    return pinyin(text)


def _organisation_pinyin(prefix: str, number: int) -> tuple[str | None, str | None]:
    """`text.pinyin` of f"{prefix}{number}{ORGANISATION_TAIL}": the digits part the Han text
    into two runs, which pypinyin reads apart, so each run's pinyin is worked out once
    (tests/reports/test_stored_masks.py holds the result to `text.pinyin`)."""
    (full, initials), (tail, tail_initials) = _pinyin(prefix), _pinyin(ORGANISATION_TAIL)
    return f"{full} {number} {tail}", f"{initials}{number}{tail_initials}"


def _chunks(rows: list[dict[str, Any]], size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(table: sa.FromClause, rows: list[dict[str, Any]]) -> None:
    """INSERT the rows (all with the same keys), a chunk at a time.

    On SQLite, straight to the driver: SQLAlchemy's work per row (a parameter set built and
    each value converted by its column type) took a third of the time of the inserts, most of
    it converting the same few values (one moment, one status) again and again. Here each
    distinct value of a column is converted once, by that column type's own bind processor,
    so the driver receives what SQLAlchemy would have sent."""
    # A model's `__table__`: SQLAlchemy types it as any FromClause, but a plain model has a Table.
    assert isinstance(table, sa.Table)
    dialect = db.session.get_bind().dialect
    if not rows or dialect.name != "sqlite":
        for chunk in _chunks(rows):
            db.session.execute(sa.insert(table), chunk)
        return
    names = list(rows[0])
    compiled = sa.insert(table).values({n: sa.bindparam(n) for n in names}).compile(dialect=dialect)
    order = list(compiled.positiontup or ())
    assert sorted(order) == sorted(names), order
    values_of = operator.itemgetter(*order)
    typed = [
        (i, process)
        for i, name in enumerate(order)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    connection = db.session.connection()
    for chunk in _chunks(rows):
        converted: dict[tuple[int, Any], Any] = {}
        params = []
        for row in chunk:
            values = list(values_of(row))
            for i, process in typed:
                value = values[i]
                if value is not None:
                    key = (i, value)
                    if key not in converted:
                        converted[key] = process(value)
                    values[i] = converted[key]
            params.append(tuple(values))
        connection.exec_driver_sql(compiled.string, params)


def generate(*, scale: float = 1.0, seed: int = 2026) -> Generated:
    """Append a generated data set to the database and commit; returns the counts.

    One random generator, seeded, feeds every step in a fixed order: reordering the steps
    (or the draws inside one) changes the data set.
    """
    with _page_cache(PAGE_CACHE_KIB):
        return _generate(random.Random(seed), seed, scale)


@contextmanager
def _page_cache(kib: int) -> Iterator[None]:
    """On SQLite, a page cache of `kib` for the session's connection while generating: the
    default 2 MB holds little of the indexes the rows go into, and nearly every insert read
    its pages from the operating system again (an eighth of the generator's time went to
    those system calls). Set back afterwards."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        db.session.connection().exec_driver_sql(f"PRAGMA cache_size = {int(before or 0)}")


def _generate(rng: random.Random, seed: int, scale: float) -> Generated:
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
    masks = _add_stakeholders(rng, plan)
    activity_ids = _add_activities(rng, plan)
    _add_participations(rng, plan, activity_ids)
    last_contacts = _add_interactions(rng, plan, activity_ids, masks)
    _store_contact_dates(plan, last_contacts, _add_follow_ups(rng, plan))
    # Statistics first: without them PostgreSQL planned the rebuilds below as nested scans
    # of every interaction (still running after 29 minutes).
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    # Bulk INSERTs skip the services, which keep the duplicate pairs: compute them all.
    duplicates.rebuild()
    interactions.register_index()
    documents = search.rebuild()
    _pinyin.cache_clear()
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


def _add_stakeholders(rng: random.Random, plan: _Plan) -> list[int]:
    """Organisations, then people with one position each, with ids set here (bulk INSERTs
    return none); PostgreSQL's id sequence is moved past them afterwards. Returns their
    sector masks, by id from `plan.first_id`: every one is live, and so is each position."""
    stakeholder_rows, organisation_rows = _organisation_rows(rng, plan)
    masks = [row["sector_mask"] for row in stakeholder_rows]
    _insert(Stakeholder.__table__, stakeholder_rows)
    _insert(Organisation.__table__, organisation_rows)
    chunk = 5000  # people are written a chunk at a time: memory stays flat
    for start in range(0, plan.people, chunk):
        numbers = range(start, min(start + chunk, plan.people))
        person_stakeholder_rows, person_rows, affiliation_rows = _person_rows(
            rng, plan, numbers, masks
        )
        masks += [row["sector_mask"] for row in person_stakeholder_rows]
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
    return masks


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
        zh = f"{city_zh}{word_zh}{trade_zh}{i}{ORGANISATION_TAIL}"
        full, initials = _organisation_pinyin(f"{city_zh}{word_zh}{trade_zh}", i)
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
                "sector_mask": SECTOR_BITS[sector],
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
    rng: random.Random, plan: _Plan, numbers: range, masks: list[int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(stakeholder rows, person rows, affiliation rows) of the generated people `numbers`,
    each working at one of the generated organisations (`masks`: theirs, by number)."""
    stakeholder_rows, person_rows, affiliation_rows = [], [], []
    for i in numbers:
        family = SURNAMES[rng.randrange(len(SURNAMES))]
        given = GIVEN[rng.randrange(len(GIVEN))] + (
            GIVEN[rng.randrange(len(GIVEN))] if rng.random() < 0.6 else ""
        )
        zh = family + given
        full, initials = _pinyin(zh)
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
                "consent_reports": "unknown",
                "consent_publication": "unknown",
                "job_title": rng.choice(
                    ["HR Director", "CSR Manager", "EHS Manager", "Union Chair"]
                ),
            }
        )
        employer = rng.randrange(plan.organisations)
        stakeholder_rows[-1]["sector_mask"] = masks[employer]
        affiliation_rows.append(
            {
                "person_id": sid,
                "organisation_id": plan.first_id + employer,
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


def _add_interactions(
    rng: random.Random, plan: _Plan, activity_ids: list[int], masks: list[int]
) -> list[datetime | None]:
    """Interactions over the 900 days before NOW, each with one or two stakeholders; one in
    twenty is about an activity. Written a chunk at a time (rows and links), with ids set here,
    so memory stays flat; PostgreSQL's id sequence is moved past them afterwards. Each carries
    the union of its stakeholders' sector `masks`, each link its moment.

    Ids follow time, as in a log kept as things happen: the indexes that begin with the
    moment grow at their end instead of taking each row somewhere in the middle, and the
    links go in by stakeholder, chunk by chunk (a third of the generator's time went there).
    Returns each stakeholder's last contact, by number from `plan.first_id`."""
    first = (db.session.scalar(sa.select(sa.func.max(Interaction.id))) or 0) + 1
    last: list[datetime | None] = [None] * plan.stakeholders
    ago = sorted((rng.randrange(60 * 24 * 900) for _ in range(plan.interactions)), reverse=True)
    chunk = 5000
    for start in range(0, plan.interactions, chunk):
        interaction_rows, link_rows = [], []
        for i in range(start, min(start + chunk, plan.interactions)):
            moment = NOW - timedelta(minutes=ago[i])
            interaction_rows.append(
                {
                    "id": first + i,
                    "occurred_at": moment,
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
            mask = 0
            for sid in {
                plan.first_id + rng.randrange(plan.stakeholders) for _ in range(rng.randint(1, 2))
            }:
                mask |= masks[sid - plan.first_id]
                last[sid - plan.first_id] = moment  # the latest yet: moments only grow
                link_rows.append(
                    {"interaction_id": first + i, "stakeholder_id": sid, "occurred_at": moment}
                )
            interaction_rows[-1]["sector_mask"] = mask
        _insert(Interaction.__table__, interaction_rows)
        link_rows.sort(key=lambda row: row["stakeholder_id"])
        _insert(interaction_stakeholders, link_rows)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('interactions', 'id'), "
                "(SELECT MAX(id) FROM interactions))"
            )
        )
    return last


def _add_follow_ups(rng: random.Random, plan: _Plan) -> list[date | None]:
    """Follow-ups due from 60 days before NOW to 90 days after, about half of them done.
    Returns each stakeholder's next follow-up (the earliest open one), by number."""
    soonest: list[date | None] = [None] * plan.stakeholders
    follow_up_rows = []
    for i in range(plan.follow_ups):
        due = NOW.date() + timedelta(days=rng.randint(-60, 90))
        done = rng.random() < 0.5
        priority = rng.choice(["low", "normal", "normal", "high"])
        assignee = rng.choice(plan.user_ids)
        number = rng.randrange(plan.stakeholders)
        follow_up_rows.append(
            {
                "title": f"Send materials {i}",
                "due_on": due,
                "priority": priority,
                "status": "done" if done else "open",
                "assignee_id": assignee,
                "stakeholder_id": plan.first_id + number,
                "completed_at": NOW if done else None,
                "created_by_id": rng.choice(plan.user_ids),
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
        )
        earliest = soonest[number]
        if not done and (earliest is None or due < earliest):
            soonest[number] = due
    _insert(FollowUp.__table__, follow_up_rows)
    return soonest


def _store_contact_dates(
    plan: _Plan, last: list[datetime | None], soonest: list[date | None]
) -> None:
    """The stored contact dates (crm.services.contact_dates) of the generated stakeholders,
    from what the generator drew: one executemany UPDATE, for those that have one."""
    stakeholders = cast(sa.Table, Stakeholder.__table__)
    rows = [
        {"number_id": plan.first_id + n, "last": when, "next": due}
        for n, (when, due) in enumerate(zip(last, soonest, strict=True))
        if when is not None or due is not None
    ]
    stmt = (
        sa.update(stakeholders)
        .where(stakeholders.c.id == sa.bindparam("number_id"))
        .values(last_contacted_at=sa.bindparam("last"), next_follow_up_on=sa.bindparam("next"))
    )
    for chunk in _chunks(rows):
        db.session.execute(stmt, chunk)
