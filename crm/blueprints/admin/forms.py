from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length

from crm.access import ROLE_LABELS, Role
from crm.forms import BaseForm, VersionedForm, interface_language_choices
from crm.i18n import lazy_gettext as _l

ROLE_CHOICES = [SelectChoice(role.value, ROLE_LABELS[role]) for role in Role]


class NewUserForm(BaseForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)]
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.member.value)
    locale = SelectField(_l("Interface language"), choices=interface_language_choices())
    # The password rule (length, strength) is crm.services.accounts.check_password.
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Create user"))


class EditUserForm(VersionedForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    locale = SelectField(_l("Interface language"), choices=interface_language_choices())
    is_enabled = BooleanField(_l("Active (may sign in)"))
    submit = SubmitField(_l("Save"))


class ResetPasswordForm(BaseForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Set password"))
