"""List exports, small and large, from one definition per list.

Each list page registers how its filters become an export (`register`): the file's base
name, its sheet, and the query of its rows. When the page is asked for `?format=csv` or
`?format=xlsx` it calls `respond`:

- up to EXPORT_INLINE_ROWS rows, the file is sent at once, streamed as it always was
  (crm.blueprints.reports.downloads);
- beyond, a page says the file will be prepared in the background and offers a button: a
  POST to `jobs.export` (queuing work changes state), which hands the list's name, the format
  and the page's query string to a job (crm.jobs.start_export). The job's page shows the
  progress, then a link to the file.

The worker calls `write` with the job's parameters, as the person who asked (their
permissions checked again, their language): the same definition builds the same sheet from
the same query string, the same writers write it (crm.services.reporting.export_files), and
an export of personal data is recorded in the audit trail, as a download is, once its file
exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from crm.blueprints.common import ListArgs, list_args
from crm.blueprints.jobs.forms import ExportForm
from crm.blueprints.reports import downloads
from crm.i18n import gettext as _
from crm.models import Job, User
from crm.services import clock
from crm.services.errors import InvalidInput
from crm.services.reporting import export_files, exports

FORMAT_NAMES = {"csv": "CSV", "xlsx": "Excel"}


@dataclass(frozen=True)
class Built:
    """An export built from a list's filters: the file's base name ("organisations"), its
    sheet, the query of its rows (to count them), and the period that names the file.
    `people`: a select of the ids of the people a list of personal data holds, counted as
    sent abroad when the export is marked for headquarters (crm.services.cross_border)."""

    base: str
    sheet: exports.Sheet
    listing: sa.Select[Any]
    period: date | tuple[date, date] | None = None
    people: sa.Select[Any] | None = None


Builder = Callable[[ListArgs, User], Built]


@dataclass(frozen=True)
class ListExport:
    """A list that can be exported: `name` is also what the audit trail records for a list
    of personal data ("exported people (120 rows)"); `title` is what pages call it."""

    name: str
    title: Any  # lazy text: "Organisations"
    build: Builder
    personal: bool


EXPORTS: dict[str, ListExport] = {}


def register(name: str, *, title: Any, personal: bool = False) -> Callable[[Builder], Builder]:
    """Declare the export of a list page, called `title` (lazy text); `personal` lists need
    Permission.EXPORT_PERSONAL and are recorded in the audit trail."""

    def add(build: Builder) -> Builder:
        EXPORTS[name] = ListExport(name, title, build, personal)
        return build

    return add


def respond(name: str, fmt: str) -> ResponseReturnValue:
    """The list page's answer to `?format=`: the file itself when it is small, else the page
    that offers to prepare it in the background. 403 for personal data the user may not
    export."""
    entry = EXPORTS[name]
    if entry.personal:
        downloads.check_personal(name)  # 403 before any query
    built = entry.build(list_args(), current_user._get_current_object())
    audit = (
        downloads.check_personal(name, request.args.to_dict(), people=built.people)
        if entry.personal
        else None
    )
    limit = current_app.config["EXPORT_INLINE_ROWS"]
    if exports.count_rows(built.listing, at_most=limit) <= limit:
        return downloads.send(fmt, built.base, [built.sheet], period=built.period, audit=audit)
    query = request.query_string.decode("utf-8", "replace")
    form = ExportForm(formdata=None, export=name, format=fmt, query=query)
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("format", "page")]
    back = request.path + (f"?{urlencode(kept)}" if kept else "")
    return render_template(
        "jobs/export.html", form=form, what=describe(name, fmt), limit=limit, back=back
    )


def describe(name: str, fmt: str) -> str:
    """What an export holds, for its pages: "Organisations · CSV"."""
    entry = EXPORTS.get(name)
    title = str(entry.title) if entry is not None else name
    return f"{title} · {FORMAT_NAMES.get(fmt, fmt)}"


def parse_query(query: str) -> dict[str, str]:
    """A list page's query string as the job keeps it: each filter's first value."""
    return MultiDict(parse_qsl(query or "", keep_blank_values=True)).to_dict()


def write(job: Job, *, actor: User, root: Path, progress: Callable[[int, int], None]) -> dict:
    """Write the file of an export job (`job.params`: list, format, args) as `actor`; returns
    the job's result: the file's name, its rows and its size in bytes.

    Raises InvalidInput for parameters no list page would have sent, PermissionDenied when
    the actor may not (any more) export this personal data; the file is then not written,
    or removed again.
    """
    params = job.params or {}
    entry = EXPORTS.get(str(params.get("list")))
    fmt = params.get("format")
    if entry is None or fmt not in exports.FORMATS:
        raise InvalidInput(_("This export cannot be prepared. Ask for it again from its list."))
    args = {str(k): str(v) for k, v in dict(params.get("args") or {}).items()}
    if entry.personal:
        exports.check(actor)
    built = entry.build(ListArgs(args), actor)
    total = exports.count_rows(built.listing)
    name = exports.filename(built.base, fmt, built.period or clock.today())
    counted = exports.Counted(built.sheet.rows)
    sheet = dataclasses.replace(built.sheet, rows=_reporting(counted, progress, total))
    folder = export_files.folder_of(root, job.id)
    try:
        path = export_files.write(sheet, fmt=fmt, folder=folder, name=name)
        if entry.personal:
            sent = built.people if args.get(downloads.HEADQUARTERS) == "1" else None
            audit = downloads.Audit(entry.name, args, headquarters=sent)
            downloads.record(audit, fmt=fmt, written=counted.count, actor=actor)
    except BaseException:
        export_files.remove(root, job.id)
        raise
    progress(counted.count, counted.count)
    return {
        "list": entry.name,
        "format": fmt,
        "file": name,
        "rows": counted.count,
        "bytes": path.stat().st_size,
    }


def _reporting(
    rows: Iterable[Any], progress: Callable[[int, int], None], total: int
) -> Iterator[Any]:
    """The rows, telling `progress` how many have been written so far."""
    progress(0, total)
    for done, row in enumerate(rows, start=1):
        yield row
        progress(done, max(total, done))
