"""Forms of the job pages."""

from wtforms import HiddenField, SubmitField
from wtforms.validators import AnyOf, InputRequired, Length

from crm.forms import BaseForm
from crm.i18n import lazy_gettext as _l
from crm.services.reporting import exports

# A list page's query string, as long as a browser would send one.
MAX_QUERY = 2000


class ExportForm(BaseForm):
    """Prepare a large list export in the background: which list, which format, and the
    list page's query string (its filters and its order)."""

    export = HiddenField(validators=[InputRequired(), Length(max=40)])
    format = HiddenField(validators=[InputRequired(), AnyOf(exports.FORMATS)])
    query = HiddenField(validators=[Length(max=MAX_QUERY)])
    submit = SubmitField(_l("Prepare the file"))
