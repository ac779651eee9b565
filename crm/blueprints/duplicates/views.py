"""Likely duplicates across the database, and merging two records into one."""

from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.duplicates import bp
from crm.blueprints.history import change_text, value_names
from crm.i18n import gettext as _
from crm.models import Person, Stakeholder
from crm.requests import MAX_ID, record_id
from crm.services import audit, duplicates, merge, stakeholders
from crm.services.errors import Conflict, ServiceError


def detail_url(stakeholder: Stakeholder) -> str:
    if isinstance(stakeholder, Person):
        return url_for("people.detail", person_id=stakeholder.id)
    return url_for("organisations.detail", organisation_id=stakeholder.id)


# Pairs per page: the page reads these off an index, whatever the size of the database.
PER_PAGE = 50


def _after(text: str | None) -> duplicates.Cursor | None:
    """The cursor of a "next page" link ("rank-first-second"); None for anything else, which
    shows the first page."""
    parts = (text or "").split("-")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 20 for p in parts):
        return None
    # No record has an id past MAX_ID (nor a rank past 9999): a larger number in a cursor is
    # past the last pair, and clamping it keeps the query within what PostgreSQL accepts.
    rank, first, second = (int(p) for p in parts)
    return min(rank, 9999), min(first, MAX_ID), min(second, MAX_ID)


@bp.route("")
@permission_required(Permission.MERGE)
def index():
    kind = "person" if request.args.get("kind") == "person" else "organisation"
    after = _after(request.args.get("after"))
    page = duplicates.likely_pairs(kind, after=after, limit=PER_PAGE)
    next_url = None
    if page.next_after is not None:
        next_url = url_for(".index", kind=kind, after="-".join(map(str, page.next_after)))
    return render_template(
        "duplicates/index.html",
        kind=kind,
        pairs=page.pairs,
        next_url=next_url,
        first_url=url_for(".index", kind=kind) if after is not None else None,
        detail_url=detail_url,
    )


def _field_labels(stakeholder: Stakeholder) -> dict[str, str]:
    from crm.blueprints.organisations.forms import OrganisationForm
    from crm.blueprints.people.forms import PersonForm

    form_class = PersonForm if isinstance(stakeholder, Person) else OrganisationForm
    form = form_class(formdata=None, meta={"csrf": False})
    return {name: str(field.label.text) for name, field in form._fields.items()}


def _pair() -> tuple[Stakeholder, Stakeholder]:
    first_id = request.values.get("first", type=record_id)
    second_id = request.values.get("second", type=record_id)
    if first_id is None or second_id is None:
        abort(404)
    first = stakeholders.get(Stakeholder, first_id)
    second = stakeholders.get(Stakeholder, second_id)
    return first, second


def _shown_rows(survivor: Stakeholder, other: Stakeholder) -> list[tuple[str, Any, Any, Any, Any]]:
    """merge.preview's (field, mine, theirs), each value also as it reads: an owner or a
    parent organisation by name, a choice by its label; dates stay dates (the template
    formats them as every page does)."""
    rows = merge.preview(survivor, other)
    table = survivor.__tablename__
    names = value_names(table, [(f, v) for f, *values in rows for v in values])

    def shown(field: str, record: Stakeholder) -> Any:
        value = getattr(record, field)
        if value in (None, "") or isinstance(value, date | bool):
            return value
        return change_text(audit.json_value(value), field, table, names)

    return [(f, mine, theirs, shown(f, survivor), shown(f, other)) for f, mine, theirs in rows]


@bp.route("/merge", methods=["GET", "POST"])
@permission_required(Permission.MERGE)
def merge_records():
    first, second = _pair()
    # The survivor is whichever the user picked; by default the older record.
    if request.values.get("keep") == "second":
        survivor, other = second, first
    else:
        survivor, other = first, second
    errors: list[str] = []
    if request.method == "POST":
        take = {
            name: request.form.get(f"take_{name}", "survivor")
            for name in merge.mergeable_fields(survivor)
        }
        survivor_version = request.form.get("survivor_version", type=int)
        other_version = request.form.get("other_version", type=int)
        # Versions start at 1: a form without them is stale, never a merge unchecked.
        versions = (survivor_version or 0, other_version or 0)
        try:
            discard = [f for f in merge.CONTACT_FIELDS if request.form.get(f"discard_{f}")]
            report = merge.merge(
                survivor,
                other,
                take=take,
                versions=versions,
                discard_contacts=discard,
                actor=current_user,
            )
        except Conflict as err:
            errors.append(str(err))
        except ServiceError as err:
            errors.append(str(err))
        else:
            moved = sum(report.moved.values())
            flash(
                ngettext(
                    "Merged into “%(name)s”: %(num)d linked record moved; the other record "
                    "is in the trash.",
                    "Merged into “%(name)s”: %(num)d linked records moved; the other record "
                    "is in the trash.",
                    moved,
                    name=survivor.display_name,
                ),
                "success",
            )
            if report.contacts_kept:
                flash(
                    ngettext(
                        "%(num)d contact detail of the other record is kept under "
                        "“Other contact details”.",
                        "%(num)d contact details of the other record are kept under "
                        "“Other contact details”.",
                        len(report.contacts_kept),
                    ),
                    "info",
                )
            return redirect(detail_url(survivor))
    rows = _shown_rows(survivor, other) if type(survivor) is type(other) else []
    labels = _field_labels(survivor)
    if type(survivor) is not type(other):
        errors.append(_("Only two organisations or two people can be merged."))
    status = 400 if errors and request.method == "POST" else 200
    if type(survivor) is not type(other):
        status = 400
    return render_template(
        "duplicates/merge.html",
        survivor=survivor,
        other=other,
        rows=rows,
        errors=errors,
        first=first,
        second=second,
        detail_url=detail_url,
        labels=labels,
        contact_fields=merge.CONTACT_FIELDS,
        kind="person" if isinstance(survivor, Person) else "organisation",
    ), status
