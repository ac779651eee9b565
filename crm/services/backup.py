"""Backups of the database, and restoring one into an empty database.

A backup is one file that `restore` can put back, made while the app runs:

- **SQLite**: the online backup API (`sqlite3.Connection.backup`) copies every page in one
  step, so the copy is one consistent snapshot even in WAL mode with writers at work. The
  file is an ordinary SQLite database in rollback-journal mode, readable on its own.
- **PostgreSQL**: `pg_dump --format=custom` (one snapshot, in a repeatable-read transaction),
  put back by `pg_restore`. The connection comes from DATABASE_URL without its driver part
  (`postgresql+psycopg` becomes `postgresql`, which libpq reads); the password goes to the
  child process in PGPASSWORD, never on its command line.

Every backup is written to a hidden temporary file beside the target and renamed at the end,
so a failed backup leaves no partial file, and an older backup of the same name stays whole
until the new one is complete. Backups hold personal data: files are created readable by
their owner only.

**Restore** goes only into an *empty* database: one with no tables, or whose tables hold no
row (alembic_version aside, and on SQLite the search index's internal tables, which are
derived from the records): a database just created, or just built by `flask db upgrade`.
Anything else is refused before a byte changes, and so is a file that is not a complete
backup for this engine: it is checked whole first (SQLite: the header, `PRAGMA
integrity_check` on the file opened read-only, the alembic_version table; PostgreSQL:
`pg_restore --list`, then a read of every data block, since a file cut short keeps a table
of contents that lists fine). The restored schema is the backup's: `RestoreReport` says
whether `flask db upgrade` must follow.

**Attachments** (files people upload) do not exist yet. When they do, a backup becomes an
archive of the database dump plus the attachments directory: `_write_database` stays as it
is, `_write_backup` adds the directory beside it inside the same temporary file, and
`restore` puts the directory back after the database (into an empty directory, checked with
the database before anything changes).

The admin page (`listing`, `create`, `download`) sees the backups in BACKUP_DIR, which the
caller passes in; `flask --app wsgi crm backup FILE` may write anywhere.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import AuditAction, User
from crm.services import audit, clock
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ServiceError

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SUFFIXES = {"sqlite": ".sqlite3", "postgresql": ".dump"}
# Temporary files start with a dot and end with this; the listing never shows them.
PART_SUFFIX = ".part"
# The names the admin page lists and serves: one plain file name, never a path.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
# pg_restore --list shows the data of alembic_version as "…; 0 16400 TABLE DATA public
# alembic_version owner".
_VERSION_DATA = re.compile(r"^\d+;.*\bTABLE DATA \S+ alembic_version\b", re.MULTILINE)


@dataclass(frozen=True)
class BackupFile:
    """One backup file: its name, size in bytes and last change (UTC)."""

    path: Path
    size: int
    modified_at: datetime

    @property
    def name(self) -> str:
        return self.path.name


class Schema(StrEnum):
    """How the restored schema compares with the migrations of the running code."""

    current = "current"  # at the code's head: ready
    behind = "behind"  # older: run `flask db upgrade`
    newer = "newer"  # a revision this code does not know: made by a newer version


@dataclass(frozen=True)
class RestoreReport:
    revision: str | None  # the backup's alembic version
    head: str | None  # the code's
    schema: Schema


# ---------------------------------------------------------------------------------------------
# Backing up
# ---------------------------------------------------------------------------------------------


def backup(target: Path, *, replace: bool = True) -> BackupFile:
    """Back up the database to `target` while the app runs; returns the file written.

    Consistent even with concurrent writes; nothing but a complete backup ever appears at
    `target`. With `replace` False an existing file is never overwritten (Conflict). Raises
    InvalidInput when `target` cannot be written (nothing is written then), ServiceError when
    the database engine fails. Writes nothing to the database; callable by the command line.
    """
    target = Path(target).absolute()
    if target.is_dir():
        raise InvalidInput(_("%(path)s is a directory: name a file.", path=str(target)))
    temporary = _temporary_beside(target)
    try:
        _write_backup(temporary)
        _put_in_place(temporary, target, replace=replace)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    log.info("database backed up to %s", target)
    return describe(target)


def backup_into(directory: Path) -> BackupFile:
    """Back up the database to a new dated file in `directory` (created if need be), such as
    crm-20260304-101500Z.sqlite3; never overwrites. Raises as `backup` does."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _unwritable(directory, err) from err
    return backup(_new_name(directory), replace=False)


def create(directory: Path, *, actor: User) -> BackupFile:
    """The admin page's "Back up now": a dated backup in `directory` (BACKUP_DIR), recorded
    in the audit trail; commits. Raises PermissionDenied for anyone but administrators, and
    what `backup` raises."""
    _require(actor)
    made = backup_into(directory)
    _record(actor, made, summary=f"backed up the database to {made.name}", what="backup")
    return made


