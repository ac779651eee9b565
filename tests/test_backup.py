"""`crm backup FILE` / `crm restore FILE` and the administrators' Backups page.

The round trip fills a database of its own with the demo data set, backs it up with the
command, restores it into an empty database and compares every row of every table (those of
the models, plus alembic_version). On SQLite the databases are temporary files; with
DATABASE_URL naming PostgreSQL, scratch databases with unique names on the same server,
dropped afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask

from crm import create_app, demo
from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent
from crm.services import backup
from crm.services.errors import ServiceError
from tests.conftest import PASSWORD, make_config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
FIRST_REVISION = "d5d54c18e46c"  # the initial schema: any backup this old needs an upgrade


def _on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgresql")


SUFFIX = ".dump" if _on_postgres() else ".sqlite3"
Rows = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


# ---------------------------------------------------------------------------------------------
# Scratch databases
# ---------------------------------------------------------------------------------------------


@contextmanager
def scratch_database(folder: Path, label: str) -> Iterator[str]:
    """The URL of a new, empty database: a file in `folder`, or on PostgreSQL a database with
    a unique name on the server of DATABASE_URL (dropped on the way out)."""
    if not _on_postgres():
        yield f"sqlite:///{folder / f'{label}-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    url = sa.engine.make_url(os.environ["DATABASE_URL"])
    name = f"{url.database}_{label}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def app_on(url: str, **config: Any) -> Iterator[Flask]:
    app = create_app(make_config(url, **config))
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def stamp(revision: str) -> None:
    """Record `revision` as the schema's alembic version, as `flask db upgrade` does."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
        conn.execute(sa.text("DELETE FROM alembic_version"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision})


def every_row(app: Flask) -> Rows:
    """Every row of every table of the models, plus alembic_version, by table: the column
    names as the database has them and the rows in primary-key order."""
    names = [table.name for table in db.metadata.sorted_tables] + ["alembic_version"]
    found: Rows = {}
    with app.app_context(), db.engine.connect() as conn:
        reflected = sa.MetaData()
        for name in names:
            table = sa.Table(name, reflected, autoload_with=conn)
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(sa.select(table).order_by(*order)).all()
            found[name] = ([column.name for column in table.columns], [tuple(r) for r in rows])
        db.session.remove()
    return found


def table_names(app: Flask) -> set[str]:
    with app.app_context():
        names = set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
    return names


def cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["crm", *args])


# ---------------------------------------------------------------------------------------------
# The source: the demo data set, backed up once for the module
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    app: Flask
    file: Path
    rows: Rows


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    folder = tmp_path_factory.mktemp("backup-source")
    with scratch_database(folder, "source") as url, app_on(url) as app:
        with app.app_context():
            db.create_all()
            stamp(HEAD)
            demo.seed()
            db.session.remove()
        file = folder / f"demo{SUFFIX}"
        result = cli(app, "backup", str(file))
        assert result.exit_code == 0, result.output
        assert f"Backed up the database to {file}" in result.output
        yield Source(app=app, file=file, rows=every_row(app))


@pytest.fixture
def empty_tables(tmp_path: Path) -> Iterator[Flask]:
    """An app on a database as `flask db upgrade` leaves it: every table, no row (but the
    alembic version)."""
    with scratch_database(tmp_path, "target") as url, app_on(url) as app:
        with app.app_context():
            db.create_all()
            stamp(HEAD)
            db.session.remove()
        yield app


def test_source_holds_representative_data(source):
    counts = {name: len(rows) for name, (_columns, rows) in source.rows.items()}
    for table in ("users", "stakeholders", "organisations", "people", "affiliations",
                  "activities", "participations", "interactions", "follow_ups",
                  "audit_events", "search_documents"):  # fmt: skip
        assert counts[table] > 0, table
    assert source.rows["alembic_version"][1] == [(HEAD,)]


def test_admin_can_restore_a_backup_into_a_database_without_tables(source, tmp_path):
    with scratch_database(tmp_path, "restored") as url, app_on(url) as target:
        result = cli(target, "restore", str(source.file))
        assert result.exit_code == 0, result.output
        assert f"Restored {source.file} (schema revision {HEAD})." in result.output
        assert "db upgrade" not in result.output
        assert every_row(target) == source.rows


