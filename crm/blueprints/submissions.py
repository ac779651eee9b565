"""A new-record form sent twice makes one record.

A double click on Save, or a form sent again (Back, then Save), posts the same new-record form
twice. The first post creates the record; the second used to find that very record and warn
that it "may already be in the database", inviting a third. The browser disables the button
once the form is sent (static/js/forms.js), and the server does not rely on it: each
new-record form carries a token saying who opened it and when, signed with the app's secret
key, and the create service takes a record this user created since then from the same values
for the result of the same form: the second post lands on it (crm.services.stakeholders,
`form_opened_at`).

Why a signed moment and not a random key kept with the record: it needs no new column, and
it also recognises a post that arrives after the first one committed from another tab of the
same form. What it cannot do is order two posts running at the very same time; the disabled
button keeps a browser from sending those.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer

from crm.services import clock

FIELD = "form_token"
_SALT = "new-record-form"
# A form left open longer than this is taken as new: its repeat is only warned about.
MAX_AGE = timedelta(days=2)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=_SALT)


def issue() -> str:
    """A token for a new-record form the current user opens now."""
    return _serializer().dumps({"user": current_user.id, "at": clock.now().isoformat()})


def opened_at(token: str | None) -> datetime | None:
    """When the current user opened the form that sent `token`; None for a token that is
    missing, altered, too old or another user's."""
    if not token:
        return None
    try:
        data = _serializer().loads(token, max_age=int(MAX_AGE.total_seconds()))
        if data.get("user") != current_user.id:
            return None
        return datetime.fromisoformat(data["at"])
    except (BadData, AttributeError, KeyError, TypeError, ValueError):
        return None


def token_for(sent: str | None) -> str:
    """The token to render with a new-record form: the one it was sent with, while valid (the
    same form shown again after an error or a duplicate warning), else a new one."""
    return sent if sent and opened_at(sent) is not None else issue()
