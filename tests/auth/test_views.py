"""Signing in and out, the profile page, login throttling and CSRF."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from werkzeug.security import check_password_hash

from crm import create_app
from crm.access import Role
from crm.extensions import db, limiter
from crm.models import Organisation, User
from tests.conftest import PASSWORD, make_config, sign_in

WRONG = "Wrong email or password, or the account is disabled."
NEW_PASSWORD = "a much longer new secret"


def _is_signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    response = client.get("/")
    if response.status_code == 302:
        assert urlsplit(response.headers["Location"]).path == "/login"
        return False
    assert response.status_code == 200
    return True


def _password_works(client, email: str, password: str) -> bool:  # type: ignore[no-untyped-def]
    return sign_in(client, email, password).status_code == 302


# --- Signing in -------------------------------------------------------------------------------


def test_member_can_sign_in_and_is_welcomed(client, make_user, in_app):
    user = make_user(Role.member, name="Zhang Wei")
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Welcome, Zhang Wei." in page
    with in_app():
        assert db.session.get(User, user.id).last_login_at is not None


def test_member_can_sign_in_with_the_email_in_other_case(client, make_user):
    user = make_user(Role.member)
    assert sign_in(client, "  " + user.email.upper()).status_code == 302
    assert _is_signed_in(client)


def test_member_cannot_sign_in_with_a_wrong_password(client, make_user, in_app):
    user = make_user(Role.member)
    response = sign_in(client, user.email, "not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert WRONG in page
    assert f'value="{user.email}"' in page  # the email stays typed in
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert not _is_signed_in(client)
    with in_app():
        assert db.session.get(User, user.id).last_login_at is None


def test_visitor_cannot_tell_an_unknown_email_from_a_wrong_password(client):
    response = sign_in(client, "nobody@example.org")
    assert response.status_code == 400
    assert WRONG in response.get_data(as_text=True)
    assert not _is_signed_in(client)


def test_visitor_cannot_sign_in_with_an_empty_form(client):
    response = client.post("/login", data={})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(client, make_user, in_app):
    user = make_user(Role.coordinator, is_enabled=False)
    response = sign_in(client, user.email)
    assert response.status_code == 400
    assert WRONG in response.get_data(as_text=True)
    assert not _is_signed_in(client)
    with in_app():
        assert db.session.get(User, user.id).last_login_at is None


def test_member_can_stay_signed_in_with_remember_me(app, client, make_user):
    user = make_user(Role.member)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.value
    # A new browser session (no session cookie) is signed in by the remember cookie alone.
    later = app.test_client()
    later.set_cookie("remember_token", cookie.value)
    assert _is_signed_in(later)


def test_member_is_not_remembered_without_asking(client, make_user):
    user = make_user(Role.member)
    assert sign_in(client, user.email).status_code == 302
    assert client.get_cookie("remember_token") is None


def test_deactivated_user_cannot_come_back_with_a_remember_cookie(app, make_user, in_app):
    user = make_user(Role.member)
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    with in_app():
        db.session.get(User, user.id).is_enabled = False
        db.session.commit()
    later = app.test_client()
    later.set_cookie("remember_token", cookie.value)
    assert not _is_signed_in(later)


def test_signed_in_user_is_sent_from_the_login_page_to_the_dashboard(login_as):
    client = login_as(Role.viewer)
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- Where signing in leads -------------------------------------------------------------------


def test_member_can_sign_in_and_go_back_to_the_page_asked_for(client, make_user):
    user = make_user(Role.member)
    asked = client.get("/people?sort=name")
    assert asked.status_code == 302
    login_url = asked.headers["Location"]
    response = client.post(login_url, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/people?sort=name"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/login",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
    ],
)
def test_visitor_cannot_be_redirected_off_site_after_signing_in(client, make_user, target):
    user = make_user(Role.member)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_visitor_cannot_be_redirected_off_site_with_a_backslash(client, make_user):
    # Browsers read "/\evil.example" as "//evil.example"; the redirect must stay on this site.
    user = make_user(Role.member)
    response = client.post(
        "/login",
        query_string={"next": "/\\evil.example"},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert urlsplit(location).netloc == ""


# --- Signing out ------------------------------------------------------------------------------


def test_member_can_sign_out(login_as):
    client = login_as(Role.member)
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You are signed out." in client.get("/login").get_data(as_text=True)
    assert not _is_signed_in(client)


def test_member_cannot_be_signed_out_by_a_get_request(login_as):
    # A link or an <img src="/logout"> on another page must not sign anyone out.
    client = login_as(Role.member)
    response = client.get("/logout")
    assert response.status_code == 405
    assert "This address does not accept that kind of request." in response.get_data(as_text=True)
    assert "POST" in response.headers["Allow"] and "GET" not in response.headers["Allow"]
    assert _is_signed_in(client)


# --- Passwords --------------------------------------------------------------------------------


def test_member_is_signed_out_everywhere_when_an_admin_resets_the_password(app, login_as):
    member = login_as(Role.member)
    other_device = app.test_client()
    assert sign_in(other_device, member.user.email).status_code == 302
    admin = login_as(Role.admin)
    response = admin.post(
        f"/admin/users/{member.user.id}/password", data={"reset-password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert "their other sessions are signed out" in admin.get("/admin/users").get_data(as_text=True)
    assert not _is_signed_in(member)
    assert not _is_signed_in(other_device)
    assert not _password_works(app.test_client(), member.user.email, PASSWORD)
    assert _password_works(app.test_client(), member.user.email, NEW_PASSWORD)
    assert _is_signed_in(admin)


def test_member_cannot_change_the_password_without_the_current_one(login_as, in_app):
    client = login_as(Role.member)
    response = client.post(
        "/profile",
        data={
            "pw-current": "a guessed password",
            "pw-password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD,
            "pw-submit": "Change password",
        },
    )
    assert response.status_code == 400
    assert "This is not your current password." in response.get_data(as_text=True)
    with in_app():
        assert check_password_hash(db.session.get(User, client.user.id).password_hash, PASSWORD)
    assert _is_signed_in(client)


def test_member_cannot_change_the_password_to_a_short_or_mistyped_one(login_as, in_app):
    client = login_as(Role.member)
    short = client.post(
        "/profile",
        data={
            "pw-current": PASSWORD,
            "pw-password": "short",
            "pw-confirm": "short",
            "pw-submit": "1",
        },
    )
    assert short.status_code == 400
    assert "Use at least 12 characters." in short.get_data(as_text=True)
    mistyped = client.post(
        "/profile",
        data={
            "pw-current": PASSWORD,
            "pw-password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD + "!",
            "pw-submit": "1",
        },
    )
    assert mistyped.status_code == 400
    assert "The passwords differ." in mistyped.get_data(as_text=True)
    with in_app():
        assert check_password_hash(db.session.get(User, client.user.id).password_hash, PASSWORD)


def test_member_can_change_the_password_and_stays_signed_in_here_only(app, login_as):
    client = login_as(Role.member)
    other_device = app.test_client()
    assert sign_in(other_device, client.user.email).status_code == 302
    response = client.post(
        "/profile",
        data={
            "pw-current": PASSWORD,
            "pw-password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD,
            "pw-submit": "Change password",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/profile"
    assert "Password changed." in client.get("/profile").get_data(as_text=True)
    assert _is_signed_in(client)
    assert not _is_signed_in(other_device)
    assert not _password_works(app.test_client(), client.user.email, PASSWORD)
    assert _password_works(app.test_client(), client.user.email, NEW_PASSWORD)


# --- Language ---------------------------------------------------------------------------------


def test_member_can_switch_the_interface_to_chinese(login_as, in_app):
    client = login_as(Role.member)
    assert '<html lang="en">' in client.get("/profile").get_data(as_text=True)
    response = client.post("/profile", data={"locale": "zh", "submit": "Save"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/profile"
    assert '<html lang="zh-CN">' in client.get("/profile").get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get("/organisations").get_data(as_text=True)
    with in_app():
        assert db.session.get(User, client.user.id).locale == "zh"


def test_member_can_see_their_role_on_the_profile(login_as):
    page = login_as(Role.member, name="Zhang Wei").get("/profile").get_data(as_text=True)
    assert "Zhang Wei" in page
    assert '<dd class="col-sm-8">Team member</dd>' in page


def test_member_cannot_choose_an_unknown_language(login_as, in_app):
    client = login_as(Role.member)
    response = client.post("/profile", data={"locale": "fr", "submit": "Save"})
    assert response.status_code == 400
    assert "Not a valid choice." in response.get_data(as_text=True)
    with in_app():
        assert db.session.get(User, client.user.id).locale == "en"


def test_visitor_can_choose_the_language_of_the_login_page(client):
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get("/login?lang=zh").get_data(as_text=True)
    assert '<html lang="zh-CN">' in client.get("/login").get_data(as_text=True)


# --- Login throttling -------------------------------------------------------------------------


@pytest.fixture
def limited_app(app, database_url):  # type: ignore[no-untyped-def]
    """A second app on the same database, with login throttling switched on.

    `limiter` is one module-level extension: `init_app` sets its on/off switch (and a fresh
    in-memory store) for every app, and the app initialised last wins. This app must therefore
    be created after `app`, and no other app may be created during the test.
    """
    limited = create_app(make_config(database_url, RATELIMIT_ENABLED=True))
    assert limiter.enabled
    yield limited
    with limited.app_context():
        db.engine.dispose()


def _attempt(app, email: str, password: str = "wrong password", address: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response


def _assert_throttled(response) -> None:  # type: ignore[no-untyped-def]
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many attempts" in page
    assert "Wait a minute, then try again." in page
    assert int(response.headers["Retry-After"]) > 0


def test_visitor_cannot_try_more_than_five_passwords_on_one_account(limited_app, make_user):
    user = make_user(Role.member)
    for _n in range(5):
        response = _attempt(limited_app, user.email, address="10.0.0.1")
        assert response.status_code == 400
        assert WRONG in response.get_data(as_text=True)
    # Even the right password is refused from there now, and nobody is signed in.
    response = _attempt(limited_app, user.email, PASSWORD, address="10.0.0.1")
    _assert_throttled(response)
    assert response.headers.getlist("Set-Cookie") == []


def test_stranger_cannot_lock_the_owner_out_with_five_wrong_guesses(limited_app, make_user):
    # The finding: with a shared store, five wrong guesses from anyone locked the account.
    user = make_user(Role.member)
    for _n in range(5):
        assert _attempt(limited_app, user.email, address="203.0.113.7").status_code == 400
    _assert_throttled(_attempt(limited_app, user.email, address="203.0.113.7"))
    response = _attempt(limited_app, user.email, PASSWORD, address="10.0.0.99")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_visitor_cannot_try_many_accounts_from_one_address(limited_app, make_user):
    for n in range(10):  # LOGIN_ADDRESS_LIMIT: 10 a minute, whatever the accounts
        response = _attempt(limited_app, f"guess{n}@example.org", address="10.9.9.9")
        assert response.status_code == 400
    user = make_user(Role.member)
    _assert_throttled(_attempt(limited_app, user.email, PASSWORD, address="10.9.9.9"))
    assert _attempt(limited_app, user.email, PASSWORD, address="10.9.9.10").status_code == 302


def test_member_can_sign_in_without_it_counting_as_a_failed_attempt(limited_app, make_user):
    user = make_user(Role.member)
    for _n in range(4):
        assert _attempt(limited_app, user.email).status_code == 400
    for _n in range(3):
        assert _attempt(limited_app, user.email, PASSWORD).status_code == 302
    assert _attempt(limited_app, user.email).status_code == 400  # the fifth failure
    _assert_throttled(_attempt(limited_app, user.email))


def test_member_can_sign_in_while_another_account_is_throttled(limited_app, make_user):
    target, colleague = make_user(Role.member), make_user(Role.coordinator)
    for _n in range(5):
        _attempt(limited_app, target.email, address="10.0.0.1")
    _assert_throttled(_attempt(limited_app, target.email, address="10.0.0.1"))
    wrong = _attempt(limited_app, colleague.email, address="10.0.0.2")
    assert wrong.status_code == 400 and WRONG in wrong.get_data(as_text=True)
    response = _attempt(limited_app, colleague.email, PASSWORD, address="10.0.0.2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_visitor_can_still_see_the_login_page_when_throttled(limited_app, make_user):
    user = make_user(Role.member)
    for _n in range(6):
        _attempt(limited_app, user.email)
    client = limited_app.test_client()
    page = client.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert page.status_code == 200


# --- CSRF -------------------------------------------------------------------------------------


@pytest.fixture
def csrf_app(app, database_url):  # type: ignore[no-untyped-def]
    """A second app on the same database with CSRF protection on, as in production."""
    protected = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
    yield protected
    with protected.app_context():
        db.engine.dispose()


def _csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token in the form"
    return match.group(1)


def test_visitor_cannot_post_a_form_without_its_csrf_token(csrf_app, make_user, in_app):
    user = make_user(Role.member)
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The form has expired or was sent from elsewhere." in page
    assert "reload the page and submit it again" in page
    assert not _is_signed_in(client)

    token = _csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302

    response = client.post("/organisations/new", data={"display_name": "Forged Ltd"})
    assert response.status_code == 400
    assert "The form has expired or was sent from elsewhere." in response.get_data(as_text=True)
    # Signing out is a form too: without the token the user stays signed in.
    assert client.post("/logout").status_code == 400
    assert _is_signed_in(client)
    with in_app():
        assert db.session.scalar(db.select(db.func.count()).select_from(Organisation)) == 0