def test_admin_can_restore_into_a_database_built_by_db_upgrade(source, tmp_path, _keep_logging):
    with scratch_database(tmp_path, "migrated") as url, app_on(url) as target:
        with target.app_context():
            flask_migrate.upgrade(directory=str(MIGRATIONS))
            db.session.remove()
        result = cli(target, "restore", str(source.file))
        assert result.exit_code == 0, result.output
        assert every_row(target) == source.rows


def test_restored_database_still_searches(source, tmp_path):
    """The search index (FTS5 on SQLite, a generated tsvector on PostgreSQL) comes back too."""
    from crm.services import search

    with scratch_database(tmp_path, "searched") as url, app_on(url) as target:
        assert cli(target, "restore", str(source.file)).exit_code == 0
        with target.app_context():
            title = db.session.scalar(sa.text("SELECT title FROM search_documents LIMIT 1"))
            found = search.search(title)
            db.session.remove()
        assert found.total > 0


def test_restore_refuses_a_database_with_rows(source):
    result = cli(source.app, "restore", str(source.file))
    assert result.exit_code == 1
    assert "The database is not empty" in result.output
    assert "nothing was changed" in result.output
    assert every_row(source.app) == source.rows


def _cut_in_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _cut_short(data: bytes) -> bytes:
    """All but the end: a PostgreSQL dump keeps its whole table of contents."""
    return data[:-64]


def _scribbled(data: bytes) -> bytes:
    """1 KB overwritten where the data lies: mid-file on SQLite, near the end of a dump (its
    table of contents comes first), so that only a read of the data finds it."""
    at = len(data) - 3072 if _on_postgres() else len(data) // 2
    return data[:at] + bytes(range(256)) * 4 + data[at + 1024 :]


@pytest.mark.parametrize("damage", [_cut_in_half, _cut_short, _scribbled])
def test_restore_refuses_a_truncated_or_damaged_backup(damage, source, empty_tables, tmp_path):
    damaged = tmp_path / f"damaged{SUFFIX}"
    damaged.write_bytes(damage(source.file.read_bytes()))
    before = table_names(empty_tables), every_row(empty_tables)
    result = cli(empty_tables, "restore", str(damaged))
    assert result.exit_code == 1
    assert f"{damaged.name} is incomplete or damaged" in result.output
    assert (table_names(empty_tables), every_row(empty_tables)) == before


def _other_engine_backup(folder: Path) -> Path:
    """A backup of the engine the suite does not run on."""
    if _on_postgres():
        path = folder / "other.sqlite3"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (HEAD,))
        conn.commit()
        conn.close()
        return path
    path = folder / "other.dump"
    path.write_bytes(b"PGDMP\x01\x0e\x00\x04\x08\x01\x01" + os.urandom(2000))
    return path


FOREIGN: dict[str, Callable[[Path], Path]] = {
    "text": lambda folder: _write(folder / "notes.txt", b"name,email\nWang Fang,w@x.cn\n"),
    "random": lambda folder: _write(folder / "random.bin", os.urandom(64 * 1024)),
    "empty": lambda folder: _write(folder / "empty.bin", b""),
    "other engine": _other_engine_backup,
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_restore_refuses_a_foreign_file(kind, empty_tables, tmp_path):
    foreign = FOREIGN[kind](tmp_path)
    before = table_names(empty_tables), every_row(empty_tables)
    result = cli(empty_tables, "restore", str(foreign))
    assert result.exit_code == 1
    if kind == "other engine":
        other = "SQLite" if _on_postgres() else "PostgreSQL"
        assert f"{foreign.name} is a {other} backup" in result.output
    else:
        assert f"{foreign.name} is not a backup made by `crm backup`" in result.output
    assert "nothing was changed" in result.output
    assert (table_names(empty_tables), every_row(empty_tables)) == before


def test_restore_refuses_a_sqlite_database_that_is_no_backup_of_this_app(empty_tables, tmp_path):
    if _on_postgres():
        pytest.skip("a SQLite file is refused on PostgreSQL by test_restore_refuses_a_foreign_file")
    other = tmp_path / "other-app.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    conn.close()
    result = cli(empty_tables, "restore", str(other))
    assert result.exit_code == 1
    assert "other-app.sqlite3 is not a backup made by `crm backup`" in result.output


def test_restore_of_a_missing_file_says_so(empty_tables, tmp_path):
    result = cli(empty_tables, "restore", str(tmp_path / "nowhere.dump"))
    assert result.exit_code == 1
    assert "Cannot read" in result.output and "No such file" in result.output


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        (FIRST_REVISION, "run `flask --app wsgi db upgrade` before starting the app"),
        ("0123456789ab", "made by a newer version of the app"),
    ],
)
def test_restore_says_when_the_schema_is_not_the_codes(revision, expected, tmp_path):
    with scratch_database(tmp_path, "old") as url, app_on(url) as old:
        with old.app_context():
            db.create_all()
            stamp(revision)
            db.session.remove()
        file = tmp_path / f"old{SUFFIX}"
        assert cli(old, "backup", str(file)).exit_code == 0
    with scratch_database(tmp_path, "new") as url, app_on(url) as target:
        result = cli(target, "restore", str(file))
        assert result.exit_code == 0, result.output
        assert expected in result.output
        with target.app_context():
            assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == (
                revision
            )
            db.session.remove()


