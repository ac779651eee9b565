"""Browser tests: the real app behind a live server, driven by Debian's Chromium via Playwright.

Each xdist worker starts one server (a werkzeug thread on a free port) and one headless Chromium
for the whole session. Every test gets a fresh browser context, so no cookie or storage leaks
between tests, and the `app` fixture of tests/conftest.py empties the tables afterwards. The
server and the test's factories share the database: a temporary SQLite file, or the worker's
own PostgreSQL database when DATABASE_URL names one.

Chromium comes from apt (`apt-get install chromium`), never from `playwright install`. Without
it the tests are skipped, except in CI (CI=true) where a missing browser is an error.

pytest-playwright is installed but switched off (`-p no:playwright` in pyproject.toml): its
`page`/`browser` fixtures, its per-browser parametrisation and its autouse fixtures would clash
with these.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from crm import create_app
from crm.extensions import db
from crm.models import User
from tests.conftest import PASSWORD, make_config

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = f"Chromium not found at {CHROMIUM}: apt-get install chromium to run the browser tests"
NO_PLAYWRIGHT = "Playwright is not installed: pip install -e '.[dev]' to run the browser tests"
IN_CI = os.environ.get("CI") == "true"
MUST_RUN = " (CI=true: browser tests may not be skipped)"

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect, sync_playwright
except ImportError as error:  # pragma: no cover - depends on the environment
    if IN_CI:
        raise RuntimeError(NO_PLAYWRIGHT + MUST_RUN) from error
    sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps calling Google services this machine cannot reach.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1366, "height": 900}
TIMEOUT_MS = 10_000
ARTIFACTS = "test-artifacts"

if sync_playwright is not None:
    # Assertions wait as long as actions do: 5 s (Playwright's default for expect) was too
    # short for a typeahead answer when the other test worker loads both cores.
    expect.set_options(timeout=TIMEOUT_MS)

HERE = Path(__file__).resolve().parent
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under tests/browser/ so `-m "not browser"` leaves it out."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures know whether the test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


class _Unimportable(pytest.File):
    """Stands in for a test module that would fail to import `playwright`."""

    def collect(self) -> Iterator[pytest.Item]:
        pytest.skip(NO_PLAYWRIGHT)


if sync_playwright is None:  # the test modules import playwright: skip them whole

    def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.File:
        return _Unimportable.from_parent(parent, path=module_path)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(NO_CHROMIUM + MUST_RUN, pytrace=False)
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request; errors are still logged."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(scope="session")
def _server(database_url: str, _schema: None) -> Iterator[str]:
    # CSRF is on, as in production: the browser posts the forms' real tokens.
    app = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(app: Flask, _server: str) -> str:
    """The base URL of the running app. Depends on `app` so the tables are emptied after the
    test, once the page is closed (fixtures are torn down in reverse order)."""
    return _server


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:180] + ".png"


@pytest.fixture
def page(browser: Browser, live_server: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context and page on the live server; relative URLs work in `goto`.

    On failure a full-page screenshot lands in test-artifacts/. Uncaught JavaScript errors and
    server errors (5xx) fail an otherwise passing test.
    """
    context = browser.new_context(
        base_url=live_server, viewport=VIEWPORT, locale="en-GB", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status} from {response.url}")
            if response.status >= 500
            else None
        ),
    )
    yield page
    reports = request.node.stash.get(REPORTS, {})
    failed = any(r.failed for r in reports.values())
    try:
        if failed:
            folder = request.config.rootpath / ARTIFACTS
            folder.mkdir(exist_ok=True)
            page.screenshot(path=folder / _artifact_name(request.node.nodeid), full_page=True)
    finally:
        context.close()
    if problems and not failed:
        pytest.fail("The page reported problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def log_in(page: Page) -> Callable[[User], Page]:
    """`log_in(user)` signs in through the login form (password tests.conftest.PASSWORD)."""

    def sign_in(user: User, password: str = PASSWORD) -> Page:
        page.goto("/login")
        page.get_by_label("Email", exact=True).fill(user.email)
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_role("button", name="Sign in").click()
        try:
            page.wait_for_url(lambda url: urlsplit(url).path != "/login")
        except PlaywrightTimeoutError:
            shown = page.get_by_role("main").inner_text()
            raise AssertionError(f"Could not sign in as {user.email}:\n{shown}") from None
        return page

    return sign_in
