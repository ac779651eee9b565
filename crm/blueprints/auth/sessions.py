"""Idle sessions end: a signed-in session not used for SESSION_IDLE_MINUTES is signed out.

The session cookie carries the time of its last request (`_last_seen`, seconds, refreshed
at most once a minute so that most responses leave the cookie alone). A request that comes
later than the limit drops the sign-in from the session before Flask-Login reads it; the
sign-in page then says why. A browser that was kept signed in ("Keep me signed in") signs
in again with its remember cookie, which the user asked for; signing out, a password change
and "sign out everywhere" end that cookie too (crm.services.accounts.end_sessions).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, flash, g, request, session

from crm.i18n import gettext as _
from crm.services import clock

LAST_SEEN = "_last_seen"
# Flask-Login's session keys for the signed-in user.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id")
_REFRESH_SECONDS = 60
_NOT_SESSION = frozenset({"static", "bootstrap.static"})


def _now() -> int:
    return int(clock.now().timestamp())


def expired() -> bool:
    """Whether this request found its session idle for too long (and signed it out)."""
    return bool(g.get("session_idle_expired"))


def expire_idle_session() -> None:
    """Before Flask-Login loads the user: sign out a session idle for too long."""
    if request.endpoint in _NOT_SESSION:
        return
    if "_user_id" not in session:
        # Signed out: a sign-in later in this request (a remember cookie) starts afresh.
        session.pop(LAST_SEEN, None)
        return
    minutes = current_app.config["SESSION_IDLE_MINUTES"]
    last_seen = session.get(LAST_SEEN)
    now = _now()
    if minutes > 0 and isinstance(last_seen, int) and now - last_seen > minutes * 60:
        for key in (*_LOGIN_KEYS, LAST_SEEN):
            session.pop(key, None)
        g.pop("_login_user", None)  # Flask-Login's cache of the user for this request
        g.session_idle_expired = True
        flash(
            _(
                "You were signed out after %(minutes)d minutes without activity. "
                "Please sign in again.",
                minutes=minutes,
            ),
            "info",
        )
        return
    if not isinstance(last_seen, int) or now - last_seen >= _REFRESH_SECONDS:
        session[LAST_SEEN] = now


def stamp_new_session(response: Response) -> Response:
    """A session signed in during this request starts its idle clock now."""
    if "_user_id" in session and LAST_SEEN not in session:
        session[LAST_SEEN] = _now()
    return response


def init_idle_sessions(app: Flask) -> None:
    app.before_request(expire_idle_session)
    app.after_request(stamp_new_session)
