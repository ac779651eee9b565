"""The `flask crm ...` command group: parse options, call one service, print one line."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from crm import demo
from crm.access import Role
from crm.services import accounts
from crm.services.errors import ServiceError

if TYPE_CHECKING:
    from crm.services.imports import ImportReport, Progress, ReportLine

crm = AppGroup("crm", help="Stakeholder tracker commands.")


def _fail(err: ServiceError) -> None:
    click.echo(f"Error: {err}", err=True)
    sys.exit(1)


@crm.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown in the interface.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", help="Initial password (asked for when omitted).")
@click.option("--locale", default="en", type=click.Choice(["en", "zh"]), show_default=True)
def create_user(email: str, name: str, role: str, password: str | None, locale: str) -> None:
    """Create a user account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            email, name=name, role=role, password=password, locale=locale, actor=None
        )
    except ServiceError as err:
        _fail(err)
    else:
        click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")


@crm.command("create-token")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. the script's name.")
@click.option("--read-only", is_flag=True, help="The token may read, never write.")
def create_token(email: str, name: str, read_only: bool) -> None:
    """Create a personal API token for a user and print it (once: only its hash is kept).

    Only the token goes to standard output, so `TOKEN=$(flask --app wsgi crm create-token
    ...)` keeps it; what it is goes to standard error.
    """
    from crm.services import api_tokens

    user = accounts.by_email(email)
    if user is None:
        click.echo(f"Error: no user with the email {email}.", err=True)
        sys.exit(1)
    try:
        token, secret = api_tokens.create(user, name=name, read_only=read_only, actor=user)
    except ServiceError as err:
        _fail(err)
    else:
        scope = "read-only" if token.read_only else "read-write"
        click.echo(f"Created {scope} token “{token.name}” for {user.email}:", err=True)
        click.echo(secret)


@crm.command("reset-2fa")
@click.argument("email")
def reset_two_factor(email: str) -> None:
    """Remove a user's second factor (a lost phone and lost recovery codes), e.g. for the
    only administrator; they sign in with the password and set it up again."""
    from crm.services import two_factor

    user = accounts.by_email(email)
    if user is None:
        click.echo(f"Error: no user with the email {email}.", err=True)
        sys.exit(1)
    try:
        two_factor.reset(user, actor=None)
    except ServiceError as err:
        _fail(err)
    else:
        click.echo(f"Two-factor sign-in of {user.email} reset.")


@crm.command("seed-demo")
@click.option(
    "--if-empty", is_flag=True, help="Load nothing (and succeed) when the database has users."
)
def seed_demo(if_empty: bool) -> None:
    """Load a small, realistic bilingual demo data set, with a user for every role.

    Exits 1 without writing when the demo accounts exist already. With --if-empty (what
    `make run` uses) a database with any user is left alone, and the demo logins that still
    work are shown.
    """
    try:
        empty = demo.is_empty()
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        click.echo(f"Error: cannot read the users table ({reason}).", err=True)
        click.echo(
            "Is the database reachable, and upgraded (flask --app wsgi db upgrade)?", err=True
        )
        sys.exit(1)
    if if_empty and not empty:
        click.echo("The database already has users; demo data not loaded.")
        _echo_logins(demo.logins())
        return
    if demo.existing_demo_users():
        # demo.seed() refuses too; checking here lets the command show the logins as well.
        click.echo("Error: the demo data is already loaded; nothing was changed.", err=True)
        _echo_logins(demo.logins())
        sys.exit(1)
    try:
        result = demo.seed()
    except ServiceError as err:
        _fail(err)
    else:
        click.echo(
            f"Demo data loaded: {result.organisations} organisations, {result.people} people, "
            f"{result.affiliations} positions, {result.relationships} relationships, "
            f"{result.users} users."
        )
        click.echo(
            f"Programme: {result.activities} activities with {result.participants} "
            f"participants, {result.interactions} interactions, {result.follow_ups} follow-ups."
        )
        _echo_logins(result.logins)


def _echo_logins(logins: list[tuple[str, str]]) -> None:
    if not logins:
        return
    click.echo(
        f"Sign in at http://127.0.0.1:5000 with any of these (password {demo.DEMO_PASSWORD!r}):"
    )
    for email, role in logins:
        click.echo(f"  {role:<12} {email}")


@crm.command("reindex")
def reindex() -> None:
    """Rebuild the search index, the stored contact dates and sector masks from the records
    (after an upgrade or a restore)."""
    from crm.services import (
        contact_dates,
        duplicates,
        interactions,
        search,
        sector_masks,
        stakeholders,
    )

    stakeholders.refresh_derived()
    contact_dates.rebuild()
    sector_masks.rebuild()
    duplicates.rebuild()
    interactions.register_index()
    count = search.rebuild()
    click.echo(f"Search index and contact dates rebuilt: {count} records.")


@crm.command("purge-imports")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=14,
    show_default=True,
    help="Discard uploads staged for review and left untouched this many days.",
)
def purge_imports(days: int) -> None:
    """Discard abandoned imports, with the copy of the file (often personal data) they hold."""
    from datetime import timedelta

    from crm.services import imports

    count = imports.purge_abandoned(older_than=timedelta(days=days))
    click.echo(f"Discarded {count} import{'s' if count != 1 else ''} untouched for {days} days.")


@crm.command("send-reminders")
@click.option("--base-url", default=None, help="Address of the app for links in the mail.")
def send_reminders(base_url: str | None) -> None:
    """Email each user one digest of follow-ups due within two days or overdue (run daily)."""
    from flask import current_app

    from crm.services import clock, mail, reminders

    now = clock.now().astimezone(clock.zone())
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        report = reminders.send(
            today=now.date(),
            day_start=day_start,
            settings=mail.Settings.from_config(current_app.config),
            base_url=base_url or current_app.config["BASE_URL"],
        )
    except mail.MailError as err:
        click.echo(f"Error: could not send reminders: {err}", err=True)
        sys.exit(1)
    click.echo(f"Sent {report.digests} reminder digests ({report.follow_ups} follow-ups).")


