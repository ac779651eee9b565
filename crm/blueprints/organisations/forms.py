from typing import Any

from flask_babel import get_locale
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from crm import provinces
from crm.forms import OptionalIntSelectField, PickerField, TagsField, VersionedForm, enum_choices
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.models import (
    EngagementLevel,
    OrgType,
    Ownership,
    Sector,
    SizeBand,
    SupplyChainRole,
)


class ProvinceField(SelectField):
    """A province chosen from crm.provinces, named in the reader's language; stores the code.

    Text sent in place of a code (by the API: "广东省", "Guangdong Province") is read by the
    rule imports use. A stored value no rule could read (kept by the migration to codes) stays
    a choice of its own, marked, so saving the form never drops it; any other text is refused.
    """

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        language = str(get_locale() or "en")
        self.choices = [
            SelectChoice("", "—"),
            *(SelectChoice(code, name) for code, name in provinces.choices(language)),
        ]

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        kept = self.object_data
        if isinstance(kept, str) and kept and not provinces.is_known(kept):
            self.choices.append(SelectChoice(kept, _("%(text)s (not in the list)", text=kept)))

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            self.data = provinces.normalised(str(valuelist[0])) or ""

    def pre_validate(self, form: Any) -> None:
        if not self.data or provinces.is_known(self.data) or self.data == self.object_data:
            return
        raise ValidationError(_l("Choose a province from the list."))


class OrganisationForm(VersionedForm):
    display_name = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    chinese_name = StringField(_l("Chinese name"), validators=[Optional(), Length(max=200)])
    org_type = SelectField(_l("Type"), choices=enum_choices(OrgType), validators=[InputRequired()])
    sector = SelectField(
        _l("Sector"), choices=enum_choices(Sector, blank="—"), validators=[Optional()]
    )
    ownership = SelectField(
        _l("Ownership"), choices=enum_choices(Ownership, blank="—"), validators=[Optional()]
    )
    size_band = SelectField(
        _l("Size"), choices=enum_choices(SizeBand, blank="—"), validators=[Optional()]
    )
    supply_chain_role = SelectField(
        _l("Supply-chain role"),
        choices=enum_choices(SupplyChainRole, blank="—"),
        validators=[Optional()],
    )
    province = ProvinceField(_l("Province"), validators=[Optional()])
    city = StringField(_l("City"), validators=[Optional(), Length(max=80)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    website = StringField(
        _l("Website"),
        validators=[
            Optional(),
            Length(max=300),
            URL(require_tld=True, message=_l("Enter a web address such as https://example.cn")),
        ],
    )
    parent_id = PickerField(
        _l("Parent organisation"),
        validators=[Optional()],
        placeholder=_l("Type a name, 华为, huawei…"),
    )
    engagement_level = SelectField(
        _l("Engagement level"),
        choices=enum_choices(EngagementLevel),
        default=EngagementLevel.unaware.value,
    )
    influence = IntegerField(
        _l("Influence (1–5)"), default=3, validators=[InputRequired(), NumberRange(min=1, max=5)]
    )
    interest = IntegerField(
        _l("Interest (1–5)"), default=3, validators=[InputRequired(), NumberRange(min=1, max=5)]
    )
    owner_id = OptionalIntSelectField(_l("Relationship owner"), validators=[Optional()])
    tags = TagsField(_l("Tags"), description=_l("Separate tags with commas."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)])
    submit = SubmitField(_l("Save"))
