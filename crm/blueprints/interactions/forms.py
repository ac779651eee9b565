from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from crm.forms import (
    MultiPickerField,
    OptionalIntSelectField,
    PickerField,
    SubForm,
    VersionedForm,
    enum_choices,
)
from crm.i18n import lazy_gettext as _l
from crm.models import Channel, Direction, Priority
from crm.services import clock

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class FollowUpEntry(SubForm):
    """One optional follow-up inside the interaction form; left empty, it is ignored."""

    title = StringField(_l("Follow-up"), validators=[Optional(), Length(max=200)])
    due_on = DateField(_l("Due"), validators=[Optional()])
    assignee_id = OptionalIntSelectField(_l("Assign to"), validators=[Optional()])
    priority = SelectField(_l("Priority"), choices=enum_choices(Priority), default="normal")
    # Whom it is about: one of the interaction's stakeholders, or (empty) all of them. The
    # options follow the stakeholders chosen above (the view; static/js/interactions.js);
    # the service refuses a stakeholder that is not among them.
    stakeholder_id = OptionalIntSelectField(
        _l("About"), validators=[Optional()], validate_choice=False
    )

    @property
    def is_blank(self) -> bool:
        return not (self.title.data or self.due_on.data)


class InteractionForm(VersionedForm):
    occurred_at = DateTimeLocalField(
        _l("When"),
        format=DATETIME_FORMATS,
        validators=[InputRequired(_l("Give the date and time, e.g. 2026-03-04 10:00."))],
    )
    channel = SelectField(_l("Channel"), choices=enum_choices(Channel), default="meeting")
    direction = SelectField(_l("Direction"), choices=enum_choices(Direction), default="outbound")
    stakeholders = MultiPickerField(
        _l("With"),
        validators=[DataRequired(_l("Choose at least one stakeholder."))],
        placeholder=_l("Type a name: 王芳, wang fang, hw…"),
    )
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(
        _l("Summary"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 5}
    )
    outcome = TextAreaField(
        _l("Outcome"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 2}
    )
    staff = MultiPickerField(
        _l("Staff present"),
        validators=[Optional()],
        entity_types=("user",),
        placeholder=_l("Type a colleague's name"),
    )
    activity_id = PickerField(
        _l("Programme activity"),
        validators=[Optional()],
        entity_types=("activity",),
        placeholder=_l("Optional: training, forum, MoU…"),
    )
    is_confidential = BooleanField(
        _l("Confidential"),
        description=_l(
            "Only you, the staff present, managers and administrators will see "
            "the summary and outcome."
        ),
    )
    follow_ups = FieldList(FormField(FollowUpEntry), min_entries=1, max_entries=10)
    submit = SubmitField(_l("Save"))

    NOT_DATA = VersionedForm.NOT_DATA | {"follow_ups"}

    def interaction_data(self) -> dict:
        data = self.changes()
        if data.get("occurred_at") is not None:
            # Typed in the programme's local time; stored in UTC. A zoneinfo zone: a pytz
            # one (Flask-Babel's) would use local mean time here, +08:06 for Shanghai.
            data["occurred_at"] = data["occurred_at"].replace(tzinfo=clock.zone())
        data["stakeholder_ids"] = data.pop("stakeholders") or []
        data["staff_ids"] = data.pop("staff") or []
        data["is_confidential"] = bool(data.get("is_confidential"))
        return data

    def follow_up_data(self) -> list[dict]:
        return [
            {
                "title": entry.title.data,
                "due_on": entry.due_on.data,
                "assignee_id": entry.assignee_id.data,
                "priority": entry.priority.data,
                "stakeholder_id": entry.stakeholder_id.data,
            }
            for entry in (item.form for item in self.follow_ups)
            if not entry.is_blank
        ]
