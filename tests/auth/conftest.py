"""Fixtures for signing in: a clock that stands still, apps with other settings, helpers that
read what a browser sees."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from crm import create_app
from crm.extensions import db
from crm.models import User
from crm.services import clock
from tests.conftest import make_config

# A base32 secret for tests that need a second factor they can compute codes for.
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class FrozenClock:
    """`crm.services.clock.now`, standing still until a test moves it."""

    def __init__(self) -> None:
        # On a step boundary, so "the next code" is always 30 seconds on.
        self.moment = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)

    def code(self, secret: str = SECRET, *, steps: int = 0) -> str:
        """The code an authenticator app shows now (or `steps` steps away)."""
        step = int(self.moment.timestamp()) // 30 + steps
        return pyotp.TOTP(secret).generate_otp(step)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock()
    monkeypatch.setattr(clock, "now", frozen.now)
    return frozen


@pytest.fixture
def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Another app on the test database, with some settings changed.

    The limiter is one module-level extension that the app made last configures: make at
    most one app per test, after `app`.
    """
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        other = create_app(make_config(database_url, **overrides))
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/")
    if response.status_code == 302:
        assert urlsplit(response.headers["Location"]).path == "/login"
        return False
    assert response.status_code == 200
    return True


def copy_cookies(app: Flask, client: FlaskClient, *names: str) -> FlaskClient:
    """Another browser holding copies of some of `client`'s cookies (what a thief keeps)."""
    other = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, f"no {name} cookie"
        other.set_cookie(name, cookie.value)
    return other


def field_errors(page: str, field_id: str) -> str:
    """The error text shown under one field (empty when the field is valid)."""
    at = page.index(f'id="{field_id}"')
    block_start = page.rindex('<div class="mb-3', 0, at)
    ends = [i for i in (page.find('<div class="mb-3', at), page.find("</form>", at)) if i != -1]
    block = page[block_start : min(ends)]
    errors = re.findall(r'<div class="invalid-feedback[^"]*">([^<]*)</div>', block)
    assert bool(errors) == ("is-invalid" in block), "error text and field highlight disagree"
    return " ".join(e.strip() for e in errors)


@pytest.fixture
def enable_two_factor(app: Flask, frozen_clock: FrozenClock) -> Callable[[User], list[str]]:
    """Turn on a user's second factor with SECRET; returns the recovery codes. The clock
    then moves on one step, as the code used to confirm cannot be used again."""

    def enable(user: User) -> list[str]:
        from crm.services import two_factor

        with app.app_context():
            stored = db.session.get(User, user.id)
            assert stored is not None
            codes = two_factor.enable(stored, secret=SECRET, code=frozen_clock.code(), actor=stored)
            db.session.remove()
        frozen_clock.advance(seconds=30)
        return codes

    return enable
