from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, Regexp

from crm.forms import (
    OptionalIntSelectField,
    TagsField,
    VersionedForm,
    enum_choices,
    validate_not_future,
)
from crm.models import Consent, EngagementLevel, Gender, Language

PHONE = Regexp(
    r"^\+?[0-9 ()\-]{5,40}$",
    message=_l("Use digits, spaces, brackets and dashes, with an optional leading +."),
)


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
            Length(max=254),
            Email(
                check_deliverability=False,
                message=_l("Enter an email address such as name@example.cn"),
            ),
        ],
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40), PHONE])
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

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        if not (self.family_name.data or self.given_name.data or self.chinese_name.data):
            self.family_name.errors = [
                *self.family_name.errors,
                _l("Give a family name, a given name or a Chinese name."),
            ]
            ok = False
        return ok