# ---------------------------------------------------------------------------------------------
# Backing up: where it writes, and what a failure leaves
# ---------------------------------------------------------------------------------------------


def test_backup_to_a_missing_directory_writes_nothing(runner, tmp_path):
    result = runner.invoke(args=["crm", "backup", str(tmp_path / "absent" / "crm.dump")])
    assert result.exit_code == 1
    assert f"Cannot write a backup in {tmp_path / 'absent'}" in result.output
    assert "Nothing was written." in result.output
    assert list(tmp_path.iterdir()) == []


def test_backup_below_a_file_writes_nothing(runner, tmp_path):
    (tmp_path / "plain").write_text("not a directory")
    result = runner.invoke(args=["crm", "backup", str(tmp_path / "plain" / "crm.dump")])
    assert result.exit_code == 1
    assert "Cannot write a backup in" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["plain"]


def test_backup_to_a_read_only_place_writes_nothing(runner, tmp_path):
    """/sys refuses new files even to root; a read-only directory refuses other users."""
    if os.geteuid() == 0:
        place = Path("/sys")
        if not place.is_dir() or (os.access(place, os.W_OK) and _can_create_in(place)):
            pytest.skip("no directory here refuses root")
    else:
        place = tmp_path / "locked"
        place.mkdir()
        place.chmod(0o500)
    before = sorted(os.listdir(place))
    result = runner.invoke(args=["crm", "backup", str(place / "crm.dump")])
    assert result.exit_code == 1
    assert f"Cannot write a backup in {place}: Permission denied." in result.output
    assert sorted(os.listdir(place)) == before


def _can_create_in(place: Path) -> bool:
    try:
        (place / ".crm-probe").touch()
    except OSError:
        return False
    (place / ".crm-probe").unlink()
    return True


def test_backup_to_a_directory_asks_for_a_file(runner, tmp_path):
    result = runner.invoke(args=["crm", "backup", str(tmp_path)])
    assert result.exit_code != 0
    assert "is a directory" in result.output
    assert list(tmp_path.iterdir()) == []


def test_failed_backup_keeps_the_previous_file_and_leaves_no_part(runner, tmp_path, monkeypatch):
    previous = tmp_path / f"nightly{SUFFIX}"
    previous.write_bytes(b"yesterday's backup")

    def broken(temporary: Path) -> None:
        temporary.write_bytes(b"half a backup")
        raise ServiceError("The disk filled up.")

    monkeypatch.setattr(backup, "_write_database", broken)
    result = runner.invoke(args=["crm", "backup", str(previous)])
    assert result.exit_code == 1
    assert "The disk filled up." in result.output
    assert previous.read_bytes() == b"yesterday's backup"
    assert [p.name for p in tmp_path.iterdir()] == [previous.name]


