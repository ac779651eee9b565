from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from crm.forms import BaseForm
from crm.i18n import lazy_gettext as _l


class EraseForm(BaseForm):
    confirm = BooleanField(
        _l("I understand that this cannot be undone."),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Erase personal data"))


class ExemptForm(BaseForm):
    reason = StringField(
        _l("Reason for keeping their data"), validators=[DataRequired(), Length(max=300)]
    )
    submit = SubmitField(_l("Exempt"))
