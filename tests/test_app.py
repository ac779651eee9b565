"""The application factory, configuration and health check."""

import pytest
import sqlalchemy as sa

from crm import create_app
from crm.config import ProductionConfig
from crm.extensions import db
from tests.conftest import make_config


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path}/missing/dir/crm.sqlite3"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_production_refuses_to_start_without_secret_key_and_database(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    try:
        create_app(ProductionConfig)
    except RuntimeError as err:
        assert "SECRET_KEY" in str(err) and "DATABASE_URL" in str(err)
    else:
        raise AssertionError("production started without SECRET_KEY")


def test_production_sends_cookies_only_over_https(monkeypatch, database_url):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", database_url)
    config = type(
        "Prod",
        (ProductionConfig,),
        {"SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": database_url, "SINGLE_PROCESS": True},
    )
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path}/crm.sqlite3"))
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        db.engine.dispose()


def test_unknown_page_is_a_friendly_404(login_as):
    response = login_as("viewer").get("/no/such/page")
    assert response.status_code == 404
    assert "There is no such page or record." in response.get_data(as_text=True)


def test_pages_load_bootstrap_from_the_installed_package_not_a_cdn(login_as):
    page = login_as("viewer").get("/organisations").get_data(as_text=True)
    assert "/bootstrap/static/css/bootstrap.min.css" in page
    assert "cdn." not in page and "jsdelivr" not in page


def test_bootstrap_assets_are_served(client):
    assert client.get("/bootstrap/static/css/bootstrap.min.css").status_code == 200


def test_the_factory_makes_no_queries(database_url):
    queries = []

    def record(conn, cursor, statement, *args):
        queries.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        create_app(make_config(database_url))
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    assert queries == []


def test_postgresql_sessions_run_without_jit_and_price_random_reads_for_memory(app):
    """Report queries are short: JIT compilation cost more than it saved (seconds a page).
    The data stays in memory: at the default random page cost (4) the planner scanned whole
    tables instead of looking 500 keys up by index (crm.create_app)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        assert db.session.execute(sa.text("SHOW jit")).scalar() == "off"
        assert db.session.execute(sa.text("SHOW random_page_cost")).scalar() == "1.1"
