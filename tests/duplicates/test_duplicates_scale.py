"""/duplicates at a programme's scale (issue "Instant at a regional programme's scale"): the
pairs are stored, kept true by every write, recomputed the same way by `rebuild` and by the
migration, and read one page at a time with a statement count that does not grow."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask, current_app

from crm.access import Role
from crm.blueprints.duplicates import views
from crm.extensions import db
from crm.models import (
    Affiliation,
    ContactDetail,
    DuplicatePair,
    Organisation,
    Person,
    Stakeholder,
    User,
)
from crm.services import duplicates, stakeholders

MIGRATION = "e9f3a5b7c1d4"  # migrations/versions/20261206_e9f3a5b7c1d4_duplicate_indexes.py
PAIR = re.compile(r"first=(\d+)&amp;second=(\d+)")
NEXT = re.compile(r'href="([^"]+)" rel="next"')
FAMILY = ["Zhao", "Qian", "Sun", "Li", "Zhou", "Wu", "Zheng", "Feng", "Chen", "Chu", "Wei", "Jiang"]


def _pairs(html: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in PAIR.findall(html)]


def _phone_pairs(
    make_person: Callable[..., Person], in_app: Callable[[], Any], count: int, start: int = 0
) -> None:
    """`count` pairs of people, each pair sharing a mobile number and nothing else; the pairs
    computed as the generator does (the tests below check that every write keeps them)."""
    for n in range(start, start + count):
        for given in ("Ming", "Hong"):
            family = FAMILY[n % len(FAMILY)] + "ab"[n // len(FAMILY) % 2] * (n // 24 + 1)
            make_person(family_name=family, given_name=given, phone=f"+86 139 0000 {n:04d}")
    with in_app():
        duplicates.rebuild()


def _stored(in_app: Callable[[], Any]) -> set[tuple[int, int, str, int]]:
    with in_app():
        rows = db.session.execute(
            sa.select(
                DuplicatePair.first_id,
                DuplicatePair.second_id,
                DuplicatePair.kind,
                DuplicatePair.rank,
            )
        ).all()
        return {(a, b, str(kind), rank) for a, b, kind, rank in rows}


# --- Reading: pages, bad input, statements ----------------------------------------------------


def test_coordinator_can_page_through_every_pair(login_as, make_person, in_app, monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    _phone_pairs(make_person, in_app, 5)
    client = login_as("coordinator")
    url: str | None = "/duplicates?kind=person"
    pages = []
    while url is not None:
        response = client.get(url.replace("&amp;", "&"))
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        pages.append(_pairs(html))
        assert ("First page" in html) is (len(pages) > 1)
        found = NEXT.search(html)
        url = found.group(1) if found else None
    assert [len(p) for p in pages] == [2, 2, 1]
    shown = [pair for page in pages for pair in page]
    assert len(set(shown)) == 5 and shown == sorted(shown)  # all the phone pairs, oldest first


@pytest.mark.parametrize(
    "query",
    [
        "after=x",
        "after=1-2",
        "after=1-2-3-4",
        "after=-1-2-3",
        "after=" + "9" * 30 + "-1-1",
        "after=%D9%A1-%D9%A2-%D9%A3",  # Arabic-Indic digits
        "page=1000000000",
    ],
)
def test_a_cursor_that_is_not_one_shows_the_first_page(login_as, make_person, in_app, query):
    _phone_pairs(make_person, in_app, 1)
    response = login_as("coordinator").get(f"/duplicates?kind=person&{query}")
    assert response.status_code == 200
    assert len(_pairs(response.get_data(as_text=True))) == 1


def test_a_page_past_the_last_says_so(login_as, make_person, in_app):
    _phone_pairs(make_person, in_app, 1)
    response = login_as("coordinator").get(
        "/duplicates?kind=person&after=4-999999999999-999999999999"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No more likely duplicates." in html and _pairs(html) == []
    assert 'href="/duplicates?kind=person"' in html  # back to the first page


def test_an_unknown_kind_lists_organisations(login_as):
    response = login_as("coordinator").get("/duplicates?kind=robots")
    assert response.status_code == 200
    assert "No likely duplicates found." in response.get_data(as_text=True)


def test_the_statement_count_does_not_grow_with_the_pairs(
    login_as, make_person, make_organisation, in_app, count_queries, monkeypatch
):
    monkeypatch.setattr(views, "PER_PAGE", 3)
    client = login_as("coordinator")
    paths = ["/duplicates?kind=person", "/duplicates", "/duplicates?kind=person&after=1-1-1"]

    def statements() -> list[int]:
        counts = []
        for path in paths:
            with count_queries() as counter:
                assert client.get(path).status_code == 200
            counts.append(counter.count)
        return counts

    _phone_pairs(make_person, in_app, 1)
    few = statements()
    for n in range(4):
        make_organisation(display_name=f"Harmony Garments {n}")
        make_organisation(display_name=f"Harmony Garments {n} Co., Ltd.")
    _phone_pairs(make_person, in_app, 8, start=1)
    assert statements() == few
    assert max(few) <= 15


# --- Writing: the stored pairs follow every write ------------------------------------------------


def test_the_pairs_follow_edits_the_trash_and_merges(login_as, make_person, in_app, actor):
    first = make_person(family_name="Zhao", given_name="Lei", email="lei@harmony.cn")
    second = make_person(family_name="Qian", given_name="Yu", email="yu@harmony.cn")
    assert _stored(in_app) == set()
    with in_app():
        admin = db.session.get(User, actor.id)
        record = db.session.get(Person, second.id)
        stakeholders.update(
            record, {"email": "LEI@harmony.cn"}, version=record.version, actor=admin
        )
    assert _stored(in_app) == {(first.id, second.id, "person", 0)}
    with in_app():
        stakeholders.delete(db.session.get(Person, second.id), actor=db.session.get(User, actor.id))
    assert _stored(in_app) == set()
    with in_app():
        stakeholders.restore(
            db.session.get(Person, second.id), actor=db.session.get(User, actor.id)
        )
    assert _stored(in_app) == {(first.id, second.id, "person", 0)}

    third = make_person(family_name="Sun", given_name="Li", email="lei@harmony.cn")
    assert len(_stored(in_app)) == 3
    client = login_as("coordinator")
    page = client.get("/duplicates?kind=person").get_data(as_text=True)
    assert _pairs(page) == [(first.id, second.id), (first.id, third.id)]  # next to the oldest
    with in_app():
        versions = [db.session.get(Person, i).version for i in (first.id, second.id)]
    merged = client.post(
        "/duplicates/merge",
        data={
            "first": first.id,
            "second": second.id,
            "survivor_version": versions[0],
            "other_version": versions[1],
        },
    )
    assert merged.status_code == 302
    assert _stored(in_app) == {(first.id, third.id, "person", 0)}


def test_a_name_pair_follows_the_employers(make_person, make_organisation, in_app, actor):
    """王芳 at one factory is not 王芳 at another, until she leaves it."""
    harmony = make_organisation(display_name="Harmony Garments")
    bright = make_organisation(display_name="Bright Electronics")
    one = make_person(chinese_name="王芳")
    other = make_person(chinese_name="王芳", family_name="Wang", given_name="Fang")
    assert {pair[:2] for pair in _stored(in_app)} == {(one.id, other.id)}  # no employer yet
    with in_app():
        admin = db.session.get(User, actor.id)
        for person, employer in ((one, harmony), (other, bright)):
            stakeholders.add_affiliation(
                db.session.get(Person, person.id),
                organisation_id=employer.id,
                title=None,
                start_on=None,
                end_on=None,
                actor=admin,
            )
    assert _stored(in_app) == set()
    with in_app():
        position = db.session.scalar(sa.select(Affiliation).filter_by(person_id=other.id))
        stakeholders.end_affiliation(
            position, end_on=date(2026, 3, 1), actor=db.session.get(User, actor.id)
        )
    assert _stored(in_app) == {(one.id, other.id, "person", 3)}  # the same Chinese name


# --- One verdict: refresh, rebuild and the migration agree ---------------------------------------


def _varied_records(make_person, make_organisation, in_app, actor) -> None:
    """Records that exercise every rule: further contact details, WeChat IDs in another case,
    namesakes at the same, another, a trashed or no employer, organisations whose English
    name reduces to another's Chinese name, records in the trash."""
    harmony = make_organisation(display_name="Harmony Garments", chinese_name="和谐服装有限公司")
    make_organisation(display_name="Harmony Garments Co., Ltd.")
    make_organisation(display_name="和谐服装", chinese_name="和谐服装股份有限公司")
    bright = make_organisation(display_name="Bright Electronics")
    gone = make_organisation(display_name="Gone Factory")
    people = [
        make_person(chinese_name="王芳", email="wf@a.cn"),
        make_person(chinese_name="王芳", wechat_id="WangFang88"),
        make_person(family_name="Wang", given_name="Fang", wechat_id="wangfang88"),
        make_person(chinese_name="王芳", phone="13812345678"),
        make_person(family_name="Fang", given_name="Wang"),
        make_person(chinese_name="李娜", email="lina@b.cn"),
        make_person(chinese_name="李娜"),
        make_person(family_name="Chen", given_name="Gang", email="old@c.cn"),
        make_person(family_name="Liu", given_name="Yang"),
    ]
    with in_app():
        admin = db.session.get(User, actor.id)
        employers = [harmony, harmony, bright, harmony, None, bright, gone, None, None]
        for person, employer in zip(people, employers, strict=True):
            if employer is not None:
                stakeholders.add_affiliation(
                    db.session.get(Person, person.id),
                    organisation_id=employer.id,
                    title=None,
                    start_on=None,
                    end_on=None,
                    actor=admin,
                )
        db.session.add(
            ContactDetail(
                person_id=people[8].id, kind="email", value="old@c.cn", value_key="old@c.cn"
            )
        )
        db.session.commit()
        stakeholders.delete(db.session.get(Organisation, gone.id), actor=admin)
        stakeholders.delete(db.session.get(Person, people[3].id), actor=admin)


