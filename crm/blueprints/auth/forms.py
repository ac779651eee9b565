from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from crm.forms import BaseForm, interface_language_choices
from crm.i18n import lazy_gettext as _l

# The password rule itself (length, strength) lives in crm.services.accounts.
PASSWORD_MAX = 200


class LoginForm(BaseForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))
    submit = SubmitField(_l("Sign in"))


class CodeForm(BaseForm):
    """The second step of signing in: the code the authenticator app shows."""

    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=20)]
    )
    submit = SubmitField(_l("Verify"))


class RecoveryCodeForm(BaseForm):
    recovery_code = StringField(_l("Recovery code"), validators=[DataRequired(), Length(max=40)])
    use_recovery_code = SubmitField(_l("Use recovery code"))


class ProfileForm(BaseForm):
    locale = SelectField(_l("Interface language"), choices=interface_language_choices())
    submit = SubmitField(_l("Save"))


class PasswordForm(BaseForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class TwoFactorSetupForm(BaseForm):
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=20)]
    )
    submit = SubmitField(_l("Turn on two-factor sign-in"))


class ConfirmPasswordForm(BaseForm):
    """A sensitive change to the second factor: the password confirms it is the user."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])


class NewRecoveryCodesForm(ConfirmPasswordForm):
    submit = SubmitField(_l("Make new recovery codes"))


class TurnOffTwoFactorForm(ConfirmPasswordForm):
    submit = SubmitField(_l("Turn off two-factor sign-in"))
