"""What every request gets: ids that fit the database, and a request id in logs and pages.

Record ids are 32-bit integer columns (PostgreSQL's `integer`): a larger number in a URL or
a form is no record. PostgreSQL answers such a parameter with a DataError and SQLite with an
OverflowError, so it must be refused before any query. `init_app` replaces the `int` URL
converter of every route with `IdConverter`, whose numbers stop at `MAX_ID`: a larger one
matches no route, which is a 404. Forms and query strings parse ids with `record_id`.

Each request has an id: the proxy's `X-Request-ID` when it is a safe token (letters, digits,
`.`, `_`, `-` and `:`, 8 to 128 of them; nginx's `$request_id` is one), else a new random
one. It is sent back in the `X-Request-ID` response header, shown on the error page of a
500, and carried by every log record made while the request runs (`request_id`, "-" outside
a request), so one line on the page leads to every log line of the request.

Logs carry ids, never personal data. Services log ids and counts; the engine hides a failed
statement's parameters (`hide_parameters`, crm.config), and `_terse_database_errors` drops
PostgreSQL's error detail, which quotes the failing row or key ("Key (email)=(…) already
exists"), from the message of a database error, so the log of a 500 holds neither.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from flask.wrappers import Response
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # PostgreSQL's integer; SQLite would take 2**63 - 1, but no id gets there
REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
_DIGITS = re.compile(r"[0-9]{1,10}")
LOG_FORMAT = "[%(asctime)s] %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def record_id(value: Any) -> int:
    """An id from text: ASCII digits from 1 to MAX_ID, else ValueError.

    Fits `request.args.get(name, type=record_id)`, which then gives the default, and WTForms
    coercion, which then shows a field error. (`int` takes "+1", " 1", "١" and 10**30.)
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not _DIGITS.fullmatch(text):
            raise ValueError(value)
        number = int(text)
    if not 1 <= number <= MAX_ID:
        raise ValueError(value)
    return number


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a non-negative number up to MAX_ID; larger ones are a 404."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def current_request_id() -> str | None:
    """The id of the request being handled (made on first use), None outside a request."""
    if not has_request_context():
        return None
    found = g.get("request_id")
    if found is None:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        found = offered if _SAFE_REQUEST_ID.fullmatch(offered) else secrets.token_hex(8)
        g.request_id = found
    return str(found)


def _send_request_id(response: Response) -> Response:
    request_id = current_request_id()
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def _install_log_record_factory() -> None:
    """Give every log record a `request_id` attribute, once per process.

    A record factory rather than a `logging.Filter`: a filter on a logger does not see the
    records of its child loggers (`crm.services.*`), and one on a handler misses the handlers
    gunicorn, pytest or a logging configuration add later. The factory reaches them all.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id() or "-"
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _terse_database_errors(context: ExceptionContext) -> None:
    """Keep only the first line of a PostgreSQL error's message (it names the constraint);
    the detail, which quotes the row's values, stays in `diag` for code that asks."""
    original = context.original_exception
    primary = getattr(getattr(original, "diag", None), "message_primary", None)
    if not primary or str(original) == primary:
        return
    original.args = (primary,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None and wrapped.args:
        kind = type(original)
        wrapped.args = (f"({kind.__module__}.{kind.__name__}) {primary}",)


def init_app(app: Flask) -> None:
    """Register the id converter (before any route is added) and the request id."""
    app.url_map.converters["int"] = IdConverter
    app.after_request(_send_request_id)
    _install_log_record_factory()
    if not event.contains(Engine, "handle_error", _terse_database_errors):
        event.listen(Engine, "handle_error", _terse_database_errors)
    # Flask's own handler (stderr, or gunicorn's error log) is used when nothing else is
    # configured: its lines name the request.
    default_handler.setFormatter(logging.Formatter(LOG_FORMAT))
