"""Helpers for the import tests: files written the way Excel and address books write them."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from crm import create_app
from crm.access import Role
from crm.extensions import db
from crm.models import (
    Affiliation,
    AuditEvent,
    ImportBatch,
    Organisation,
    Person,
    SearchDocument,
    Stakeholder,
    Tag,
    User,
)
from tests.conftest import make_config, sign_in

COUNTED = (Stakeholder, Organisation, Person, Affiliation, AuditEvent, SearchDocument, Tag)


def counts() -> dict[str, int]:
    """Rows per table an import writes to (call inside an app context)."""
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in COUNTED
    }


def csv_bytes(
    rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    """Rows as CSV text in an encoding ("utf-8-sig" writes the BOM Excel writes)."""
    buffer = io.StringIO(newline="")
    import csv

    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(tmp_path: Path, rows: Sequence[Sequence[Any]], *, name: str = "book.xlsx") -> bytes:
    """An .xlsx written by openpyxl into tmp_path, as bytes."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "联系人"
    for row in rows:
        sheet.append(list(row))
    path = tmp_path / name
    book.save(path)
    return path.read_bytes()


@pytest.fixture
def coordinator(make_user: Callable[..., User]) -> User:
    return make_user(Role.coordinator, email="coordinator@example.org", name="Coord Inator")


@pytest.fixture
def as_user(in_app: Callable[[], Any]) -> Callable[[User], User]:
    """The user loaded in the current app context (factories return detached copies)."""

    def load(user: User) -> User:
        return db.session.get(User, user.id)

    return load


def upload(
    client: FlaskClient,
    data: bytes,
    filename: str = "people.csv",
    *,
    kind: str = "people",
    **kwargs: Any,
) -> Any:
    return client.post(
        "/imports",
        data={"kind": kind, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


def batch_id_of(response: Any) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def latest_batch() -> ImportBatch | None:
    return db.session.scalar(sa.select(ImportBatch).order_by(ImportBatch.id.desc()).limit(1))


@pytest.fixture
def small_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """The app with tiny upload limits (the `app` fixture still empties the database)."""
    small = create_app(make_config(database_url, IMPORT_MAX_BYTES=2000, MAX_CONTENT_LENGTH=20_000))
    yield small
    with small.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def small_client(small_app: Flask, coordinator: User) -> FlaskClient:
    client = small_app.test_client()
    assert sign_in(client, coordinator.email).status_code == 302
    return client
