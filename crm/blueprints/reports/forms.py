from decimal import Decimal
from typing import Any

from wtforms import (
    DecimalField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.forms import SubForm, VersionedForm, enum_choices
from crm.i18n import lazy_gettext as _l
from crm.models import Metric
from crm.services.reporting import indicators

YEARS = NumberRange(
    indicators.FIRST_YEAR,
    indicators.LAST_YEAR,
    _l("Give a year between %(min)s and %(max)s."),
)
NOT_NEGATIVE = NumberRange(min=0, message=_l("The number may not be negative."))
# Blank target rows offered below the existing ones.
BLANK_TARGETS = 2


class AmountField(DecimalField):
    """A baseline or target: shown as typed (40, 12.5), not with the column's two decimals."""

    data: Decimal | int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        # Decimal reads "NaN" and "Infinity", which no comparison accepts.
        if isinstance(self.data, Decimal) and not self.data.is_finite():
            self.data = None
            raise ValueError(_l("Give a number, such as 40 or 12.5."))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if isinstance(self.data, Decimal | int):
            return indicators.number_text(self.data)
        return super()._value()


class TargetForm(SubForm):
    """One row of the targets: a year and the figure to reach in it (a plain subform)."""

    year = IntegerField(
        _l("Year"),
        validators=[Optional(), YEARS],
        render_kw={"inputmode": "numeric"},
    )
    target = AmountField(
        _l("Target"),
        places=None,
        validators=[Optional(), NOT_NEGATIVE],
        render_kw={"inputmode": "decimal"},
    )


class DisaggregationsField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IndicatorForm(VersionedForm):
    code = StringField(
        _l("Code"),
        validators=[Optional(), Length(max=20)],
        description=_l("The indicator's number in the logframe, such as 1.1 or 2.3a."),
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    name_zh = StringField(_l("Chinese name"), validators=[Optional(), Length(max=300)])
    unit = StringField(
        _l("Unit"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("What is counted: enterprises, people, forums…"),
    )
    metric = SelectField(
        _l("Figure"),
        choices=enum_choices(Metric, blank=_l("Choose a figure…")),
        validators=[DataRequired(_l("Choose a figure from the list."))],
        description=_l("The figure the system computes for this indicator."),
    )
    disaggregations = DisaggregationsField(
        _l("Disaggregations"),
        choices=enum_choices(indicators.Disaggregation),
        validators=[Optional()],
    )
    baseline = AmountField(
        _l("Baseline"),
        places=None,
        default=0,
        validators=[InputRequired(_l("Give a number (0 when there is none).")), NOT_NEGATIVE],
        render_kw={"inputmode": "decimal"},
    )
    baseline_year = IntegerField(
        _l("Baseline year"),
        validators=[Optional(), YEARS],
        render_kw={"inputmode": "numeric"},
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[Optional(), Length(max=5000)],
        description=_l("Source of the baseline, means of verification, assumptions."),
        render_kw={"rows": 3},
    )
    targets = FieldList(FormField(TargetForm), min_entries=0, max_entries=40)
    submit = SubmitField(_l("Save"))

    def pad_targets(self, first_years: list[int] | None = None) -> None:
        """Add blank target rows: the years given (for a new indicator), else two empty ones."""
        for year in first_years or []:
            self.targets.append_entry({"year": year, "target": None})
        for _n in range(BLANK_TARGETS):
            self.targets.append_entry()

    def target_errors(self) -> list[str]:
        """Messages about the targets as a whole (a service error), not about one cell."""
        return [e for e in self.targets.errors if isinstance(e, str)]
