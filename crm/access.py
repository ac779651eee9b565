"""Roles and permissions: one table that views, the API, the CLI and services all consult."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, ParamSpec

from crm.i18n import lazy_gettext as _l

if TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

_P = ParamSpec("_P")


class Role(StrEnum):
    viewer = "viewer"
    member = "member"
    coordinator = "coordinator"
    manager = "manager"
    admin = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.viewer: _l("Viewer"),
    Role.member: _l("Team member"),
    Role.coordinator: _l("Coordinator"),
    Role.manager: _l("Manager"),
    Role.admin: _l("Administrator"),
}


class Permission(StrEnum):
    READ = "read"
    EDIT_STAKEHOLDERS = "edit_stakeholders"  # stakeholders, interactions, follow-ups
    EDIT_ACTIVITIES = "edit_activities"  # activities, participants, MoUs
    IMPORT = "import"
    DELETE = "delete"  # to trash
    MERGE = "merge"
    EXPORT_PERSONAL = "export_personal"
    ERASE_PERSONAL = "erase_personal"  # anonymise a person irreversibly (issue #11)
    MANAGE_PERSONAL_DATA = "manage_personal_data"  # the personal-data audit page, retention
    MANAGE_USERS = "manage_users"
    MANAGE_TRASH = "manage_trash"  # restore and purge
    MANAGE_TOPICS = "manage_topics"  # the editable list of activity topics
    MANAGE_INDICATORS = "manage_indicators"  # the donor indicators (logframe) and targets
    BACKUP = "backup"


_MEMBER = {Permission.READ, Permission.EDIT_STAKEHOLDERS}
_COORDINATOR = _MEMBER | {
    Permission.EDIT_ACTIVITIES,
    Permission.IMPORT,
    Permission.DELETE,
    Permission.MERGE,
    Permission.EXPORT_PERSONAL,
    Permission.ERASE_PERSONAL,
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.viewer: frozenset({Permission.READ}),
    Role.member: frozenset(_MEMBER),
    Role.coordinator: frozenset(_COORDINATOR),
    Role.manager: frozenset(_COORDINATOR | {Permission.MANAGE_INDICATORS}),
    Role.admin: frozenset(Permission),
}


def can(user: object | None, permission: Permission) -> bool:
    """True when `user` is an active, signed-in account whose role grants `permission`."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "is_active", False):
        return False
    role = getattr(user, "role", None)
    return role is not None and permission in GRANTS.get(Role(role), frozenset())


def permission_required(
    permission: Permission,
) -> Callable[[Callable[_P, ResponseReturnValue]], Callable[_P, ResponseReturnValue]]:
    """View decorator: anonymous users go to the login page, others without `permission` get 403.

    Services check the same table again, since the API and the CLI reach them directly.
    """
    from functools import wraps

    from flask import abort
    from flask_login import current_user
    from flask_login.config import EXEMPT_METHODS

    def decorator(view: Callable[_P, ResponseReturnValue]) -> Callable[_P, ResponseReturnValue]:
        @wraps(view)
        def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> ResponseReturnValue:
            from flask import request

            from crm.extensions import login_manager

            if request.method in EXEMPT_METHODS:
                return view(*args, **kwargs)
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        # Marks the view with what it requires; a function attribute mypy cannot know of.
        wrapped.permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator
