"""The `flask crm ...` command group: parse options, call one service, print one line."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from crm.access import Role
from crm.services import accounts, demo
from crm.services.errors import ServiceError

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


@crm.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users already.")
def seed_demo(if_empty: bool) -> None:
    """Load a small, realistic bilingual demo data set, with a user for every role."""
    if if_empty and not demo.is_empty():
        click.echo("The database already has data; demo data not loaded.")
        return
    try:
        result = demo.seed()
    except ServiceError as err:
        _fail(err)
    else:
        click.echo(
            f"Demo data loaded: {result.organisations} organisations, {result.people} people, "
            f"{result.users} users."
        )
        click.echo(
            f"Sign in at http://127.0.0.1:5000 with any of these (password {demo.DEMO_PASSWORD!r}):"
        )
        for email, role in result.logins:
            click.echo(f"  {role:<12} {email}")


@crm.command("reindex")
def reindex() -> None:
    """Rebuild the search index from the records (after an upgrade or a restore)."""
    from crm.services import search

    count = search.rebuild()
    click.echo(f"Search index rebuilt: {count} records.")
