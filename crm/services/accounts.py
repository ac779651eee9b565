"""User accounts: creation, roles, passwords, sign-in bookkeeping, ending sessions.

Passwords follow one rule (`check_password`): at least 12 characters, and not guessable by
zxcvbn (score 3 or more) with the user's name and email as hints, so common passwords,
repeats and the user's own email are refused wherever a password is set.

A session or remember cookie carries the user's `session_token` (`User.get_id`); a new token
ends every session of the user at once. Sign-in bookkeeping and new tokens are written by
Core UPDATE statements, which do not bump the user's `version`: concurrent sign-ins of one
account must not conflict, and an administrator's open edit form must not go stale because
the user signed in or out.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from crm.access import Permission, Role, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import AuditAction, Language, User, utcnow
from crm.services import audit, search
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# zxcvbn's scale: 3 is "safely unguessable: moderate protection from offline attacks".
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its matching is quadratic); the first 72 characters are judged.
_SCORED_LENGTH = 72
_users = cast(sa.Table, User.__table__)
# A hash to compare against when the account does not exist, so timing reveals nothing.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _require(actor: User | None, permission: Permission) -> None:
    if not can(actor, permission):
        raise PermissionDenied(_("You do not have permission to do that."))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _personal_words(email: str, name: str) -> list[str]:
    """What a guesser knows about the user: the email, its parts, the name and its parts."""
    email = normalise_email(email)
    local = email.partition("@")[0]
    name = name.strip().lower()
    words = [email, local, name, name.replace(" ", ""), *re.split(r"[\s._+-]+", f"{local} {name}")]
    return [word for word in dict.fromkeys(words) if len(word) > 1]


def check_password(password: str, *, email: str, name: str) -> None:
    """Raise InvalidInput (on the field "password") unless the password follows the rule."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            _("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH), field="password"
        )
    # Imported on first use: its dictionaries take some 13 MB, which the processes that never
    # judge a password (the worker, the commands) do without.
    from zxcvbn import zxcvbn

    words = _personal_words(email, name)
    result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=words, max_length=_SCORED_LENGTH)
    if normalise_email(password) in words or result["score"] < MIN_PASSWORD_SCORE:
        raise InvalidInput(
            _(
                "This password is too easy to guess: it is common, a repeat or a sequence, or "
                "close to your name or email. Add a few uncommon words."
            ),
            field="password",
        )


def _check_password(password: str, user: User) -> None:
    check_password(password, email=user.email, name=user.name)


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
    check_password(password, email=email, name=name)
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
    _check_password(password, user)
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


def check_credentials(email: str, password: str) -> User | None:
    """The enabled user with these credentials, else None. Writes nothing: with a second
    factor, the sign-in is not complete yet (`record_sign_in`)."""
    user = by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_enabled:
        return None
    return user


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the user's current one (to confirm a sensitive change)."""
    return check_password_hash(user.password_hash, password)


def record_sign_in(user: User) -> None:
    """Note the time of a completed sign-in, without bumping the user's version: many
    sign-ins to one account at once must all succeed (on every engine)."""
    moment = utcnow()
    db.session.execute(
        sa.update(_users)
        .where(_users.c.id == user.id)
        .values(last_login_at=moment, updated_at=_users.c.updated_at)
    )
    db.session.commit()
    log.info("user %s signed in", user.id)


def authenticate(email: str, password: str) -> User | None:
    """The enabled user with these credentials, else None; records the sign-in time (for
    callers without a second step; the sign-in page uses `check_credentials`)."""
    user = check_credentials(email, password)
    if user is not None:
        record_sign_in(user)
    return user


def end_sessions(user: User) -> None:
    """Sign the user out everywhere: a new session token invalidates every session and
    remember cookie made with the old one. The user's version is left alone."""
    db.session.execute(
        sa.update(_users)
        .where(_users.c.id == user.id)
        .values(session_token=secrets.token_hex(16), updated_at=_users.c.updated_at)
    )
    db.session.commit()
    log.info("ended the sessions of user %s", user.id)


def list_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.is_enabled.desc(), User.name)))


def active_user_choices() -> list[tuple[int, str]]:
    stmt = sa.select(User.id, User.name).where(User.is_enabled).order_by(User.name)
    return [(row.id, row.name) for row in db.session.execute(stmt)]


def find_colleagues(text: str | None, *, limit: int = 10) -> list[tuple[int, str]]:
    """(id, name) of active users matching `text`, for the staff picker: each typed word
    starts a word of the name, of its pinyin ("wang", "wangf", "wf" find 王芳) or of the
    email's local part. Matched in Python over the active users, whom a programme counts in
    dozens, so a name in characters is found by its pinyin as stakeholders are."""
    typed = search.words((text or "")[: search.MAX_QUERY])[: search.MAX_WORDS]
    if not typed:
        return []
    stmt = sa.select(User.id, User.name, User.email).where(User.is_enabled).order_by(User.name)
    found = []
    for row in db.session.execute(stmt):
        words = [
            *search.words(row.name),
            *search.pinyin_words(row.name),
            *search.words(row.email.split("@")[0]),
        ]
        if all(any(w.startswith(t) for w in words) for t in typed):
            found.append((row.id, row.name))
            if len(found) >= limit:
                break
    return found
