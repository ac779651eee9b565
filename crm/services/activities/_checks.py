"""The checks every write of crm.services.activities starts with.

Records, parties and participants all refuse an actor without the permission, an activity
in the trash, and a value outside a list of choices in the same words; the checks live here
once so that the three modules cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from crm.access import Permission, can
from crm.i18n import gettext as _
from crm.models import Activity, User
from crm.services.errors import InvalidInput, NotFound, PermissionDenied


def require(actor: User | None, permission: Permission) -> None:
    """PermissionDenied unless the actor holds the permission."""
    if not can(actor, permission):
        raise PermissionDenied(_("You do not have permission to do that."))


def require_live(activity: Activity) -> None:
    """NotFound for an activity in the trash: it takes no changes until it is restored."""
    if activity.deleted_at is not None:
        raise NotFound(_("No such activity."))


def choice(enum: type[StrEnum], value: Any, field: str, message: str) -> Any:
    """The enum member for a value, None for an empty one, InvalidInput on `field` otherwise."""
    if value in (None, ""):
        return None
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(message, field=field) from None
