from typing import Any

from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from crm.forms import BaseForm, PickerField, enum_choices
from crm.i18n import lazy_gettext as _l
from crm.models import RelationshipType


def _end_not_before_start(form: Any, field: Any) -> None:
    if field.data and form.start_on.data and field.data < form.start_on.data:
        raise ValidationError(_l("The end date must not be before the start date."))


class RelationshipForm(BaseForm):
    type = SelectField(
        _l("Relationship"), choices=enum_choices(RelationshipType), validators=[InputRequired()]
    )
    target_id = PickerField(
        _l("Other stakeholder"),
        validators=[InputRequired(_l("Choose a stakeholder."))],
        entity_types=("organisation", "person"),
        placeholder=_l("Type a name, 华为, huawei…"),
    )
    start_on = DateField(_l("Since"), validators=[Optional()])
    end_on = DateField(_l("Until"), validators=[Optional(), _end_not_before_start])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Add relationship"))


class AffiliationForm(BaseForm):
    organisation_id = PickerField(
        _l("Organisation"),
        validators=[InputRequired(_l("Choose an organisation."))],
        placeholder=_l("Type a name, 华为, huawei…"),
    )
    title = StringField(_l("Position"), validators=[Optional(), Length(max=120)])
    start_on = DateField(_l("From"), validators=[Optional()])
    end_on = DateField(
        _l("Until"),
        validators=[Optional(), _end_not_before_start],
        description=_l("Leave empty for a current position."),
    )
    submit = SubmitField(_l("Add position"))


class EndForm(BaseForm):
    end_on = DateField(_l("Ended on"), validators=[InputRequired()])
    submit = SubmitField(_l("End"))
