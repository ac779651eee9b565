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
    ("activities, first page", "/activities", 300),
    ("MoUs", "/activities/mous", 300),
    ("engagement report, this quarter", "/reports", 800),
    ("engagement report, 2025", "/reports?start=2025-01-01&end=2025-12-31", 1500),
    ("donor indicators, this year", "/reports/indicators", 600),
]

# Importing a sign-in-sheet-sized and a contact-list-sized file of new people, through the
# whole pipeline in one transaction: (rows, target in ms at scale 0.05 on SQLite).
IMPORTS = [(100, 1_500), (1_000, 10_000)]


def _people_csv(rows: int, offset: int) -> bytes:
    """A CSV of new people as a sign-in sheet has them: name, sex, employer, phone, email."""
    family, given = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗",
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞",
    )
    lines = ["姓名,性别,单位,职务,手机,邮箱"]
    for n in range(offset, offset + rows):
        name = family[n % 20] + given[(n // 20) % 18] + given[(n // 360) % 18]
        lines.append(
            f"{name},{'女' if n % 2 else '男'},东莞第{n % 97}服装有限公司,经理,"
            f"139{n:08d},bench{n}@example.cn"
        )
    return "\n".join(lines).encode("utf-8")


def _time_imports(app, email: str) -> list[tuple[str, float, float, int, int, bool]]:  # type: ignore[no-untyped-def]
    from crm.services import imports

    rows = []
    offset = 0
    for count, target in IMPORTS:
        with app.app_context():
            actor = db.session.scalar(sa.select(User).where(User.email == email))
            table = imports.read_table(_people_csv(count, offset), "people.csv")
            started = time.perf_counter()
            report = imports.run(table, kind="people", actor=actor)
            elapsed = (time.perf_counter() - started) * 1000
            assert len(report.created) == count, report
            db.session.remove()
        offset += count
        rows.append((f"import {count} people (one transaction)", elapsed, elapsed, 0, target))
    return rows


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
            from crm.demo import generate

            tracemalloc.start()
            started = time.perf_counter()
            counts = generate.generate(scale=args.scale)
            seconds = time.perf_counter() - started
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            from crm.demo import logframe as demo_logframe

            # The demo's logframe: seven indicators over the generated activities.
            manager = db.session.scalar(sa.select(User).where(User.role == Role.manager))
            demo_logframe.load(actor=manager)
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

        for label, median, p95, queries, target in _time_imports(app, email):
            over = args.scale <= 0.05 and not args.database_url and median > target
            failed |= over
            rows.append((label, median, p95, queries, target, over))

        width = max(len(r[0]) for r in rows)
        print(
            f"{'operation':<{width}}  {'median ms':>9}  {'p95 ms':>9}  {'queries':>7}  "
            f"{'target':>6}"
        )
        print("-" * (width + 42))
        for label, median, p95, queries, target, over in rows:
            mark = "  OVER" if over else ""
            counted = f"{queries:7d}" if queries else f"{'—':>7}"
            print(f"{label:<{width}}  {median:9.1f}  {p95:9.1f}  {counted}  {target:6d}{mark}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
