"""Errors (issue 15, item 9): a 500 is logged with a request id the error page shows; logs
carry ids, never personal data."""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from crm import create_app
from crm.access import Role
from crm.extensions import db
from crm.models import Person, Stakeholder
from tests.conftest import make_config, sign_in, wipe

REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")


@pytest.fixture
def failing_app(database_url: str, _schema: None, make_user):  # type: ignore[no-untyped-def]
    """An app as production runs it (exceptions become the 500 page, not a test failure),
    with a test-only page that fails after writing personal data into its error."""
    app = create_app(make_config(database_url, PROPAGATE_EXCEPTIONS=False))

    def boom() -> str:
        db.session.execute(  # NOT NULL columns left out: an IntegrityError with parameters
            sa.insert(Stakeholder).values(display_name="Wang Fang secret@example.org")
        )
        return "unreachable"

    app.add_url_rule("/_test/boom", "test_boom", boom)
    yield app
    wipe(app)
    with app.app_context():
        db.engine.dispose()


def _signed_in(app: Flask, make_user):  # type: ignore[no-untyped-def]
    client = app.test_client()
    user = make_user(Role.member)
    assert sign_in(client, user.email).status_code == 302
    return client


def test_a_server_error_shows_the_request_id_that_its_log_carries(failing_app, make_user, caplog):
    client = _signed_in(failing_app, make_user)
    with caplog.at_level(logging.INFO):
        response = client.get("/_test/boom")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert REQUEST_ID.fullmatch(request_id)
    page = response.get_data(as_text=True)
    assert request_id in page and "Something went wrong" in page
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged and all(r.request_id == request_id for r in logged)
    assert "/_test/boom" in logged[0].getMessage()


def test_a_server_error_logs_no_personal_data(failing_app, make_user, caplog):
    client = _signed_in(failing_app, make_user)
    with caplog.at_level(logging.DEBUG):
        assert client.get("/_test/boom").status_code == 500
    assert caplog.records
    assert "secret@example.org" not in caplog.text and "Wang Fang" not in caplog.text


def test_a_json_server_error_carries_the_request_id(failing_app, make_user):
    client = _signed_in(failing_app, make_user)
    response = client.get("/_test/boom", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.get_json()["request_id"] == response.headers["X-Request-ID"]


def test_every_response_has_its_own_request_id(client):
    first = client.get("/login").headers["X-Request-ID"]
    second = client.get("/no-such-page").headers["X-Request-ID"]
    assert REQUEST_ID.fullmatch(first) and REQUEST_ID.fullmatch(second) and first != second


def test_the_proxy_request_id_is_kept_when_it_is_a_safe_token(client):
    offered = "5f2b0c1e9a8d4c7b"
    assert client.get("/login", headers={"X-Request-ID": offered}).headers["X-Request-ID"] == (
        offered
    )


@pytest.mark.parametrize(
    "offered", ["short", "x" * 129, "abc def ghi", "id<script>alert(1)</script>", "a\u4e2dbcdefgh"]
)
def test_an_unsafe_request_id_is_replaced(client, offered):
    sent = client.get("/login", headers={"X-Request-ID": offered}).headers["X-Request-ID"]
    assert sent != offered and REQUEST_ID.fullmatch(sent)


def test_log_lines_of_a_request_carry_its_id_and_no_personal_data(login_as, in_app, caplog):
    client = login_as(Role.coordinator)
    form = {
        "version": "0",
        "family_name": "Zhang",
        "given_name": "Xiuying",
        "chinese_name": "张秀英",
        "gender": "female",
        "email": "zhang.xiuying@example.org",
        "phone": "+86 138 0013 8000",
        "wechat_id": "zxy_wechat",
        "influence": "3",
        "interest": "3",
        "consent": "given",
        "preferred_language": "zh",
    }
    with caplog.at_level(logging.DEBUG, logger="crm"):
        created = client.post("/people/new", data=form)
        assert created.status_code == 302, created.get_data(as_text=True)
        exported = client.get("/people?format=csv")
        assert exported.status_code == 200 and b"Zhang" in exported.data
    with in_app():
        person_id = db.session.scalar(sa.select(Person.id))
    records = [r for r in caplog.records if r.name.startswith("crm")]
    assert any(str(person_id) in r.getMessage() for r in records)
    ids = {created.headers["X-Request-ID"], exported.headers["X-Request-ID"]}
    assert {r.request_id for r in records} <= ids
    for personal in ("Zhang", "Xiuying", "张秀英", "zhang.xiuying", "0013", "zxy_wechat"):
        assert personal not in caplog.text


def test_log_records_outside_a_request_say_so(caplog):
    with caplog.at_level(logging.INFO, logger="crm.test"):
        logging.getLogger("crm.test").info("no request here")
    assert caplog.records[-1].request_id == "-"
