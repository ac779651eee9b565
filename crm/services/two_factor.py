"""Two-factor sign-in: time-based codes from an authenticator app (TOTP, RFC 6238), and
one-time recovery codes for when the phone is lost.

Setting it up: the caller makes a secret (`new_secret`), shows it with its QR code
(`provisioning_uri`, `qr_svg`) and keeps it until the user types a code their app made from
it (`enable`); only then is it stored, and ten recovery codes are made and shown once.

Signing in: a code is accepted in the 30-second step it belongs to or the one before or
after (phones' clocks drift), and only in a later step than the last code accepted: the
step is written by one conditional UPDATE, so a code cannot be used twice, not even by two
requests at once. A recovery code is spent the same way. Neither write bumps the user's
version. Recovery codes are random (about 50 bits), so a plain SHA-256 keeps them safe.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import secrets
from collections.abc import Collection
from datetime import datetime
from typing import cast

import pyotp
import segno
import sqlalchemy as sa

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import AuditAction, RecoveryCode, User
from crm.services import audit, clock
from crm.services.errors import InvalidInput, PermissionDenied

log = logging.getLogger(__name__)

STEP_SECONDS = 30
# Steps accepted either side of the current one.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: the codes are read off paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10

_users = cast(sa.Table, User.__table__)
_codes = cast(sa.Table, RecoveryCode.__table__)


def _wrong_code() -> InvalidInput:
    return InvalidInput(
        _("That code is not right, or it has expired. Enter the code your app shows now."),
        field="code",
    )


def new_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits), to show until the user confirms it."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str, *, title: str) -> str:
    """The QR code of `uri` as an inline SVG element: drawn on the server, no script, no
    image library, no style attribute."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer,
        kind="svg",
        scale=4,
        border=4,
        xmldecl=False,
        svgns=True,
        title=title,
        svgclass="qr-code",
        dark="#000",
        light="#fff",
    )
    return buffer.getvalue().decode("utf-8")


def is_required(user: User, roles: Collection[str]) -> bool:
    """Whether the user's role must sign in with a second factor (setting REQUIRE_2FA_ROLES)."""
    return user.role.value in roles


