"""Time the pages and the work people wait for, on a generated data set.

    python -m bench [--scale 0.05] [--runs 30] [--database-url URL] [--only TEXT]

Generates the data set once per scale and generator version and reuses it (bench/dataset.py),
runs ANALYZE, signs in as the coordinator with the most follow-ups, and requests each page of
bench/pages.py `--runs` times after one warm-up: p50 and p95 server time, SQL statements and
response size. Then times a 1,000- and a 10,000-row import, each in a process of its own as
the worker runs them. Prints a table, marks every row
over its target, writes bench/results.json and exits 1 when a row missed.

Without --database-url the data set is SQLite; with a PostgreSQL URL, the benchmark works in
databases of its own on that server (crm_bench_*), never in the one the URL names.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import dataset, importing, pages
from crm import create_app
from crm.extensions import db
from crm.models import User

RESULTS = Path(__file__).resolve().parent / "results.json"
PEAK_MB = 300  # every process: the app serving pages, an import in the worker, the generator


@dataclass
class Row:
    name: str
    p50_ms: float
    p95_ms: float
    queries: int | None
    bytes: int | None
    target_ms: float
    ok: bool


def _p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def _measure_pages(app: Any, email: str, runs: int, only: str | None) -> list[Row]:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": "bench-password"})
    assert response.status_code in (302, 303), "the benchmark could not sign in"
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
        found = pages.subjects()
    sa.event.listen(engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2]))
    rows = []
    for page in pages.pages(found):
        if only and only not in page.name:
            continue
        timings, size = [], 0
        for n in range(runs + 1):
            statements.clear()
            started = time.perf_counter()
            response = client.get(page.path)
            body = response.get_data()  # a streamed export is timed to its last byte
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{page.path} answered {response.status_code}")
            if n:  # the first request warms caches and is not counted
                timings.append(elapsed)
            size = len(body)
        p95 = _p95(timings)
        queries = len(statements)
        ok = p95 <= page.target_ms and (
            page.max_statements is None or queries <= page.max_statements
        )
        rows.append(
            Row(page.name, statistics.median(timings), p95, queries, size, page.target_ms, ok)
        )
        _print_row(rows[-1], page.max_statements)
    return rows


def _measure_imports(url: str, email: str, only: str | None) -> tuple[list[Row], float]:
    """The imports, each in a fresh process (spawned, not forked: its memory is its own);
    the rows and the largest peak memory of those processes."""
    rows = []
    peak_mb = 0.0
    # New people on every run of a reused set (each run numbers its rows in a range of its own).
    offset = int(time.time()) % 1_000 * 100_000
    spawn = multiprocessing.get_context("spawn")
    for count, target in pages.IMPORTS:
        name = f"import {count:,} people"
        if only and only not in name:
            continue
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            elapsed, created, child_mb = pool.submit(
                importing.import_people, url, email, count, offset
            ).result()
        if created != count:
            raise SystemExit(f"the import created {created} of {count} people")
        peak_mb = max(peak_mb, child_mb)
        offset += count  # the warm-up rows lie beyond both imports' (importing.WARM_UP_OFFSET)
        rows.append(Row(name, elapsed, elapsed, None, None, target, elapsed <= target))
        _print_row(rows[-1], None)
    return rows, peak_mb


def _print_header(width: int) -> None:
    print(
        f"{'measurement':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'queries':>7}  "
        f"{'KiB':>7}  {'target':>6}"
    )
    print("-" * (width + 48))


WIDTH = 46


def _print_row(row: Row, max_statements: int | None) -> None:
    queries = f"{row.queries:7d}" if row.queries is not None else f"{'—':>7}"
    size = f"{row.bytes / 1024:7.0f}" if row.bytes is not None else f"{'—':>7}"
    mark = "" if row.ok else "  MISSED"
    print(
        f"{row.name:<{WIDTH}}  {row.p50_ms:8.1f}  {row.p95_ms:8.1f}  {queries}  {size}  "
        f"{row.target_ms:6.0f}{mark}",
        flush=True,
    )


def _prepare(app: Any) -> str:
    """Load the demo logframe, give the busiest coordinator a known password; its email."""
    from werkzeug.security import generate_password_hash

    from crm.access import Role
    from crm.demo import logframe as demo_logframe
    from crm.services.reporting import indicators

    with app.app_context():
        if not indicators.list_indicators():
            manager = db.session.scalar(sa.select(User).where(User.role == Role.manager))
            demo_logframe.load(actor=manager)
        user = pages.busiest_coordinator()
        user.password_hash = generate_password_hash("bench-password", method="pbkdf2:sha256:1000")
        db.session.commit()
        return user.email


def _run(url: str, args: argparse.Namespace, generation: dataset.Generation) -> int:
    app = create_app(importing.config(url))
    email = _prepare(app)
    gc.freeze()  # as wsgi.py does after start-up
    database = url.split(":")[0].split("+")[0]
    if generation.reused:
        print(f"Data set: scale {args.scale} on {database}, reused.")
    else:
        print(
            f"Data set: scale {args.scale} on {database}, generated in {generation.wall_s:.0f} s "
            f"({generation.cpu_s:.0f} s CPU, peak {generation.peak_mb:.0f} MB): "
            f"{generation.summary}"
        )
    print()
    _print_header(WIDTH)
    rows = _measure_pages(app, email, args.runs, args.only)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    import_rows, import_peak_mb = _measure_imports(url, email, args.only)
    rows += import_rows
    print(f"\nPeak memory: {peak_mb:.0f} MB serving the pages (target {PEAK_MB})", end="")
    print("" if peak_mb <= PEAK_MB else "  MISSED")
    if import_rows:
        print(f"Peak memory: {import_peak_mb:.0f} MB importing (target {PEAK_MB})", end="")
        print("" if import_peak_mb <= PEAK_MB else "  MISSED")
    if not generation.reused:
        mark = "" if generation.cpu_s <= 60 and generation.peak_mb <= PEAK_MB else "  MISSED"
        print(
            f"Generator: {generation.cpu_s:.0f} s CPU (target 60), "
            f"{generation.peak_mb:.0f} MB (target {PEAK_MB}){mark}"
        )
    RESULTS.write_text(
        json.dumps(
            {
                "scale": args.scale,
                "database": database,
                "runs": args.runs,
                "rows": [asdict(r) for r in rows],
                "generation": asdict(generation),
                "peak_memory_mb": round(peak_mb),
                "import_peak_memory_mb": round(import_peak_mb),
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"Written {RESULTS}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    missed = [r.name for r in rows if not r.ok]
    missed += [f"peak memory {mb:.0f} MB" for mb in (peak_mb, import_peak_mb) if mb > PEAK_MB]
    if missed:
        print(f"{len(missed)} of {len(rows)} measurements missed their target.")
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--only", default=None, help="measure only rows whose name has this")
    args = parser.parse_args()

    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url and args.database_url.startswith("postgresql"):
            url, generation = dataset.postgresql_copy(args.database_url, args.scale)
            cleanup = lambda: dataset.drop_postgresql_copy(args.database_url)  # noqa: E731
        else:
            url, generation = dataset.sqlite_copy(args.scale, Path(tmp))
        try:
            return _run(url, args, generation)
        finally:
            cleanup()


if __name__ == "__main__":
    sys.exit(main())
