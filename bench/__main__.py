"""Time the pages and queries people wait for, on a generated data set.

    python -m bench [--scale 0.05] [--runs 15] [--database-url URL]

Without --database-url a temporary SQLite file is used. Prints one row per operation: the
median and 95th percentile in milliseconds and the number of SQL statements. Targets live
here, not in unit tests: a row over its target is marked and the command exits 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import sqlalchemy as sa

from crm import create_app
from crm.access import Role
from crm.config import TestingConfig
from crm.extensions import db
from crm.models import User

# (label, URL, target median in ms at scale 0.05 on SQLite)
PAGES = [
    ("dashboard", "/", 300),
    ("organisations, first page", "/organisations", 300),
    ("organisations by last contact", "/organisations?sort=last_contact&dir=desc", 600),
    ("organisations filtered", "/organisations?sector=textile&type=enterprise", 300),
    ("people, first page", "/people", 300),
    ("people, name filter", "/people?q=wang", 400),
    ("search: characters", "/search?q=%E7%8E%8B%E8%8A%B3", 300),
    ("search: pinyin", "/search?q=wangfang", 300),
    ("search: initials", "/search?q=wf", 300),
    ("search json (picker)", "/search.json?q=shenzhen&type=organisation", 200),
    ("interactions, first page", "/interactions", 300),
    ("interactions, last month", "/interactions?from=2026-10-01&to=2026-10-31", 300),
    ("my follow-ups", "/follow-ups/mine", 300),
    ("team follow-ups", "/follow-ups/team", 300),
    ("duplicates", "/duplicates?kind=person", 800),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        config = type("BenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url})
        app = create_app(config)
        with app.app_context():
            db.drop_all()
            db.create_all()
            from crm.services import generate

            tracemalloc.start()
            started = time.perf_counter()
            counts = generate.generate(scale=args.scale)
            seconds = time.perf_counter() - started
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            user = db.session.scalar(sa.select(User).where(User.role == Role.coordinator))
            email = user.email
            user.password_hash = __import__("werkzeug.security").security.generate_password_hash(
                "bench-password", method="pbkdf2:sha256:1000"
            )
            db.session.commit()
        print(
            f"Data set (scale {args.scale}, {url.split(':')[0]}): "
            f"{counts.organisations} organisations, {counts.people} people, "
            f"{counts.activities} activities, {counts.interactions} interactions, "
            f"{counts.follow_ups} follow-ups, {counts.search_documents} search documents; "
            f"generated in {seconds:.1f} s, peak Python memory {peak / 2**20:.0f} MiB.\n"
        )

        client = app.test_client()
        client.post("/login", data={"email": email, "password": "bench-password"})
        statements: list[str] = []
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2]))
        rows = []
        failed = False
        for label, path, target in PAGES:
            timings = []
            for _ in range(args.runs):
                statements.clear()
                started = time.perf_counter()
                response = client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    print(f"{path} answered {response.status_code}", file=sys.stderr)
                    return 1
            median = statistics.median(timings)
            p95 = sorted(timings)[max(0, int(len(timings) * 0.95) - 1)]
            over = args.scale <= 0.05 and not args.database_url and median > target
            failed |= over
            rows.append((label, median, p95, len(statements), target, over))

        width = max(len(r[0]) for r in rows)
        print(
            f"{'operation':<{width}}  {'median ms':>9}  {'p95 ms':>7}  {'queries':>7}  "
            f"{'target':>6}"
        )
        print("-" * (width + 40))
        for label, median, p95, queries, target, over in rows:
            mark = "  OVER" if over else ""
            print(f"{label:<{width}}  {median:9.1f}  {p95:7.1f}  {queries:7d}  {target:6d}{mark}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
