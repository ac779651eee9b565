"""User accounts: creation, roles, passwords, sign-in bookkeeping."""

from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from crm.access import Permission, Role, can
from crm.extensions import db
from crm.models import AuditAction, Language, User, utcnow
from crm.services import audit
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
# A hash to compare against when the account does not exist, so timing reveals nothing.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _require(actor: User | None, permission: Permission) -> None:
    if not can(actor, permission):
        raise PermissionDenied(_("You do not have permission to do that."))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="password"
        )


def by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def get(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def load_session_user(identifier: str) -> User | None:
    """The enabled user behind a session id "<id>:<session token>", else None."""
    user_id, _sep, token = identifier.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_enabled or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def create_user(
    email: str,
    *,
    name: str,
    role: Role | str,
    password: str,
    locale: str = "en",
    actor: User | None,
) -> User:
    """Create an account. `actor` None means the command line, which is trusted.

    Raises InvalidInput for a short password or an unknown role, Conflict when the email
    is taken (checked by the unique constraint, not before inserting).
    """
    if actor is not None:
        _require(actor, Permission.MANAGE_USERS)
    if role not in {r.value for r in Role}:
        raise InvalidInput(_("Unknown role."), field="role")
    _check_password(password)
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        role=Role(role),
        password_hash=generate_password_hash(password),
        locale=Language(locale),
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("A user with this email already exists."), field="email") from None
    audit.record(
        user,
        actor=actor,
        action=AuditAction.create,
        changes={"email": [None, user.email], "role": [None, user.role.value]},
        summary=user.name,
    )
    db.session.commit()
    log.info("created user %s", user.id)
    return user


def update_user(
    user: User, *, name: str, role: Role | str, is_enabled: bool, locale: str, actor: User
) -> User:
    """Change name, role, locale or whether the account may sign in (administrators).

    An administrator cannot demote or disable themselves, so the system keeps one.
    """
    _require(actor, Permission.MANAGE_USERS)
    if role not in {r.value for r in Role}:
        raise InvalidInput(_("Unknown role."), field="role")
    if user.id == actor.id and (Role(role) != Role.admin or not is_enabled):
        raise InvalidInput(
            _("You cannot remove your own administrator rights or disable yourself."),
            field="role",
        )
    before = audit.snapshot(user, ("name", "role", "is_enabled", "locale"))
    user.name = name.strip()
    user.role = Role(role)
    user.is_enabled = is_enabled
    user.locale = Language(locale)
    if not is_enabled:
        user.session_token = secrets.token_hex(16)  # sign out everywhere
    changed = audit.diff(before, audit.snapshot(user, ("name", "role", "is_enabled", "locale")))
    if changed:
        audit.record(
            user, actor=actor, action=AuditAction.update, changes=changed, summary=user.name
        )
    db.session.commit()
    return user


def set_password(user: User, password: str, *, actor: User | None) -> None:
    """Set a new password and sign the user out of every other session."""
    if actor is not None and actor.id != user.id:
        _require(actor, Permission.MANAGE_USERS)
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    user.session_token = secrets.token_hex(16)
    audit.record(
        user,
        actor=actor,
        action=AuditAction.update,
        changes={"password": ["***", "***"]},
        summary=user.name,
    )
    db.session.commit()


def set_locale(user: User, locale: str, *, actor: User) -> None:
    """A user's own interface language."""
    if actor.id != user.id:
        _require(actor, Permission.MANAGE_USERS)
    if locale not in {lang.value for lang in Language}:
        raise InvalidInput(_("Unknown language."), field="locale")
    user.locale = Language(locale)
    db.session.commit()


def authenticate(email: str, password: str) -> User | None:
    """The enabled user with these credentials, else None; records the sign-in time."""
    user = by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_enabled:
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.is_enabled.desc(), User.name)))


def active_user_choices() -> list[tuple[int, str]]:
    stmt = sa.select(User.id, User.name).where(User.is_enabled).order_by(User.name)
    return [(row.id, row.name) for row in db.session.execute(stmt)]
