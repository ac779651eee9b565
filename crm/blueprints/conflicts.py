"""A stale edit, shown the same way for every record type.

When someone saved a record after the user opened its form, the service refuses the save
(Conflict) and the edit page comes back with the user's values still in the form and, above
it, one table (templates/macros/conflict.html): per field, its label, the value saved now and
the user's value, marked where they differ.

Both sides are read the same way, from a form of the page's own class: the form the user
sent, and the same form loaded from the saved record (what the edit page would show if it
were opened now). So each value reads as the form offers it: an enum by its label, a user by
name, a linked record by its name, a yes/no flag in words, a date as a date (the template
formats it like the rest of the page), whatever the record type, and a row compares like
with like.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from wtforms import BooleanField, Field, FieldList, FormField
from wtforms.fields.choices import SelectFieldBase

from crm.blueprints.history import Names, change_text, value_names
from crm.forms import BaseForm, MultiPickerField, PickerField, TagsField
from crm.labels import field_label
from crm.services import audit, clock

# A value as the conflict table shows it: nothing (None), yes or no, a date or a moment
# (formatted by the template), several texts, or a text.
Shown = bool | date | datetime | tuple[str, ...] | str | None


@dataclass(frozen=True)
class ConflictRow:
    """One field of a stale edit: the value saved now beside the one the user sent."""

    label: str
    theirs: Shown
    yours: Shown

    @property
    def differs(self) -> bool:
        return self.theirs != self.yours


def conflict_rows(yours: BaseForm, saved: BaseForm, *, table: str) -> list[ConflictRow]:
    """The rows of the conflict table, in the form's order, without the fields empty on both
    sides. `yours` is the form the user sent; `saved` the same form loaded from the record as
    it is saved now; `table` the record's table (the names of the ids its columns hold)."""
    names = _names([yours, saved], table)
    rows = []
    for field in _data_fields(yours):
        if field.short_name not in saved:
            continue
        other = saved[field.short_name]
        row = ConflictRow(
            label=_label(field),
            theirs=_shown(other, table=table, names=names),
            yours=_shown(field, table=table, names=names),
        )
        if row.theirs is not None or row.yours is not None:
            rows.append(row)
    return rows


def _label(field: Field) -> str:
    """The field's label in the form; a list of sub-forms has none of its own (WTForms would
    make one up, in English), so it takes the history's name for the field."""
    if isinstance(field, FieldList):
        return field_label(field.short_name)
    return str(field.label.text)


def _data_fields(form: BaseForm) -> Iterator[Field]:
    return (field for field in form if field.short_name not in form.NOT_DATA)


def _shown(field: Field, *, table: str, names: Names) -> Shown:
    """A field's value as the reader knows it (see the module's note)."""
    if isinstance(field, FieldList):
        return _several(_entry(entry, table=table, names=names) for entry in field)
    if isinstance(field, BooleanField):
        return bool(field.data)
    if isinstance(field, MultiPickerField):
        chosen = field.data or []
        return _several(field.labels.get(i) or names.get(("stakeholders", i)) for i in chosen)
    if isinstance(field, PickerField):
        return _name(field.short_name, field.data, table, names) or field.display or None
    if isinstance(field, SelectFieldBase):
        return _chosen(field, table=table, names=names)
    if isinstance(field, TagsField):
        return _several(field.data or [])
    return _plain(field.data)


def _chosen(field: SelectFieldBase, *, table: str, names: Names) -> Shown:
    """The labels of the chosen options (the empty option is nothing chosen). A saved value
    the select no longer offers (a user since disabled) reads by its name all the same."""
    labels = [str(c[1]) for c in field.iter_choices() if c[2] and c[0] not in ("", None)]
    multiple = isinstance(field.data, list | tuple)
    if labels:
        return _several(labels) if multiple else labels[0]
    values = field.data if multiple else [field.data]
    texts = [_name(field.short_name, v, table, names) or _plain(v) for v in values or []]
    return _several(t for t in texts if isinstance(t, str)) if multiple else (texts or [None])[0]


def _entry(entry: Field, *, table: str, names: Names) -> str | None:
    """One entry of a list of sub-forms (a target: "2027: 40"), or None when it is blank."""
    if not isinstance(entry, FormField):
        value = _shown(entry, table=table, names=names)
        return value if isinstance(value, str) else None
    parts = [_plain(sub.data) for sub in entry]
    texts = [str(p) for p in parts if p is not None]
    return ": ".join(texts) if texts else None


def _plain(value: Any) -> Shown:
    """Text, a number without trailing zeros, a date, or a moment in the programme's zone."""
    if value is None or (isinstance(value, str | list | tuple) and not value):
        return None
    if isinstance(value, datetime):
        # A form's date and time are typed in the programme's local time.
        return value if value.tzinfo is not None else value.replace(tzinfo=clock.zone())
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, list | tuple):
        return _several(str(v) for v in value)
    return str(value).strip() or None


def _several(texts: Iterable[str | None]) -> tuple[str, ...] | None:
    """Several values in a stable order (a list saved in any order reads the same)."""
    kept = sorted({str(t) for t in texts if t not in (None, "")})
    return tuple(kept) or None


def _name(field: str, value: Any, table: str, names: Names) -> str | None:
    """The name of the user, stakeholder or activity a column's id refers to, if any."""
    if value in (None, "") or isinstance(value, bool):
        return None
    text = change_text(value, field, table, names)
    return text if text != str(value) else None


def _names(forms: Iterable[BaseForm], table: str) -> Names:
    """The names of every record the forms' ids refer to: one query per table."""
    pairs: list[tuple[str, Any]] = []
    people: list[int] = []
    for form in forms:
        for field in _data_fields(form):
            if isinstance(field, MultiPickerField):
                people += [i for i in field.data or [] if i not in field.labels]
            elif isinstance(field, PickerField | SelectFieldBase) and field.data is not None:
                values = field.data if isinstance(field.data, list) else [field.data]
                pairs += [(field.short_name, v) for v in values]
    names = dict(value_names(table, pairs))
    if people:
        names.update(audit.names_of({"stakeholders": people}))
    return names
