"""What every resource of the API shares: documented error responses, the audit channel of a
write, the form adapter's errors, and the 409 of a stale version."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Response
from marshmallow import Schema, fields

from crm.access import Permission
from crm.api import auth
from crm.api.errors import error_response
from crm.api.schemas import Error
from crm.extensions import db
from crm.services import audit
from crm.services.errors import Conflict, ServiceError

F = TypeVar("F", bound=Callable[..., Any])

_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "No valid token (missing, unknown, revoked, expired, or its user deactivated)",
    403: "The token's user or the token may not do this",
    404: "No such record (or it is in the trash)",
    405: "Method not allowed",
    409: "A stale version (with the record as saved now) or a likely duplicate",
    413: "The body is too large",
    415: "The body is not JSON",
    422: "Values not accepted, by field",
    429: "Too many requests for this token",
}
READ_ERRORS = (401, 404, 422, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429)

FORCE = fields.Boolean(
    load_default=False,
    metadata={"description": "Create even when likely duplicates exist (409 without it)."},
)


def documented(*codes: int) -> Callable[[F], F]:
    """Document the error responses an operation can give, all in the one error shape."""
    from crm.api import bp

    def decorator(view: F) -> F:
        for code in (*codes, 405):
            view = bp.alt_response(code, schema=Error, description=_DESCRIPTIONS[code])(view)
        return view

    return decorator


@contextmanager
def writing(permission: Permission) -> Iterator[None]:
    """A write through the API: the token may write and its user holds `permission`; every
    audit event recorded inside says which token made it."""
    auth.require(permission)
    with audit.via(auth.channel()):
        yield


def conflict(err: Conflict, record: Any, schema: type[Schema]) -> Response:
    """409 with the record as it is saved now, in the shape of its detail."""
    db.session.rollback()
    db.session.refresh(record)
    return error_response(409, str(err), current=schema().dump(record))


def attach(err: ServiceError, aliases: Mapping[str, str] | None = None) -> ServiceError:
    """A service error with its field named as the API names it."""
    if err.field and aliases and err.field in aliases:
        err.field = aliases[err.field]
    return err


class Extended:
    """A record with a few more attributes for its schema (positions, reach...): the schema
    reads both alike."""

    def __init__(self, record: Any, **extra: Any) -> None:
        self._record = record
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        return getattr(self._record, name)
