"""Signing in (password, then the second factor when the user has one), signing out, and
the profile page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from crm.blueprints.auth import bp, throttle
from crm.blueprints.auth.forms import (
    CodeForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RecoveryCodeForm,
)
from crm.blueprints.auth.sessions import LAST_SEEN
from crm.blueprints.auth.tokens import TokenForm
from crm.blueprints.common import attach_error
from crm.i18n import gettext as _
from crm.models import User
from crm.services import accounts, api_tokens, clock, two_factor
from crm.services.errors import ServiceError

# A password accepted waits this long for its second factor.
PENDING_SECONDS = 300


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _user_object() -> User:
    # The user object, not the `current_user` proxy: login_user stores what it is given in
    # `g`, and a stored proxy would resolve to itself for ever.
    return current_user._get_current_object()


def _complete_sign_in(user: User, *, remember: bool, next_url: str | None) -> ResponseReturnValue:
    """Both factors are right: sign the browser in, note the time, remember the browser."""
    login_user(user, remember=remember)
    session.pop(throttle.PENDING, None)
    session.pop("locale", None)
    session[LAST_SEEN] = int(clock.now().timestamp())
    name, email = user.name, user.email
    needs_setup = not user.has_two_factor and two_factor.is_required(
        user, current_app.config["REQUIRE_2FA_ROLES"]
    )
    accounts.record_sign_in(user)
    flash(_("Welcome, %(name)s.", name=name), "success")
    target = url_for("auth.two_factor") if needs_setup else next_url or url_for("main.index")
    response = redirect(target)
    throttle.remember_browser(response, email)
    return response


@bp.route("/login", methods=["GET", "POST"])
@throttle.limited
def login():
    if request.args.get("lang") in current_app.config["LANGUAGES"]:
        session["locale"] = request.args["lang"]
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.check_credentials(form.email.data, form.password.data)
        if user is not None:
            next_url = _safe_next(request.args.get("next"))
            if not user.has_two_factor:
                return _complete_sign_in(user, remember=form.remember.data, next_url=next_url)
            # Not signed in yet: the second step needs the code first.
            session[throttle.PENDING] = {
                "user": user.get_id(),
                "email": user.email,
                "remember": bool(form.remember.data),
                "next": next_url,
                "since": int(clock.now().timestamp()),
            }
            return redirect(url_for(".login_code"))
        form.password.errors.append(_("Wrong email or password, or the account is disabled."))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def _pending() -> tuple[User, dict[str, Any]] | None:
    """The user whose password was accepted in this browser, while the wait lasts."""
    state = session.get(throttle.PENDING)
    if not isinstance(state, dict):
        return None
    age = int(clock.now().timestamp()) - int(state.get("since", 0))
    user = accounts.load_session_user(str(state.get("user", "")))
    if user is None or age > PENDING_SECONDS:
        session.pop(throttle.PENDING, None)
        flash(_("Signing in took too long. Enter your email and password again."), "info")
        return None
    return user, state


@bp.route("/login/code", methods=["GET", "POST"])
@throttle.limited
def login_code():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending = _pending()
    if pending is None:
        return redirect(url_for(".login"), code=303)
    user, state = pending
    form, recovery = CodeForm(), RecoveryCodeForm()
    try:
        if recovery.use_recovery_code.data and recovery.validate_on_submit():
            two_factor.use_recovery_code(user, recovery.recovery_code.data)
        elif not recovery.use_recovery_code.data and form.validate_on_submit():
            two_factor.check_code(user, form.code.data)
        else:
            status = 400 if request.method == "POST" else 200
            return render_template("auth/login_code.html", form=form, recovery=recovery), status
    except ServiceError as err:
        attach_error(recovery if err.field == "recovery_code" else form, err)
        return render_template("auth/login_code.html", form=form, recovery=recovery), 400
    return _complete_sign_in(user, remember=bool(state.get("remember")), next_url=state.get("next"))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        # Every session and remember cookie of the user ends, copies included.
        accounts.end_sessions(_user_object())
    logout_user()
    session.pop(LAST_SEEN, None)
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    user = _user_object()
    accounts.end_sessions(user)
    login_user(user, fresh=True)  # the new token: this browser stays signed in
    flash(_("Your other sessions are signed out, on every browser and device."), "success")
    return redirect(url_for(".profile"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    password_form = PasswordForm(prefix="pw")
    if form.submit.data and form.validate_on_submit():
        accounts.set_locale(current_user, form.locale.data, actor=current_user)
        flash(_("Preferences saved."), "success")
        return redirect(url_for(".profile"))
    if password_form.submit.data and password_form.validate_on_submit():
        user = _user_object()
        if not accounts.password_matches(user, password_form.current.data):
            password_form.current.errors.append(_("This is not your current password."))
        else:
            try:
                accounts.set_password(user, password_form.password.data, actor=user)
            except ServiceError as err:
                password_form.password.errors.append(str(err))
            else:
                # The new session token signed out every session; sign this one in again.
                login_user(user, fresh=True)
                flash(_("Password changed."), "success")
                return redirect(url_for(".profile"))
    status = 400 if request.method == "POST" else 200
    user = _user_object()
    return render_template(
        "auth/profile.html",
        form=form,
        password_form=password_form,
        recovery_codes_left=two_factor.recovery_codes_left(user) if user.has_two_factor else 0,
        api_tokens=api_tokens.tokens_of(user),
        token_form=TokenForm(prefix="token", formdata=None),
    ), status
