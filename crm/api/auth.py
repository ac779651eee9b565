"""Bearer tokens: every API request authenticates afresh, so a revoked token, an expired one
or a deactivated user is refused at the next request. Session cookies are never read."""

from __future__ import annotations

import hashlib

from flask import current_app, g, request
from flask_babel import refresh
from flask_limiter.util import get_remote_address

from crm.access import Permission, can
from crm.api.errors import error_response
from crm.i18n import gettext as _
from crm.models import ApiToken, User
from crm.services import api_tokens

#: Reachable without a token: the description of the API and its page.
PUBLIC_ENDPOINTS = frozenset({"api.openapi_json", "api.docs"})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def rate_limit_key() -> str:
    """Each token has its own budget (requests without one share their address's)."""
    secret = bearer()
    if secret:
        return "api-token:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
    return "api-address:" + (get_remote_address() or "")


def rate_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


def authenticate() -> object | None:
    """The API blueprint's first step: the token's user in `g.api_user`, else 401; a body
    other than JSON on a write is 415 before anything reads it."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = api_tokens.authenticate(bearer())
    if token is None:
        g.api_user = None
        return error_response(401)
    g.api_token = token
    g.api_user = token.user
    refresh()  # the messages from here on are in the token user's language
    if request.method in _WRITES and request.method != "DELETE" and not request.is_json:
        return error_response(415)
    return None


def user() -> User:
    return g.api_user


def token() -> ApiToken:
    return g.api_token


def require(permission: Permission) -> None:
    """403 unless the token's user has `permission`, and, for anything beyond reading, the
    token may write."""
    from crm.services.errors import PermissionDenied

    if permission is not Permission.READ and token().read_only:
        raise PermissionDenied(_("This token is read-only."))
    if not can(user(), permission):
        raise PermissionDenied(_("Your role does not allow this action."))


def channel() -> str:
    """What the audit trail says of writes made with this token."""
    return _("via API token %(name)s", name=token().name)
