"""CSV and XLSX downloads for list pages and reports: the HTTP side of
crm.services.reporting.exports.

A list view reads its filters as usual, then, when `?format=csv` or `?format=xlsx` is asked
for, chooses its columns and calls `send`. Personal data goes through `check_personal` first,
which answers 403 to viewers and members and returns the `Audit` to hand to `send`: the
export is recorded in the audit trail once its file has been produced, never before.

What "produced" means: for a CSV, which streams, the moment the last line has been handed
to the server (the generator's end); for a workbook, once it has been written in full, before
its first byte is sent. An export that fails on the way (a query error, a bug) records
nothing: the user has no file. A download the user breaks off is not recorded either: the
log keeps a line of it, with the rows sent so far.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Response, abort, request, send_file, stream_with_context
from flask_login import current_user

from crm.access import Permission, can
from crm.i18n import gettext as _
from crm.models import User
from crm.services import clock
from crm.services.errors import ServiceError
from crm.services.reporting import exports

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class Audit:
    """How an export of personal data is to be recorded once its file exists: what was
    exported, the filters used, and the number of rows when the caller knows it better than
    a count of the rows written (a workbook of several sheets)."""

    what: str
    filters: Mapping[str, Any] = field(default_factory=dict)
    rows: int | None = None
    # The people of an export marked "for headquarters" (a select of their ids, or the ids),
    # counted as sent abroad (crm.services.cross_border); None for any other export.
    headquarters: Any = None


# The query parameter (a checkbox of the export menu) that marks an export for headquarters.
HEADQUARTERS = "headquarters"


def for_headquarters() -> bool:
    """Whether the export asked for is marked "for headquarters" (a cross-border transfer)."""
    return request.args.get(HEADQUARTERS) == "1"


def check_personal(
    what: str,
    filters: Mapping[str, Any] | None = None,
    *,
    rows: int | None = None,
    people: Any = None,
) -> Audit:
    """403 unless the user may export personal data; the Audit to hand to `send`. `people`
    (a select of person ids, or the ids) are those the export holds: counted as sent abroad
    when the export is marked for headquarters (`for_headquarters`)."""
    if not can(current_user, Permission.EXPORT_PERSONAL):
        abort(403)
    sent = people if people is not None and for_headquarters() else None
    return Audit(what, dict(filters or {}), rows, sent)


def record(audit: Audit, *, fmt: str, written: int, actor: User) -> None:
    """Record an export of personal data whose file now exists, downloaded at once or
    written by the worker (crm.blueprints.reports.list_exports); commits."""
    exports.record(
        actor,
        what=audit.what,
        rows=written if audit.rows is None else audit.rows,
        fmt=fmt,
        filters=audit.filters,
        headquarters=audit.headquarters,
    )


def _streamed(
    chunks: Iterable[str], rows: exports.Counted, audit: Audit | None, user_id: int | None
) -> Iterator[bytes]:
    """The CSV's bytes; the export is recorded after the last of them has been taken."""
    finished = False
    try:
        for chunk in chunks:
            yield chunk.encode("utf-8")
        finished = True
    finally:
        if not finished and audit is not None:  # an error, or the client went away
            log.warning(
                "user %s: export of %s stopped after %d rows, not recorded",
                user_id,
                audit.what,
                rows.count,
            )
    if audit is not None:
        record(audit, fmt="csv", written=rows.count, actor=current_user._get_current_object())


def send(
    fmt: str,
    base: str,
    sheets: Sequence[exports.Sheet],
    *,
    period: date | tuple[date, date] | str | None = None,
    audit: Audit | None = None,
) -> Response:
    """The download: CSV streams the first sheet line by line, XLSX holds every sheet.

    The file is named after `period` (a report's first and last days, a year) when given,
    else after today. With an `audit`, the export is recorded once the file is produced.
    """
    tz = clock.zone()
    name = exports.filename(base, fmt, period if period is not None else clock.today())
    if fmt == "csv":
        sheet = sheets[0]
        rows = exports.Counted(sheet.rows)
        chunks = exports.csv_lines(sheet.columns, rows, tz=tz)
        response = Response(
            stream_with_context(_streamed(chunks, rows, audit, getattr(current_user, "id", None))),
            # A text/* mimetype: Werkzeug adds "charset=utf-8" to the Content-Type.
            mimetype=exports.CSV_MIMETYPE,
        )
        response.headers.set("Content-Disposition", "attachment", filename=name)
    else:
        counters = [exports.Counted(s.rows) for s in sheets]
        counted = [dataclasses.replace(s, rows=c) for s, c in zip(sheets, counters, strict=True)]
        produced = exports.xlsx_file(counted, tz=tz)
        if audit is not None:
            try:
                written = sum(c.count for c in counters)
                record(audit, fmt=fmt, written=written, actor=current_user._get_current_object())
            except BaseException:
                produced.close()
                raise
        response = send_file(
            produced,
            mimetype=exports.XLSX_MIMETYPE,
            as_attachment=True,
            download_name=name,
            max_age=0,
        )
    # Lists may hold personal data: no shared or browser cache keeps a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response
