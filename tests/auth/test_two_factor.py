"""Two-factor sign-in: setting it up from the profile, the code after the password, recovery
codes, replayed and expired codes, roles that require it, and an administrator's reset."""

from __future__ import annotations

import re

import pytest

from crm.access import Role
from crm.extensions import db
from crm.models import AuditEvent, RecoveryCode, User
from tests.auth.conftest import field_errors, signed_in
from tests.conftest import PASSWORD, sign_in

WRONG_CODE = "That code is not right, or it has expired. Enter the code your app shows now."
USED_CODE = "That code has been used already. Wait for your app to show the next one."
WRONG_RECOVERY = "That recovery code is not right, or it has been used already."
REQUIRED = "Your role requires two-factor sign-in. Set it up to continue."


def _stored(user_id: int) -> User:
    user = db.session.get(User, user_id)
    assert user is not None
    return user


def _unused_codes(user_id: int) -> int:
    stmt = db.select(db.func.count()).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return db.session.scalar(stmt.select_from(RecoveryCode))


def _send_code(client, code: str):  # type: ignore[no-untyped-def]
    return client.post("/login/code", data={"code": code, "submit": "Verify"})


def _send_recovery(client, code: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/login/code", data={"recovery_code": code, "use_recovery_code": "Use recovery code"}
    )


def _codes_on(page: str) -> list[str]:
    return re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", page)


# --- Setting it up ----------------------------------------------------------------------------


def test_member_can_set_up_two_factor_sign_in_from_the_profile(login_as, in_app, frozen_clock):
    client = login_as(Role.member)
    profile = client.get("/profile").get_data(as_text=True)
    assert 'href="/profile/two-factor"' in profile and "Set up two-factor sign-in" in profile
    page = client.get("/profile/two-factor").get_data(as_text=True)
    # The QR code is an SVG drawn on the server: no image file, no script.
    assert re.search(r'<svg xmlns="http://www.w3.org/2000/svg"[^>]*class="qr-code"', page)
    assert "<title>QR code for your authenticator app</title>" in page
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    secret = re.search(r'id="totp-secret" readonly value="([A-Z2-7 ]+)"', page).group(1)
    secret = secret.replace(" ", "")
    # The same secret until it is confirmed (it is kept in the session, not stored yet).
    assert secret in client.get("/profile/two-factor").get_data(as_text=True).replace(" ", "")

    wrong = client.post("/profile/two-factor", data={"code": "123456"})
    assert wrong.status_code == 400
    assert field_errors(wrong.get_data(as_text=True), "code") == WRONG_CODE
    with in_app():
        assert _stored(client.user.id).totp_secret is None

    done = client.post("/profile/two-factor", data={"code": frozen_clock.code(secret)})
    assert done.status_code == 200
    assert done.headers["Cache-Control"] == "no-store"
    codes = _codes_on(done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "They are shown only this once." in done.get_data(as_text=True)
    with in_app():
        user = _stored(client.user.id)
        assert user.totp_secret == secret and user.totp_enabled_at == frozen_clock.now()
        hashes = db.session.scalars(
            db.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
        ).all()
        assert len(hashes) == 10 and not set(hashes) & {c.replace("-", "") for c in codes}
        event = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.entity_id == user.id).order_by(AuditEvent.id)
        ).all()[-1]
        assert event.changes == {"two_factor": ["off", "on"]}
    profile = client.get("/profile").get_data(as_text=True)
    assert "10 unused recovery codes." in profile
    assert _codes_on(client.get("/profile/two-factor").get_data(as_text=True)) == []


# --- Signing in with it -----------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(
    client, make_user, enable_two_factor, in_app, frozen_clock
):
    user = make_user(Role.member)
    enable_two_factor(user)
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/code"
    # Not signed in until the code is right.
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert not signed_in(client)
    with in_app():
        assert _stored(user.id).last_login_at is None

    page = client.get("/login/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert '<label class="form-label" for="code">Code from your authenticator app</label>' in page
    wrong = _send_code(client, "000000")
    assert wrong.status_code == 400
    assert field_errors(wrong.get_data(as_text=True), "code") == WRONG_CODE
    assert not signed_in(client)

    right = _send_code(client, frozen_clock.code())
    assert right.status_code == 302 and right.headers["Location"] == "/"
    assert signed_in(client)
    with in_app():
        assert _stored(user.id).last_login_at is not None


def test_a_code_cannot_be_used_twice(app, make_user, enable_two_factor, frozen_clock, in_app):
    user = make_user(Role.member)
    enable_two_factor(user)
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        assert sign_in(client, user.email).status_code == 302
    code = frozen_clock.code()
    assert _send_code(first, code).status_code == 302
    with in_app():
        step_before = _stored(user.id).totp_last_step
    replay = _send_code(second, code)
    assert replay.status_code == 400
    assert field_errors(replay.get_data(as_text=True), "code") == USED_CODE
    assert not signed_in(second)
    with in_app():
        assert _stored(user.id).totp_last_step == step_before
    # The code of the previous step is older still: refused as well.
    assert _send_code(second, frozen_clock.code(steps=-1)).status_code == 400
    frozen_clock.advance(seconds=30)
    assert _send_code(second, frozen_clock.code()).status_code == 302


def test_the_code_used_to_turn_it_on_cannot_sign_in(
    client, make_user, enable_two_factor, frozen_clock
):
    user = make_user(Role.member)
    enable_two_factor(user)  # confirmed with the code one step back from now
    sign_in(client, user.email)
    response = _send_code(client, frozen_clock.code(steps=-1))
    assert field_errors(response.get_data(as_text=True), "code") == USED_CODE


@pytest.mark.parametrize("steps", [-3, 2, 3, 100])
def test_a_code_out_of_its_window_is_refused(
    client, make_user, enable_two_factor, frozen_clock, steps
):
    user = make_user(Role.member)
    enable_two_factor(user)
    frozen_clock.advance(minutes=5)
    sign_in(client, user.email)
    response = _send_code(client, frozen_clock.code(steps=steps))
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "code") == WRONG_CODE
    assert not signed_in(client)


