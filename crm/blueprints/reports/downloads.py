"""CSV and XLSX downloads for list pages and reports: the HTTP side of
crm.services.reporting.exports.

A list view reads its filters as usual, then, when `?format=csv` or `?format=xlsx` is asked
for, chooses its columns and calls `send`. Personal data goes through `check_personal` first,
which answers 403 to viewers and members and records the export in the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, request, send_file, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

from crm.access import Permission, can
from crm.services import clock
from crm.services.errors import ServiceError
from crm.services.reporting import exports


def requested_format() -> str | None:
    """ "csv" or "xlsx" when the query string asks for a file; None for the page itself.

    Any other value is refused with a message (400), never ignored silently.
    """
    value = (request.args.get("format") or "").strip().lower()
    if value in ("", "html"):
        return None
    if value not in exports.FORMATS:
        raise ServiceError(_("Unknown export format: choose CSV or Excel (csv or xlsx)."))
    return value


def check_personal(
    what: str,
    rows: sa.Select[Any] | int,
    fmt: str,
    filters: Mapping[str, Any] | None = None,
) -> None:
    """403 unless the user may export personal data; then record the export (commits).

    `rows` is the query that selects the exported records (counted), or their number.
    """
    if not can(current_user, Permission.EXPORT_PERSONAL):
        abort(403)
    exports.record(
        current_user._get_current_object(),
        what=what,
        rows=rows if isinstance(rows, int) else exports.count(rows),
        fmt=fmt,
        filters=filters,
    )


def send(fmt: str, base: str, sheets: Sequence[exports.Sheet]) -> Response:
    """The download: CSV streams the first sheet line by line, XLSX holds every sheet."""
    tz = clock.zone()
    name = exports.filename(base, fmt, clock.today())
    if fmt == "csv":
        sheet = sheets[0]
        chunks = exports.csv_lines(sheet.columns, sheet.rows, tz=tz)
        response = Response(
            stream_with_context(chunk.encode("utf-8") for chunk in chunks),
            # A text/* mimetype: Werkzeug adds "charset=utf-8" to the Content-Type.
            mimetype=exports.CSV_MIMETYPE,
        )
        response.headers.set("Content-Disposition", "attachment", filename=name)
    else:
        response = send_file(
            exports.xlsx_file(sheets, tz=tz),
            mimetype=exports.XLSX_MIMETYPE,
            as_attachment=True,
            download_name=name,
            max_age=0,
        )
    # Lists may hold personal data: no shared or browser cache keeps a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response
