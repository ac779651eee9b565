"""Issue 13: a large export leaves the request. The coordinator exports a list too large to
download at once; the background worker writes the file while the job's page shows the
progress, then the page offers the file.

As in the import journey (whose live server, real queue and worker this test shares), the
worker is started only once the page shows the export waiting for it, and held halfway
through the rows until the page has shown how far it got, so nothing depends on timing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from crm import jobs
from tests.browser.test_import_worker_journey import (  # noqa: F401 - fixtures used here
    live_server,
    start_worker,
    worker_app,
)
from tests.reports.helpers import csv_rows

ROWS = 6


@pytest.fixture
def held_export(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, Any]]:
    """Holds the worker once it has written half the rows until the test lets it go
    (`release.set()`); `reached` is set when it gets there."""
    reached, release = threading.Event(), threading.Event()
    real = jobs.Progress.__call__

    def report(self: jobs.Progress, done: int, total: int | None) -> None:
        real(self, done, total)
        if done == ROWS // 2 and not reached.is_set():
            reached.set()
            release.wait(timeout=30)

    monkeypatch.setattr(jobs.Progress, "__call__", report)
    monkeypatch.setattr(jobs.Progress, "EVERY", 0)  # record every row, not 4 a second
    yield reached, release
    release.set()  # never leave the worker waiting, even when the test failed


def test_coordinator_exports_a_large_list_through_the_worker(
    page: Page,
    log_in,
    make_user,
    make_person,
    worker_app: Flask,  # noqa: F811
    start_worker,  # noqa: F811
    held_export,
    tmp_path: Path,
):
    reached, release = held_export
    worker_app.config.update(EXPORT_INLINE_ROWS=ROWS - 1, EXPORT_DIR=str(tmp_path / "exports"))
    for n in range(ROWS):
        make_person(family_name="Zhou", given_name=f"Visitor {n}")
    log_in(make_user("coordinator"))

    page.goto("/people")
    page.get_by_role("button", name="Export").click()
    page.get_by_role("link", name="CSV (UTF-8)").click()
    expect(page.get_by_role("heading", name="Prepare the export")).to_be_visible()
    expect(page.get_by_text("People · CSV")).to_be_visible()
    page.get_by_role("button", name="Prepare the file").click()

    # The job's page follows the export; no worker has taken it yet.
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    status = page.get_by_role("status")
    expect(status).to_have_text("Waiting for the background worker to start…")
    bar = page.get_by_role("progressbar", name="Progress")
    expect(bar).to_be_visible()

    # The worker starts, and is held halfway: the bar and the live region say so.
    start_worker()
    assert reached.wait(timeout=20), "the worker did not start the export"
    expect(bar).to_have_attribute("aria-valuenow", "50")
    expect(status).to_have_text(f"{ROWS // 2} of {ROWS} done (50%).")

    # Let it finish: the page shows the file, which downloads with every row.
    release.set()
    link = page.get_by_role("link", name=re.compile(r"^Download people-.*\.csv$"))
    expect(link).to_be_visible(timeout=20_000)
    expect(page.get_by_text(f"{ROWS} rows")).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = csv_rows(saved.read_bytes())
    assert len(rows) == ROWS + 1
    assert sorted(row[0] for row in rows[1:]) == [f"Visitor {n} Zhou" for n in range(ROWS)]