def _write_backup(temporary: Path) -> None:
    """Everything a backup holds, into `temporary`: today the database alone."""
    _write_database(temporary)


def _write_database(temporary: Path) -> None:
    engine = _engine_name()
    if engine == "sqlite":
        _write_sqlite(temporary)
    else:
        _write_postgres(temporary)


def _write_sqlite(temporary: Path) -> None:
    try:
        raw = db.engine.raw_connection()
        try:
            source: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
            copy = sqlite3.connect(temporary)
            try:
                # One step (pages=-1): the copy is a single snapshot; a write by another
                # connection between steps would restart a stepwise copy.
                source.backup(copy)
                # A plain file, not WAL: readable on its own, opened read-only by `restore`.
                copy.execute("PRAGMA journal_mode = DELETE")
                checked = copy.execute("PRAGMA quick_check").fetchall()
            finally:
                copy.close()
        finally:
            raw.close()
    except sqlite3.Error as err:
        raise ServiceError(_("The backup failed: %(reason)s", reason=str(err))) from err
    if checked != [("ok",)]:
        raise ServiceError(_("The backup failed: the copy did not pass SQLite's check."))


def _write_postgres(temporary: Path) -> None:
    dsn, env = _libpq(db.engine.url)
    result = _run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-password",
            f"--file={temporary}",
            f"--dbname={dsn}",
        ],
        env=env,
    )
    if result.returncode != 0:
        raise ServiceError(
            _("pg_dump could not back up the database: %(reason)s", reason=_reason(result))
        )


def _temporary_beside(target: Path) -> Path:
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent
        )
    except OSError as err:
        raise _unwritable(target.parent, err) from err
    os.close(handle)
    return Path(name)


def _unwritable(place: Path, err: OSError) -> InvalidInput:
    return InvalidInput(
        _(
            "Cannot write a backup in %(path)s: %(reason)s. Nothing was written.",
            path=str(place),
            reason=err.strerror or str(err),
        )
    )


def _put_in_place(temporary: Path, target: Path, *, replace: bool) -> None:
    with temporary.open("rb") as written:
        os.fsync(written.fileno())
    if replace:
        os.replace(temporary, target)
    else:
        try:
            os.link(temporary, target)  # fails, atomically, when the name is taken
        except FileExistsError as err:
            raise Conflict(_("A backup named %(name)s exists already.", name=target.name)) from err
        temporary.unlink()
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def _new_name(directory: Path) -> Path:
    stamp = clock.now().strftime("%Y%m%d-%H%M%SZ")
    suffix = SUFFIXES[_engine_name()]
    candidate = directory / f"crm-{stamp}{suffix}"
    number = 1
    while candidate.exists():
        number += 1
        candidate = directory / f"crm-{stamp}-{number}{suffix}"
    return candidate


# ---------------------------------------------------------------------------------------------
# The admin page: listing and downloading the backups in BACKUP_DIR
# ---------------------------------------------------------------------------------------------


def describe(path: Path) -> BackupFile:
    status = path.stat()
    return BackupFile(
        path=path, size=status.st_size, modified_at=datetime.fromtimestamp(status.st_mtime, UTC)
    )


def listing(directory: Path) -> list[BackupFile]:
    """The backups in `directory`, newest first; none when it does not exist yet.

    Plain files with safe names only: no temporary file of a backup in progress, no link,
    no subdirectory. Raises ServiceError when the directory cannot be read.
    """
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise ServiceError(
            _(
                "Cannot read the backup directory %(path)s: %(reason)s.",
                path=str(directory),
                reason=err.strerror or str(err),
            )
        ) from err
    found = []
    for entry in entries:
        if not SAFE_NAME.fullmatch(entry.name) or entry.name.endswith(PART_SUFFIX):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            found.append(describe(Path(entry.path)))
        except FileNotFoundError:  # deleted meanwhile (a cron job pruning old backups)
            continue
    return sorted(found, key=lambda item: (item.modified_at, item.name), reverse=True)


def download(directory: Path, name: str, *, actor: User) -> BackupFile:
    """The backup called `name` in `directory`, for an administrator to download; records the
    download in the audit trail and commits.

    `name` is only ever compared with the names the directory holds, never joined into a
    path as given. Raises PermissionDenied for anyone but administrators, NotFound for a name
    that is not a listed backup.
    """
    _require(actor)
    found = next((item for item in listing(directory) if item.name == name), None)
    if found is None:
        raise NotFound(_("There is no backup of that name."))
    _record(actor, found, summary=f"downloaded the backup {found.name}", what="download")
    return found


