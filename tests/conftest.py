"""Fixtures: an app per test on a clean database, clients, factories and `login_as`.

Tests never keep an application context open while they make requests: Flask would reuse
it for the request, and `g` (where Flask-Login keeps the current user) would leak between
requests. Factories open a context of their own and return detached, fully loaded objects.

The database is SQLite in a temporary file unless DATABASE_URL names another one; with
PostgreSQL each xdist worker gets a database of its own (`<name>_<worker>`), created on demand.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from crm import create_app
from crm.access import Role
from crm.config import TestingConfig
from crm.extensions import db as _db
from crm.models import Organisation, Person, User
from crm.services import stakeholders

PASSWORD = "correct horse battery"
# A cheap hash: the real scheme is exercised by the accounts tests, not by every login.
CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_url(base: str) -> str:
    url = sa.engine.make_url(base)
    name = f"{url.database}_{_worker()}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = os.environ.get("DATABASE_URL")
    if base and base.startswith("postgresql"):
        return _postgres_url(base)
    path: Path = tmp_path_factory.mktemp("db") / "crm-test.sqlite3"
    return f"sqlite:///{path}"


def make_config(url: str, **overrides: Any) -> type[TestingConfig]:
    return type("TestConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url, **overrides})


@pytest.fixture(scope="session")
def _schema(database_url: str) -> Iterator[None]:
    app = create_app(make_config(database_url))
    with app.app_context():
        _db.drop_all()
        _db.create_all()
    yield
    with app.app_context():
        _db.drop_all()
        _db.engine.dispose()


def wipe(app: Flask) -> None:
    """Empty every table, keeping the schema (much faster than dropping it per test)."""
    with app.app_context():
        _db.session.remove()
        tables = list(reversed(_db.metadata.sorted_tables))
        # DELETE, children first: on tables this small it is much faster than TRUNCATE, which
        # costs PostgreSQL a file operation per table. Ids keep counting up; no test may
        # depend on their values.
        with _db.engine.begin() as conn:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def app(database_url: str, _schema: None) -> Iterator[Flask]:
    app = create_app(make_config(database_url))
    yield app
    wipe(app)
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def in_app(app: Flask) -> Callable[[], Any]:
    """`with in_app(): ...` for database work and assertions between requests."""

    @contextmanager
    def context() -> Iterator[None]:
        with app.app_context():
            yield
            _db.session.remove()

    return context


def _detached(obj: Any) -> Any:
    _db.session.refresh(obj)
    _db.session.expunge(obj)
    return obj


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(role: Role | str = Role.member, **over: Any) -> User:
        n = next(counter)
        values = {
            "email": f"{Role(role).value}{n}@example.org",
            "name": f"{Role(role).value.title()} {n}",
            "role": Role(role),
            "password_hash": CHEAP_HASH,
            "session_token": f"token{n}",
        }
        values.update(over)
        with app.app_context():
            user = User(**values)
            _db.session.add(user)
            _db.session.commit()
            return _detached(user)

    return make


@pytest.fixture
def actor(make_user: Callable[..., User]) -> User:
    """An administrator on whose behalf factories write."""
    return make_user(Role.admin, email="factory-admin@example.org", name="Factory Admin")


@pytest.fixture
def make_organisation(app: Flask, actor: User) -> Callable[..., Organisation]:
    def make(**over: Any) -> Organisation:
        values = {
            "display_name": "Shenzhen Bright Electronics Co., Ltd.",
            "org_type": "enterprise",
            "sector": "electronics",
        }
        values.update(over)
        with app.app_context():
            admin = _db.session.get(User, actor.id)
            org = stakeholders.create_organisation(values, actor=admin, allow_duplicate=True)
            return _detached(org)

    return make


@pytest.fixture
def make_person(app: Flask, actor: User) -> Callable[..., Person]:
    def make(**over: Any) -> Person:
        values = {"family_name": "Wang", "given_name": "Fang", "gender": "female"}
        values.update(over)
        with app.app_context():
            admin = _db.session.get(User, actor.id)
            person = stakeholders.create_person(values, actor=admin, allow_duplicate=True)
            return _detached(person)

    return make


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"email": email, "password": password})


@pytest.fixture
def login_as(app: Flask, make_user: Callable[..., User]) -> Callable[..., FlaskClient]:
    """A client signed in with a fresh user of `role`; the anonymous client for None."""

    def login(role: Role | str | None, **over: Any) -> FlaskClient:
        client = app.test_client()
        if role is None:
            return client
        user = make_user(role, **over)
        response = sign_in(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        client.user = user  # type: ignore[attr-defined]
        return client

    return login


# ---------------------------------------------------------------------------------------------
# Counting queries (no N+1) and migrating an empty database
# ---------------------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __repr__(self) -> str:  # shown by pytest when a comparison fails
        return f"<{self.count} queries:\n" + "\n".join(self.statements) + ">"


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as counter:` counts the SQL statements sent to the app's engine."""
    with app.app_context():
        engine = _db.engine

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            counter.statements.append(" ".join(statement.split())[:300])

        sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", before_cursor_execute)

    return counting


@pytest.fixture
def _keep_logging() -> Iterator[None]:
    """env.py calls logging.config.fileConfig, which replaces the root logger's handlers."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loggers = {
        name: (logger.level, logger.handlers[:], logger.propagate, logger.disabled)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, (lvl, hdlrs, propagate, disabled) in loggers.items():
        logger = logging.getLogger(name)
        logger.setLevel(lvl)
        logger.handlers[:] = hdlrs
        logger.propagate, logger.disabled = propagate, disabled


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    base = os.environ.get("DATABASE_URL")
    if not (base and base.startswith("postgresql")):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = sa.engine.make_url(base)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{url.database}_migrations_{worker}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migrated_app(empty_database_url: str, _keep_logging: None) -> Iterator[Flask]:
    app = create_app(make_config(empty_database_url))
    with app.app_context():
        assert sa.inspect(_db.engine).get_table_names() == []
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()