def test_backup_replaces_an_older_file_of_the_same_name(runner, tmp_path):
    target = tmp_path / f"latest{SUFFIX}"
    target.write_bytes(b"old")
    result = runner.invoke(args=["crm", "backup", str(target)])
    assert result.exit_code == 0, result.output
    header = target.read_bytes()[:16]
    assert header.startswith(backup.PGDUMP_MAGIC if _on_postgres() else backup.SQLITE_MAGIC)
    assert oct(target.stat().st_mode & 0o777) == "0o600"  # personal data: owner only
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_backup_without_a_file_goes_to_backup_dir(app, runner, tmp_path):
    app.config["BACKUP_DIR"] = str(tmp_path / "backups")
    result = runner.invoke(args=["crm", "backup"])
    assert result.exit_code == 0, result.output
    (made,) = (tmp_path / "backups").iterdir()
    assert re.fullmatch(r"crm-\d{8}-\d{6}Z" + re.escape(SUFFIX), made.name)
    assert str(made) in result.output


def test_pg_dump_gets_the_password_in_its_environment_only(tmp_path, monkeypatch):
    """libpq reads the URL without the driver part; the password never shows in `ps`."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def run(args: list[str], *, env: dict[str, str], **options: Any) -> Any:
        calls.append((args, env))
        written = next(arg for arg in args if arg.startswith("--file="))
        Path(written.removeprefix("--file=")).write_bytes(b"PGDMP and the rest")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    url = "postgresql+psycopg://crm:s3cr%40t@db.example.org:5433/crm?sslmode=require"
    with app_on(url) as app, app.app_context():
        made = backup.backup(tmp_path / "crm.dump")
    ((args, env),) = calls
    assert args[0] == "/usr/bin/pg_dump" and "--format=custom" in args
    assert "--dbname=postgresql://crm@db.example.org:5433/crm?sslmode=require" in args
    assert not any("s3cr" in arg for arg in args)
    assert env["PGPASSWORD"] == "s3cr@t"
    assert made.path.read_bytes() == b"PGDMP and the rest"


def test_sqlite_backup_is_consistent_while_the_app_writes(app, database_url, tmp_path):
    """WAL mode, a writer committing all the time: every copy is a whole, valid database."""
    if _on_postgres():
        pytest.skip("pg_dump reads one snapshot by design")
    path = sa.engine.make_url(database_url).database
    stop = threading.Event()

    def write() -> None:
        conn = sqlite3.connect(path, timeout=5)
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("INSERT INTO tags (name) VALUES (?)", (f"tag {n}",))
            conn.commit()
        conn.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        counts = []
        for n in range(5):
            file = tmp_path / f"copy{n}.sqlite3"
            result = app.test_cli_runner().invoke(args=["crm", "backup", str(file)])
            assert result.exit_code == 0, result.output
            copy = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
            assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            counts.append(copy.execute("SELECT count(*) FROM tags").fetchone()[0])
            copy.close()
    finally:
        stop.set()
        writer.join()
    assert counts == sorted(counts) and counts[-1] > 0


# ---------------------------------------------------------------------------------------------
# The Backups page
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def backup_dir(app: Flask, tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    app.config["BACKUP_DIR"] = str(folder)
    return folder


def _events(in_app) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with in_app():
        stmt = sa.select(AuditEvent).where(AuditEvent.action == AuditAction.export)
        return list(db.session.scalars(stmt))


def test_admin_sees_that_there_are_no_backups_yet(login_as, backup_dir):
    page = login_as(Role.admin).get("/admin/backups")
    assert page.status_code == 200
    assert "No backups yet." in page.get_data(as_text=True)


def test_admin_sees_backups_newest_first(login_as, backup_dir):
    backup_dir.mkdir()
    for age, name in enumerate(["crm-new.sqlite3", "crm-middle.dump", "crm-old.sqlite3"]):
        (backup_dir / name).write_bytes(b"x" * (1000 * (age + 1)))
        moment = 1_767_225_600 - age * 86_400  # 2026-01-01, then a day earlier each
        os.utime(backup_dir / name, (moment, moment))
    (backup_dir / ".crm-now.sqlite3.part").write_bytes(b"being written")
    (backup_dir / "subdir").mkdir()
    (backup_dir / "link.sqlite3").symlink_to("/etc/passwd")
    page = login_as(Role.admin).get("/admin/backups").get_data(as_text=True)
    table = page.split('data-testid="backups"')[1]
    names = re.findall(r'<td class="text-break">([^<]+)</td>', table)
    assert names == ["crm-new.sqlite3", "crm-middle.dump", "crm-old.sqlite3"]
    assert "1.0 kB" in table and "3.0 kB" in table
    for hidden in (".part", "subdir", "link.sqlite3"):
        assert hidden not in table
    assert "No backups yet." not in page


def test_admin_can_back_up_now(login_as, backup_dir, in_app):
    client = login_as(Role.admin)
    response = client.post("/admin/backups")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/backups"
    (made,) = backup_dir.iterdir()
    page = client.get("/admin/backups").get_data(as_text=True)
    assert f"Backup {made.name} written." in page
    assert made.name in page.split('data-testid="backups"')[1]
    header = made.read_bytes()[:16]
    assert header.startswith(backup.PGDUMP_MAGIC if _on_postgres() else backup.SQLITE_MAGIC)
    (event,) = _events(in_app)
    assert event.actor_id == client.user.id
    assert event.summary == f"backed up the database to {made.name}"


def test_admin_sees_why_a_backup_could_not_be_made(app, login_as, tmp_path):
    (tmp_path / "plain").write_text("a file where the directory should be")
    app.config["BACKUP_DIR"] = str(tmp_path / "plain" / "backups")
    page = login_as(Role.admin).post("/admin/backups", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Cannot write a backup in" in text and "Nothing was written." in text


def test_admin_can_download_a_backup(login_as, backup_dir, in_app):
    backup_dir.mkdir()
    (backup_dir / "crm-20260101-000000Z.sqlite3").write_bytes(b"SQLite format 3\x00 and more")
    client = login_as(Role.admin)
    response = client.get("/admin/backups/crm-20260101-000000Z.sqlite3")
    assert response.status_code == 200
    assert response.data == b"SQLite format 3\x00 and more"
    disposition = response.headers["Content-Disposition"]
    assert disposition == "attachment; filename=crm-20260101-000000Z.sqlite3"
    assert response.headers["Cache-Control"] == "no-store"
    (event,) = _events(in_app)
    assert event.summary == "downloaded the backup crm-20260101-000000Z.sqlite3"
    assert event.actor_id == client.user.id


@pytest.mark.parametrize(
    "name",
    [
        "crm-missing.sqlite3",
        "..%2Fsecret.txt",
        "%2E%2E",
        ".crm-now.sqlite3.part",
        "link.sqlite3",
        "subdir",
    ],
)
def test_admin_cannot_download_anything_but_a_listed_backup(name, login_as, backup_dir, in_app):
    backup_dir.mkdir()
    (backup_dir.parent / "secret.txt").write_text("outside the backup directory")
    (backup_dir / ".crm-now.sqlite3.part").write_bytes(b"being written")
    (backup_dir / "link.sqlite3").symlink_to(backup_dir.parent / "secret.txt")
    (backup_dir / "subdir").mkdir()
    response = login_as(Role.admin).get(f"/admin/backups/{name}")
    assert response.status_code == 404
    assert b"outside the backup directory" not in response.data
    assert _events(in_app) == []


@pytest.mark.parametrize("role", [Role.manager, Role.coordinator, Role.member, Role.viewer])
def test_others_cannot_back_up_or_download(role, login_as, backup_dir):
    backup_dir.mkdir()
    (backup_dir / "crm-a.sqlite3").write_bytes(b"data")
    client = login_as(role)
    assert client.get("/admin/backups").status_code == 403
    assert client.post("/admin/backups").status_code == 403
    assert client.get("/admin/backups/crm-a.sqlite3").status_code == 403
    assert [p.name for p in backup_dir.iterdir()] == ["crm-a.sqlite3"]


def test_back_up_now_needs_the_forms_csrf_token(database_url, make_user, tmp_path):
    admin = make_user(Role.admin)
    folder = tmp_path / "backups"
    with app_on(database_url, WTF_CSRF_ENABLED=True, BACKUP_DIR=str(folder)) as strict:
        client = strict.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token
        signed_in = client.post(
            "/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token[1]}
        )
        assert signed_in.status_code == 302
        assert client.post("/admin/backups").status_code == 400
        assert not folder.exists()
        page = client.get("/admin/backups").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        assert client.post("/admin/backups", data={"csrf_token": token[1]}).status_code == 302
        assert len(list(folder.iterdir())) == 1
