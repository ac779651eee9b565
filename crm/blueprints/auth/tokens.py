"""Personal API tokens on the profile page: create (shown once), list, revoke."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from crm.blueprints.auth import bp
from crm.extensions import limiter
from crm.forms import BaseForm
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.models import User
from crm.services import api_tokens
from crm.services.errors import ServiceError


class TokenForm(BaseForm):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=api_tokens.MAX_NAME)],
        description=_l("What it is for, e.g. “Power BI” or “website sync”."),
    )
    read_only = BooleanField(_l("Read-only (it can read, never write)"), default=True)
    submit = SubmitField(_l("Create token"))


def _user() -> User:
    return current_user._get_current_object()


@bp.route("/profile/tokens", methods=["POST"])
@login_required
@limiter.limit("20 per hour")
def create_token() -> ResponseReturnValue:
    form = TokenForm(prefix="token")
    if form.validate():
        try:
            token, secret = api_tokens.create(
                _user(), name=form.name.data, read_only=form.read_only.data, actor=_user()
            )
        except ServiceError as err:
            flash(str(err), "danger")
        else:
            # Shown on this page only: the database keeps its hash, never the token.
            return render_template("auth/token_created.html", token=token, secret=secret), 201
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "danger")
    return redirect(url_for(".profile", _anchor="api-tokens"))


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    token = api_tokens.get_own(token_id, actor=_user())
    api_tokens.revoke(token, actor=_user())
    flash(_("Token “%(name)s” revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for(".profile", _anchor="api-tokens"))
