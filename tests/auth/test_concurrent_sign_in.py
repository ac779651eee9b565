"""Many sign-ins to one account at once all succeed (the load test's team shares accounts,
and a user opens several tabs): recording the sign-in must not conflict."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from crm.access import Role
from crm.extensions import db
from crm.models import User
from crm.services import accounts
from tests.conftest import PASSWORD, sign_in


def test_sign_in_succeeds_when_the_user_row_changed_meanwhile(
    app, client, make_user, in_app, monkeypatch
):
    """Another sign-in (or an edit) commits between reading the user and recording this
    sign-in: the user's version has moved on. This was a 500 (StaleDataError)."""
    user = make_user(Role.member)
    real_check = accounts.check_password_hash

    def check_and_race(stored_hash: str, password: str) -> bool:
        with db.engine.begin() as other:  # another connection: another request
            other.execute(
                sa.text("UPDATE users SET version = version + 1 WHERE id = :id"), {"id": user.id}
            )
        return real_check(stored_hash, password)

    monkeypatch.setattr(accounts, "check_password_hash", check_and_race)
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    monkeypatch.undo()
    assert client.get("/").status_code == 200
    with in_app():
        assert db.session.get(User, user.id).last_login_at is not None


def test_eight_simultaneous_sign_ins_to_one_account_all_succeed(app, make_user, in_app):
    # The real password hash (slow on purpose), so the eight overlap.
    user = make_user(Role.member, password_hash=generate_password_hash(PASSWORD))
    clients = [app.test_client() for _n in range(8)]
    start = threading.Barrier(len(clients))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def sign_in_now(client) -> None:  # type: ignore[no-untyped-def]
        try:
            start.wait(timeout=30)
            statuses.append(sign_in(client, user.email).status_code)
        except BaseException as err:  # shown by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=sign_in_now, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert statuses == [302] * len(clients)
    for client in clients:
        assert client.get("/").status_code == 200
    with in_app():
        stored = db.session.get(User, user.id)
        assert stored.last_login_at is not None
        assert stored.version == 1  # signing in is not an edit
