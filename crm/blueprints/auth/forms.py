from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from crm.forms import BaseForm, enum_choices
from crm.models import Language


class LoginForm(BaseForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))
    submit = SubmitField(_l("Sign in"))


class ProfileForm(BaseForm):
    locale = SelectField(_l("Interface language"), choices=enum_choices(Language))
    submit = SubmitField(_l("Save"))


class PasswordForm(BaseForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=10, max=200)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))
