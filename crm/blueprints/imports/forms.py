"""Forms of the import pages. Per-column and per-row selects are read by the views, since
their number depends on the file."""

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, SubmitField

from crm.forms import BaseForm, enum_choices
from crm.i18n import lazy_gettext as _l
from crm.models import DuplicateAction, ImportKind


class UploadForm(BaseForm):
    kind = RadioField(
        _l("What the file holds"),
        choices=[
            SelectChoice(ImportKind.organisations.value, _l("Organisations")),
            SelectChoice(ImportKind.people.value, _l("People")),
        ],
        default=ImportKind.people.value,
    )
    file = FileField(
        _l("File"),
        validators=[FileRequired(message=_l("Choose a file to upload."))],
        description=_l(
            "CSV (UTF-8 or GBK, comma, semicolon or tab) or Excel (.xlsx); the first row "
            "holds the column headers. Google Contacts and Outlook exports are recognised."
        ),
    )
    submit = SubmitField(_l("Upload and preview"))


class MappingForm(BaseForm):
    """The column selects are named column-<index>."""

    submit = SubmitField(_l("Apply the mapping"))


class ChoicesForm(BaseForm):
    """The row selects are named row-<row number>."""

    on_duplicate = SelectField(
        _l("Rows that match an existing record"),
        choices=enum_choices(DuplicateAction),
        default=DuplicateAction.skip.value,
    )
    skip_invalid = BooleanField(_l("Skip the rows with errors and import the others"))
