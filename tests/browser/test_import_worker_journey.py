"""Issue 13: an import leaves the request. The coordinator uploads a file and imports it; the
background worker writes it while the import's page shows the progress, then the report.

Unlike the other journeys, the live server here has a real job queue (a SQLite file of the
test's own) and a real worker: the worker threads of a Huey consumer in this process. The
worker is started only once the page shows the import waiting for it, and held halfway
through the rows until the page has shown how far it got, so nothing depends on timing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import WSGIRequestHandler, make_server

from crm import create_app, jobs
from crm.extensions import db
from crm.models import User
from tests.conftest import PASSWORD
from tests.jobs.conftest import queued_config

ROWS = 30


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture
def worker_app(app: Flask, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with a real queue and CSRF on, as in production. Depends on `app`, which
    empties the tables afterwards."""
    queued = create_app(queued_config(database_url, tmp_path, WTF_CSRF_ENABLED=True))
    yield queued
    with queued.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(worker_app: Flask) -> Iterator[str]:
    """Replaces the session's live server (whose jobs run inline) for this module."""
    server = make_server("127.0.0.1", 0, worker_app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="worker-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def start_worker(worker_app: Flask) -> Iterator[Callable[[], None]]:
    """`start_worker()` starts the worker threads of a Huey consumer on the app's queue."""
    consumer = jobs.consumer(worker_app, workers=1, periodic=False)
    threads = [thread for _worker, thread in consumer.worker_threads]

    def start() -> None:
        for thread in threads:
            thread.start()

    yield start
    consumer.stop_flag.set()
    for thread in threads:
        if thread.is_alive():
            thread.join(timeout=15)


@pytest.fixture
def held_import(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, Any]]:
    """Holds the worker before it writes row 12 until the test lets it go (`release.set()`);
    `reached` is set when it gets there."""
    from crm.services import imports

    reached, release = threading.Event(), threading.Event()
    real = imports.Writer.create
    calls = {"n": 0}

    def insert(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 11:
            reached.set()
            release.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(imports.Writer, "create", insert)
    monkeypatch.setattr(jobs.Progress, "EVERY", 0)  # record every step, not 4 a second
    yield reached, release
    release.set()  # never leave the worker waiting, even when the test failed


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "visitors.csv"
    lines = ["姓名,邮箱"] + [f"访客{n},visitor{n}@example.cn" for n in range(ROWS)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _upload(page: Page, path: Path) -> None:
    page.goto("/imports")
    page.get_by_label("People").check()
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name=re.compile("Review the import"))).to_be_visible()
    expect(page.get_by_test_id("summary")).to_contain_text(f"{ROWS} rows")


def test_coordinator_imports_through_the_worker_and_watches_the_progress(
    page: Page, log_in, make_user, start_worker, held_import, tmp_path
):
    reached, release = held_import
    log_in(make_user("coordinator"))
    _upload(page, _csv(tmp_path))
    page.get_by_role("button", name="Import", exact=True).click()

    # The import's page now follows the job; no worker has taken it yet.
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    expect(page.get_by_role("heading", name="Importing people from “visitors.csv”")).to_be_visible()
    status = page.get_by_role("status")
    expect(status).to_have_text("Waiting for the background worker to start…")
    bar = page.get_by_role("progressbar", name="Import progress")
    expect(bar).to_be_visible()

    # The worker starts, and is held after ten rows: the bar and the live region say so.
    start_worker()
    assert reached.wait(timeout=20), "the worker did not start the import"
    expect(bar).to_have_attribute("aria-valuenow", "33")
    expect(status).to_have_text(re.compile(rf"^\d+ of {ROWS} done \(\d+%\)\.$"))

    # Let it finish: the page goes to the report by itself.
    release.set()
    expect(page).to_have_url(re.compile(r"/imports/\d+/report$"), timeout=20_000)
    expect(page.get_by_role("heading", name="Import report")).to_be_visible()
    expect(page.get_by_text(f"{ROWS} created, 0 updated, 0 skipped")).to_be_visible()


def test_without_javascript_the_import_page_refreshes_itself_until_the_report(
    browser: Browser, live_server: str, make_user, start_worker, tmp_path
):
    user: User = make_user("coordinator")
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email", exact=True).fill(user.email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile("/login"))
        _upload(page, _csv(tmp_path))
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.get_by_role("status")).to_have_text(
            "Waiting for the background worker to start…"
        )
        expect(page.get_by_role("link", name="Refresh to see how far it has got")).to_be_visible()
        start_worker()
        # The page reloads itself every 3 seconds and lands on the report once it is done.
        expect(page).to_have_url(re.compile(r"/imports/\d+/report$"), timeout=20_000)
        expect(page.get_by_text(f"{ROWS} created, 0 updated, 0 skipped")).to_be_visible()
    finally:
        context.close()