def test_refresh_and_rebuild_find_the_same_pairs(make_person, make_organisation, in_app, actor):
    _varied_records(make_person, make_organisation, in_app, actor)
    with in_app():
        ids = db.session.scalars(sa.select(Stakeholder.id)).all()
        db.session.execute(sa.delete(DuplicatePair))
        duplicates.refresh(ids)
        db.session.commit()
    kept = _stored(in_app)
    with in_app():
        duplicates.rebuild()
    assert _stored(in_app) == kept
    kinds_and_ranks = {(kind, rank) for _a, _b, kind, rank in kept}
    # email (a further detail), WeChat ID (another case), the Chinese name and the name of
    # people; the Chinese name and the name of organisations
    assert kinds_and_ranks == {
        ("person", 0),
        ("person", 2),
        ("person", 3),
        ("person", 4),
        ("organisation", 3),
        ("organisation", 4),
    }


@pytest.fixture
def migrated_admin(migrated_app: Flask) -> Iterator[Flask]:
    with migrated_app.app_context():
        admin = User(email="admin@example.org", name="Admin", role=Role.admin, password_hash="x")
        admin.session_token = "t"
        db.session.add(admin)
        db.session.commit()
    yield migrated_app


def test_the_migration_finds_the_pairs_rebuild_finds(migrated_admin: Flask) -> None:
    with migrated_admin.app_context():
        admin = db.session.scalar(sa.select(User))
        for data in (
            {"chinese_name": "王芳", "email": "wf@a.cn"},
            {"family_name": "Wang", "given_name": "Fang", "email": "WF@a.cn"},
            {"chinese_name": "王芳", "wechat_id": "wf88"},
            {"family_name": "Li", "given_name": "Na"},
        ):
            stakeholders.create_person(data, actor=admin, allow_duplicate=True)
        for name in ("Harmony Garments", "Harmony Garments Co., Ltd.", "Bright Electronics"):
            stakeholders.create_organisation(
                {"display_name": name, "org_type": "enterprise"}, actor=admin, allow_duplicate=True
            )
        duplicates.rebuild()
        query = sa.select(DuplicatePair.first_id, DuplicatePair.second_id, DuplicatePair.rank)
        rebuilt = sorted(db.session.execute(query).all())
        config = current_app.extensions["migrate"].migrate.get_config()
        before = ScriptDirectory.from_config(config).get_revision(MIGRATION).down_revision
        db.session.remove()
        # The app's session must not hold a transaction: the downgrade drops indexes, which
        # waits for every reader of the table on PostgreSQL.
        db.session.remove()
        flask_migrate.downgrade(revision=before)
        assert "duplicate_pairs" not in sa.inspect(db.engine).get_table_names()
        db.session.remove()  # as before the downgrade: no transaction left open
        flask_migrate.upgrade()
        assert sorted(db.session.execute(query).all()) == rebuilt
    # the email (0), the Chinese name (3) and the name (4) of people; organisations by name
    assert sorted(rank for _a, _b, rank in rebuilt) == [0, 3, 4, 4]