@crm.command("import")
@click.argument("kind", type=click.Choice(["organisations", "people", "attendance"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--as",
    "as_email",
    metavar="EMAIL",
    help="The coordinator, manager or administrator the records are created by.",
)
@click.option(
    "--on-duplicate",
    type=click.Choice(["skip", "update", "create"]),
    default=None,
    help="What to do with a row that matches an existing record "
    "[default: skip; for attendance: update, which fills in what the record lacks].",
)
@click.option(
    "--activity",
    "activity_id",
    type=int,
    metavar="ID",
    help="The activity whose sign-in sheet this is (attendance only).",
)
@click.option("--dry-run", is_flag=True, help="Check and report, then write nothing.")
def import_file(
    kind: str,
    file: str,
    as_email: str | None,
    on_duplicate: str | None,
    activity_id: int | None,
    dry_run: bool,
) -> None:
    """Import organisations, people or an activity's sign-in sheet (attendance) from a CSV or
    XLSX file: every row, or none.

    Rows with errors stop the import (exit 1, nothing written) and are listed with their row
    numbers as the spreadsheet shows them. A sign-in sheet marks everyone on it as attended.
    """
    from pathlib import Path

    from flask import current_app

    from crm.services import imports

    if not as_email:
        click.echo(
            "Error: say who imports with --as EMAIL (a coordinator, manager or administrator).",
            err=True,
        )
        sys.exit(1)
    if (kind == "attendance") != (activity_id is not None):
        click.echo("Error: --activity ID goes with attendance, and only with it.", err=True)
        sys.exit(1)
    actor = accounts.by_email(as_email)
    if actor is None or not actor.is_enabled:
        click.echo(f"Error: there is no active user {as_email}.", err=True)
        sys.exit(1)
    path = Path(file)
    limits = imports.Limits.from_config(current_app.config)
    try:
        table = imports.read_upload(path.read_bytes(), path.name, kind=kind, limits=limits)
        read = [table.source.get("format", "").upper(), table.source.get("encoding", "")]
        if table.source.get("delimiter"):
            read.append(f"delimiter {table.source['delimiter']!r}")
        click.echo(f"Read {path.name}: {len(table.rows)} rows ({', '.join(r for r in read if r)}).")
        report = imports.run(
            table,
            kind=kind,
            actor=actor,
            on_duplicate=on_duplicate,
            dry_run=dry_run,
            progress=_import_progress,
            options={"activity_id": activity_id} if activity_id is not None else None,
        )
    except imports.RowsRejected as err:
        click.echo(f"Error: {err}", err=True)
        invalid = err.preview.invalid
        for row in invalid[:20]:
            click.echo(f"  Row {row.number}: {' '.join(row.errors)}", err=True)
        if len(invalid) > 20:
            click.echo(f"  … and {len(invalid) - 20} more rows with errors.", err=True)
        sys.exit(1)
    except ServiceError as err:
        _fail(err)
    else:
        for line in _import_summary(report):
            click.echo(line)


def _import_progress(step: Progress) -> None:
    if step.total >= 2000 and step.done and step.done % max(1, step.total // 10) == 0:
        click.echo(f"  {step.done} of {step.total} rows…", err=True)


def _import_summary(report: ImportReport) -> list[str]:
    from crm.services.imports import row_ranges

    def part(verb: str, lines: Sequence[ReportLine]) -> str:
        if not lines:
            return f"{verb} 0"
        rows = row_ranges(line.row for line in lines)
        return f"{verb} {len(lines)} (row{'s' if len(lines) > 1 else ''} {rows})"

    if report.dry_run:
        verbs, prefix = ("would create", "update", "skip"), "Dry run, nothing was written. "
    else:
        verbs, prefix = ("created", "updated", "skipped"), ""
    counts = ", ".join(
        part(verb, lines)
        for verb, lines in zip(verbs, (report.created, report.updated, report.skipped), strict=True)
    )
    lines = [f"{prefix}{report.kind.capitalize()}: {counts}."]
    if report.organisations_created:
        names = ", ".join(line.label for line in report.organisations_created[:5])
        more = len(report.organisations_created) - 5
        lines.append(
            f"New organisations: {len(report.organisations_created)} ({names}"
            + (f", and {more} more" if more > 0 else "")
            + ")."
        )
    if report.attended:
        lines.append(f"Marked as attended: {len(report.attended)}.")
    for line in report.skipped[:10]:
        if line.note:
            lines.append(f"  Row {line.row} skipped: {line.note}")
    return lines


@crm.command("backup")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def backup_database(file: Path | None) -> None:
    """Back up the database to FILE while the app runs (SQLite: a copy made with SQLite's
    backup API; PostgreSQL: pg_dump's custom format).

    Without FILE, a dated file in BACKUP_DIR, which the administrators' Backups page lists.
    A failed backup leaves no partial file; FILE is replaced only by a complete backup.
    """
    from flask import current_app

    from crm.services import backup

    try:
        if file is None:
            made = backup.backup_into(Path(current_app.config["BACKUP_DIR"]))
        else:
            made = backup.backup(file)
    except ServiceError as err:
        _fail(err)
    except sa.exc.OperationalError as err:
        _unreachable(err)
    else:
        click.echo(f"Backed up the database to {made.path} ({made.size:,} bytes).")


def _unreachable(err: sa.exc.OperationalError) -> None:
    reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
    click.echo(f"Error: cannot reach the database ({reason}); nothing was changed.", err=True)
    sys.exit(1)


@crm.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore_database(file: Path) -> None:
    """Restore the backup FILE into an empty database (no tables, or tables without rows, as
    `flask db upgrade` leaves them); refuses anything else and changes nothing then.

    FILE must come from `crm backup` on the same kind of database. The schema is the
    backup's: when it is older than the code, run `flask --app wsgi db upgrade` next.
    """
    from flask import current_app

    from crm.services import backup

    try:
        report = backup.restore(file, migrations=Path(current_app.extensions["migrate"].directory))
    except ServiceError as err:
        _fail(err)
    except sa.exc.OperationalError as err:
        _unreachable(err)
    else:
        click.echo(f"Restored {file} (schema revision {report.revision}).")
        if report.schema == backup.Schema.behind:
            click.echo(
                f"The backup's schema is older than this code ({report.head}): run "
                "`flask --app wsgi db upgrade` before starting the app."
            )
        elif report.schema == backup.Schema.newer:
            click.echo(
                f"The backup was made by a newer version of the app (revision "
                f"{report.revision} is unknown here): run that version, or upgrade this one.",
                err=True,
            )


@crm.command("generate")
@click.option(
    "--scale",
    type=float,
    default=1.0,
    show_default=True,
    help="1 is about 20,000 organisations, 60,000 people, 300,000 interactions.",
)
@click.option("--seed", type=int, default=2026, show_default=True)
def generate_data(scale: float, seed: int) -> None:
    """Add a large deterministic data set, for benchmarks (not for a live database)."""
    from crm.demo import generate
    from crm.extensions import db

    result = generate.generate(scale=scale, seed=seed)
    # Statistics for the planner: without them SQLite plans some joins over every row.
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    click.echo(
        f"Generated {result.organisations} organisations, {result.people} people, "
        f"{result.activities} activities, {result.interactions} interactions, "
        f"{result.follow_ups} follow-ups; {result.search_documents} search documents."
    )


@crm.command("worker")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1, max=32),
    default=1,
    show_default=True,
    help="Jobs run at the same time (threads). Keep 1 on SQLite, which has one writer.",
)
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Also run the daily schedule (reminders, purges, PRAGMA optimize). With several "
    "workers sharing a Redis queue, only one should.",
)
def worker(workers: int, periodic: bool) -> None:
    """Run background jobs (imports) and the daily schedule until stopped (Ctrl-C)."""
    import logging

    from flask import current_app

    from crm import jobs

    if current_app.config["JOB_QUEUE_IMMEDIATE"]:
        click.echo("Error: JOB_QUEUE_IMMEDIATE is set, so jobs run inline: no worker.", err=True)
        sys.exit(1)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    consumer = jobs.consumer(workers=workers, periodic=periodic)
    click.echo(
        f"Worker started: {workers} at a time, daily schedule {'on' if periodic else 'off'}."
    )
    consumer.run()


