"""Stored sector masks and link moments (crm.services.sector_masks): every kind of write keeps
them equal to what a rebuild from the records computes, in the same transaction, without
touching any record's version; the migration fills them and takes them away again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import flask_migrate
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app

from crm.access import Role
from crm.extensions import db
from crm.models import (
    Affiliation,
    Interaction,
    Organisation,
    Person,
    Stakeholder,
    User,
    interaction_stakeholders,
)
from crm.services import imports, interactions, merge, sector_masks, stakeholders

ELECTRONICS, TEXTILE, BOTH = 1, 2, 4  # sector_masks.SECTOR_BITS
MARCH = datetime(2026, 3, 4, 2, tzinfo=UTC)
MIGRATION = "b8d0f2a4c6e3"  # migrations/versions/20261210_b8d0f2a4c6e3_stored_sector_masks.py


def _admin() -> User:
    return db.session.scalar(sa.select(User).where(User.role == Role.admin).limit(1))


def _pairs(*columns: Any) -> dict[Any, Any]:
    return {key: value for key, value in db.session.execute(sa.select(*columns))}


def _stored() -> dict[str, Any]:
    """Every stored value, as the database holds it."""
    db.session.expire_all()
    links = interaction_stakeholders.c
    return {
        "stakeholders": _pairs(Stakeholder.id, Stakeholder.sector_mask),
        "interactions": _pairs(Interaction.id, Interaction.sector_mask),
        "links": {
            (i, s): at
            for i, s, at in db.session.execute(
                sa.select(links.interaction_id, links.stakeholder_id, links.occurred_at)
            )
        },
        "versions": _pairs(Stakeholder.id, Stakeholder.version),
    }


def _assert_consistent() -> dict[str, Any]:
    """The stored values are what a rebuild from the records gives (a rebuild changes none);
    returns them."""
    before = _stored()
    sector_masks.rebuild()
    assert _stored() == before
    return before


def _masks(*ids: int) -> list[int]:
    found = _stored()["stakeholders"]
    return [found[i] for i in ids]


def _interaction_masks(*ids: int) -> list[int]:
    found = _stored()["interactions"]
    return [found[i] for i in ids]


def _organisation(name: str, sector: str | None, admin: User) -> Organisation:
    data = {"display_name": name, "org_type": "enterprise", "sector": sector}
    return stakeholders.create_organisation(data, actor=admin, allow_duplicate=True)


def _person(name: str, admin: User, *employers: Organisation) -> Person:
    data = {"family_name": "Test", "given_name": name}
    person = stakeholders.create_person(data, actor=admin, allow_duplicate=True)
    for employer in employers:
        stakeholders.add_affiliation(
            person, organisation_id=employer.id, title=None, start_on=None, end_on=None, actor=admin
        )
    return person


def _log(admin: User, *who: Stakeholder, when: datetime = MARCH) -> Interaction:
    data = {
        "occurred_at": when,
        "channel": "meeting",
        "subject": "Wage dialogue",
        "stakeholder_ids": [s.id for s in who],
    }
    return interactions.log_interaction(data, actor=admin)


def test_every_write_keeps_the_stored_masks_as_a_rebuild_computes_them(app, make_user):
    make_user(Role.admin)
    with app.app_context():
        admin = _admin()
        mill = _organisation("Mill", "textile", admin)
        works = _organisation("Works", "electronics", admin)
        bureau = _organisation("Bureau", None, admin)
        ai = _person("Ai", admin, mill)
        bo = _person("Bo", admin, mill, works)
        cui = _person("Cui", admin)
        first = _log(admin, ai, bureau)
        second = _log(admin, bo)
        third = _log(admin, cui, works)
        stored = _assert_consistent()
        assert _masks(mill.id, works.id, bureau.id, ai.id, bo.id, cui.id) == [
            TEXTILE,
            ELECTRONICS,
            0,
            TEXTILE,
            TEXTILE | ELECTRONICS,
            0,
        ]
        assert _interaction_masks(first.id, second.id, third.id) == [
            TEXTILE,
            TEXTILE | ELECTRONICS,
            ELECTRONICS,
        ]
        assert stored["links"][(first.id, ai.id)] == MARCH
        versions = stored["versions"]

        # An organisation's sector moves its own mask, its employees' and their interactions'.
        mill = db.session.get(Organisation, mill.id)
        stakeholders.update(mill, {"sector": "both"}, version=mill.version, actor=admin)
        _assert_consistent()
        assert _masks(mill.id, ai.id, bo.id) == [BOTH, BOTH, BOTH | ELECTRONICS]
        assert _interaction_masks(first.id, second.id) == [BOTH, BOTH | ELECTRONICS]
        # ... without touching anyone else's version.
        after = _stored()["versions"]
        assert {k: v for k, v in after.items() if k != mill.id} == {
            k: v for k, v in versions.items() if k != mill.id
        }

        # An organisation in the trash counts for no one; back, it counts again; purged, gone.
        stakeholders.delete(db.session.get(Organisation, works.id), actor=admin)
        _assert_consistent()
        assert _masks(bo.id) == [BOTH]
        assert _interaction_masks(second.id, third.id) == [BOTH, 0]
        stakeholders.restore(db.session.get(Organisation, works.id), actor=admin)
        _assert_consistent()
        assert _masks(bo.id) == [BOTH | ELECTRONICS]
        assert _interaction_masks(third.id) == [ELECTRONICS]
        stakeholders.delete(db.session.get(Organisation, works.id), actor=admin)
        stakeholders.purge(db.session.get(Organisation, works.id), actor=admin)
        _assert_consistent()
        assert _masks(bo.id) == [BOTH]

        # Positions: added, ended, put in the trash.
        stakeholders.add_affiliation(
            db.session.get(Person, cui.id),
            organisation_id=mill.id,
            title=None,
            start_on=None,
            end_on=None,
            actor=admin,
        )
        _assert_consistent()
        assert _masks(cui.id) == [BOTH]
        assert _interaction_masks(third.id) == [BOTH]
        position = db.session.scalar(sa.select(Affiliation).where(Affiliation.person_id == ai.id))
        stakeholders.end_affiliation(position, end_on=date(2026, 3, 1), actor=admin)
        _assert_consistent()
        assert _masks(ai.id) == [0]
        position = db.session.scalar(sa.select(Affiliation).where(Affiliation.person_id == cui.id))
        position.deleted_at = datetime.now(UTC)  # no service trashes a position: the ORM
        db.session.commit()
        _assert_consistent()
        assert _masks(cui.id) == [0]

        # A person in the trash no longer colours their interactions.
        stakeholders.delete(db.session.get(Person, bo.id), actor=admin)
        _assert_consistent()
        assert _interaction_masks(second.id) == [0]

        # Interactions: other stakeholders, another moment, the trash and back.
        edited = db.session.get(Interaction, first.id)
        interactions.update(
            edited, {"stakeholder_ids": [mill.id]}, version=edited.version, actor=admin
        )
        _assert_consistent()
        assert _interaction_masks(first.id) == [BOTH]
        later = datetime(2026, 5, 1, 2, tzinfo=UTC)
        edited = db.session.get(Interaction, first.id)
        interactions.update(edited, {"occurred_at": later}, version=edited.version, actor=admin)
        assert _assert_consistent()["links"][(first.id, mill.id)] == later
        interactions.delete(db.session.get(Interaction, first.id), actor=admin)
        assert _assert_consistent()["links"][(first.id, mill.id)] is None
        interactions.restore(db.session.get(Interaction, first.id), actor=admin)
        assert _assert_consistent()["links"][(first.id, mill.id)] == later
        interactions.delete(db.session.get(Interaction, first.id), actor=admin)
        interactions.purge(db.session.get(Interaction, first.id), actor=admin)
        _assert_consistent()


def test_merges_and_imports_keep_the_stored_masks(app, make_user):
    make_user(Role.admin)
    with app.app_context():
        admin = _admin()
        silk = _organisation("Silk Garments", "textile", admin)
        chips = _organisation("Chips Electronics", "electronics", admin)
        ai = _person("Ai", admin, chips)
        bo = _person("Bo", admin, silk)
        about_chips = _log(admin, chips)
        about_ai = _log(admin, ai)
        _assert_consistent()

        # Two organisations: the merged one's employees and interactions move to the survivor.
        merge.merge(
            db.session.get(Organisation, silk.id),
            db.session.get(Organisation, chips.id),
            actor=admin,
        )
        _assert_consistent()
        assert _masks(ai.id, bo.id) == [TEXTILE, TEXTILE]
        assert _interaction_masks(about_chips.id, about_ai.id) == [TEXTILE, TEXTILE]

        # Two people: the survivor takes the other's positions.
        works = _organisation("Works", "electronics", admin)
        cui = _person("Cui", admin, works)
        about_cui = _log(admin, cui)
        merge.merge(db.session.get(Person, bo.id), db.session.get(Person, cui.id), actor=admin)
        _assert_consistent()
        assert _masks(bo.id) == [TEXTILE | ELECTRONICS]
        assert _interaction_masks(about_cui.id) == [TEXTILE | ELECTRONICS]

        # An import of people with their employers (existing and new organisations).
        sheet = "姓名,单位\n王芳,Works\n李娜,Silk Garments\n张伟,全新公司\n".encode()
        report = imports.run(imports.read_table(sheet, "people.csv"), kind="people", actor=admin)
        assert len(report.created) == 3
        _assert_consistent()
        people = dict(
            db.session.execute(
                sa.select(Person.chinese_name, Person.sector_mask).where(
                    Person.chinese_name.in_(["王芳", "李娜", "张伟"])
                )
            ).all()
        )
        assert people == {"王芳": ELECTRONICS, "李娜": TEXTILE, "张伟": 0}


def test_the_generator_writes_the_stored_masks_a_rebuild_computes(app):
    from crm.demo import generate
    from crm.services.text import pinyin

    with app.app_context():
        generate.generate(scale=0.0025, seed=3)
        stored = _assert_consistent()
        assert any(stored["stakeholders"].values()) and any(stored["interactions"].values())
        assert all(at is not None for at in stored["links"].values())
        # The pinyin it works out a part at a time (and once per name) is the services'.
        names = db.session.execute(
            sa.select(Stakeholder.chinese_name, Stakeholder.name_pinyin, Stakeholder.name_initials)
        ).all()
        assert len(names) == 200
        assert all(pinyin(chinese) == (full, initials) for chinese, full, initials in names)
        # Its rows hold values as SQLAlchemy writes them (SQLite keeps moments as text).
        someone = db.session.scalars(sa.select(Stakeholder).limit(1)).one()
        logged = _log(db.session.scalars(sa.select(User)).first(), someone)
        raw = "SELECT occurred_at, created_at, channel, is_confidential FROM interactions"
        written = db.session.execute(sa.text(f"{raw} WHERE id = :id"), {"id": logged.id}).one()
        for row in db.session.execute(sa.text(f"{raw} WHERE id < :id"), {"id": logged.id}):
            assert [type(v) for v in row] == [type(v) for v in written]
            if isinstance(written[0], str):  # SQLite: as many digits, the same separators
                assert [len(v) for v in row[:2]] == [len(v) for v in written[:2]]


def test_the_migration_fills_the_stored_masks_and_takes_them_away(migrated_app):
    with migrated_app.app_context():
        admin = User(email="admin@example.org", name="Admin", role=Role.admin, password_hash="x")
        admin.session_token = "t"
        db.session.add(admin)
        db.session.commit()
        mill = _organisation("Mill", "textile", admin)
        ai = _person("Ai", admin, mill)
        met = _log(admin, ai)
        link = (met.id, ai.id)
        expected = _stored()
        assert expected["stakeholders"][ai.id] == TEXTILE
        assert expected["links"][link] == MARCH
        config = current_app.extensions["migrate"].migrate.get_config()
        before = ScriptDirectory.from_config(config).get_revision(MIGRATION).down_revision
        db.session.remove()  # no transaction left open: the downgrade drops indexes
        flask_migrate.downgrade(revision=before)
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("interactions")}
        assert "sector_mask" not in columns
        db.session.remove()
        flask_migrate.upgrade()
        db.session.remove()
        assert _stored() == expected


def test_stakeholders_engaged_count_alike_whichever_way_the_periods_are_told_apart(
    app, known, monkeypatch
):
    """One period (a probe each), a few (a mask of stretches), more than a mask can hold (a
    probe per period): the same counts."""
    from crm.services.reporting.indicators import tallies
    from crm.services.reporting.periods import quarters, whole_year

    periods = [*quarters(2026), whole_year(2026)]
    with app.app_context():
        masked = tallies.tally("stakeholders_engaged", periods, timezone="Asia/Shanghai")
        alone = [
            tallies.tally("stakeholders_engaged", [p], timezone="Asia/Shanghai") for p in periods
        ]
        monkeypatch.setattr(tallies, "MAX_BITS", 0)
        probed = tallies.tally("stakeholders_engaged", periods, timezone="Asia/Shanghai")
    assert probed.parts == masked.parts
    for k, single in enumerate(alone):
        assert {
            part: {key: v[0] for key, v in found.items()} for part, found in single.parts.items()
        } == {
            part: {key: v[k] for key, v in found.items() if v[k] or key in single.parts[part]}
            for part, found in masked.parts.items()
        }
    assert masked.named(0) > 0 and masked.named(4) >= masked.named(0)
