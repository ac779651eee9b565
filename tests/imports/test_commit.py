"""Writing an import: through the stakeholder service, per-row choices, all or nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Affiliation,
    AuditEvent,
    ImportBatch,
    ImportStatus,
    Organisation,
    Person,
    SearchDocument,
    Tag,
    User,
)
from crm.services import imports, search, stakeholders
from crm.services.errors import Conflict, InvalidInput
from tests.imports.conftest import counts, csv_bytes

PEOPLE = [
    ["姓名", "性别", "单位", "职务", "手机", "邮箱", "标签"],
    [
        "王芳",
        "女",
        "东莞和谐服装股份有限公司",
        "人事经理",
        "13800138000",
        "wf@example.cn",
        "培训2026",
    ],
    ["张磊", "男", "新成立纺织厂", "厂长", "", "", ""],
    ["李娜", "女", "新成立纺织厂", "", "", "li.na@example.cn", ""],
]


def _table(rows) -> imports.Table:  # type: ignore[no-untyped-def]
    return imports.read_table(csv_bytes(rows), "people.csv")


@pytest.fixture
def harmony(make_organisation):  # type: ignore[no-untyped-def]
    return make_organisation(
        display_name="东莞和谐服装有限公司", org_type="enterprise", sector="textile"
    )


def test_people_are_created_with_pinyin_keys_search_audit_and_positions(
    in_app, coordinator, harmony
):
    with in_app():
        actor = db.session.get(User, coordinator.id)
        report = imports.run(_table(PEOPLE), kind="people", actor=actor)
        assert [(line.row, line.label) for line in report.created] == [
            (2, "王芳"),
            (3, "张磊"),
            (4, "李娜"),
        ]
        assert report.updated == () and report.skipped == ()
        # One new organisation for two rows; the existing one is found without its suffix.
        assert [(line.row, line.label) for line in report.organisations_created] == [
            (3, "新成立纺织厂")
        ]
    with in_app():
        wang = db.session.scalar(sa.select(Person).where(Person.chinese_name == "王芳"))
        assert wang.gender == "female" and wang.email == "wf@example.cn"
        assert wang.name_pinyin == "wang fang" and wang.name_initials == "wf"
        assert (
            wang.match_key == "fangwang"
        )  # family and given name in alphabetical order and wang.phone_key == "+8613800138000"
        assert wang.created_by_id == coordinator.id
        assert [t.name for t in wang.tags] == ["培训2026"]
        (position,) = wang.affiliations
        assert position.organisation_id == harmony.id and position.title == "人事经理"
        new_org = db.session.scalar(
            sa.select(Organisation).where(Organisation.display_name == "新成立纺织厂")
        )
        assert new_org.org_type == "other" and new_org.chinese_name == "新成立纺织厂"
        assert {
            a.person.chinese_name for a in stakeholders.affiliations_of_organisation(new_org)
        } == {
            "张磊",
            "李娜",
        }
        assert search.search("wf").groups["person"][0].entity_id == wang.id
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.entity_type == "people", AuditEvent.entity_id == wang.id
            )
        ).all()
        assert sorted(actions) == ["create", "update"]  # created, then the position added


def test_organisations_are_created_with_a_default_type(in_app, coordinator):
    rows = [
        ["单位名称", "行业", "城市"],
        ["华为技术有限公司", "电子", "深圳"],
        ["Acme Ltd", "", ""],
    ]
    with in_app():
        report = imports.run(
            _table(rows), kind="organisations", actor=db.session.get(User, coordinator.id)
        )
        assert len(report.created) == 2
    with in_app():
        huawei = db.session.get(Organisation, report.created[0].id)
        assert (huawei.org_type, huawei.sector, huawei.city) == ("other", "electronics", "深圳")
        assert huawei.name_initials == "hwjsyxgs" and huawei.match_key == "华为技术"
        assert search.search("hw").groups["organisation"][0].entity_id == huawei.id


@pytest.fixture
def staged(in_app, coordinator, make_person, harmony):  # type: ignore[no-untyped-def]
    """A batch of four rows: 2 and 3 match existing people, 4 repeats 2, 5 is new."""
    wang = make_person(
        family_name=None,
        given_name=None,
        chinese_name="王芳",
        email="wf@example.cn",
        job_title="HR",
    )
    zhang = make_person(family_name="Zhang", given_name="Lei", wechat_id="zl88", tags=["old"])
    rows = [
        ["姓名", "邮箱", "微信", "职务", "标签", "单位"],
        ["王芳", "wf@example.cn", "", "", "", "东莞和谐服装有限公司"],
        ["Zhang Lei", "zl@example.cn", "zl88", "Manager", "new", ""],
        ["Wang Fang", "WF@example.cn", "", "", "", ""],
        ["赵晨", "zc@example.cn", "", "", "", ""],
    ]
    with in_app():
        batch = imports.stage(
            _table(rows),
            kind="people",
            filename="people.csv",
            actor=db.session.get(User, coordinator.id),
        )
        return {"batch": batch.id, "wang": wang.id, "zhang": zhang.id}


def _commit(staged, coordinator, **kwargs):  # type: ignore[no-untyped-def]
    batch = db.session.get(ImportBatch, staged["batch"])
    return imports.commit(batch, actor=db.session.get(User, coordinator.id), **kwargs)


def test_matched_rows_are_skipped_by_default_and_the_report_gives_row_numbers(
    in_app, coordinator, staged
):
    with in_app():
        report = _commit(staged, coordinator)
        assert [line.row for line in report.created] == [5]
        assert [(line.row, line.id) for line in report.skipped] == [
            (2, staged["wang"]),
            (3, staged["zhang"]),
            (4, staged["wang"]),  # "Wang Fang" has 王芳's email
        ]
        assert report.skipped[0].note == "matches 王芳"
    with in_app():
        batch = db.session.get(ImportBatch, staged["batch"])
        assert batch.status == ImportStatus.committed and batch.rows == []
        assert imports.report_of(batch).created[0].row == 5
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 3


def test_each_row_can_be_skipped_updated_or_created(in_app, coordinator, staged):
    with in_app():
        report = _commit(
            staged,
            coordinator,
            decisions={2: "skip", 3: f"update:{staged['zhang']}", 4: "create", 5: "skip"},
        )
        assert [line.row for line in report.updated] == [3]
        assert [line.row for line in report.created] == [4]
        assert [line.row for line in report.skipped] == [2, 5]
    with in_app():
        zhang = db.session.get(Person, staged["zhang"])
        # Non-empty cells overwrite, tags are added to the old ones.
        assert zhang.email == "zl@example.cn" and zhang.job_title == "Manager"
        assert sorted(t.name for t in zhang.tags) == ["new", "old"]
        assert zhang.version == 2
        created = db.session.get(Person, report.created[0].id)
        assert (created.family_name, created.given_name) == ("Wang", "Fang")


def test_update_for_all_keeps_empty_cells_from_erasing_values(in_app, coordinator, staged):
    with in_app():
        report = _commit(staged, coordinator, on_duplicate="update")
        # Row 4 has 王芳's email: it updates her as well.
        assert [(line.row, line.id) for line in report.updated] == [
            (2, staged["wang"]),
            (3, staged["zhang"]),
            (4, staged["wang"]),
        ]
        assert [line.row for line in report.created] == [5]
    with in_app():
        wang = db.session.get(Person, staged["wang"])
        assert wang.job_title == "HR"  # the empty 职务 cell did not erase it
        assert wang.family_name == "Wang" and wang.given_name == "Fang"  # from row 4
        (position,) = wang.affiliations
        assert position.organisation.display_name == "东莞和谐服装有限公司"


def test_create_for_all_creates_even_matched_rows(in_app, coordinator, staged):
    with in_app():
        report = _commit(staged, coordinator, on_duplicate="create")
        assert [line.row for line in report.created] == [2, 3, 4, 5]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 6


def test_a_failing_row_leaves_nothing_written(in_app, coordinator, staged, monkeypatch):
    with in_app():
        before = counts()
    calls = {"n": 0}
    real = imports.Writer.create  # each new record of a row

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise InvalidInput("Simulated failure.")
        return real(*args, **kwargs)

    monkeypatch.setattr(imports.Writer, "create", failing)
    with in_app():
        with pytest.raises(InvalidInput) as caught:
            _commit(staged, coordinator, on_duplicate="create")
        assert str(caught.value) == "Row 4: Simulated failure. Nothing was imported."
    with in_app():
        assert counts() == before
        batch = db.session.get(ImportBatch, staged["batch"])
        assert batch.status == ImportStatus.staged and len(batch.rows) == 4


def test_a_database_error_mid_import_leaves_nothing_written(
    in_app, coordinator, staged, monkeypatch
):
    with in_app():
        before = counts()

    def failing(real):  # type: ignore[no-untyped-def]
        def broken(stakeholder):  # type: ignore[no-untyped-def]
            document = real(stakeholder)
            if document.title == "赵晨":
                raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))
            return document

        return broken

    # Every record's index entry, new (written out in batches) or updated, is made here.
    monkeypatch.setattr(search, "document_for", failing(search.document_for))
    expected = re.escape("Row 5 could not be saved, so nothing was imported.")
    with in_app(), pytest.raises(InvalidInput, match=expected):
        _commit(staged, coordinator, on_duplicate="update")
    with in_app():
        assert counts() == before


def test_a_record_deleted_after_the_preview_stops_the_import(in_app, coordinator, staged, actor):
    with in_app():
        stakeholders.delete(
            db.session.get(Person, staged["zhang"]), actor=db.session.get(User, actor.id)
        )
        before = counts()
        with pytest.raises(
            InvalidInput, match="Row 3: the record chosen for the update no longer exists"
        ):
            _commit(staged, coordinator, decisions={3: f"update:{staged['zhang']}"})
        assert counts() == before


def test_rows_with_errors_stop_the_import_unless_skipped(in_app, coordinator):
    rows = [["姓名", "邮箱"], ["王芳", "bad"], ["李娜", "li@x.cn"]]
    with in_app():
        actor = db.session.get(User, coordinator.id)
        with pytest.raises(imports.RowsRejected) as caught:
            imports.run(_table(rows), kind="people", actor=actor)
        assert str(caught.value).startswith("1 row has errors, so nothing was imported.")
        assert [r.number for r in caught.value.preview.invalid] == [2]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
        report = imports.run(_table(rows), kind="people", actor=actor, skip_invalid=True)
        assert [line.row for line in report.created] == [3]
        assert report.skipped[0].row == 2 and "not an email address" in report.skipped[0].note


def test_a_dry_run_writes_nothing(in_app, coordinator, harmony):
    with in_app():
        before = counts()
        report = imports.run(
            _table(PEOPLE), kind="people", actor=db.session.get(User, coordinator.id), dry_run=True
        )
        assert report.dry_run and len(report.created) == 3
    with in_app():
        assert counts() == before


def test_a_batch_cannot_be_imported_twice(in_app, coordinator, staged):
    with in_app():
        _commit(staged, coordinator)
    with in_app():
        with pytest.raises(Conflict, match="already been imported"):
            _commit(staged, coordinator)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 3


def test_a_concurrent_second_commit_cannot_import_the_batch_again(in_app, coordinator, staged):
    """Two commits of one batch at once: PostgreSQL makes the second wait on the row lock;
    on SQLite, which has no row locks, the first one to save moves the version."""
    with in_app():
        batch = db.session.get(ImportBatch, staged["batch"])
        steps = imports.commit_steps(batch, actor=db.session.get(User, coordinator.id))
        second = (
            sa.update(ImportBatch)
            .where(ImportBatch.id == batch.id)
            .values(version=ImportBatch.version + 1, status="committed")
        )
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as other:
                other.execute(sa.text("SET lock_timeout = '200ms'"))
                with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                    other.execute(second)
            assert imports.finish(steps).created  # the first commit goes through
            return
        with db.engine.begin() as other:
            other.execute(second)  # another request imported the batch meanwhile
        with pytest.raises(Conflict):
            imports.finish(steps)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 2


def test_closing_the_steps_early_rolls_back(in_app, coordinator, staged):
    with in_app():
        before = counts()
        batch = db.session.get(ImportBatch, staged["batch"])
        steps = imports.commit_steps(
            batch, actor=db.session.get(User, coordinator.id), on_duplicate="create"
        )
        progress = [next(steps), next(steps)]
        assert progress[0] == imports.Progress(0, 4)
        steps.close()  # the browser went away
    with in_app():
        assert counts() == before
        assert db.session.get(ImportBatch, staged["batch"]).status == ImportStatus.staged


def test_progress_is_reported_while_writing(in_app, coordinator):
    rows = [["姓名"]] + [[f"人员{n}"] for n in range(250)]
    with in_app():
        seen: list[imports.Progress] = []
        imports.run(
            _table(rows),
            kind="people",
            actor=db.session.get(User, coordinator.id),
            progress=seen.append,
        )
        assert seen[0] == imports.Progress(0, 250) and seen[-1] == imports.Progress(250, 250)
        assert len(seen) > 100
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 250


def test_an_existing_position_is_not_added_twice(in_app, coordinator, harmony, make_person, actor):
    wang = make_person(
        family_name=None, given_name=None, chinese_name="王芳", email="wf@example.cn"
    )
    with in_app():
        stakeholders.add_affiliation(
            db.session.get(Person, wang.id),
            organisation_id=harmony.id,
            title="HR",
            start_on=None,
            end_on=None,
            actor=db.session.get(User, actor.id),
        )
        rows = [["姓名", "邮箱", "单位"], ["王芳", "wf@example.cn", "东莞和谐服装有限公司"]]
        report = imports.run(
            _table(rows),
            kind="people",
            actor=db.session.get(User, coordinator.id),
            on_duplicate="update",
        )
        assert [line.id for line in report.updated] == [wang.id]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Affiliation)) == 1


def test_the_row_numbers_of_the_report_read_as_ranges():
    assert imports.row_ranges([2, 3, 4, 7, 9, 10]) == "2–4, 7, 9–10"
    assert imports.row_ranges([]) == ""


def test_search_documents_follow_the_import(in_app, coordinator):
    with in_app():
        imports.run(_table(PEOPLE[:2]), kind="people", actor=db.session.get(User, coordinator.id))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchDocument)) == 2


def test_a_row_repeating_an_earlier_one_can_update_what_that_row_created(in_app, coordinator):
    rows = [
        ["姓名", "邮箱", "微信"],
        ["王芳", "wf@example.cn", ""],
        ["王芳", "WF@example.cn", "wangfang"],
    ]
    with in_app():
        actor = db.session.get(User, coordinator.id)
        report = imports.run(_table(rows), kind="people", actor=actor, on_duplicate="update")
        assert [line.row for line in report.created] == [2]
        assert [(line.row, line.id) for line in report.updated] == [(3, report.created[0].id)]
    with in_app():
        (wang,) = db.session.scalars(sa.select(Person)).all()
        assert wang.wechat_id == "wangfang"


def test_names_with_numbers_stay_whole(in_app, coordinator):
    rows = [["姓名"], ["人员1"], ["人员2"]]
    with in_app():
        report = imports.run(
            _table(rows), kind="people", actor=db.session.get(User, coordinator.id)
        )
        assert [line.label for line in report.created] == ["人员1", "人员2"]


def test_another_kind_of_import_reuses_the_people_pipeline(in_app, coordinator):
    """What the attendance import will do: people's fields, matching and writing, plus its own
    step per row, with options handed through (here a tag instead of an activity)."""
    from dataclasses import replace

    def write(writer, row, action, target):  # type: ignore[no-untyped-def]
        person = imports.write_person(writer, row, action, target)
        tags = sorted({t.name for t in person.tags} | {writer.options["tag"]})
        stakeholders.apply_changes(person, {"tags": tags}, actor=writer.actor)
        return person

    attendance = replace(imports.KINDS["people"], name="attendance", write=write)
    rows = [["2026年3月培训签到表"], ["姓名", "单位"], ["王芳", "和谐服装"], ["张磊", "和谐服装"]]
    with in_app():
        report = imports.run(
            _table(rows),
            kind=attendance,
            actor=db.session.get(User, coordinator.id),
            options={"tag": "培训 2026-03"},
        )
        assert [line.row for line in report.created] == [3, 4]
    with in_app():
        people = db.session.scalars(sa.select(Person).order_by(Person.id)).all()
        assert [[t.name for t in p.tags] for p in people] == [["培训 2026-03"]] * 2


def test_rows_are_written_in_batches_not_one_by_one(in_app, coordinator, count_queries):
    """Beyond the INSERT of each new record (one per record on SQLite, which cannot hand back
    the ids of many rows from one statement) and the matcher's lookups (a few per 100 rows),
    an import's statements do not grow with its rows: organisations, search entries, audit
    events and positions go many rows to a statement. Before, it took 7 or 8 per row."""

    def statements(first: int, count: int) -> int:
        rows = [["姓名", "单位", "职务", "手机", "邮箱", "标签"]] + [
            [f"人员{n}", f"第{n % 7}服装厂", "经理", f"139{n:08d}", f"p{n}@example.cn", "培训"]
            for n in range(first, first + count)
        ]
        with in_app(), count_queries() as counted:
            actor = db.session.get(User, coordinator.id)
            report = imports.run(_table(rows), kind="people", actor=actor)
            assert len(report.created) == count
        return counted.count

    few, many = statements(0, 20), statements(1000, 220)
    assert many - few <= 200 + 2 * 8, (few, many)  # 200 more rows: 2 more slices to match


def _as_written(person: Person) -> dict:  # type: ignore[type-arg]
    """What a form's `insert` and `attach` write for a person: fields, derived columns, the
    search entry and the audit trail (without ids and times)."""
    document = db.session.scalar(
        sa.select(SearchDocument).where(
            SearchDocument.entity_type == "person", SearchDocument.entity_id == person.id
        )
    )
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "people", AuditEvent.entity_id == person.id)
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    return {
        "state": stakeholders.state(person),
        "derived": [
            getattr(person, name)
            for name in (
                "name_pinyin",
                "name_initials",
                "sort_name",
                "match_key",
                "match_key_zh",
                "phone_key",
            )
        ],
        "positions": [(a.organisation_id, a.title, a.end_on) for a in person.affiliations],
        "document": (document.title, document.subtitle, document.keys, document.terms),
        "events": [(e.action, e.summary, e.changes, e.actor_id) for e in events],
    }


def test_a_person_imported_is_written_as_the_stakeholder_service_writes_one(
    in_app, coordinator, harmony
):
    """Imports write new records many at a time (crm.services.imports.bulk), by the rules of
    `stakeholders.insert` and `stakeholders.attach`: the same record, search entry and
    audit trail as a form writes."""
    rows = [PEOPLE[0], PEOPLE[1]]
    with in_app():
        actor = db.session.get(User, coordinator.id)
        data = dict(imports.prepare(_table(rows), "people").rows[0].data)
        by_form = stakeholders.insert(Person, data, stakeholders.PERSON_FIELDS, actor)
        stakeholders.attach(
            by_form,
            db.session.get(Organisation, harmony.id),
            title=data["job_title"],
            start_on=None,
            end_on=None,
            actor=actor,
        )
        db.session.commit()
        expected = _as_written(by_form)
        stakeholders.delete(by_form, actor=actor)  # else the import would find it
        report = imports.run(_table(rows), kind="people", actor=actor)
        assert _as_written(db.session.get(Person, report.created[0].id)) == expected
        positions = db.session.scalars(
            sa.select(AuditEvent.changes).where(
                AuditEvent.entity_type == "organisations", AuditEvent.entity_id == harmony.id
            )
        ).all()
        assert [c for c in positions if "people" in c] == [{"people": [None, "王芳: 人事经理"]}] * 2


def test_a_row_updating_a_person_created_by_an_earlier_row_adds_no_second_position(
    in_app, coordinator
):
    rows = [
        ["姓名", "邮箱", "单位", "微信"],
        ["王芳", "wf@example.cn", "新成立纺织厂", ""],
        ["王芳", "WF@example.cn", "新成立纺织厂", "wangfang"],
    ]
    with in_app():
        actor = db.session.get(User, coordinator.id)
        report = imports.run(_table(rows), kind="people", actor=actor, on_duplicate="update")
        assert [line.row for line in report.updated] == [3]
        assert [line.row for line in report.organisations_created] == [2]
    with in_app():
        (wang,) = db.session.scalars(sa.select(Person)).all()
        assert wang.wechat_id == "wangfang"
        assert [a.organisation.display_name for a in wang.affiliations] == ["新成立纺织厂"]


def test_a_new_tag_shared_by_a_new_and_an_updated_row_is_created_once(
    in_app, coordinator, make_person
):
    zhang = make_person(family_name="Zhang", given_name="Lei", wechat_id="zl88")
    rows = [
        ["姓名", "微信", "标签"],
        ["李娜", "lina", "培训2026"],
        ["Zhang Lei", "zl88", "培训2026"],
        ["赵晨", "zc", "培训2026, 新"],
    ]
    with in_app():
        actor = db.session.get(User, coordinator.id)
        report = imports.run(_table(rows), kind="people", actor=actor, on_duplicate="update")
        assert [line.row for line in report.created] == [2, 4]
        assert [line.row for line in report.updated] == [3]
    with in_app():
        assert sorted(db.session.scalars(sa.select(Tag.name))) == ["培训2026", "新"]
        people = db.session.scalars(sa.select(Person).order_by(Person.id)).all()
        assert [sorted(t.name for t in p.tags) for p in people] == [
            ["培训2026"],
            ["培训2026"],
            ["培训2026", "新"],
        ]
        assert people[0].id == zhang.id
