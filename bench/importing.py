"""The benchmark's application configuration, and the imports it times in processes of their own.

Apart from bench/__main__.py so that a spawned process can import them: a function defined
in `__main__` cannot be found by name there.
"""

from __future__ import annotations

import resource
import time

import sqlalchemy as sa

from bench import pages
from crm import create_app
from crm.config import TestingConfig
from crm.extensions import db
from crm.models import User


def config(url: str) -> type:
    # Exports are timed as the file is written: past EXPORT_INLINE_ROWS the app hands them to
    # the worker, which writes the same file with the same code, so the rows time that writing.
    return type(
        "BenchConfig",
        (TestingConfig,),
        {"SQLALCHEMY_DATABASE_URI": url, "EXPORT_INLINE_ROWS": 10**9},
    )


# Rows imported before the timed import, as a worker that has run a job before would have:
# its statements compiled, its dictionaries loaded. Numbered apart from the timed rows.
WARM_UP_ROWS = 20
WARM_UP_OFFSET = 90_000


def import_people(url: str, email: str, count: int, offset: int) -> tuple[float, int, float]:
    """In a process of its own, as the worker runs imports: import `count` new people as the
    user `email` (after a small import, untimed); (milliseconds, people created, the
    process's peak memory in MB)."""
    from crm.services import imports

    app = create_app(config(url))
    with app.app_context():
        actor = db.session.scalar(sa.select(User).where(User.email == email))
        warm_up = pages.people_csv(WARM_UP_ROWS, offset + WARM_UP_OFFSET)
        imports.run(imports.read_table(warm_up, "people.csv"), kind="people", actor=actor)
        started = time.perf_counter()
        table = imports.read_table(pages.people_csv(count, offset), "people.csv")
        report = imports.run(table, kind="people", actor=actor)
        elapsed = (time.perf_counter() - started) * 1000
        db.session.remove()
        db.engine.dispose()
    return elapsed, len(report.created), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
