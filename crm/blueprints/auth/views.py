from urllib.parse import urlsplit

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from crm.blueprints.auth import bp
from crm.blueprints.auth.forms import LoginForm, PasswordForm, ProfileForm
from crm.extensions import limiter
from crm.services import accounts
from crm.services.errors import ServiceError


def _login_failed(response: Response) -> bool:
    # Only failed attempts count towards the limit: a form shown again, not a redirect.
    return request.method == "POST" and response.status_code != 302


def _account_key() -> str:
    return "account:" + accounts.normalise_email(request.form.get("email", ""))[:254]


def _login_limit() -> str:
    return current_app.config["LOGIN_FAILURE_LIMIT"]


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _login_limit, methods=["POST"], deduct_when=_login_failed, error_message="too many attempts"
)
@limiter.limit(
    _login_limit,
    methods=["POST"],
    key_func=_account_key,
    deduct_when=_login_failed,
    error_message="too many attempts",
)
def login():
    if request.args.get("lang") in current_app.config["LANGUAGES"]:
        session["locale"] = request.args["lang"]
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None and login_user(user, remember=form.remember.data):
            session.pop("locale", None)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("main.index"))
        form.password.errors.append(_("Wrong email or password, or the account is disabled."))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


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
        # The user object, not the `current_user` proxy: login_user stores what it is given in
        # `g`, and a stored proxy would resolve to itself for ever.
        user = current_user._get_current_object()
        if not check_password_hash(user.password_hash, password_form.current.data):
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
    return render_template("auth/profile.html", form=form, password_form=password_form), status
