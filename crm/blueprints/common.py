"""View helpers every blueprint uses: defensive query-string parsing, service errors
attached to form fields, and the body of an edit page with optimistic locking."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from flask import current_app, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from crm.blueprints.history import value_names
from crm.forms import BaseForm, VersionedForm
from crm.services.audit import json_value
from crm.services.errors import Conflict, ServiceError

MAX_TEXT = 200


class ListArgs:
    """Query-string filters read defensively: unknown values are ignored, never a 500."""

    def __init__(self, args: Any) -> None:
        self.args = args

    def text(self, name: str) -> str:
        return (self.args.get(name) or "").strip()[:MAX_TEXT]

    def choice(self, name: str, enum: type[StrEnum]) -> str:
        value = self.text(name)
        return value if value in {m.value for m in enum} else ""

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        return int(value) if value.isdigit() and len(value) < 10 else None

    def rating(self, name: str) -> int | None:
        """An influence or interest score, 1 to 5, or None for anything else."""
        value = self.integer(name)
        return value if value is not None and 1 <= value <= 5 else None

    def page(self) -> int:
        value = self.integer("page")
        return max(1, min(value or 1, 100_000))

    def per_page(self) -> int:
        default = current_app.config["PER_PAGE"]
        value = self.integer("per_page")
        return value if value in (25, 50, 100, 200) else default

    def sort(self, allowed: dict[str, Any], default: str = "name") -> str:
        value = self.text("sort")
        return value if value in allowed else default

    def date(self, name: str) -> date | None:
        """An ISO date (2026-03-04), or None for anything else."""
        try:
            return date.fromisoformat(self.text(name)[:10])
        except ValueError:
            return None

    def descending(self) -> bool:
        return self.text("dir") == "desc"


def list_args() -> ListArgs:
    return ListArgs(request.args)


def attach_error(form: BaseForm, err: ServiceError) -> None:
    """Show a service error next to its field, or above the form."""
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = [*field.errors, str(err)]
    else:
        form.form_errors.append(str(err))


_EMPTY: tuple[Any, ...] = (None, "", [])


def same_value(yours: Any, theirs: Any) -> bool:
    """Whether a submitted value and a saved one mean the same (40 and "40.00", a date and
    its ISO text, lists in any order, empty and None)."""
    yours, theirs = json_value(yours), json_value(theirs)
    if yours in _EMPTY or theirs in _EMPTY:
        return yours in _EMPTY and theirs in _EMPTY
    if isinstance(yours, list) and isinstance(theirs, list):
        return sorted(map(str, yours)) == sorted(map(str, theirs))
    try:
        return Decimal(str(yours)) == Decimal(str(theirs))
    except (InvalidOperation, ValueError):
        return str(yours).strip() == str(theirs).strip()


def conflict_rows(
    current: Mapping[str, Any], mine: Mapping[str, Any]
) -> list[tuple[str, Any, bool]]:
    """(field, saved value, differs from what the user submitted) for a conflict box: the
    saved record's fields, without those empty on both sides."""
    rows = []
    for name, theirs in current.items():
        differs = name in mine and not same_value(mine[name], theirs)
        if differs or theirs not in _EMPTY:
            rows.append((name, theirs, differs))
    return rows


def save_edit(
    form: VersionedForm,
    record: Any,
    save: Callable[[], object],
    *,
    template: str,
    context: Mapping[str, Any],
    done: str,
    mine: Callable[[], Mapping[str, Any]] | None = None,
    attach: Callable[[Any, ServiceError], None] = attach_error,
) -> ResponseReturnValue:
    """The body of an edit page: on a valid POST, `save()` (the service's update, given
    the version the form was read at), then "Changes saved." and a redirect to `done`.

    The page is `template` with `form`, `conflict` (and the `conflict_names` of the records
    its ids refer to, crm.blueprints.history) and `context`. A Conflict shows it again
    (409) with `conflict_rows` of the saved values, marked where they differ from `mine()`
    (the values the user submitted, as the service takes them); the user's values stay in
    the form, which now carries the new version, so saving again keeps them knowingly.
    Other service errors go to their fields (400). A GET renders the page (200).
    """

    def show(status: int, conflict: list[tuple[str, Any, bool]] | None = None) -> tuple[str, int]:
        names = value_names(record.__tablename__, ((n, v) for n, v, _d in conflict or ()))
        return render_template(
            template, form=form, conflict=conflict, conflict_names=names, **context
        ), status

    if form.validate_on_submit():
        try:
            save()
        except Conflict as err:
            form.form_errors.append(str(err))
            form.version.data = str(record.version)
            submitted = mine() if mine is not None else {}
            return show(409, conflict=conflict_rows(err.current or {}, submitted))
        except ServiceError as err:
            attach(form, err)
        else:
            flash(_("Changes saved."), "success")
            return redirect(done)
    return show(400 if request.method == "POST" else 200)
