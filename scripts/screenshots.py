"""Screenshots of the main pages for the docs, taken from the demo data in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Builds a throwaway SQLite database in a temporary directory, migrates it, seeds the demo data
(`crm.services.demo.seed()`), serves the app on a free local port and signs in through the login
form as the demo manager, whose language is English. When the demo data has no interactions, a
few are logged first (with follow-ups for the manager) so that the outreach pages have something
to show; the demo data itself is not changed. A last shot shows the dashboard in Chinese, as the
demo coordinator. Needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium; never
`playwright install`) and, for legible Chinese, fonts-noto-cjk. Compile the catalogues first
(`make babel-compile`), or the Chinese shot shows English text.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from crm import ROOT, create_app, demo
from crm.config import DevelopmentConfig
from crm.extensions import db
from crm.models import (
    Activity,
    Affiliation,
    Indicator,
    Interaction,
    Metric,
    Organisation,
    Participation,
    Person,
    User,
)
from crm.services import duplicates, stakeholders

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
PHONE = {"width": 390, "height": 844}
SIGN_IN_AS = "manager@example.org"  # English
SIGN_IN_AS_ZH = "coordinator@example.org"  # Chinese
SIGN_IN_AS_ADMIN = "admin@example.org"
SEARCH_FOR = "华为"  # the example the search box and the README give


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
        if not duplicates.likely_pairs("organisation"):
            _sample_duplicate()
            print("Added a likely duplicate organisation.")
    return app


def _sample_duplicate() -> None:
    """The same council entered twice (same Chinese name), so /duplicates has a pair to show."""
    manager = db.session.scalar(sa.select(User).where(User.email == SIGN_IN_AS))
    if manager is None:
        return
    stakeholders.create_organisation(
        {
            "display_name": "CNTAC (China National Textile & Apparel Council)",
            "chinese_name": "中国纺织工业联合会",
            "org_type": "industry_body",
            "sector": "textile",
            "province": "Beijing",
            "city": "Beijing",
        },
        actor=manager,
        allow_duplicate=True,
    )


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


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(f"{base_url}/login")


def shoot(page: Page, path: str, out: Path, name: str, *, full_page: bool = True) -> None:
    response = page.goto(path)
    if response is None or not response.ok:
        status = response.status if response else "no response"
        raise SystemExit(f"{path} answered {status}; not saving {name}")
    page.evaluate("document.fonts.ready.then(() => true)")
    target = out / name
    page.screenshot(path=target, full_page=full_page, animations="disabled")
    print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  ← {path}")


def take(
    base_url: str,
    out: Path,
    organisation_id: int | None,
    person_id: int | None,
    interaction_id: int | None,
    indicator_id: int | None = None,
    activity_id: int | None = None,
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        errors: list[str] = []

        def new_page(viewport: dict[str, int]) -> tuple[Any, Page]:
            context = browser.new_context(
                base_url=base_url, viewport=viewport, locale="en-GB", timezone_id="Asia/Shanghai"
            )
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            return context, page

        context, page = new_page(VIEWPORT)
        shoot(page, "/login", out, "login.png", full_page=False)
        sign_in(page, base_url, SIGN_IN_AS)

        shoot(page, "/", out, "dashboard.png")
        # Lists at window size: the header, filters and first rows are what a reader looks at.
        shoot(page, "/organisations", out, "organisations.png", full_page=False)
        if organisation_id is not None:
            shoot(page, f"/organisations/{organisation_id}", out, "organisation.png")
            shoot(page, f"/organisations/{organisation_id}/edit", out, "organisation-edit.png")
        else:
            print("  no organisation in the demo data: organisation.png not taken")
        shoot(page, "/people", out, "people.png", full_page=False)
        if person_id is not None:
            shoot(page, f"/people/{person_id}", out, "person.png")
            # Everything held about them: the subject-access page (issue #11).
            shoot(page, f"/people/{person_id}/data", out, "person-data.png", full_page=False)
        else:
            print("  no person in the demo data: person.png not taken")
        shoot(page, "/interactions", out, "interactions.png", full_page=False)
        if interaction_id is not None:
            shoot(page, f"/interactions/{interaction_id}", out, "interaction.png")
        else:
            print("  no interaction: interaction.png not taken")
        shoot(page, "/follow-ups/mine", out, "my-follow-ups.png")
        # Activities: the list, the training that reached most people, the MoUs.
        shoot(page, "/activities", out, "activities.png", full_page=False)
        if activity_id is not None:
            shoot(page, f"/activities/{activity_id}", out, "activity.png")
        else:
            print("  no activity in the demo data: activity.png not taken")
        shoot(page, "/activities/mous", out, "mous.png", full_page=False)
        # The engagement report of this quarter (the default period).
        shoot(page, "/reports", out, "report.png", full_page=False)
        shoot(page, f"/search?q={SEARCH_FOR}", out, "search.png", full_page=False)
        shoot(page, "/duplicates", out, "duplicates.png", full_page=False)
        # Donor indicators: the table of this year, then one indicator with its breakdowns.
        shoot(page, "/reports/indicators", out, "indicators.png")
        if indicator_id is not None:
            shoot(page, f"/reports/indicators/{indicator_id}", out, "indicator.png")
            year = datetime.now(UTC).year
            shoot(
                page,
                f"/reports/indicators/{indicator_id}/records?start={year}-01-01&end={year}-12-31",
                out,
                "indicator-records.png",
            )
        else:
            print("  no indicator in the demo data: indicator.png not taken")
        shoot(page, "/reports/cross-border", out, "cross-border.png", full_page=False)
        # The profile with its API tokens, and the API's own documentation page.
        shoot(page, "/profile", out, "profile.png")
        shoot(page, "/api/v1/docs", out, "api-docs.png", full_page=False)
        # The same session at phone width.
        phone = context.new_page()
        phone.set_viewport_size(PHONE)
        phone.on("pageerror", lambda error: errors.append(str(error)))
        shoot(phone, "/organisations", out, "organisations-phone.png", full_page=False)
        shoot(phone, "/people", out, "people-phone.png", full_page=False)
        if person_id is not None:
            shoot(phone, f"/people/{person_id}", out, "person-phone.png", full_page=False)
        context.close()

        # The administrator's personal-data pages: the audit of personal-data events and the
        # people past the retention period.
        context, page = new_page(VIEWPORT)
        page.goto("/login")
        sign_in(page, base_url, SIGN_IN_AS_ADMIN)
        shoot(page, "/admin/audit", out, "personal-data-audit.png", full_page=False)
        shoot(page, "/admin/retention", out, "retention.png", full_page=False)
        context.close()

        # Chinese text layout: the dashboard of a user whose language is Chinese.
        context, page = new_page(VIEWPORT)
        page.goto("/login")
        sign_in(page, base_url, SIGN_IN_AS_ZH)
        shoot(page, "/", out, "dashboard-zh.png")
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
            interaction_id = db.session.scalar(
                sa.select(Interaction.id)
                .where(Interaction.deleted_at.is_(None))
                .order_by(Interaction.occurred_at.desc())
                .limit(1)
            )
            # The indicator with the most breakdowns: participants trained, by sex and sector.
            indicator_id = db.session.scalar(
                sa.select(Indicator.id)
                .where(
                    Indicator.deleted_at.is_(None),
                    Indicator.metric == Metric.participants_trained,
                )
                .order_by(Indicator.id)
                .limit(1)
            )
            activity_id = db.session.scalar(
                sa.select(Activity.id)
                .join(Participation, Participation.activity_id == Activity.id)
                .where(Activity.deleted_at.is_(None), Activity.type == "training")
                .group_by(Activity.id)
                .order_by(sa.func.count().desc(), Activity.id)
                .limit(1)
            )
            db.session.remove()
        with serving(app) as base_url:
            print(f"Signed in as {SIGN_IN_AS}; saving to {args.out}:")
            take(
                base_url,
                args.out,
                organisation_id,
                person_id,
                interaction_id,
                indicator_id,
                activity_id,
            )
        with app.app_context():
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
