"""A team's load on one machine: `make loadtest [USERS=50 SECONDS=60]`.

    python -m bench.load [--users 50] [--seconds 60] [--database-url URL] [--workers N]

Prepares a database of its own (the demo data set, one account per simulated user, open
follow-ups for every member), serves it with gunicorn on loopback in production mode, and
runs locust headless against it (bench/locustfile.py): coordinators log interactions,
members complete follow-ups, managers open reports and exports, everyone searches and
browses; each simulated user signs in with its own account. Then it prints, per endpoint,
requests per second, p50/p95/p99 and errors, and exits 1 when any request failed or a page
(sign-in excepted: its password hash is slow on purpose) has a p95 over 500 ms.

Locust monkey-patches the standard library with gevent on import, so it only ever runs as
its own process; nothing here imports it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
PAGE_P95_MS = 500
SPAWN_RATE = 2
# The share of each role among the simulated users: a programme team.
ROLES = (("coordinator", 0.4), ("member", 0.4), ("manager", 0.2))
FOLLOW_UPS_PER_MEMBER = 40
# gunicorn, as the README recommends for this 2-core machine: threads serve the requests
# that wait on the database, keep-alive lets each client reuse its connection.
GUNICORN = (
    "--worker-class",
    "gthread",
    "--threads",
    "8",
    "--keep-alive",
    "75",
    "--timeout",
    "120",
    "--backlog",
    "2048",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _environment(database_url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CRM_ENV="production",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_SECURE="0",  # plain HTTP on loopback
        JOB_QUEUE_URL=f"sqlite:///{workdir / 'jobs.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    if _redis_answers():  # limits shared by the workers, as in production
        env["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/15"
    else:
        env["RATELIMIT_STORAGE_URI"] = "memory://"
        env["SINGLE_PROCESS"] = "1"
    return env


def _flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _prepare(env: dict[str, str], users: int, accounts_file: Path) -> None:
    """Migrate, load the demo data, create the simulated team's accounts and their work."""
    _flask(env, "db", "upgrade")
    _flask(env, "crm", "seed-demo")
    script = (
        "import json, sys; from bench.load import _create_team; "
        f"json.dump(_create_team({users}), open({str(accounts_file)!r}, 'w'))"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


def _create_team(users: int) -> dict[str, Any]:
    """(Run inside the prepared environment.) One account per simulated user, open
    follow-ups for the members, and the ids the simulated users pick from."""
    import sqlalchemy as sa

    from crm import create_app
    from crm.extensions import db
    from crm.models import Activity, Organisation, Person, Stakeholder, User
    from crm.services import accounts, clock, follow_ups

    app = create_app()
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        stakeholders = list(
            db.session.scalars(
                sa.select(Stakeholder.id).where(Stakeholder.deleted_at.is_(None)).limit(500)
            )
        )
        password = "Load-" + secrets.token_urlsafe(18)
        team = []
        counts = {role: max(1, round(users * share)) for role, share in ROLES}
        counts["coordinator"] += users - sum(counts.values())
        for role, count in counts.items():
            for n in range(count):
                email = f"load-{role}-{n}@example.org"
                user = accounts.create_user(
                    email, name=f"Load {role} {n}", role=role, password=password, actor=None
                )
                team.append({"email": email, "role": role})
                if role != "member":
                    continue
                today = clock.today()
                for k in range(FOLLOW_UPS_PER_MEMBER):
                    follow_ups.add(
                        {
                            "title": f"Call back #{k}",
                            "due_on": today + timedelta(days=k % 20 - 5),
                            "assignee_id": user.id,
                            "stakeholder_id": stakeholders[(n * 7 + k) % len(stakeholders)],
                        },
                        actor=admin,
                    )
                db.session.commit()

        def ids(model: Any) -> list[int]:
            return list(db.session.scalars(sa.select(model.id).limit(200)))

        return {
            "password": password,
            "users": team,
            "stakeholders": stakeholders,
            "organisations": ids(Organisation),
            "people": ids(Person),
            "activities": ids(Activity),
        }


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped before it answered; see its output above")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer on {url} within {seconds:.0f} s")


def _report(stats_csv: Path) -> int:
    """Print the per-endpoint table from locust's CSV; the number of failed targets."""
    rows = list(csv.DictReader(stats_csv.open(encoding="utf-8")))
    width = max([len(r["Name"]) for r in rows] + [20]) + 2
    print(
        f"\n{'endpoint':<{width}}{'method':<7}{'requests':>9}{'errors':>8}{'req/s':>8}"
        f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
    )
    print("-" * (width + 56))
    missed = 0
    for row in rows:
        name, method = row["Name"], row["Type"]
        errors = int(row["Failure Count"])
        p95 = float(row["95%"] or 0)
        total = name == "Aggregated"
        slow = not total and name != "sign in" and p95 > PAGE_P95_MS
        mark = ""
        if errors and not total:
            mark = "  ERRORS"
        elif slow:
            mark = "  SLOW"
        missed += bool(mark)
        print(
            f"{name:<{width}}{method:<7}{row['Request Count']:>9}{errors:>8}"
            f"{float(row['Requests/s']):>8.1f}{row['50%']:>8}{row['95%']:>8}{row['99%']:>8}{mark}"
        )
    return missed


def _failures(failures_csv: Path) -> None:
    """Print what failed, grouped (locust's failures CSV), if anything did."""
    if not failures_csv.exists():
        return
    rows = list(csv.DictReader(failures_csv.open(encoding="utf-8")))
    if rows:
        print("\nFailures:")
        for row in rows:
            print(f"  {row['Occurrences']:>5} × {row['Method']} {row['Name']}: {row['Error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args(argv)
    locust = shutil.which("locust", path=str(Path(sys.executable).parent))
    if locust is None:
        raise SystemExit("locust is not installed: `make loadtest` installs it")
    workdir = Path(tempfile.mkdtemp(prefix="crm-load-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'crm.sqlite3'}"
    env = _environment(database_url, workdir)
    accounts_file = workdir / "team.json"
    print(f"Preparing the demo data and {args.users} accounts in {workdir} …", flush=True)
    _prepare(env, args.users, accounts_file)
    port = _free_port()
    host = f"http://127.0.0.1:{port}"
    gunicorn = [
        *(str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}"),
        *("--workers", str(args.workers), *GUNICORN, "--log-level", "warning", "wsgi:app"),
    ]
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env)
    try:
        _wait_until_up(host, server)
        print(
            f"gunicorn: {args.workers} workers × 8 threads on {host}; "
            f"locust: {args.users} users for {args.seconds} s",
            flush=True,
        )
        prefix = workdir / "locust"
        subprocess.run(
            [
                *(locust, "-f", str(LOCUSTFILE), "--headless", "--only-summary"),
                # Two sign-ins a second: each hashes a password on purpose slowly, and a
                # crowd arriving at once would measure the hash rather than the pages.
                *("-u", str(args.users), "-r", str(SPAWN_RATE), "--loglevel", "WARNING"),
                *("-t", f"{args.seconds}s", "--host", host, "--csv", str(prefix)),
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env=env | {"LOAD_TEAM": str(accounts_file)},
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "locust.log").open("w"),
        )
        missed = _report(Path(f"{prefix}_stats.csv"))
        _failures(Path(f"{prefix}_failures.csv"))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    team = json.loads(accounts_file.read_text())
    roles = ", ".join(f"{r}s" for r, _ in ROLES)
    print(f"\n{len(team['users'])} accounts ({roles}); p95 target {PAGE_P95_MS} ms, no errors.")
    if missed:
        print(f"{missed} endpoint(s) missed: see the marks above.")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
