"""Production refuses settings that would weaken signing in: a short SECRET_KEY, a limiter
store each worker keeps for itself, unknown roles in REQUIRE_2FA_ROLES."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from crm import create_app
from crm.config import Config, ProductionConfig

GOOD_KEY = "k" * 32
SHARED = "redis://127.0.0.1:6379/15"


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def _production(database_url: str, **settings: Any) -> type[ProductionConfig]:
    values = {
        "SECRET_KEY": GOOD_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": SHARED,
        "SINGLE_PROCESS": False,
        **settings,
    }
    return type("Prod", (ProductionConfig,), values)


@pytest.mark.parametrize("key", ["x", "short-but-not-empty", "k" * 31, "密" * 10])
def test_production_refuses_a_secret_key_shorter_than_32_bytes(production_env, key):
    with pytest.raises(RuntimeError, match="SECRET_KEY must be at least 32 bytes"):
        create_app(_production(production_env, SECRET_KEY=key))


def test_production_accepts_a_32_byte_secret_key(production_env):
    app = create_app(_production(production_env, SECRET_KEY="密" * 11))  # 33 bytes
    assert app.config["SECRET_KEY"] == "密" * 11


def test_production_refuses_a_per_process_limiter_store(production_env):
    with pytest.raises(RuntimeError, match="SINGLE_PROCESS=1"):
        create_app(_production(production_env, RATELIMIT_STORAGE_URI="memory://"))


def test_production_accepts_memory_when_told_it_runs_one_process(production_env):
    config = _production(production_env, RATELIMIT_STORAGE_URI="memory://", SINGLE_PROCESS=True)
    assert create_app(config).config["SINGLE_PROCESS"] is True


def test_production_accepts_a_shared_limiter_store(production_env):
    assert create_app(_production(production_env)).config["RATELIMIT_STORAGE_URI"] == SHARED


def test_single_process_and_the_roles_are_read_from_the_environment():
    code = "from crm.config import Config; print(Config.SINGLE_PROCESS, Config.REQUIRE_2FA_ROLES)"
    env = {**os.environ, "SINGLE_PROCESS": "1", "REQUIRE_2FA_ROLES": " admin, Manager ,"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True ('admin', 'manager')"


def test_unknown_roles_requiring_two_factor_are_refused(database_url):
    config = type("Odd", (Config,), {"REQUIRE_2FA_ROLES": ("admin", "superuser")})
    with pytest.raises(RuntimeError, match="REQUIRE_2FA_ROLES names unknown roles: superuser"):
        config.validate()