@pytest.mark.parametrize("steps", [-1, 1])
def test_a_phone_clock_a_little_off_still_works(
    client, make_user, enable_two_factor, frozen_clock, steps
):
    user = make_user(Role.member)
    enable_two_factor(user)
    frozen_clock.advance(minutes=5)
    sign_in(client, user.email)
    assert _send_code(client, frozen_clock.code(steps=steps)).status_code == 302


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused_with_a_message(client, make_user, enable_two_factor, code):
    user = make_user(Role.member)
    enable_two_factor(user)
    sign_in(client, user.email)
    response = _send_code(client, code)
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "code") in (
        WRONG_CODE,
        "This field is required.",
    )
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once(app, make_user, enable_two_factor, in_app):
    user = make_user(Role.member)
    codes = enable_two_factor(user)
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        sign_in(client, user.email)
    assert _send_recovery(first, codes[0].upper().replace("-", " ")).status_code == 302
    assert signed_in(first)
    again = _send_recovery(second, codes[0])
    assert again.status_code == 400
    page = again.get_data(as_text=True)
    assert field_errors(page, "recovery_code") == WRONG_RECOVERY
    assert '<details class="card card-body mt-3" open>' in page
    assert not signed_in(second)
    with in_app():
        assert _unused_codes(user.id) == 9
    assert _send_recovery(second, codes[1]).status_code == 302


def test_signing_in_must_finish_within_five_minutes(
    client, make_user, enable_two_factor, frozen_clock
):
    user = make_user(Role.member)
    enable_two_factor(user)
    sign_in(client, user.email)
    frozen_clock.advance(minutes=6)
    response = _send_code(client, frozen_clock.code())
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Signing in took too long. Enter your email and password again." in page
    assert not signed_in(client)


def test_keep_me_signed_in_and_the_page_asked_for_survive_the_second_step(
    app, client, make_user, enable_two_factor, frozen_clock
):
    user = make_user(Role.member)
    enable_two_factor(user)
    asked = client.get("/people?sort=name")
    data = {"email": user.email, "password": PASSWORD, "remember": "y"}
    assert client.post(asked.headers["Location"], data=data).status_code == 302
    assert client.get_cookie("remember_token") is None
    response = _send_code(client, frozen_clock.code())
    assert response.headers["Location"] == "/people?sort=name"
    later = app.test_client()
    later.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert signed_in(later)


def test_visitor_without_a_password_step_is_sent_to_sign_in(client):
    for method in ("GET", "POST"):
        response = client.open("/login/code", method=method, data={"code": "123456"})
        assert response.status_code == 303
        assert response.headers["Location"] == "/login"


# --- Managing it ------------------------------------------------------------------------------


def _manage(client, prefix: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/profile/two-factor", data={f"{prefix}-password": password, f"{prefix}-submit": "1"}
    )


