"""Form base classes and fields shared by every blueprint.

Every form built on `BaseForm` applies the rules of crm.services.text to its text fields
(control characters replaced, `clean_text`; multi-line only in text areas; passwords as
typed) and strips whitespace. Ids are parsed with crm.requests.record_id, so a number no
record can have (past the database's integer range) is a field error, never a query, and
whole numbers are kept in that range too. Date and date-time fields keep the browser's
picker and never lose what was typed (`DateInput`, static/js/dates.js).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from flask_babel import get_locale
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    DateField,
    DateTimeLocalField,
    Field,
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.core import UnboundField
from wtforms.utils import unset_value
from wtforms.validators import InputRequired, ValidationError
from wtforms.widgets import Input, html_params

from crm.i18n import lazy_gettext as _l
from crm.requests import MAX_ID, record_id
from crm.services import clock
from crm.services.text import clean_text


def enum_choices(enum: type[StrEnum], *, blank: str | None = None) -> list[SelectChoice]:
    """Options for a select of enum values with their translated labels; `blank` adds ""."""
    from crm.models import LABELS

    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(m.value, LABELS.get(m, m.value)) for m in enum]


def interface_language_choices() -> list[SelectChoice]:
    """The interface languages, each named in its own script, whatever the page's language:
    a reader who does not read the current one still finds theirs. (A person's preferred
    language, a fact about them, keeps the translated labels of `Language`.)"""
    return [
        SelectChoice("en", "English", {"lang": "en"}),
        SelectChoice("zh", "中文", {"lang": "zh-CN"}),
    ]


def id_choices(pairs: Any, *, blank: str | None = None) -> list[SelectChoice]:
    """Options for a select of record ids; `blank` adds an empty first option (None)."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(i), label) for i, label in pairs]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _clean(value: Any, *, multiline: bool) -> Any:
    if isinstance(value, str):
        return clean_text(value, multiline=multiline)
    if isinstance(value, list):  # TagsField
        return [clean_text(v) if isinstance(v, str) else v for v in value]
    return value


def _clean_line(value: Any) -> Any:
    return _clean(value, multiline=False)


def _clean_lines(value: Any) -> Any:
    return _clean(value, multiline=True)


def int_or_none(value: Any) -> int | None:
    """A record id, or None for an empty value or text that is no id (crm.requests)."""
    if value in (None, "", "None"):
        return None
    try:
        return record_id(value)
    except (TypeError, ValueError):
        return None


def _id_or_none(value: Any) -> int | None:
    """None for an empty choice; ValueError (a field error) for text that is no record id."""
    if value in (None, "", "None"):
        return None
    return record_id(value)


def _within_integer_range(form: Any, field: Any) -> None:
    """A whole number the database's integer columns hold."""
    if field.errors or not isinstance(field.data, int):
        return  # an earlier validator (NumberRange) has said it
    if not -MAX_ID - 1 <= field.data <= MAX_ID:
        raise ValidationError(_l("This number is out of range."))


def _with_validator(unbound_field: UnboundField, options: dict[str, Any], check: Any) -> Any:
    """`unbound_field` with `check` after its validators, however they were passed."""
    args = unbound_field.args
    if len(args) >= 2:  # IntegerField(label, [validators]): rebuild it with one more
        validators = [*(args[1] or []), check]
        unbound_field = UnboundField(
            unbound_field.field_class, args[0], validators, *args[2:], **unbound_field.kwargs
        )
    else:
        options["validators"] = [*(unbound_field.kwargs.get("validators") or []), check]
    return unbound_field


#: What a date field says when its text is no day of the calendar (2026-02-30, "yesterday"),
#: at the field, from the server or from static/js/dates.js before the form is sent.
DATE_MESSAGE = _l("Give a real date, such as 2026-03-31.")
DATETIME_MESSAGE = _l("Give a real date and time, such as 2026-03-31 14:30.")


class DateInput(Input):
    """A native date (or date and time) picker that never loses what was typed.

    Why the browser's picker and not a text box with a pattern: it offers a calendar and
    keyboard segments in the user's own order, a phone shows its date wheel, and it reports
    a day that does not exist (30 February: `validity.badInput`), which no pattern can. A
    browser sends such a box empty, so static/js/dates.js stops the form and says so at the
    field. Text that is no date and reaches the server anyway (no JavaScript, a direct
    POST, an API client) comes back in a text box, since a date box would show it empty.
    """

    validation_attrs = ["required", "max", "min", "step"]  # as WTForms' DateInput

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("data-date-box", self.input_type)
        if unreadable_date(field):
            kwargs["type"] = "text"
        if field.errors:
            kwargs.setdefault("aria-invalid", "true")
        return super().__call__(field, **kwargs)


def unreadable_date(field: Any) -> bool:
    """Whether a date field was sent text that is no date (its error says so)."""
    typed = " ".join(str(v) for v in (field.raw_data or [])).strip()
    return bool(typed) and field.data is None and bool(field.process_errors)


def _date_options(field_class: type, declared: dict[str, Any], options: dict[str, Any]) -> None:
    """Every date and date-time field: the picker that keeps what was typed, and a message
    that says what to give (WTForms' own, "Not a valid date value.", does not)."""
    input_type = getattr(getattr(field_class, "widget", None), "input_type", None)
    message = {"date": DATE_MESSAGE, "datetime-local": DATETIME_MESSAGE}.get(input_type or "")
    if message is None:  # a month or a time field: not used, keeps WTForms' own
        return
    if "widget" not in declared:
        options["widget"] = DateInput(input_type)
    if "invalid_value_message" not in declared:
        options["invalid_value_message"] = message


