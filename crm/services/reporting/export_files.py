"""The files of large exports: written by the worker, kept for the person who asked.

A list export too large for its request (EXPORT_INLINE_ROWS) is written by a job (crm.jobs)
to `<EXPORT_DIR>/<job id>/<file name>`, by the writers of the streamed downloads
(crm.services.reporting.exports): a CSV holds the very bytes the download would have sent.
The file is written under a temporary name and renamed once complete, so a half-written
file is never offered; an export that fails leaves no file behind.

A file lives as long as its job's record: the daily purge (crm.jobs.purge) forgets old job
records, then `purge` removes every folder whose job is gone or failed.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Job, JobStatus
from crm.services.reporting import exports

log = logging.getLogger(__name__)

PARTIAL = ".partial"  # a file being written; never offered for download
ID_BATCH = 500  # folders looked up per statement by `purge`


def folder_of(root: Path, job_id: int) -> Path:
    """Where the file of job `job_id` lives."""
    return root / str(int(job_id))


def write(
    sheet: exports.Sheet,
    *,
    fmt: str,
    folder: Path,
    name: str,
    tz: ZoneInfo | None = None,
) -> Path:
    """Write `sheet` as a `fmt` file named `name` in `folder`; returns the finished file.

    Rows are read once, as they come (memory stays flat). On any error the partial file is
    removed and the error raised.
    """
    if fmt not in exports.FORMATS or Path(name).name != name:
        raise ValueError(f"not an export file: {fmt} {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / (name + PARTIAL)
    try:
        with partial.open("wb") as out:
            if fmt == "csv":
                for chunk in exports.csv_lines(sheet.columns, sheet.rows, tz=tz):
                    out.write(chunk.encode("utf-8"))  # as downloads.send streams it
            else:
                exports.write_xlsx(out, [sheet], tz=tz)
        return partial.replace(folder / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def find(root: Path, job_id: int, name: str) -> Path | None:
    """The finished file `name` of job `job_id`, or None when it is not there (any more)."""
    if not name or Path(name).name != name or name.endswith(PARTIAL):
        return None
    path = folder_of(root, job_id) / name
    return path if path.is_file() else None


def remove(root: Path, job_id: int) -> None:
    """Remove the folder of job `job_id` with whatever is in it."""
    shutil.rmtree(folder_of(root, job_id), ignore_errors=True)


def purge(root: Path) -> int:
    """Remove the folders of jobs whose record is gone or that failed; returns how many.

    Called after the old job records were deleted, so a file goes with its record. Folders
    of queued, running and finished jobs stay.
    """
    if not root.is_dir():
        return 0
    found = sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    kept: set[int] = set()
    for start in range(0, len(found), ID_BATCH):
        kept.update(_kept(found[start : start + ID_BATCH]))
    removed = [job_id for job_id in found if job_id not in kept]
    for job_id in removed:
        remove(root, job_id)
    if removed:
        log.info("removed the files of %d export jobs", len(removed))
    return len(removed)


def _kept(job_ids: Iterable[int]) -> set[int]:
    stmt = sa.select(Job.id).where(Job.id.in_(list(job_ids)), Job.status != JobStatus.failed)
    return set(db.session.scalars(stmt))
