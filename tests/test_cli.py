"""`flask crm create-user`: creates accounts, refuses duplicates and weak input."""

from __future__ import annotations

from werkzeug.security import check_password_hash

from crm.access import Role
from crm.extensions import db
from crm.models import User

PASSWORD = "a long enough secret"


def _create_user(runner, email: str = "li.na@example.org", **options: str):  # type: ignore[no-untyped-def]
    options = {"name": "Li Na 李娜", "role": "coordinator", "password": PASSWORD, **options}
    args = ["crm", "create-user", email]
    for name, value in options.items():
        args += [f"--{name}", value]
    return runner.invoke(args=args)


def _reraise(result) -> None:  # type: ignore[no-untyped-def]
    """Re-raise an exception the command did not handle (CliRunner only records it)."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception


def _users() -> list[User]:
    return list(db.session.scalars(db.select(User).order_by(User.id)))


def test_operator_can_create_a_user(runner, in_app, client):
    result = _create_user(runner, " Li.Na@Example.org ")
    assert result.exit_code == 0, result.output
    with in_app():
        (user,) = _users()
        assert user.email == "li.na@example.org"
        assert user.name == "Li Na 李娜" and user.role == Role.coordinator
        assert user.locale == "en" and user.is_enabled
        assert check_password_hash(user.password_hash, PASSWORD)
        assert result.output == f"Created coordinator li.na@example.org (id {user.id}).\n"
    response = client.post("/login", data={"email": "li.na@example.org", "password": PASSWORD})
    assert response.status_code == 302


def test_operator_can_create_a_user_with_a_prompted_password_and_a_locale(runner, in_app):
    result = runner.invoke(
        args=[
            *("crm", "create-user", "wang@example.org"),
            *("--name", "Wang", "--role", "admin", "--locale", "zh"),
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin wang@example.org" in result.output
    assert PASSWORD not in result.output
    with in_app():
        (user,) = _users()
        assert user.role == Role.admin and user.locale == "zh"
        assert check_password_hash(user.password_hash, PASSWORD)


def test_operator_cannot_create_two_users_with_the_same_email(runner, make_user, in_app):
    existing = make_user(Role.member, email="li.na@example.org", name="First Li")
    result = _create_user(runner, "LI.NA@example.org", name="Second Li")
    _reraise(result)
    assert result.exit_code == 1
    assert "Error: A user with this email already exists." in result.stderr
    assert "Created" not in result.output
    with in_app():
        assert [(u.id, u.name) for u in _users()] == [(existing.id, "First Li")]


def test_operator_cannot_create_a_user_with_an_unknown_role(runner, in_app):
    result = _create_user(runner, role="superuser")
    assert result.exit_code == 2
    assert "Invalid value for '--role'" in result.stderr
    assert "'superuser' is not one of" in result.stderr
    with in_app():
        assert _users() == []


def test_operator_cannot_create_a_user_with_a_short_password(runner, in_app):
    result = _create_user(runner, password="short")
    _reraise(result)
    assert result.exit_code == 1
    assert "Error: Use at least 12 characters." in result.stderr
    with in_app():
        assert _users() == []


def test_operator_cannot_create_a_user_without_a_name(runner, in_app):
    result = runner.invoke(args=["crm", "create-user", "li.na@example.org", "--role", "member"])
    assert result.exit_code == 2
    assert "Missing option '--name'" in result.stderr
    with in_app():
        assert _users() == []
