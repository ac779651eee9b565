"""The web forms, spoken in JSON: one set of rules for the pages and the API.

A JSON body is checked for its shape (types, unknown fields) by a marshmallow schema built from
the form class (`body_schema`), so the OpenAPI document describes exactly the fields the form
has, with their lengths, choices and ranges. The values are then handed to the form itself as
the browser would post them (`submit`): the form's validators, choices and filters (text
cleaned, ids parsed) decide, and `form.changes()` goes to the service as from the page.

An update is a partial one: fields left out keep their saved value, since the form is filled
from the record (as the edit page shows it) before the JSON values are laid over it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    SubmitField,
)
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from crm.forms import MultiPickerField, OptionalIntSelectField, PickerField, TagsField
from crm.i18n import lazy_gettext as _l
from crm.services import clock

#: Marshmallow's messages, in the reader's language (its own are English only).
MESSAGES = {
    "required": _l("This field is required."),
    "null": _l("This field may not be empty."),
    "invalid": _l("Not a valid value."),
    "type": _l("Not a valid value."),
    "unknown": _l("Unknown field."),
}
#: marshmallow fills in {min} and {max}.
RANGE = _l("Give a number from {min} to {max}.")
CHOICE = _l("Not a valid choice.")
_SKIPPED = {"csrf_token", "submit"}


def field_messages() -> dict[str, Any]:
    return {
        "required": MESSAGES["required"],
        "null": MESSAGES["null"],
        "invalid": MESSAGES["invalid"],
        "type": MESSAGES["invalid"],
    }


class StrictSchema(Schema):
    """Unknown fields are an error (422), said in the reader's language."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": MESSAGES["unknown"], "type": MESSAGES["type"]}


class QuerySchema(Schema):
    """Query strings: unknown parameters are ignored, as the web lists ignore them."""

    class Meta:
        unknown = EXCLUDE


def _validators(unbound: UnboundField) -> list[Any]:
    if len(unbound.args) >= 2 and unbound.args[1]:
        return list(unbound.args[1])
    return list(unbound.kwargs.get("validators") or [])


def form_fields(form_class: type) -> list[tuple[str, UnboundField]]:
    """The form's fields as declared, in order, without the CSRF token and the button."""
    found = [
        (name, value)
        for name in dir(form_class)
        if not name.startswith("_")
        and isinstance(value := getattr(form_class, name, None), UnboundField)
        and name not in _SKIPPED
        and not issubclass(value.field_class, SubmitField)
    ]
    return sorted(found, key=lambda pair: pair[1].creation_counter)


def _choice_values(unbound: UnboundField) -> list[Any] | None:
    choices = unbound.kwargs.get("choices")
    if not choices or callable(choices):
        return None
    values = [getattr(c, "value", c[0] if isinstance(c, tuple) else c) for c in choices]
    return [None if v == "" else str(v) for v in values]


def _is_required(unbound: UnboundField) -> bool:
    return any(isinstance(v, DataRequired | InputRequired) for v in _validators(unbound)) and (
        unbound.kwargs.get("default") is None
    )


def _marshmallow_field(name: str, unbound: UnboundField, *, partial: bool) -> fields.Field:
    cls = unbound.field_class
    meta: dict[str, Any] = {}
    label = unbound.args[0] if unbound.args else unbound.kwargs.get("label")
    if label:
        meta["description"] = str(label)
    for check in _validators(unbound):
        if isinstance(check, Length) and check.max and check.max > 0:
            meta["maxLength"] = check.max
        if isinstance(check, NumberRange):
            if check.min is not None:
                meta["minimum"] = check.min
            if check.max is not None:
                meta["maximum"] = check.max
    required = not partial and _is_required(unbound)
    options: dict[str, Any] = {
        "required": required,
        "allow_none": not required,
        "metadata": meta,
        "error_messages": field_messages(),
    }
    if issubclass(cls, FieldList):
        inner = unbound.args[0] if unbound.args else unbound.kwargs["unbound_field"]
        sub = inner.args[0] if inner.args else inner.kwargs["form_class"]
        max_entries = unbound.kwargs.get("max_entries")
        if max_entries:
            meta["maxItems"] = max_entries
            options["validate"] = validate.Length(max=max_entries, error=MESSAGES["invalid"])
        meta.pop("maxLength", None)
        return fields.List(fields.Nested(body_schema(sub)), **options)
    if issubclass(cls, FormField):
        return fields.Nested(body_schema(unbound.args[0]), **options)
    if issubclass(cls, BooleanField):
        options["allow_none"] = False
        return fields.Boolean(**options)
    if issubclass(cls, MultiPickerField | SelectMultipleField):
        return fields.List(fields.Integer(strict=True, error_messages=field_messages()), **options)
    if issubclass(cls, TagsField):
        meta.pop("maxLength", None)
        return fields.List(
            fields.String(metadata={"maxLength": 60}, error_messages=field_messages()), **options
        )
    if issubclass(cls, PickerField | OptionalIntSelectField) or unbound.kwargs.get("coerce") is int:
        meta["minimum"] = 1
        return fields.Integer(strict=True, **options)
    if issubclass(cls, IntegerField):
        return fields.Integer(strict=True, **options)
    if issubclass(cls, DateTimeLocalField):
        return fields.DateTime(**options)
    if issubclass(cls, DateField):
        return fields.Date(**options)
    if issubclass(cls, SelectField):
        values = _choice_values(unbound)
        if values:
            meta["enum"] = values if options["allow_none"] else [v for v in values if v]
            if None in values:
                options["allow_none"] = True
    return fields.String(**options)