def test_member_can_make_new_recovery_codes(app, login_as, enable_two_factor, frozen_clock, in_app):
    client = login_as(Role.member)
    old = enable_two_factor(client.user)
    wrong = _manage(client, "codes", "not my password")
    assert field_errors(wrong.get_data(as_text=True), "codes-password") == (
        "This is not your current password."
    )
    response = _manage(client, "codes", PASSWORD)
    assert response.status_code == 200
    new = _codes_on(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    other = app.test_client()
    sign_in(other, client.user.email)
    assert _send_recovery(other, old[0]).status_code == 400
    assert _send_recovery(other, new[0]).status_code == 302


def test_member_can_turn_two_factor_sign_in_off(app, login_as, enable_two_factor, in_app):
    client = login_as(Role.member)
    enable_two_factor(client.user)
    page = client.get("/profile/two-factor").get_data(as_text=True)
    assert "Turn off two-factor sign-in" in page
    wrong = _manage(client, "off", "not my password")
    assert wrong.status_code == 400
    with in_app():
        assert _stored(client.user.id).has_two_factor
    response = _manage(client, "off", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    with in_app():
        user = _stored(client.user.id)
        assert not user.has_two_factor and user.totp_secret is None
        assert _unused_codes(user.id) == 0
    assert sign_in(app.test_client(), client.user.email).headers["Location"] == "/"


# --- Roles that require it --------------------------------------------------------------------


@pytest.fixture
def strict(make_app):  # type: ignore[no-untyped-def]
    return make_app(REQUIRE_2FA_ROLES=("admin", "manager"))


def test_admin_must_set_up_two_factor_before_anything_else(strict, make_user, frozen_clock):
    admin = make_user(Role.admin)
    client = strict.test_client()
    response = sign_in(client, admin.email)
    assert response.headers["Location"] == "/profile/two-factor"
    page = client.get("/profile/two-factor").get_data(as_text=True)
    assert REQUIRED in page
    for method, path in (
        ("GET", "/organisations"),
        ("GET", "/admin/users"),
        ("POST", "/organisations/new"),
    ):
        blocked = client.open(path, method=method)
        assert blocked.status_code == 302, path
        assert blocked.headers["Location"] == "/profile/two-factor"
    assert REQUIRED in client.get("/profile/two-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret" readonly value="([A-Z2-7 ]+)"', page).group(1)
    code = frozen_clock.code(secret.replace(" ", ""))
    assert client.post("/profile/two-factor", data={"code": code}).status_code == 200
    assert client.get("/organisations").status_code == 200


def test_member_need_not_set_up_two_factor_when_only_admins_must(strict, make_user):
    member = make_user(Role.member)
    client = strict.test_client()
    assert sign_in(client, member.email).headers["Location"] == "/"
    assert client.get("/organisations").status_code == 200


def test_required_second_factor_stays_on(strict, make_user, enable_two_factor, frozen_clock):
    manager = make_user(Role.manager)
    enable_two_factor(manager)
    client = strict.test_client()
    sign_in(client, manager.email)
    assert _send_code(client, frozen_clock.code()).status_code == 302
    page = client.get("/profile/two-factor").get_data(as_text=True)
    assert "Your role requires two-factor sign-in; it cannot be turned off." in page
    refused = _manage(client, "off", PASSWORD)
    assert refused.status_code == 400
    assert "Your role requires two-factor sign-in; it cannot be turned off." in (
        refused.get_data(as_text=True)
    )


# --- An administrator's reset -----------------------------------------------------------------


def test_admin_can_reset_a_users_second_factor(app, login_as, make_user, enable_two_factor, in_app):
    target = make_user(Role.coordinator, name="Li Na")
    enable_two_factor(target)
    admin = login_as(Role.admin)
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "Two-factor" in listing
    edit = admin.get(f"/admin/users/{target.id}/edit").get_data(as_text=True)
    assert f'action="/admin/users/{target.id}/two-factor"' in edit
    response = admin.post(f"/admin/users/{target.id}/two-factor")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    assert f"Two-factor sign-in of {target.email} reset" in admin.get("/admin/users").get_data(
        as_text=True
    )
    with in_app():
        user = _stored(target.id)
        assert not user.has_two_factor and user.totp_secret is None
        assert _unused_codes(user.id) == 0
        event = db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.entity_type == "users", AuditEvent.entity_id == target.id)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.actor_id == admin.user.id
        assert event.changes == {"two_factor": ["on", "off"]}
    assert sign_in(app.test_client(), target.email).headers["Location"] == "/"


def test_admin_cannot_reset_a_second_factor_that_is_not_there(login_as, make_user, in_app):
    target = make_user(Role.viewer)
    admin = login_as(Role.admin)
    response = admin.post(f"/admin/users/{target.id}/two-factor")
    assert response.status_code == 422
    assert "This user has no second factor to reset." in response.get_data(as_text=True)
    with in_app():
        count = db.select(db.func.count()).select_from(AuditEvent)
        assert db.session.scalar(count.where(AuditEvent.entity_id == target.id)) == 0


def test_coordinator_cannot_reset_a_second_factor(login_as, make_user, enable_two_factor, in_app):
    target = make_user(Role.member)
    enable_two_factor(target)
    coordinator = login_as(Role.coordinator)
    assert coordinator.post(f"/admin/users/{target.id}/two-factor").status_code == 403
    with in_app():
        assert _stored(target.id).has_two_factor


def test_operator_can_reset_a_second_factor_from_the_command_line(
    app, runner, make_user, enable_two_factor, in_app
):
    admin = make_user(Role.admin)  # the only administrator lost the phone and the codes
    enable_two_factor(admin)
    result = runner.invoke(args=["crm", "reset-2fa", admin.email.upper()])
    assert result.exit_code == 0, result.output
    assert f"Two-factor sign-in of {admin.email} reset." in result.output
    with in_app():
        assert not _stored(admin.id).has_two_factor
    assert sign_in(app.test_client(), admin.email).headers["Location"] == "/"
    again = runner.invoke(args=["crm", "reset-2fa", admin.email])
    assert again.exit_code == 1
    assert "This user has no second factor to reset." in again.stderr
    unknown = runner.invoke(args=["crm", "reset-2fa", "nobody@example.org"])
    assert unknown.exit_code == 1
    assert "no user with the email nobody@example.org" in unknown.stderr
