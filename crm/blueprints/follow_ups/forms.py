from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from crm.forms import BaseForm, OptionalIntSelectField, PickerField, VersionedForm, enum_choices
from crm.i18n import lazy_gettext as _l
from crm.models import Priority


class FollowUpForm(VersionedForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    due_on = DateField(_l("Due"), validators=[InputRequired(_l("Give a due date."))])
    assignee_id = OptionalIntSelectField(
        _l("Assign to"), validators=[InputRequired(_l("Choose a colleague."))]
    )
    priority = SelectField(_l("Priority"), choices=enum_choices(Priority), default="normal")
    stakeholder_id = PickerField(
        _l("About"),
        validators=[Optional()],
        entity_types=("organisation", "person"),
        placeholder=_l("Optional: organisation or person"),
    )
    activity_id = PickerField(
        _l("Activity"),
        validators=[Optional()],
        entity_types=("activity",),
        placeholder=_l("Optional"),
    )
    details = TextAreaField(
        _l("Details"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 3}
    )
    submit = SubmitField(_l("Save"))


class CompleteForm(BaseForm):
    note = TextAreaField(
        _l("Completion note"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
    )
    submit = SubmitField(_l("Mark as done"))


class ReassignForm(BaseForm):
    assignee_id = OptionalIntSelectField(
        _l("Reassign to"), validators=[InputRequired(_l("Choose a colleague."))]
    )
    submit = SubmitField(_l("Reassign"))