_SCHEMAS: dict[tuple[type, bool, tuple[str, ...], str], type[Schema]] = {}


def body_schema(
    form_class: type,
    *,
    partial: bool = False,
    exclude: Iterable[str] = (),
    extra: Mapping[str, fields.Field] | None = None,
    name: str = "",
) -> type[Schema]:
    """A marshmallow schema of the form's fields (built once per form and use). `partial`:
    nothing is required but `version` (an update); else `version` is left out (a create)."""
    key = (form_class, partial, tuple(exclude), name)
    if key in _SCHEMAS:
        return _SCHEMAS[key]
    attrs: dict[str, Any] = {}
    for field_name, unbound in form_fields(form_class):
        if field_name in exclude:
            continue
        if field_name == "version" and issubclass(unbound.field_class, HiddenField):
            if partial:
                attrs["version"] = fields.Integer(
                    strict=True,
                    required=True,
                    validate=validate.Range(min=0, max=999_999_999, error=MESSAGES["invalid"]),
                    metadata={"description": "The version read with the record (409 when stale)."},
                    error_messages=field_messages(),
                )
            continue
        attrs[field_name] = _marshmallow_field(field_name, unbound, partial=partial)
    attrs.update(extra or {})
    schema_name = name or form_class.__name__.removesuffix("Form") + ("Update" if partial else "")
    schema = type(schema_name, (StrictSchema,), attrs)
    _SCHEMAS[key] = schema
    return schema


# ---------------------------------------------------------------------------------------------
# JSON values → what a browser would post
# ---------------------------------------------------------------------------------------------


def _wire(value: Any, field_class: type) -> list[str]:
    if value is None:
        return [""]
    if isinstance(value, bool):
        return ["y"] if value else []
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(clock.zone()).replace(tzinfo=None)
        return [value.strftime("%Y-%m-%dT%H:%M:%S")]
    if isinstance(value, date):
        return [value.isoformat()]
    if isinstance(value, list | tuple):
        if issubclass(field_class, TagsField):
            return [", ".join(str(v).replace(",", " ") for v in value)]
        return [str(v) for v in value]
    return [str(value)]


def _saved(form: Any) -> dict[str, list[str]]:
    """What the browser would post back for a form as loaded (every field, as shown)."""
    wire: dict[str, list[str]] = {}
    for field in form:
        if field.type in ("SubmitField", "CSRFTokenField") or field.name == "csrf_token":
            continue
        if isinstance(field, FieldList):
            for entry in field.entries:
                wire.update(_saved(entry.form) if isinstance(entry, FormField) else {})
            continue
        if isinstance(field, BooleanField):
            wire[field.name] = ["y"] if field.data else []
        elif isinstance(field, MultiPickerField | SelectMultipleField):
            wire[field.name] = [str(v) for v in field.data or []]
        elif hasattr(field, "_value"):
            wire[field.name] = [field._value()]
        else:  # a select: its value as the option's
            wire[field.name] = ["" if field.data is None else str(field.data)]
    return wire


def _overlay(wire: dict[str, list[str]], body: Mapping[str, Any], form_class: type) -> None:
    declared = dict(form_fields(form_class))
    for name, value in body.items():
        unbound = declared.get(name)
        field_class = unbound.field_class if unbound is not None else HiddenField
        if unbound is not None and issubclass(field_class, FieldList):
            for key in [k for k in wire if k.startswith(f"{name}-")]:
                del wire[key]
            inner = unbound.args[0] if unbound.args else unbound.kwargs["unbound_field"]
            sub = inner.args[0] if inner.args else inner.kwargs["form_class"]
            for index, entry in enumerate(value or []):
                prefixed: dict[str, list[str]] = {}
                _overlay(prefixed, entry, sub)
                wire.update({f"{name}-{index}-{k}": v for k, v in prefixed.items()})
            continue
        wire[name] = _wire(value, field_class)


def submit(
    make_form: Callable[..., Any],
    body: Mapping[str, Any],
    *,
    loaded: Any = None,
    obj: Any = None,
) -> Any:
    """The form `make_form(formdata=..., obj=...)` filled with `body` over `loaded` (the
    form as the record fills it: an update) or over the form's defaults (a create), and
    validated; raises FormInvalid with the form's messages by field."""
    base = loaded if loaded is not None else make_form(formdata=None, meta={"csrf": False})
    wire = _saved(base)
    form_class = type(base)
    _overlay(wire, body, form_class)
    if "version" in wire and loaded is None:
        wire["version"] = ["0"]
    formdata = MultiDict([(k, v) for k, values in wire.items() for v in values])
    form = make_form(formdata=formdata, obj=obj, meta={"csrf": False})
    if not form.validate():
        raise FormInvalid(form_errors(form))
    return form


def form_errors(form: Any) -> dict[str, list[str]]:
    """The form's messages by field ("follow_ups.0.title" inside a list), plus "_form"."""
    found: dict[str, list[str]] = {}

    def walk(errors: Any, prefix: str) -> None:
        if isinstance(errors, dict):
            for key, value in errors.items():
                name = "_form" if key is None else str(key)
                walk(value, f"{prefix}.{name}" if prefix else name)
        elif isinstance(errors, list) and any(isinstance(e, dict | list) for e in errors):
            for index, value in enumerate(errors):
                if value:
                    walk(value, f"{prefix}.{index}")
        elif errors:
            found[prefix or "_form"] = [str(e) for e in errors]

    walk(form.errors, "")
    return found


class FormInvalid(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid form")
        self.fields = fields