@crm.command("erase")
@click.argument("person_id", type=int)
@click.option(
    "--as",
    "as_email",
    metavar="EMAIL",
    required=True,
    help="The coordinator, manager or administrator who erases.",
)
def erase_person(person_id: int, as_email: str) -> None:
    """Erase a person's personal data for good, keeping the figures (as the person page's
    "Erase personal data")."""
    from crm.extensions import db
    from crm.models import Person
    from crm.services import personal_data

    actor = accounts.by_email(as_email)
    if actor is None or not actor.is_enabled:
        click.echo(f"Error: there is no active user {as_email}.", err=True)
        sys.exit(1)
    person = db.session.get(Person, person_id)
    if person is None:
        click.echo(f"Error: there is no person {person_id}.", err=True)
        sys.exit(1)
    try:
        personal_data.erase(person, actor=actor)
    except ServiceError as err:
        _fail(err)
    click.echo(f"Erased the personal data of person {person_id}.")


@crm.command("retention")
@click.option("--dry-run", is_flag=True, help="List who is past retention and why; change nothing.")
@click.option(
    "--years",
    type=str,
    default=None,
    help="Years without activity [default: the RETENTION_YEARS setting].",
)
def retention(dry_run: bool, years: str | None) -> None:
    """Erase the personal data of people with no activity for RETENTION_YEARS years (no
    interaction, activity, follow-up or change to their record), unless exempted.
    Idempotent: safe to run daily."""
    from flask import current_app

    from crm.services import clock, personal_data

    try:
        period = personal_data.check_years(
            years if years is not None else current_app.config["RETENTION_YEARS"]
        )
        if dry_run:
            found = personal_data.due(years=period, now=clock.now())
            for row in found:
                click.echo(
                    f"{row.person_id}\t{row.name}\tlast activity {row.last_activity_on} "
                    f"({row.last_kind.replace('_', '-')})"
                )
            click.echo(f"{len(found)} people past {period} years of retention (dry run).")
            return
        report = personal_data.run_retention(years=period, now=clock.now())
    except ServiceError as err:
        _fail(err)
    click.echo(f"Erased {len(report.erased)} people past {period} years of retention.")
