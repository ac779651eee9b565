"""The benchmark's data set: generated once per scale and generator version, then reused.

Generating scale 1 takes minutes, so the generated database is kept and each run works on a
fresh copy of it (the imports a run times write to the copy, never to the kept one):

* SQLite: `bench/.data/scale-<scale>-<key>.sqlite3`, copied to a temporary file per run.
* PostgreSQL: a template database `crm_bench_<scale>_<key>` on the server the given URL names,
  and `CREATE DATABASE crm_bench_run TEMPLATE …` per run.

`key` names the scale and the generator's DATA_VERSION: a new version makes a new data set.
Schema changes do not: each copy is migrated (`flask db upgrade`) before it is used, as a
deployed database would be.

The generator runs in a child process, so its CPU time and peak memory are measured apart
from the benchmark's own.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".data"
RUN_DATABASE = "crm_bench_run"


@dataclass(frozen=True)
class Generation:
    """How the data set came about: generated now (with its costs) or reused."""

    reused: bool
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_mb: float = 0.0
    summary: str = ""


def generator_key(scale: float) -> str:
    """Names the data set: the generator's DATA_VERSION, bumped whenever the rows it writes
    change (a hash of its source would regenerate for every comment)."""
    from crm.demo import generate

    version = getattr(generate, "DATA_VERSION", 1)
    return hashlib.sha256(f"scale={scale};version={version}".encode()).hexdigest()[:10]


def _flask(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "CRM_ENV": "development", "FLASK_DEBUG": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done


def _generate(url: str, scale: float) -> Generation:
    """Migrate an empty database and generate into it, in a child process; ANALYZE after."""
    _flask(url, "db", "upgrade")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = _flask(url, "crm", "generate", "--scale", str(scale))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    _analyze(url)
    # ru_maxrss is the largest child so far, in KiB on Linux.
    return Generation(False, wall, cpu, after.ru_maxrss / 1024, done.stdout.strip())


def sqlite_copy(scale: float, directory: Path) -> tuple[str, Generation]:
    """A fresh, migrated copy of the kept SQLite data set; generates it first if needed."""
    CACHE.mkdir(exist_ok=True)
    kept = CACHE / f"scale-{scale:g}-{generator_key(scale)}.sqlite3"
    generation = Generation(True)
    if not kept.exists():
        for stale in CACHE.glob(f"scale-{scale:g}-*.sqlite3*"):
            stale.unlink()
        building = kept.with_suffix(".building")
        building.unlink(missing_ok=True)
        generation = _generate(f"sqlite:///{building}", scale)
        engine = sa.create_engine(f"sqlite:///{building}")
        with engine.connect() as connection:  # fold the WAL into the file before moving it
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        building.rename(kept)
    copy = directory / "bench.sqlite3"
    shutil.copyfile(kept, copy)
    url = f"sqlite:///{copy}"
    _flask(url, "db", "upgrade")
    _analyze(url)
    return url, generation


def _analyze(url: str) -> None:
    """Statistics for the planner; on PostgreSQL also VACUUM, as autovacuum would have done in
    a database that has run for a while: it sets the visibility map that index-only scans (the
    lists' counts) rely on."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("VACUUM ANALYZE")
        else:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _server(url: str) -> sa.Engine:
    """An engine on the same PostgreSQL server's maintenance database, outside transactions."""
    return sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _with_database(url: str, name: str) -> str:
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def postgresql_copy(url: str, scale: float) -> tuple[str, Generation]:
    """A fresh, migrated copy of the kept PostgreSQL template; generates it first if needed."""
    template = f"crm_bench_{str(scale).replace('.', '_')}_{generator_key(scale)}"
    server = _server(url)
    generation = Generation(True)
    with server.connect() as connection:
        names = set(connection.exec_driver_sql("SELECT datname FROM pg_database").scalars())
        if template not in names:
            for stale in names:
                if stale.startswith(f"crm_bench_{str(scale).replace('.', '_')}_"):
                    connection.exec_driver_sql(f'DROP DATABASE "{stale}" WITH (FORCE)')
            # Built under another name and renamed when complete: an interrupted generation
            # is never taken for a data set.
            building = f"{template}_building"
            connection.exec_driver_sql(f'CREATE DATABASE "{building}"')
            generation = _generate(_with_database(url, building), scale)
            connection.exec_driver_sql(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{RUN_DATABASE}" TEMPLATE "{template}"')
    server.dispose()
    run_url = _with_database(url, RUN_DATABASE)
    _flask(run_url, "db", "upgrade")
    _analyze(run_url)
    return run_url, generation


def drop_postgresql_copy(url: str) -> None:
    server = _server(url)
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)')
    server.dispose()
