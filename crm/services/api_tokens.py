"""Personal API tokens: created by their user, shown once, stored as a SHA-256 hash.

A token acts as its user, with the user's role and never more; a read-only token reads what
its user may read and writes nothing. Revoking a token, its expiry or the deactivation of its
user stop it at the next request, since every request authenticates afresh (`authenticate`).
The secret is random (32 bytes), so a plain SHA-256 of it is as strong as a slow hash and lets
the lookup be one indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import ApiToken, AuditAction, User, utcnow
from crm.services import audit
from crm.services.errors import InvalidInput, NotFound, PermissionDenied

#: Every token starts with this, so a leaked one is easy to recognise (and to search for).
PREFIX = "crm_"
#: What the token list shows of each token: its first characters after the prefix.
SHOWN_CHARS = 8
MAX_NAME = 80
MAX_TOKENS = 50  # per user: enough for every script, and a bound on the profile page
#: `last_used_at` is written at most this often per token: a cheap UPDATE, not one a request.
TOUCH_EVERY = timedelta(minutes=1)

_tokens = cast(sa.Table, ApiToken.__table__)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create(
    user: User, *, name: str, read_only: bool, actor: User, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it with its secret, which is never stored or shown
    again. Commits once and audits the creation (entity type "api_tokens").

    Only the user themself may create their tokens (the command line passes the user as
    `actor`). Raises InvalidInput for an empty or long name, too many tokens or an inactive
    user, PermissionDenied otherwise.
    """
    if actor.id != user.id:
        raise PermissionDenied(_("You do not have permission to do that."))
    if not user.is_enabled or not can(user, Permission.READ):
        raise InvalidInput(_("This account is deactivated."))
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the token a name."), field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            _("The name may have at most %(count)d characters.", count=MAX_NAME), field="name"
        )
    live = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    if (live or 0) >= MAX_TOKENS:
        raise InvalidInput(
            _("You have %(count)d tokens: revoke one first.", count=MAX_TOKENS), field="name"
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[: len(PREFIX) + SHOWN_CHARS],
        read_only=read_only,
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        token,
        actor=actor,
        action=AuditAction.create,
        changes={"name": [None, name], "read_only": [None, read_only]},
        summary=name,
    )
    db.session.commit()
    return token, secret


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, live ones first, newest first."""
    stmt = (
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
        .limit(MAX_TOKENS * 2)
    )
    return list(db.session.scalars(stmt))


def get_own(token_id: int, *, actor: User) -> ApiToken:
    """The token `token_id` of `actor`; NotFound for anyone else's (no hint that it exists)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound(_("No such record."))
    return token


def revoke(token: ApiToken, *, actor: User) -> ApiToken:
    """Revoke a token of `actor` (the next request with it is refused). Commits once;
    revoking a revoked token changes nothing."""
    if token.user_id != actor.id:
        raise NotFound(_("No such record."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            token,
            actor=actor,
            action=AuditAction.delete,
            changes={"revoked_at": [None, audit.json_value(token.revoked_at)]},
            summary=token.name,
        )
        db.session.commit()
    return token


def authenticate(secret: str, *, now: datetime | None = None) -> ApiToken | None:
    """The live token behind `secret` with its enabled user loaded, else None (unknown,
    revoked, expired, or its user deactivated). Marks the token used, at most once a minute
    per token, by a Core UPDATE that does not touch the ORM session's objects; commits that
    UPDATE only when it ran."""
    if not secret or len(secret) > 200:
        return None
    now = now or utcnow()
    token = db.session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.token_hash == hash_secret(secret))
        .options(sa.orm.joinedload(ApiToken.user))
    )
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.is_enabled:
        return None
    if token.last_used_at is None or token.last_used_at <= now - TOUCH_EVERY:
        db.session.execute(
            _tokens.update().where(_tokens.c.id == token.id).values(last_used_at=now)
        )
        db.session.commit()
    return token
