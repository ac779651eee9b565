"""Sign-in throttling: failed attempts are counted so that guessing is slow, and so that a
stranger guessing cannot lock the owner out.

A failed attempt is a sign-in form (password or second-factor code) answered with anything
but a redirect. Each one counts against three limits, shared by both steps:

- the account and address pair (`LOGIN_FAILURE_LIMIT`): a guesser at one address stops;
- the address (`LOGIN_ADDRESS_LIMIT`): one address trying many accounts stops;
- the account, from every address (`LOGIN_ACCOUNT_LIMIT`): guessing from many addresses
  stops. Browsers that have signed in to the account before are exempt from this one: they
  carry a signed "known browser" cookie, so the owner at their usual desk still gets in
  while the account is under attack. One address cannot reach it on its own (the pair's
  hourly limit is lower).

The counts live in the limiter's store (RATELIMIT_STORAGE_URI): Redis in production, so
every worker sees the same counts; production refuses the per-process memory store unless
SINGLE_PROCESS says there is one process (crm.config).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, request, session
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from crm.extensions import limiter
from crm.services import accounts

F = TypeVar("F", bound=Callable[..., Any])

# The session key of a sign-in waiting for its second factor (crm.blueprints.auth.views).
PENDING = "_two_factor_pending"
KNOWN_COOKIE = "known_browser"
# Accounts a browser remembers having signed in to (a shared computer has a few).
_KNOWN_MAX = 20


def failed(response: Response) -> bool:
    """Only failed attempts count: a form shown again (or refused), not a redirect."""
    return request.method == "POST" and not 300 <= response.status_code < 400


def sign_in_email() -> str:
    """The account being signed in to: typed in the password form, or kept in the session
    for the second step."""
    if "email" in request.form:
        return accounts.normalise_email(request.form.get("email", ""))[:254]
    pending = session.get(PENDING)
    return str(pending.get("email", "")) if isinstance(pending, dict) else ""


def _address() -> str:
    return get_remote_address()


def _pair_key() -> str:
    return f"pair:{sign_in_email()}|{_address()}"


def _address_key() -> str:
    return f"address:{_address()}"


def _account_key() -> str:
    return f"account:{sign_in_email()}"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="known-browser")


def _fingerprint(email: str) -> str:
    """The account in the cookie: a keyed hash, so the cookie does not show the email."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:32]


def _known() -> list[str]:
    cookie = request.cookies.get(KNOWN_COOKIE)
    if not cookie:
        return []
    try:
        value = _serializer().loads(cookie)
    except BadSignature:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def is_known_browser() -> bool:
    """Whether this browser has signed in to the account being signed in to before."""
    email = sign_in_email()
    return bool(email) and _fingerprint(email) in _known()


def remember_browser(response: Response, email: str) -> None:
    """After a completed sign-in: this browser now knows the account."""
    mine = _fingerprint(accounts.normalise_email(email))
    known = [mine, *(item for item in _known() if item != mine)][:_KNOWN_MAX]
    config = current_app.config
    response.set_cookie(
        KNOWN_COOKIE,
        _serializer().dumps(known),
        max_age=config["KNOWN_BROWSER_DAYS"] * 24 * 3600,
        httponly=True,
        secure=bool(config.get("SESSION_COOKIE_SECURE")),
        samesite="Lax",
    )


def _config(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def limited(view: F) -> F:
    """Apply the three sign-in limits to a view (the password step and the code step)."""
    limits = (
        limiter.shared_limit(
            _config("LOGIN_FAILURE_LIMIT"),
            scope="login-pair",
            key_func=_pair_key,
            methods=["POST"],
            deduct_when=failed,
        ),
        limiter.shared_limit(
            _config("LOGIN_ADDRESS_LIMIT"),
            scope="login-address",
            key_func=_address_key,
            methods=["POST"],
            deduct_when=failed,
        ),
        limiter.shared_limit(
            _config("LOGIN_ACCOUNT_LIMIT"),
            scope="login-account",
            key_func=_account_key,
            methods=["POST"],
            deduct_when=failed,
            exempt_when=is_known_browser,
        ),
    )
    limited_view: Callable[..., Any] = view
    for limit in limits:
        limited_view = limit(limited_view)
    return cast(F, limited_view)
