"""The user's own second factor, from the profile: set it up, make new recovery codes, turn
it off (when their role allows)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from crm.blueprints.auth import bp
from crm.blueprints.auth.forms import NewRecoveryCodesForm, TurnOffTwoFactorForm, TwoFactorSetupForm
from crm.blueprints.common import attach_error
from crm.i18n import gettext as _
from crm.models import User
from crm.services import accounts, two_factor
from crm.services.errors import ServiceError

# The secret being set up, kept in the (signed) session until a code confirms it.
SETUP_SECRET = "_two_factor_setup"


def _user() -> User:
    return current_user._get_current_object()


def _required(user: User) -> bool:
    return two_factor.is_required(user, current_app.config["REQUIRE_2FA_ROLES"])


def _show_codes(codes: list[str]) -> ResponseReturnValue:
    """The recovery codes, once: never cached, never shown again."""
    response = current_app.make_response(render_template("auth/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"
    return response


def _setup(user: User) -> ResponseReturnValue:
    secret = session.get(SETUP_SECRET)
    if not isinstance(secret, str) or not secret:
        secret = session[SETUP_SECRET] = two_factor.new_secret()
    form = TwoFactorSetupForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(user, secret=secret, code=form.code.data, actor=user)
        except ServiceError as err:
            attach_error(form, err)
        else:
            session.pop(SETUP_SECRET, None)
            flash(_("Two-factor sign-in is on."), "success")
            return _show_codes(codes)
    uri = two_factor.provisioning_uri(
        secret, account=user.email, issuer=current_app.config["TWO_FACTOR_ISSUER"]
    )
    # Our own SVG, drawn by segno from the secret: no user text in it.
    qr = Markup(two_factor.qr_svg(uri, title=_("QR code for your authenticator app")))
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/two_factor_setup.html",
        form=form,
        qr=qr,
        secret=grouped,
        required=_required(user),
    ), status


def _manage(user: User) -> ResponseReturnValue:
    codes_form = NewRecoveryCodesForm(prefix="codes")
    off_form = TurnOffTwoFactorForm(prefix="off")
    for form in (codes_form, off_form):
        if not (form.submit.data and form.validate_on_submit()):
            continue
        if not accounts.password_matches(user, form.password.data):
            form.password.errors.append(_("This is not your current password."))
            break
        try:
            if form is codes_form:
                return _show_codes(two_factor.new_recovery_codes(user, actor=user))
            two_factor.disable(
                user, actor=user, required_roles=current_app.config["REQUIRE_2FA_ROLES"]
            )
        except ServiceError as err:
            attach_error(form, err)
            break
        flash(_("Two-factor sign-in is off."), "success")
        return redirect(url_for(".profile"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/two_factor_manage.html",
        codes_form=codes_form,
        off_form=off_form,
        codes_left=two_factor.recovery_codes_left(user),
        required=_required(user),
    ), status


@bp.route("/profile/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@login_required
def two_factor_settings():
    user = _user()
    return _manage(user) if user.has_two_factor else _setup(user)
