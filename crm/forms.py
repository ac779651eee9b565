"""Form base classes and fields shared by every blueprint."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, ValidationError


def enum_choices(enum: type[StrEnum], *, blank: str | None = None) -> list[SelectChoice]:
    """Options for a select of enum values with their translated labels; `blank` adds ""."""
    from crm.models import LABELS

    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(m.value, LABELS.get(m, m.value)) for m in enum]


def id_choices(pairs: Any, *, blank: str | None = None) -> list[SelectChoice]:
    """Options for a select of record ids; `blank` adds an empty first option (None)."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(i), label) for i, label in pairs]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def int_or_none(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class BaseForm(FlaskForm):
    """Strips whitespace from every text field; `changes()` hands plain data to services."""

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            if issubclass(unbound_field.field_class, StringField):
                filters = [_strip, *unbound_field.kwargs.get("filters", [])]
                options["filters"] = filters
            return unbound_field.bind(form=form, **options)

    #: Field names that are not record data.
    NOT_DATA = frozenset({"csrf_token", "version", "submit"})

    def changes(self) -> dict[str, Any]:
        """The submitted values by field name, with empty strings as None."""
        data = {}
        for name, field in self._fields.items():
            if name in self.NOT_DATA:
                continue
            value = field.data
            if isinstance(value, str) and value == "":
                value = None
            data[name] = value
        return data


class VersionedForm(BaseForm):
    """An edit form that carries the version it was loaded at, for conflict detection."""

    version = HiddenField(validators=[InputRequired()])

    def validate_version(self, field: HiddenField) -> None:
        if not str(field.data or "").isdigit():
            raise ValidationError(_l("The form is missing its version; reload the page."))

    @property
    def version_number(self) -> int:
        return int(self.version.data)


class OptionalIntSelectField(SelectField):
    """A select of ids whose empty choice means None."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, coerce=int_or_none, **kwargs)

    def pre_validate(self, form: Any) -> None:
        if self.data is None:
            return
        super().pre_validate(form)


class TagsField(StringField):
    """Comma-separated tags in the form, a list of names in `data`."""

    def _value(self) -> str:
        if isinstance(self.data, list):
            return ", ".join(self.data)
        return self.data or ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            raw = valuelist[0].replace("，", ",")
            self.data = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            self.data = []

    def pre_validate(self, form: Any) -> None:
        for tag in self.data or []:
            if len(tag) > 60:
                raise ValidationError(_l("A tag may have at most 60 characters."))


def validate_not_future(form: Any, field: Any) -> None:
    if field.data and isinstance(field.data, date) and field.data > datetime.now(UTC).date():
        raise ValidationError(_l("This date is in the future."))
