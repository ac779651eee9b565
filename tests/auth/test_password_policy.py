"""One password rule wherever a password is set: at least 12 characters, not common, not a
repeat or a sequence, not close to the user's name or email."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

from crm.access import Role
from crm.extensions import db
from crm.models import User
from crm.services import accounts
from crm.services.errors import InvalidInput
from tests.auth.conftest import field_errors
from tests.conftest import PASSWORD

TOO_EASY = (
    "This password is too easy to guess: it is common, a repeat or a sequence, or close to "
    "your name or email. Add a few uncommon words."
)
TOO_SHORT = "Use at least 12 characters."
EMAIL, NAME = "zhang.wei@example.org", "Zhang Wei"

# (password, message): what the issue found accepted, and its neighbours.
REFUSED = [
    ("1234567890", TOO_SHORT),
    ("aaaaaaaaaa", TOO_SHORT),
    ("123456789012", TOO_EASY),
    ("aaaaaaaaaaaa", TOO_EASY),
    ("password1234", TOO_EASY),
    ("qwertyuiop12", TOO_EASY),
    (EMAIL, TOO_EASY),
    (EMAIL.upper(), TOO_EASY),
    ("zhangwei2026!", TOO_EASY),
    ("Zhang Wei 1234", TOO_EASY),
    ("x" * 201, "Use at most 200 characters."),
]


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_the_rule_refuses_weak_passwords(app, password, message):
    with app.app_context(), pytest.raises(InvalidInput) as caught:
        accounts.check_password(password, email=EMAIL, name=NAME)
    assert str(caught.value) == message
    assert caught.value.field == "password"


@pytest.mark.parametrize(
    "password", [PASSWORD, "a much longer new secret", "Lantern-Quarry-Oboe-58", "x7$Kq!v9Lm#2"]
)
def test_the_rule_accepts_strong_passwords(app, password):
    with app.app_context():
        accounts.check_password(password, email=EMAIL, name=NAME)


# --- Where passwords are set ------------------------------------------------------------------


def _new_user(password: str) -> dict[str, str]:
    return {
        "email": EMAIL,
        "name": NAME,
        "role": "member",
        "locale": "en",
        "password": password,
    }


@pytest.mark.parametrize(
    ("password", "message"),
    [("1234567890", TOO_SHORT), ("aaaaaaaaaaaa", TOO_EASY), (EMAIL, TOO_EASY)],
)
def test_admin_cannot_create_a_user_with_a_weak_password(login_as, in_app, password, message):
    admin = login_as(Role.admin)
    response = admin.post("/admin/users/new", data=_new_user(password))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert field_errors(page, "password") == message
    assert f'value="{EMAIL}"' in page  # what was typed stays
    with in_app():
        assert db.session.scalar(db.select(User).where(User.email == EMAIL)) is None


def test_admin_can_create_a_user_with_a_strong_password(login_as, in_app):
    admin = login_as(Role.admin)
    response = admin.post("/admin/users/new", data=_new_user("Lantern-Quarry-Oboe-58"))
    assert response.status_code == 302
    with in_app():
        assert db.session.scalar(db.select(User).where(User.email == EMAIL)) is not None


@pytest.mark.parametrize("password", ["1234567890", "aaaaaaaaaaaa", "own email"])
def test_admin_cannot_set_a_weak_password(login_as, make_user, in_app, password):
    target = make_user(Role.viewer, email=EMAIL, name=NAME)
    password = EMAIL if password == "own email" else password
    admin = login_as(Role.admin)
    response = admin.post(f"/admin/users/{target.id}/password", data={"reset-password": password})
    assert response.status_code == 400
    message = field_errors(response.get_data(as_text=True), "reset-password")
    assert message == (TOO_SHORT if len(password) < 12 else TOO_EASY)
    with in_app():
        assert check_password_hash(db.session.get(User, target.id).password_hash, PASSWORD)


@pytest.mark.parametrize("password", ["1234567890", "aaaaaaaaaaaa", "own email", "own name"])
def test_member_cannot_change_the_password_to_a_weak_one(login_as, in_app, password):
    client = login_as(Role.member, email=EMAIL, name=NAME)
    password = {"own email": EMAIL, "own name": "ZhangWei2026!"}.get(password, password)
    response = client.post(
        "/profile",
        data={
            "pw-current": PASSWORD,
            "pw-password": password,
            "pw-confirm": password,
            "pw-submit": "Change password",
        },
    )
    assert response.status_code == 400
    message = field_errors(response.get_data(as_text=True), "pw-password")
    assert message == (TOO_SHORT if len(password) < 12 else TOO_EASY)
    with in_app():
        assert check_password_hash(db.session.get(User, client.user.id).password_hash, PASSWORD)


def test_operator_cannot_create_a_user_with_a_weak_password(runner, in_app):
    args = ["crm", "create-user", EMAIL, "--name", NAME, "--role", "member"]
    result = runner.invoke(args=[*args, "--password", "aaaaaaaaaaaa"])
    assert result.exit_code == 1
    assert f"Error: {TOO_EASY}" in result.stderr
    with in_app():
        assert db.session.scalar(db.select(User).where(User.email == EMAIL)) is None
    result = runner.invoke(args=[*args, "--password", "Lantern-Quarry-Oboe-58"])
    assert result.exit_code == 0, result.output


def test_demo_accounts_follow_the_rule(runner):
    result = runner.invoke(args=["crm", "seed-demo"])
    assert result.exit_code == 0, result.output
