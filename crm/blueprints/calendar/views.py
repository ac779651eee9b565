"""The personal calendar feed (opened by a secret token, not a session) and its settings."""

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from crm.blueprints.calendar import bp
from crm.extensions import limiter
from crm.i18n import gettext as _
from crm.services import calendars, clock


@bp.route("/<token>.ics")
@limiter.limit("60 per minute")
def feed(token: str):
    user = calendars.user_for_token(token)
    if user is None:
        abort(404)
    body = calendars.personal_feed(user, today=clock.today())
    return (
        body,
        200,
        {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'inline; filename="rbc-programme.ics"',
            "Cache-Control": "private, max-age=300",
        },
    )


@bp.route("/token", methods=["POST"])
@login_required
def token():
    if request.form.get("action") == "revoke":
        calendars.revoke_token(current_user, actor=current_user)
        flash(_("Your calendar link no longer works."), "success")
    else:
        calendars.rotate_token(current_user, actor=current_user)
        flash(
            _("Your calendar link is ready. Add it to your calendar app as a subscription."),
            "success",
        )
    return redirect(url_for("auth.profile") + "#calendar")