def _step(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def _digits(code: str) -> str | None:
    cleaned = re.sub(r"[\s-]", "", code or "")
    return cleaned if re.fullmatch(r"\d{6}", cleaned) else None


def _matching_step(secret: str, code: str, moment: datetime) -> int | None:
    """The step within the window whose code is `code`, latest first; None when none is."""
    digits = _digits(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret)
    now = _step(moment)
    for step in range(now + DRIFT_STEPS, now - DRIFT_STEPS - 1, -1):
        if secrets.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _normalise_recovery(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _make_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes by new ones; flushes, returns them for display."""
    db.session.execute(sa.delete(_codes).where(_codes.c.user_id == user.id))
    codes = []
    for _n in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _i in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    db.session.flush()
    return codes


def enable(user: User, *, secret: str, code: str, actor: User) -> list[str]:
    """Turn two-factor sign-in on with `secret` once `code` shows the user's app has it.

    Returns the new recovery codes, to be shown once. Raises InvalidInput (field "code")
    when the code does not match, PermissionDenied for anyone but the user.
    """
    if actor.id != user.id:
        raise PermissionDenied(_("Only the user can set up their own second factor."))
    if user.has_two_factor:
        raise InvalidInput(_("Two-factor sign-in is already on."), field="code")
    moment = clock.now()
    step = _matching_step(secret, code, moment)
    if step is None:
        raise _wrong_code()
    user.totp_secret = secret
    user.totp_enabled_at = moment
    user.totp_last_step = step  # the code typed to confirm cannot sign anyone in
    codes = _make_recovery_codes(user)
    audit.record(
        user,
        actor=actor,
        action=AuditAction.update,
        changes={"two_factor": ["off", "on"]},
        summary=user.name,
    )
    db.session.commit()
    log.info("user %s turned on two-factor sign-in", user.id)
    return codes


def check_code(user: User, code: str) -> None:
    """Accept an authenticator code for signing in, once; raise InvalidInput (field "code")
    for a wrong, expired or already used one. Nothing is written then."""
    if not user.has_two_factor or not user.totp_secret:
        raise _wrong_code()
    step = _matching_step(user.totp_secret, code, clock.now())
    if step is None:
        raise _wrong_code()
    newer = sa.or_(_users.c.totp_last_step.is_(None), _users.c.totp_last_step < step)
    result = db.session.execute(
        sa.update(_users)
        .where(_users.c.id == user.id, newer)
        .values(totp_last_step=step, updated_at=_users.c.updated_at)
    )
    db.session.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput(
            _("That code has been used already. Wait for your app to show the next one."),
            field="code",
        )


def use_recovery_code(user: User, code: str) -> None:
    """Spend one recovery code for signing in; raise InvalidInput (field "recovery_code")
    when it is not one of the user's unused codes."""
    normalised = _normalise_recovery(code)
    spent = None
    if user.has_two_factor and len(normalised) == _RECOVERY_LENGTH:
        spent = db.session.execute(
            sa.update(_codes)
            .where(
                _codes.c.user_id == user.id,
                _codes.c.code_hash == _hash(normalised),
                _codes.c.used_at.is_(None),
            )
            .values(used_at=clock.now())
        )
    db.session.commit()
    if spent is None or spent.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput(
            _("That recovery code is not right, or it has been used already."),
            field="recovery_code",
        )
    log.info("user %s signed in with a recovery code", user.id)


def recovery_codes_left(user: User) -> int:
    stmt = (
        sa.select(sa.func.count())
        .select_from(_codes)
        .where(_codes.c.user_id == user.id, _codes.c.used_at.is_(None))
    )
    return db.session.scalar(stmt) or 0


def new_recovery_codes(user: User, *, actor: User) -> list[str]:
    """Replace the user's recovery codes (the old ones stop working); returns the new ones."""
    if actor.id != user.id:
        raise PermissionDenied(_("Only the user can make their own recovery codes."))
    if not user.has_two_factor:
        raise InvalidInput(_("Two-factor sign-in is off."))
    codes = _make_recovery_codes(user)
    audit.record(
        user,
        actor=actor,
        action=AuditAction.update,
        changes={"recovery_codes": ["***", "***"]},
        summary=user.name,
    )
    db.session.commit()
    return codes


def _turn_off(user: User, *, actor: User | None) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(_codes).where(_codes.c.user_id == user.id))
    audit.record(
        user,
        actor=actor,
        action=AuditAction.update,
        changes={"two_factor": ["on", "off"]},
        summary=user.name,
    )
    db.session.commit()


def disable(user: User, *, actor: User, required_roles: Collection[str]) -> None:
    """The user turns their own second factor off, unless their role requires one."""
    if actor.id != user.id:
        raise PermissionDenied(_("Only the user can turn off their own second factor."))
    if not user.has_two_factor:
        raise InvalidInput(_("Two-factor sign-in is off."))
    if is_required(user, required_roles):
        raise InvalidInput(_("Your role requires two-factor sign-in; it cannot be turned off."))
    _turn_off(user, actor=actor)
    log.info("user %s turned off two-factor sign-in", user.id)


def reset(user: User, *, actor: User | None) -> None:
    """An administrator removes a user's second factor (a lost phone); audited. The user
    signs in with the password alone, and sets it up again if their role requires it.
    `actor` None means the command line, which is trusted."""
    if actor is not None and not can(actor, Permission.MANAGE_USERS):
        raise PermissionDenied(_("You do not have permission to do that."))
    if not user.has_two_factor:
        raise InvalidInput(_("This user has no second factor to reset."))
    _turn_off(user, actor=actor)
    log.info("second factor of user %s reset by %s", user.id, actor.id if actor else "the CLI")