def _require(actor: User) -> None:
    if not can(actor, Permission.BACKUP):
        raise PermissionDenied(_("Only administrators may make or download backups."))


def _record(actor: User, item: BackupFile, *, summary: str, what: str) -> None:
    """A backup made or downloaded, on the acting user (as exports are): a copy of every
    record has left the database."""
    audit.record(
        actor,
        actor=actor,
        action=AuditAction.export,
        entity_type="users",
        summary=summary,
        changes={what: [None, item.name], "bytes": [None, item.size]},
    )
    db.session.commit()
    log.info("user %s: %s %s", actor.id, what, item.name)


# ---------------------------------------------------------------------------------------------
# Restoring
# ---------------------------------------------------------------------------------------------


def restore(source: Path, *, migrations: Path) -> RestoreReport:
    """Put the backup `source` into the app's database, which must be empty.

    The file is checked whole first (InvalidInput: missing, truncated, damaged, foreign, or
    a backup of the other engine), then the database (Conflict: a table holds rows); either
    refusal changes nothing. On SQLite the backup API copies the file in, in one transaction;
    on PostgreSQL the empty tables, if any, are dropped and `pg_restore --single-transaction`
    loads the file (a failure there, ServiceError, leaves the database without tables).
    Returns how the restored schema compares with the migrations in `migrations`. For the
    command line: it neither checks a user nor writes an audit event.
    """
    source = Path(source)
    engine = _engine_name()
    check_file(source)
    require_empty()
    if engine == "sqlite":
        _restore_sqlite(source)
    else:
        _restore_postgres(source)
    db.session.remove()
    db.engine.dispose()  # pooled connections may hold the old schema
    log.info("database restored from %s", source)
    return _schema_report(migrations)


def check_file(source: Path) -> None:
    """Raise InvalidInput unless `source` is a complete backup this database can restore."""
    try:
        with Path(source).open("rb") as file:
            header = file.read(100)
    except OSError as err:
        raise InvalidInput(
            _(
                "Cannot read %(path)s: %(reason)s.",
                path=str(source),
                reason=err.strerror or str(err),
            )
        ) from err
    if _engine_name() == "sqlite":
        _check_sqlite(source, header)
    else:
        _check_postgres(source, header)


def require_empty() -> None:
    """Raise Conflict when a table of the database holds a row (see the module's note)."""
    with db.engine.connect() as conn:
        occupied = occupied_tables(conn)
    if occupied:
        raise Conflict(_not_empty(occupied))


def occupied_tables(conn: sa.Connection) -> list[str]:
    """The tables that hold at least one row, alembic_version and SQLite's search index
    (derived from search_documents) aside."""
    names = set(sa.inspect(conn).get_table_names()) - {"alembic_version"} - _index_tables(conn)
    return [
        name
        for name in sorted(names)
        if conn.scalar(sa.select(sa.literal_column("1")).select_from(sa.table(name)).limit(1))
        is not None
    ]


def _index_tables(conn: sa.Connection) -> set[str]:
    """SQLite's virtual tables (the FTS5 search index) and their shadow tables."""
    if conn.dialect.name != "sqlite":
        return set()
    virtual = set(
        conn.scalars(
            sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'"
            )
        )
    )
    tables = set(sa.inspect(conn).get_table_names())
    return virtual | {t for t in tables for v in virtual if t.startswith(f"{v}_")}


def _not_empty(occupied: list[str]) -> str:
    shown = ", ".join(occupied[:5]) + (", …" if len(occupied) > 5 else "")
    return _(
        "The database is not empty (%(count)d tables hold rows: %(tables)s). A backup is "
        "restored only into an empty database; nothing was changed.",
        count=len(occupied),
        tables=shown,
    )


def _not_a_backup(source: Path) -> InvalidInput:
    return InvalidInput(
        _(
            "%(name)s is not a backup made by `crm backup`; nothing was changed.",
            name=Path(source).name,
        )
    )


def _damaged(source: Path) -> InvalidInput:
    return InvalidInput(
        _(
            "%(name)s is incomplete or damaged (cut short while copying?); nothing was changed.",
            name=Path(source).name,
        )
    )


