from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional

from crm.forms import OptionalIntSelectField, PickerField, TagsField, VersionedForm, enum_choices
from crm.models import (
    EngagementLevel,
    OrgType,
    Ownership,
    Sector,
    SizeBand,
    SupplyChainRole,
)


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
    province = StringField(_l("Province"), validators=[Optional(), Length(max=60)])
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
