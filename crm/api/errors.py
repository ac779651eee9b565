"""The API's one error shape: {"error": {"code", "message", "fields"}}, in the token user's
language. A version conflict adds the record as saved now ("current"); a likely duplicate
adds the candidates the web form shows ("candidates")."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from flask_babel import refresh
from werkzeug.exceptions import HTTPException

from crm.extensions import db
from crm.i18n import gettext as _
from crm.services import api_tokens
from crm.services.errors import Conflict, LikelyDuplicate, ServiceError

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
}


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Send a valid API token: Authorization: Bearer <token>."),
        403: _("Your role does not allow this action."),
        404: _("There is no such page or record. It may have been deleted."),
        405: _("This address does not accept that kind of request."),
        409: _("Someone else changed this record."),
        413: _("The request is larger than allowed."),
        415: _("Send the body as JSON (Content-Type: application/json)."),
        422: _("Some values were not accepted."),
        429: _("Too many requests. Wait a minute, then try again."),
        500: _("The error has been logged. Please try again, or tell an administrator."),
    }


def error_response(
    status: int,
    message: str | None = None,
    *,
    fields: dict[str, list[str]] | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    if "api_user" not in g and request.path.startswith("/api/"):
        _identify()  # an error before the token was read (routing): said in its language
    body: dict[str, Any] = {
        "code": code or CODES.get(status, "error"),
        "message": message or _messages().get(status, _("The request failed.")),
        "fields": fields or {},
    }
    body.update(extra)
    response = jsonify(error=body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _identify() -> None:
    from crm.api import auth

    found = api_tokens.authenticate(auth.bearer())
    g.api_user = found.user if found is not None else None
    refresh()


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({"json": {"name": [...]}}) as {"name": [...]}."""
    found: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key) if key not in ("json", "query", "_schema") or prefix else ""
            if key == "_schema":
                name = f"{prefix}._form" if prefix else "_form"
            else:
                name = f"{prefix}.{name}" if prefix and name else (name or prefix)
            found.update(_flatten(value, name))
    elif isinstance(messages, list) and not any(isinstance(m, dict | list) for m in messages):
        found[prefix or "_form"] = [str(m) for m in messages]
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            found.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        found[prefix or "_form"] = [str(messages)]
    return found


def http_error(err: HTTPException) -> Response:
    status = err.code or 500
    fields = None
    data = getattr(err, "data", None)  # flask-smorest's abort: webargs' messages
    if isinstance(data, dict) and "messages" in data:
        fields = _flatten(data["messages"])
        if status == 400:  # webargs says so of a body that is not JSON
            return error_response(400, _("The body is not valid JSON."))
    headers = {}
    if status == 405 and getattr(err, "valid_methods", None):
        headers["Allow"] = ", ".join(getattr(err, "valid_methods", None) or [])
    if status == 422 and fields is None:
        fields = {}
    return error_response(status, fields=fields, headers=headers)


def service_error(err: ServiceError) -> Response:
    db.session.rollback()
    fields = {err.field: [str(err)]} if err.field else None
    if isinstance(err, LikelyDuplicate):
        from crm.api.schemas import candidates_json

        return error_response(
            409, str(err), code="duplicate", candidates=candidates_json(err.candidates)
        )
    if isinstance(err, Conflict):
        from crm.api.schemas import current_json

        return error_response(409, str(err), fields=fields, current=current_json(err.current))
    return error_response(err.status_code, str(err), fields=fields)


def form_invalid(err: Exception) -> Response:
    db.session.rollback()
    return error_response(422, fields=getattr(err, "fields", None) or {})
