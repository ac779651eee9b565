from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from crm.forms import (
    BaseForm,
    OptionalIntSelectField,
    PickerField,
    TagsField,
    VersionedForm,
    enum_choices,
    validate_not_future,
)
from crm.i18n import lazy_gettext as _l
from crm.models import Consent, ConsentPurpose, ConsentSource, EngagementLevel, Gender, Language
from crm.services import contact_details


class ContactRule:
    """Checks a field with a rule of crm.services.contact_details, the one the import and the
    vCards follow too: the rule's message goes on the field, and a value it accepts is kept
    in the form the rule stores (a phone as typed but half-width, an email lower case).

    A field that already failed a check (its length) gets no second message.
    """

    def __init__(self, rule: Callable[[str], str]) -> None:
        self.rule = rule

    def __call__(self, form: Any, field: Any) -> None:
        if not field.data or field.errors:
            return
        try:
            field.data = self.rule(field.data)
        except contact_details.InvalidContact as err:
            raise ValidationError(str(err)) from err


PHONE = ContactRule(lambda text: contact_details.parse_phone(text).typed)
EMAIL = ContactRule(contact_details.normalise_email)


class PersonForm(VersionedForm):
    family_name = StringField(_l("Family name"), validators=[Optional(), Length(max=80)])
    given_name = StringField(_l("Given name"), validators=[Optional(), Length(max=80)])
    chinese_name = StringField(_l("Chinese name"), validators=[Optional(), Length(max=200)])
    gender = SelectField(
        _l("Gender"), choices=enum_choices(Gender), default=Gender.undisclosed.value
    )
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    email = EmailField(
        _l("Email"),
        validators=[
            Optional(),
            Length(max=contact_details.MAX_EMAIL),
            EMAIL,
        ],
    )
    phone = StringField(
        _l("Phone"), validators=[Optional(), Length(max=contact_details.MAX_PHONE), PHONE]
    )
    wechat_id = StringField(_l("WeChat ID"), validators=[Optional(), Length(max=60)])
    preferred_language = SelectField(
        _l("Preferred language"), choices=enum_choices(Language, blank="—"), validators=[Optional()]
    )
    consent = SelectField(
        _l("Consent to keep their data"),
        choices=enum_choices(Consent),
        default=Consent.unknown.value,
    )
    consent_on = DateField(_l("Consent date"), validators=[Optional(), validate_not_future])
    consent_source = StringField(
        _l("Consent source"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example: sign-in sheet of the March training"),
    )
    engagement_level = SelectField(
        _l("Engagement level"),
        choices=enum_choices(EngagementLevel),
        default=EngagementLevel.unaware.value,
    )
    influence = IntegerField(
        _l("Influence (1–5)"), default=3, validators=[InputRequired(), NumberRange(min=1, max=5)]
    )
    interest = IntegerField(
        _l("Interest (1–5)"), default=3, validators=[InputRequired(), NumberRange(min=1, max=5)]
    )
    owner_id = OptionalIntSelectField(_l("Relationship owner"), validators=[Optional()])
    tags = TagsField(_l("Tags"), description=_l("Separate tags with commas."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Save"))

    def validate(
        self, extra_validators: Mapping[str, Sequence[Callable[..., Any]]] | None = None
    ) -> bool:
        ok = super().validate(extra_validators)
        if not (self.family_name.data or self.given_name.data or self.chinese_name.data):
            self.family_name.errors = [
                *self.family_name.errors,
                _l("Give a family name, a given name or a Chinese name."),
            ]
            ok = False
        return ok


class NewPersonForm(PersonForm):
    """A new person, with the organisation they work for: saved as their current position
    (the job title is its title), as "Add a position" on their page would."""

    employer_id = PickerField(
        _l("Employer"),
        validators=[Optional()],
        entity_types=("organisation",),
        placeholder=_l("Optional"),
        description=_l("Saved as their current position."),
    )

    NOT_DATA = PersonForm.NOT_DATA | {"employer_id"}


class ConsentForm(BaseForm):
    """One statement of a person's consent to one purpose (crm.services.consent)."""

    purpose = SelectField(_l("Purpose"), choices=enum_choices(ConsentPurpose))
    status = SelectField(_l("Status"), choices=enum_choices(Consent), default=Consent.given.value)
    stated_on = DateField(
        _l("Stated on"),
        validators=[Optional(), validate_not_future],
        description=_l("The day the person gave or withdrew it."),
    )
    source = SelectField(
        _l("Source"), choices=enum_choices(ConsentSource), default=ConsentSource.other.value
    )
    note = StringField(
        _l("Note"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example: sign-in sheet of the March training"),
    )
    submit = SubmitField(_l("Record consent"))
