"""A real job queue for the tests that need one: a SQLite file of the test's own, and either
no worker (the test runs the queued tasks itself, in its own thread, as the worker would) or
a Huey consumer's worker threads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm import create_app, jobs
from crm.extensions import db
from crm.models import User
from tests.conftest import make_config, sign_in


def queued_config(database_url: str, folder: Path, **overrides: Any) -> type:
    """TestingConfig with a real queue in `folder` instead of running jobs inline."""
    return make_config(
        database_url,
        JOB_QUEUE_IMMEDIATE=False,
        JOB_QUEUE_URL=f"sqlite:///{folder / 'jobs.sqlite3'}",
        **overrides,
    )


@pytest.fixture
def queued_app(app: Flask, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with a job queue and no worker. Depends on `app`, which empties the tables."""
    queued = create_app(queued_config(database_url, tmp_path))
    yield queued
    with queued.app_context():
        db.session.remove()
        db.engine.dispose()


def run_queued(app: Flask) -> int:
    """Run the queued tasks here, as the worker would; returns how many ran.

    A task that raised (a bug, not a refusal the job records) fails the test."""
    huey = jobs.queue_of(app).huey
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        huey.result(task.id)  # raises huey's TaskException when the task raised
        ran += 1
    return ran


@pytest.fixture
def start_worker() -> Iterator[Callable[[Flask], Any]]:
    """`start_worker(app)`: the worker threads of a real Huey consumer (no signal handlers,
    which only the main thread may set), stopped when the test ends."""
    started: list[Any] = []

    def start(app: Flask) -> Any:
        consumer = jobs.consumer(app, workers=1, periodic=False)
        for _worker, thread in consumer.worker_threads:
            thread.start()
        started.append(consumer)
        return consumer

    yield start
    for consumer in started:
        consumer.stop_flag.set()  # each worker finishes its task, then stops polling
        for _worker, thread in consumer.worker_threads:
            thread.join(timeout=10)


def signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, user.email).status_code == 302
    return client
