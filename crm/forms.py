"""Form base classes and fields shared by every blueprint."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field, HiddenField, SelectChoice, SelectField, StringField
from wtforms.utils import unset_value
from wtforms.validators import InputRequired, ValidationError
from wtforms.widgets import html_params

from crm.services import clock


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
        # Bootstrap-Flask styles a field as a select (form-select) only by this type name.
        self.type = "SelectField"

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
    """Refuse a date after today in the programme's time zone."""
    if field.data and isinstance(field.data, date) and field.data > clock.today():
        raise ValidationError(_l("This date is in the future."))


class PickerWidget:
    """A search box that fills a hidden id from /search.json (static/js/picker.js).

    The visible text is posted back as `<name>__label`, so a form shown again after an error
    keeps what the user picked without another lookup.
    """

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        css = kwargs.pop("class_", "") or kwargs.pop("class", "")
        value = "" if field.data is None else str(field.data)
        hidden = f'<input type="hidden" name="{escape(field.name)}" value="{escape(value)}">'
        attrs = html_params(
            type="search",
            id=kwargs["id"],
            name=f"{field.name}__label",
            value=field.display or "",
            autocomplete="off",
            role="combobox",
            placeholder=str(field.placeholder or ""),
            **{
                "class": f"form-control {css}".strip(),
                "aria-autocomplete": "list",
                "aria-expanded": "false",
                "aria-controls": f"{kwargs['id']}-menu",
                "data-picker-input": "1",
                "required": kwargs.get("required", False),
            },
        )
        return Markup(
            f'<div class="picker" data-picker-url="{escape(field.source)}">{hidden}'
            f"<input {attrs}>"
            f'<ul class="picker-menu list-group shadow-sm" id="{escape(kwargs["id"])}-menu" '
            f'role="listbox" hidden></ul></div>'
        )


class PickerField(Field):
    """The id of a record chosen with a typeahead; `source` is the JSON search URL."""

    widget = PickerWidget()

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        entity_types: tuple[str, ...] = ("organisation",),
        placeholder: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.placeholder = placeholder
        self.display = ""
        self.source = "/search.json?" + "&".join(f"type={t}" for t in entity_types)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = int_or_none(valuelist[0]) if valuelist else None
        if self._picker_formdata is not None:
            self.display = (self._picker_formdata.get(f"{self.name}__label") or "")[:300]
        if self.data is None and valuelist and str(valuelist[0]).strip():
            raise ValueError(_l("Choose a record from the list."))

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self._picker_formdata = formdata
        super().process(formdata, data, extra_filters)

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class MultiPickerWidget:
    """Chosen records as removable chips plus a search box (static/js/picker.js)."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        field_id = kwargs.get("id", field.id)
        chips = "".join(
            f'<span class="badge text-bg-light border picker-chip me-1 mb-1" data-id="{i}">'
            f'<input type="hidden" name="{escape(field.name)}" value="{i}">'
            f"{escape(field.labels.get(i, '#' + str(i)))} "
            f'<button type="button" class="btn-close btn-close-sm ms-1" '
            f'aria-label="{escape(str(field.remove_text))}"></button></span>'
            for i in field.data or []
        )
        invalid = " is-invalid" if field.errors else ""
        attrs = html_params(
            type="search",
            id=field_id,
            autocomplete="off",
            role="combobox",
            placeholder=str(field.placeholder or ""),
            **{
                "class": f"form-control{invalid}",
                "aria-autocomplete": "list",
                "aria-expanded": "false",
                "aria-controls": f"{field_id}-menu",
                "data-picker-input": "1",
            },
        )
        return Markup(
            f'<div class="picker" data-picker-url="{escape(field.source)}" data-multiple="1" '
            f'data-name="{escape(field.name)}"><div class="picker-chips">{chips}</div>'
            f"<input {attrs}>"
            f'<ul class="picker-menu list-group shadow-sm" id="{escape(field_id)}-menu" '
            f'role="listbox" hidden></ul></div>'
        )


class MultiPickerField(Field):
    """Several record ids chosen with a typeahead; the view fills `labels` for display."""

    widget = MultiPickerWidget()

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        entity_types: tuple[str, ...] = ("organisation", "person"),
        placeholder: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.placeholder = placeholder
        self.labels: dict[int, str] = {}
        self.remove_text = _l("Remove")
        self.source = "/search.json?" + "&".join(f"type={t}" for t in entity_types)

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids = [int_or_none(v) for v in valuelist]
        if any(i is None for i in ids):
            raise ValueError(_l("Choose records from the list."))
        self.data = list(dict.fromkeys(i for i in ids if i is not None))

    def process_data(self, value: Any) -> None:
        # From an object: its related records; from a dict: their ids.
        self.data = [getattr(v, "id", v) for v in (value or [])]
