"""Throttling that a stranger cannot turn against the owner: failed sign-ins count per account
and address pair, per address, and per account from browsers that never signed in to it.

The limits here are small (settings of the app under test) so that a test makes few requests;
tests/auth/test_views.py checks the default limits.
"""

from __future__ import annotations

import pytest

from crm.access import Role
from crm.extensions import limiter
from tests.auth.conftest import SECRET, signed_in
from tests.conftest import PASSWORD

WRONG = "Wrong email or password, or the account is disabled."


@pytest.fixture
def limited(make_app):  # type: ignore[no-untyped-def]
    app = make_app(
        RATELIMIT_ENABLED=True,
        LOGIN_FAILURE_LIMIT="3 per hour",
        LOGIN_ADDRESS_LIMIT="50 per hour",
        LOGIN_ACCOUNT_LIMIT="6 per hour",
    )
    assert limiter.enabled
    return app


def _post(client, email: str, password: str, address: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _guess(app, email: str, address: str):  # type: ignore[no-untyped-def]
    return _post(app.test_client(), email, "not the password", address)


def test_one_address_alone_cannot_lock_the_owner_out(limited, make_user):
    owner = make_user(Role.member)
    for _n in range(3):
        assert _guess(limited, owner.email, "203.0.113.7").status_code == 400
    assert _guess(limited, owner.email, "203.0.113.7").status_code == 429
    # A new browser at another address: below the account limit, so the owner gets in.
    assert _post(limited.test_client(), owner.email, PASSWORD, "10.0.0.77").status_code == 302


def test_guessing_from_many_addresses_holds_unknown_browsers(limited, make_user):
    owner = make_user(Role.member)
    for n in range(6):  # one guess each from six addresses: the pair limit never trips
        response = _guess(limited, owner.email, f"203.0.113.{n + 1}")
        assert response.status_code == 400 and WRONG in response.get_data(as_text=True)
    response = _post(limited.test_client(), owner.email, PASSWORD, "198.51.100.9")
    assert response.status_code == 429
    assert response.headers.getlist("Set-Cookie") == []


def test_owner_gets_in_from_a_known_browser_while_the_account_is_under_attack(limited, make_user):
    owner = make_user(Role.member)
    browser = limited.test_client()
    assert _post(browser, owner.email, PASSWORD, "10.0.0.5").status_code == 302
    assert browser.get_cookie("known_browser") is not None
    browser.post("/logout", environ_base={"REMOTE_ADDR": "10.0.0.5"})
    for n in range(8):
        _guess(limited, owner.email, f"203.0.113.{n + 1}")
    assert _post(limited.test_client(), owner.email, PASSWORD, "10.0.0.77").status_code == 429
    # The browser the owner signed in with before, even from a new address.
    response = _post(browser, owner.email, PASSWORD, "10.0.0.77")
    assert response.status_code == 302
    assert signed_in(browser)


def test_a_known_browser_is_known_for_its_own_accounts_only(limited, make_user):
    owner, stranger = make_user(Role.member), make_user(Role.member)
    attacker = limited.test_client()
    assert _post(attacker, stranger.email, PASSWORD, "203.0.113.1").status_code == 302
    attacker.post("/logout", environ_base={"REMOTE_ADDR": "203.0.113.1"})
    for n in range(6):
        _guess(limited, owner.email, f"203.0.113.{n + 10}")
    # Signed in to another account: the attacker's browser is not known for the owner's.
    assert _post(attacker, owner.email, "still guessing", "203.0.113.99").status_code == 429


def test_a_forged_known_browser_cookie_is_ignored(limited, make_user):
    owner = make_user(Role.member)
    for n in range(6):
        _guess(limited, owner.email, f"203.0.113.{n + 1}")
    forger = limited.test_client()
    forger.set_cookie("known_browser", "WyJhYmMiXQ.forged-signature")
    assert _post(forger, owner.email, PASSWORD, "198.51.100.1").status_code == 429


def test_wrong_second_factor_codes_count_as_failed_attempts(
    limited, make_user, enable_two_factor, frozen_clock
):
    owner = make_user(Role.member)
    enable_two_factor(owner)
    client = limited.test_client()
    address = {"REMOTE_ADDR": "203.0.113.5"}
    assert _post(client, owner.email, PASSWORD, "203.0.113.5").status_code == 302
    for _n in range(3):
        wrong = client.post("/login/code", data={"code": "000000"}, environ_base=address)
        assert wrong.status_code == 400
    right = frozen_clock.code(SECRET)
    assert client.post("/login/code", data={"code": right}, environ_base=address).status_code == 429
    assert not signed_in(client)
