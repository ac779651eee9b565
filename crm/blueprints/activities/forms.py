from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.blueprints.people.forms import EMAIL, PHONE
from crm.forms import (
    BaseForm,
    MultiPickerField,
    OptionalIntSelectField,
    PickerField,
    VersionedForm,
    enum_choices,
)
from crm.i18n import lazy_gettext as _l
from crm.models import (
    ActivityStatus,
    ActivityType,
    AgreementStatus,
    Gender,
    ParticipationRole,
    ParticipationStatus,
    PartyRole,
    Sector,
)


class TopicsField(SelectMultipleField):
    """Topics as checkboxes; the view sets the choices (active topics and those chosen)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActivityForm(VersionedForm):
    type = SelectField(_l("Type"), choices=enum_choices(ActivityType), default="training")
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    title_zh = StringField(_l("Chinese title"), validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), choices=enum_choices(ActivityStatus), default="planned")
    start_on = DateField(_l("Start"), validators=[InputRequired(_l("Give the start date."))])
    end_on = DateField(
        _l("End"), validators=[Optional()], description=_l("Leave empty for a one-day activity.")
    )
    city = StringField(_l("City"), validators=[Optional(), Length(max=80)])
    sector = SelectField(
        _l("Sector"), choices=enum_choices(Sector, blank="—"), validators=[Optional()]
    )
    topic_ids = TopicsField(_l("Topics"), coerce=int, validators=[Optional()])
    lead_id = OptionalIntSelectField(_l("Lead"), validators=[Optional()])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 4}
    )
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    expires_on = DateField(_l("Expires on"), validators=[Optional()])
    agreement_status = SelectField(
        _l("Agreement status"),
        choices=enum_choices(AgreementStatus, blank="—"),
        validators=[Optional()],
    )
    publication = StringField(
        _l("Publication"),
        validators=[Optional(), Length(max=500)],
        description=_l("The title of the report, or a link to it."),
    )
    submit = SubmitField(_l("Save"))


class PartyForm(BaseForm):
    organisation_id = PickerField(
        _l("Organisation"),
        validators=[DataRequired(_l("Choose an organisation."))],
        entity_types=("organisation",),
        placeholder=_l("Type a name: 华为, huawei, hw…"),
    )
    role = SelectField(_l("Role"), choices=enum_choices(PartyRole), default="host")
    submit = SubmitField(_l("Add organisation"))


class AddParticipantsForm(BaseForm):
    people = MultiPickerField(
        _l("People"),
        validators=[DataRequired(_l("Choose at least one person."))],
        entity_types=("person",),
        placeholder=_l("Type a name: 王芳, wang fang, wf…"),
    )
    status = SelectField(_l("Status"), choices=enum_choices(ParticipationStatus), default="invited")
    role = SelectField(_l("Role"), choices=enum_choices(ParticipationRole), default="participant")
    submit = SubmitField(_l("Add participants"))


class NewParticipantForm(BaseForm):
    family_name = StringField(_l("Family name"), validators=[Optional(), Length(max=80)])
    given_name = StringField(_l("Given name"), validators=[Optional(), Length(max=80)])
    chinese_name = StringField(_l("Chinese name"), validators=[Optional(), Length(max=200)])
    gender = SelectField(
        _l("Gender"), choices=enum_choices(Gender), default=Gender.undisclosed.value
    )
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[Optional(), Length(max=254), EMAIL])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40), PHONE])
    wechat_id = StringField(_l("WeChat ID"), validators=[Optional(), Length(max=60)])
    organisation_id = PickerField(
        _l("Organisation"),
        validators=[Optional()],
        entity_types=("organisation",),
        placeholder=_l("Optional: their employer"),
    )
    status = SelectField(_l("Status"), choices=enum_choices(ParticipationStatus), default="invited")
    role = SelectField(_l("Role"), choices=enum_choices(ParticipationRole), default="participant")
    create_anyway = BooleanField(_l("Create anyway"))
    submit = SubmitField(_l("Create and add"))

    PERSON = (
        "family_name",
        "given_name",
        "chinese_name",
        "gender",
        "job_title",
        "email",
        "phone",
        "wechat_id",
    )

    def person_data(self) -> dict:
        data = self.changes()
        return {name: data[name] for name in self.PERSON}


class BulkForm(BaseForm):
    ids = SelectMultipleField(_l("Participants"), coerce=int, validate_choice=False)
    status = SelectField(
        _l("Set status"),
        choices=enum_choices(ParticipationStatus, blank=_l("— keep —")),
        validators=[Optional()],
    )
    role = SelectField(
        _l("Set role"),
        choices=enum_choices(ParticipationRole, blank=_l("— keep —")),
        validators=[Optional()],
    )
    submit = SubmitField(_l("Apply to ticked"))


class HeadcountForm(VersionedForm):
    unnamed_women = IntegerField(_l("Women"), validators=[Optional()])
    unnamed_men = IntegerField(_l("Men"), validators=[Optional()])
    unnamed_unspecified = IntegerField(_l("Sex not recorded"), validators=[Optional()])
    submit = SubmitField(_l("Save headcounts"))


class TopicForm(BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    name_zh = StringField(_l("Chinese name"), validators=[Optional(), Length(max=80)])
    is_active = BooleanField(_l("Offered for new activities"), default=True)
    submit = SubmitField(_l("Save"))


class SignInSheetForm(BaseForm):
    """An attendance sheet to upload; the import pages take it from there."""

    file = FileField(
        _l("Sign-in sheet"),
        validators=[FileRequired(message=_l("Choose a file to upload."))],
        description=_l(
            "CSV (UTF-8 or GBK) or Excel (.xlsx) with a column per field: name, Chinese name, "
            "email, phone, organisation, gender, job title. You review every row before "
            "anything is saved."
        ),
    )
    submit = SubmitField(_l("Upload and review"))
