"""Fixtures of the API tests: a token for a user of a given role, as request headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from crm.access import Role
from crm.extensions import db
from crm.models import User
from crm.services import api_tokens


@pytest.fixture
def make_token(app: Flask, make_user: Callable[..., User]) -> Callable[..., dict[str, str]]:
    """`make_token(role, read_only=False, user=None)`: Authorization headers of a new token
    (of a new user of `role`, or of `user`); the user is `headers.user`."""

    def make(
        role: Role | str = Role.admin,
        *,
        read_only: bool = False,
        user: User | None = None,
        **over: Any,
    ) -> dict[str, str]:
        owner = user or make_user(role, **over)
        with app.app_context():
            found = db.session.get(User, owner.id)
            assert found is not None
            _token, secret = api_tokens.create(
                found, name=f"test {owner.email}", read_only=read_only, actor=found
            )
        headers = Headers({"Authorization": f"Bearer {secret}"})
        headers.user = owner
        return headers

    return make


class Headers(dict[str, str]):
    user: User
