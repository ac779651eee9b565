"""Errors services raise; their messages are translated text a user can read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ServiceError(Exception):
    """Base class. `field` names the form field the message belongs to, when there is one."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class NotFound(ServiceError):
    status_code = 404


class PermissionDenied(ServiceError):
    status_code = 403


class InvalidInput(ServiceError):
    status_code = 422


class Conflict(ServiceError):
    """Someone saved the record after the user opened it; nothing was written."""

    status_code = 409

    def __init__(self, message: str, *, current: Any = None, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.current = current


class LikelyDuplicate(InvalidInput):
    """The new record looks like one or more records already there; nothing was written.

    `candidates` (crm.services.duplicates.Candidate, best first) let the caller show them; the
    caller may then create the record anyway (`allow_duplicate=True`).
    """

    def __init__(self, message: str, *, candidates: Sequence[Any]) -> None:
        super().__init__(message)
        self.candidates = tuple(candidates)
