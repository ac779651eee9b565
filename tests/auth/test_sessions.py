"""Sessions end when they should: signing out, a password change, deactivation and "sign out
everywhere" end every session and remember cookie of the user, copies included; an idle
session expires."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from crm.access import Role
from crm.extensions import db
from crm.models import User
from tests.auth.conftest import copy_cookies, signed_in
from tests.conftest import PASSWORD, sign_in

NEW_PASSWORD = "a much longer new secret"


def _remembered(client, email: str):  # type: ignore[no-untyped-def]
    response = client.post("/login", data={"email": email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    return response


# --- Signing out ends the session everywhere --------------------------------------------------


def test_member_cannot_reuse_the_session_cookie_after_signing_out(app, login_as):
    client = login_as(Role.member)
    kept = copy_cookies(app, client, "session")  # copied before signing out
    assert signed_in(kept)
    assert client.post("/logout").status_code == 302
    assert not signed_in(client)
    assert not signed_in(kept)


def test_member_cannot_reuse_the_remember_cookie_after_signing_out(app, make_user):
    user = make_user(Role.member)
    client = app.test_client()
    _remembered(client, user.email)
    kept = copy_cookies(app, client, "remember_token")
    assert signed_in(copy_cookies(app, client, "remember_token"))
    client.post("/logout")
    assert not signed_in(kept)
    # Signing in again works, and gives a cookie that works.
    _remembered(client, user.email)
    assert signed_in(copy_cookies(app, client, "remember_token"))


def test_signing_out_ends_the_users_other_sessions_too(app, login_as):
    client = login_as(Role.member)
    phone = app.test_client()
    assert sign_in(phone, client.user.email).status_code == 302
    client.post("/logout")
    assert not signed_in(phone)


def test_member_cannot_reuse_the_old_session_cookie_after_changing_the_password(app, login_as):
    client = login_as(Role.member)
    kept = copy_cookies(app, client, "session")
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
    assert signed_in(client)
    assert not signed_in(kept)


def test_deactivated_user_cannot_reuse_a_copied_session_cookie(app, login_as):
    admin = login_as(Role.admin)
    member = login_as(Role.member)
    kept = copy_cookies(app, member, "session")
    page = admin.get(f"/admin/users/{member.user.id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = admin.post(
        f"/admin/users/{member.user.id}/edit",
        data={"version": version, "name": "Former Member", "role": "member", "locale": "en"},
    )
    assert response.status_code == 302
    assert not signed_in(member)
    assert not signed_in(kept)


def test_signing_in_and_out_leaves_the_users_version_alone(app, login_as, in_app):
    # An administrator's open edit form must not go stale because the user signed in or out.
    client = login_as(Role.member)
    with in_app():
        before = db.session.get(User, client.user.id).version
    client.post("/logout")
    assert sign_in(app.test_client(), client.user.email).status_code == 302
    with in_app():
        assert db.session.get(User, client.user.id).version == before


# --- Sign out everywhere ----------------------------------------------------------------------


def test_member_can_sign_out_everywhere_else_from_the_profile(app, login_as):
    laptop = login_as(Role.member)
    phone = app.test_client()
    _remembered(phone, laptop.user.email)
    phone_cookie = copy_cookies(app, phone, "remember_token")
    page = laptop.get("/profile").get_data(as_text=True)
    assert 'action="/profile/sign-out-everywhere"' in page and "Sign out everywhere else" in page
    response = laptop.post("/profile/sign-out-everywhere")
    assert response.status_code == 302
    assert response.headers["Location"] == "/profile"
    page = laptop.get("/profile").get_data(as_text=True)
    assert "Your other sessions are signed out, on every browser and device." in page
    assert signed_in(laptop)
    assert not signed_in(phone)
    assert not signed_in(phone_cookie)


def test_sign_out_everywhere_needs_the_forms_csrf_token(make_app, make_user):
    protected = make_app(WTF_CSRF_ENABLED=True)
    user = make_user(Role.member)
    laptop, phone = protected.test_client(), protected.test_client()
    for client in (laptop, phone):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 302
    assert laptop.post("/profile/sign-out-everywhere").status_code == 400
    assert signed_in(phone)
    page = laptop.get("/profile").get_data(as_text=True)
    form = page[page.index('action="/profile/sign-out-everywhere"') :]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = laptop.post("/profile/sign-out-everywhere", data={"csrf_token": token})
    assert response.status_code == 302
    assert signed_in(laptop)
    assert not signed_in(phone)


# --- Idle sessions ----------------------------------------------------------------------------


def test_idle_session_expires_and_the_sign_in_page_says_why(login_as, frozen_clock):
    client = login_as(Role.member)
    frozen_clock.advance(minutes=119)
    assert client.get("/organisations").status_code == 200
    frozen_clock.advance(minutes=119)  # each request restarts the idle time
    assert client.get("/organisations").status_code == 200
    frozen_clock.advance(minutes=121)
    response = client.get("/organisations")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/organisations"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 120 minutes without activity. Please sign in again." in page
    assert "Please sign in to see this page." not in page
    assert not signed_in(client)


def test_copied_session_cookie_expires_with_the_idle_time(app, login_as, frozen_clock):
    client = login_as(Role.member)
    kept = copy_cookies(app, client, "session")
    frozen_clock.advance(minutes=30)
    assert signed_in(client)
    frozen_clock.advance(minutes=100)  # the copy was last used 130 minutes ago
    assert signed_in(client)
    assert not signed_in(kept)


def test_idle_time_is_a_setting(make_app, make_user, frozen_clock):
    quick = make_app(SESSION_IDLE_MINUTES=5)
    user = make_user(Role.viewer)
    client = quick.test_client()
    assert sign_in(client, user.email).status_code == 302
    frozen_clock.advance(minutes=4)
    assert signed_in(client)
    frozen_clock.advance(minutes=6)
    response = client.get("/", follow_redirects=True)
    assert "after 5 minutes without activity" in response.get_data(as_text=True)


def test_member_kept_signed_in_comes_back_after_an_idle_session(app, make_user, frozen_clock):
    # "Keep me signed in" is the user's choice to outlive the idle time (30 days).
    user = make_user(Role.member)
    client = app.test_client()
    _remembered(client, user.email)
    frozen_clock.advance(hours=5)
    assert signed_in(client)