def _bind_field(meta: Any, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
    """WTForms' hook for every field of a form: text cleaned and stripped (passwords only
    stripped), whole numbers kept in range, selects of ids (`coerce=int`) parsed as ids,
    dates with the programme's widget and message."""
    field_class = unbound_field.field_class
    if issubclass(field_class, PasswordField):
        options["filters"] = [_strip, *unbound_field.kwargs.get("filters", [])]
    elif issubclass(field_class, StringField):
        clean = _clean_lines if issubclass(field_class, TextAreaField) else _clean_line
        options["filters"] = [clean, _strip, *unbound_field.kwargs.get("filters", [])]
    if issubclass(field_class, IntegerField):
        unbound_field = _with_validator(unbound_field, options, _within_integer_range)
    if unbound_field.kwargs.get("coerce") is int:  # a select of record ids
        options["coerce"] = record_id
    if issubclass(field_class, DateField | DateTimeLocalField):
        _date_options(field_class, unbound_field.kwargs, options)
    return unbound_field.bind(form=form, **options)


class BaseForm(FlaskForm):
    """Cleans and strips every text field and bounds every number; `changes()` hands plain
    data to services."""

    class Meta:
        bind_field = _bind_field

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


class SubForm(Form):
    """A form inside another (FieldList of FormField): the same rules as BaseForm, no CSRF
    token of its own."""

    class Meta:
        bind_field = _bind_field


class VersionedForm(BaseForm):
    """An edit form that carries the version it was loaded at, for conflict detection."""

    version = HiddenField(validators=[InputRequired()])

    def validate_version(self, field: HiddenField) -> None:
        version = str(field.data or "")
        if not (version.isascii() and version.isdigit() and len(version) <= 9):
            raise ValidationError(_l("The form is missing its version; reload the page."))

    @property
    def version_number(self) -> int:
        return int(self.version.data)


class OptionalIntSelectField(SelectField):
    """A select of ids whose empty choice means None."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, coerce=_id_or_none, **kwargs)
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

    def process_data(self, value: Any) -> None:
        # From a record: its Tag objects (a POST without any field falls back to them).
        if isinstance(value, list | tuple):
            self.data = [getattr(tag, "name", tag) for tag in value]
        else:
            self.data = value

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            raw = valuelist[0].replace("，", ",")
            self.data = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            self.data = []

    def pre_validate(self, form: Any) -> None:
        for tag in self.data or []:
            if len(str(tag)) > 60:
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
            f'<div class="picker" data-picker-url="{escape(field.source)}" '
            f"{picker_texts()}>{hidden}"
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


def chinese_first() -> bool:
    """Whether the interface is in Chinese: pickers then show a record's Chinese name first
    ("王芳 Wang Fang"; "Wang Fang 王芳" in English)."""
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def picker_texts() -> str:
    """The words static/js/picker.js writes, in the interface's language, as attributes of a
    picker: "No match", the name of its list and how many records match (both said to a
    screen reader; "{count}" is the number), and the name of a chip's remove button ("{name}"
    is the chip's)."""
    return html_params(
        **{
            "data-empty-text": str(_l("No match")),
            "data-list-label": str(_l("Matching records")),
            "data-count-one": str(_l("1 result")),
            "data-count-many": str(_l("%(count)s results", count="{count}")),
            "data-remove-label": str(_l("Remove %(name)s", name="{name}")),
        }
    )


class MultiPickerWidget:
    """Chosen records as removable chips plus a search box (static/js/picker.js). Each
    chip's remove button is named after its record ("Remove Wang Fang")."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        field_id = kwargs.get("id", field.id)
        names = {i: field.labels.get(i, "#" + str(i)) for i in field.data or []}
        chips = "".join(
            f'<span class="badge text-bg-light border picker-chip me-1 mb-1" data-id="{i}">'
            f'<input type="hidden" name="{escape(field.name)}" value="{i}">'
            f"{escape(name)} "
            f'<button type="button" class="btn-close btn-close-sm ms-1" '
            f'aria-label="{escape(str(_l("Remove %(name)s", name=name)))}"></button></span>'
            for i, name in names.items()
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
            f'data-name="{escape(field.name)}" {picker_texts()}>'
            f'<div class="picker-chips">{chips}</div>'
            f"<input {attrs}>"
            f'<ul class="picker-menu list-group shadow-sm" id="{escape(field_id)}-menu" '
            f'role="listbox" hidden></ul></div>'
        )


class MultiPickerField(Field):
    """Several record ids chosen with a typeahead; the view fills `labels` for display
    (`entity_types=("user",)`: colleagues, for the staff present)."""

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
        self.source = "/search.json?" + "&".join(f"type={t}" for t in entity_types)

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids = [int_or_none(v) for v in valuelist]
        # The good ids stay chosen: a required check must not hide the message below.
        self.data = list(dict.fromkeys(i for i in ids if i is not None))
        if any(i is None for i in ids):
            raise ValueError(_l("Choose records from the list."))

    def process_data(self, value: Any) -> None:
        # From an object: its related records; from a dict: their ids.
        self.data = [getattr(v, "id", v) for v in (value or [])]
