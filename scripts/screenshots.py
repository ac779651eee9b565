"""Screenshots of the main pages for the docs, taken from the demo data in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Builds a throwaway SQLite database in a temporary directory, migrates it, seeds the demo data
(`crm.services.demo.seed()`), serves the app on a free local port and signs in through the login
form as the demo coordinator. Needs Debian's Chromium at /usr/bin/chromium (apt-get install
chromium; never `playwright install`) and, for legible Chinese, fonts-noto-cjk.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from crm import ROOT, create_app
from crm.config import DevelopmentConfig
from crm.extensions import db
from crm.models import Affiliation, Organisation, Person
from crm.services import demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1366, "height": 900}
SIGN_IN_AS = "coordinator@example.org"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def build_app(folder: Path) -> Flask:
    """An app on a fresh SQLite file, migrated to the latest revision and seeded."""
    url = f"sqlite:///{folder / 'screenshots.sqlite3'}"
    config = type(
        "ScreenshotConfig",
        (DevelopmentConfig,),
        {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False},
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        result = demo.seed()
        print(
            f"Seeded {result.users} users, {result.organisations} organisations, "
            f"{result.people} people."
        )
    return app


def _busiest(model: type[Organisation] | type[Person], column: Any) -> int | None:
    """The live record with the most positions: its page shows the most."""
    positions = sa.func.count(Affiliation.id)
    stmt = (
        sa.select(model.id)
        .outerjoin(Affiliation, column == model.id)
        .where(model.deleted_at.is_(None))
        .group_by(model.id)
        .order_by(positions.desc(), model.id)
        .limit(1)
    )
    return db.session.scalar(stmt)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="screenshots", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def shoot(page: Page, path: str, out: Path, name: str, *, full_page: bool = True) -> None:
    response = page.goto(path)
    if response is None or not response.ok:
        status = response.status if response else "no response"
        raise SystemExit(f"{path} answered {status}; not saving {name}")
    page.evaluate("document.fonts.ready.then(() => true)")
    target = out / name
    page.screenshot(path=target, full_page=full_page, animations="disabled")
    print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  ← {path}")


def take(base_url: str, out: Path, organisation_id: int | None, person_id: int | None) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=base_url, viewport=VIEWPORT, locale="en-GB", timezone_id="Asia/Shanghai"
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        shoot(page, "/login", out, "login.png", full_page=False)
        page.get_by_label("Email", exact=True).fill(SIGN_IN_AS)
        page.get_by_label("Password", exact=True).fill(demo.DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(f"{base_url}/login")

        shoot(page, "/", out, "dashboard.png")
        # Lists at window size: the header, filters and first rows are what a reader looks at.
        shoot(page, "/organisations", out, "organisations.png", full_page=False)
        if organisation_id is not None:
            shoot(page, f"/organisations/{organisation_id}", out, "organisation.png")
        else:
            print("  no organisation in the demo data: organisation.png not taken")
        shoot(page, "/people", out, "people.png", full_page=False)
        if person_id is not None:
            shoot(page, f"/people/{person_id}", out, "person.png")
        else:
            print("  no person in the demo data: person.png not taken")

        context.close()
        browser.close()
    if errors:
        raise SystemExit("JavaScript errors:\n" + "\n".join(errors))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--organisation", type=int, help="id of the organisation to show")
    parser.add_argument("--person", type=int, help="id of the person to show")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"Chromium not found at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crm-screenshots-") as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            organisation_id = args.organisation or _busiest(
                Organisation, Affiliation.organisation_id
            )
            person_id = args.person or _busiest(Person, Affiliation.person_id)
            db.session.remove()
        with serving(app) as base_url:
            print(f"Signed in as {SIGN_IN_AS}; saving to {args.out}:")
            take(base_url, args.out, organisation_id, person_id)
        with app.app_context():
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