def _check_sqlite(source: Path, header: bytes) -> None:
    if header.startswith(PGDUMP_MAGIC):
        raise InvalidInput(
            _(
                "%(name)s is a PostgreSQL backup, and this database is SQLite; nothing was "
                "changed.",
                name=source.name,
            )
        )
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise _not_a_backup(source)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is valid when its "valid-for" number matches the change
    # counter: then a shorter file was cut short.
    if header[24:28] == header[92:96] and source.stat().st_size < pages * page_size:
        raise _damaged(source)
    try:
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            problems = reader.execute("PRAGMA integrity_check").fetchall()
            versioned = reader.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            version = (
                reader.execute("SELECT version_num FROM alembic_version").fetchone()
                if versioned
                else None
            )
        finally:
            reader.close()
    except sqlite3.DatabaseError as err:
        raise _damaged(source) from err
    if problems != [("ok",)]:
        raise _damaged(source)
    if version is None:
        raise _not_a_backup(source)


def _check_postgres(source: Path, header: bytes) -> None:
    if header.startswith(SQLITE_MAGIC):
        raise InvalidInput(
            _(
                "%(name)s is a SQLite backup, and this database is PostgreSQL; nothing was "
                "changed.",
                name=source.name,
            )
        )
    if not header.startswith(PGDUMP_MAGIC):
        raise _not_a_backup(source)
    pg_restore = _tool("pg_restore")
    listed = _run([pg_restore, "--list", str(source)])
    if listed.returncode != 0:
        raise _damaged(source)
    if not _VERSION_DATA.search(listed.stdout):
        raise _not_a_backup(source)
    # Every data block, read and thrown away: the table of contents sits at the start, so
    # only this finds a file cut short.
    if _run([pg_restore, f"--file={os.devnull}", str(source)]).returncode != 0:
        raise _damaged(source)


def _restore_sqlite(source: Path) -> None:
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    raw = db.engine.raw_connection()
    try:
        # The backup API in the other direction: every page in one transaction, so a failure
        # leaves the (empty) database as it was.
        reader.backup(raw.driver_connection)  # type: ignore[arg-type]
    except sqlite3.Error as err:
        raise ServiceError(_("The restore failed: %(reason)s", reason=str(err))) from err
    finally:
        raw.close()
        reader.close()


def _restore_postgres(source: Path) -> None:
    _drop_empty_tables()
    dsn, env = _libpq(db.engine.url)
    result = _run(
        [
            _tool("pg_restore"),
            # The objects belong to whoever restores them, with that role's privileges: the
            # roles of the server the backup came from may not exist here.
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={dsn}",
            str(source),
        ],
        env=env,
    )
    if result.returncode != 0:
        raise ServiceError(
            _(
                "pg_restore could not restore the backup, and the database now holds no "
                "tables: %(reason)s",
                reason=_reason(result),
            )
        )


def _drop_empty_tables() -> None:
    """Drop the tables of a database built by `flask db upgrade` but empty, so the backup's
    own schema can be restored; refuses (Conflict) if a row arrived since the check."""
    with db.engine.begin() as conn:
        inspector = sa.inspect(conn)
        tables = inspector.get_table_names()
        sequences = inspector.get_sequence_names()
        if not tables and not sequences:
            return
        quote = conn.dialect.identifier_preparer.quote
        conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
        if tables:
            names = ", ".join(quote(name) for name in tables)
            conn.execute(sa.text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
            occupied = occupied_tables(conn)
            if occupied:
                raise Conflict(_not_empty(occupied))
            conn.execute(sa.text(f"DROP TABLE {names} CASCADE"))
        for name in sa.inspect(conn).get_sequence_names():
            conn.execute(sa.text(f"DROP SEQUENCE IF EXISTS {quote(name)} CASCADE"))


def _schema_report(migrations: Path) -> RestoreReport:
    with db.engine.connect() as conn:
        revision = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    script = ScriptDirectory(str(migrations))
    heads = script.get_heads()
    head = heads[0] if heads else None
    if revision in heads:
        schema = Schema.current
    else:
        try:
            known = revision is not None and script.get_revision(revision) is not None
        except CommandError:
            known = False
        schema = Schema.behind if known else Schema.newer
    return RestoreReport(revision=revision, head=head, schema=schema)


# ---------------------------------------------------------------------------------------------
# Engines and tools
# ---------------------------------------------------------------------------------------------


def _engine_name() -> str:
    name = db.engine.dialect.name
    if name not in SUFFIXES:
        raise ServiceError(_("Backups support SQLite and PostgreSQL, not %(name)s.", name=name))
    return name


def _libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for `url` without its password, and the environment that
    carries the password (PGPASSWORD) to the child process."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    # Built anew: URL.set(password=None) keeps the password (None means "unchanged").
    plain = sa.URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ServiceError(
            _("%(tool)s is not installed; it comes with the PostgreSQL client.", tool=name)
        )
    return found


def _run(args: list[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False)


def _reason(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (result.stderr or "").splitlines() if line.strip()]
    return " ".join(lines[-3:]) or f"exit status {result.returncode}"
