"""View helpers every blueprint uses: defensive query-string parsing, service errors
attached to form fields, and the body of an edit page with optimistic locking."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any

from flask import current_app, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue

from crm.blueprints.conflicts import ConflictRow, conflict_rows
from crm.forms import BaseForm, VersionedForm
from crm.i18n import gettext as _
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


def save_edit(
    form: VersionedForm,
    record: Any,
    save: Callable[[], object],
    *,
    template: str,
    context: Mapping[str, Any],
    done: str,
    saved: Callable[[], BaseForm],
    attach: Callable[[Any, ServiceError], None] = attach_error,
    message: str | None = None,
) -> ResponseReturnValue:
    """The body of an edit page: on a valid POST, `save()` (the service's update, given
    the version the form was read at), then `message` ("Changes saved.") and a redirect to
    `done`.

    The page is `template` with `form`, `conflict` and `context`. A Conflict shows it again
    (409) with the conflict table (crm.blueprints.conflicts) of the values saved now, read
    from `saved()` (the page's form loaded from the record), beside the user's; the user's
    values stay in the form, which now carries the new version, so saving again keeps them
    knowingly. Other service errors go to their fields (400). A GET renders the page (200).
    """

    def show(status: int, conflict: list[ConflictRow] | None = None) -> tuple[str, int]:
        return render_template(template, form=form, conflict=conflict, **context), status

    if form.validate_on_submit():
        try:
            save()
        except Conflict as err:
            form.form_errors.append(str(err))
            form.version.data = str(record.version)
            rows = conflict_rows(form, saved(), table=record.__tablename__)
            return show(409, conflict=rows)
        except ServiceError as err:
            attach(form, err)
        else:
            flash(message or _("Changes saved."), "success")
            return redirect(done)
    return show(400 if request.method == "POST" else 200)
