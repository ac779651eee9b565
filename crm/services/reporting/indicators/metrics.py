"""What an indicator can measure: the metrics, their breakdowns and how they are labelled.

An indicator is bound to one `Metric` (crm.models), a figure the system computes
(crm.services.reporting.indicators.figures). Each metric can be broken down by some of the
disaggregations (`SUPPORTED`); `KEYS` lists the categories of each breakdown in display
order.
"""

from __future__ import annotations

from enum import StrEnum

from crm.i18n import lazy_gettext as _l
from crm.models import LABELS, Gender, Metric, label
from crm.services.reporting.facts import NO_SECTOR, SECTORS, TYPES, sector_label, type_label

# Figures that count activities (the others count people, organisations or stakeholders).
ACTIVITY_METRICS = (Metric.forums_held, Metric.mous_signed, Metric.research_published)


class Disaggregation(StrEnum):
    """What an indicator's figure can be broken down by (Indicator.disaggregations)."""

    sex = "sex"
    sector = "sector"
    stakeholder_type = "stakeholder_type"


LABELS.add(
    [
        (Disaggregation.sex, _l("Sex")),
        (Disaggregation.sector, _l("Sector")),
        (Disaggregation.stakeholder_type, _l("Stakeholder type")),
    ]
)
SEX, SECTOR, STAKEHOLDER_TYPE = (d.value for d in Disaggregation)
DIMENSIONS = (SEX, SECTOR, STAKEHOLDER_TYPE)
# The disaggregations each figure can give (an indicator may ask for any of them).
SUPPORTED: dict[Metric, tuple[str, ...]] = {
    Metric.enterprises_trained: (SECTOR,),
    Metric.officials_trained: (SEX, SECTOR),
    Metric.participants_trained: (SEX, SECTOR),
    Metric.forums_held: (SECTOR,),
    Metric.mous_signed: (SECTOR,),
    Metric.research_published: (SECTOR,),
    Metric.stakeholders_engaged: (STAKEHOLDER_TYPE, SECTOR),
}
WOMEN, MEN, OTHER, NOT_STATED = "women", "men", "other", "not_stated"
SEXES = (WOMEN, MEN, OTHER, NOT_STATED)
SEX_OF_GENDER = {
    Gender.female.value: WOMEN,
    Gender.male.value: MEN,
    Gender.other.value: OTHER,
    Gender.undisclosed.value: NOT_STATED,
}
# Every key of a dimension, in display order ("" is "No sector").
KEYS: dict[str, tuple[str, ...]] = {
    SEX: SEXES,
    SECTOR: (*SECTORS, NO_SECTOR),
    STAKEHOLDER_TYPE: TYPES,
}
# Keys shown even when nothing counts under them (a donor table always has women and men).
ALWAYS_SHOWN: dict[str, tuple[str, ...]] = {SEX: (WOMEN, MEN)}

SEX_LABELS = {WOMEN: _l("Women"), MEN: _l("Men"), OTHER: _l("Other"), NOT_STATED: _l("Not stated")}
METRIC_DESCRIPTIONS = {
    Metric.enterprises_trained: _l(
        "Distinct enterprises whose staff attended a training held in the period, or that took "
        "part in one as a participating organisation."
    ),
    Metric.officials_trained: _l(
        "Distinct people who attended a training held in the period while working for a "
        "government body."
    ),
    Metric.participants_trained: _l(
        "Distinct people who attended a training held in the period (each person once, however "
        "many trainings), plus the attendees counted on sign-in sheets without names."
    ),
    Metric.forums_held: _l("Forums held (status “held”) that started in the period."),
    Metric.mous_signed: _l("MoUs whose signing date lies in the period."),
    Metric.research_published: _l(
        "Research activities with a publication, counted on their end date (or start date)."
    ),
    Metric.stakeholders_engaged: _l(
        "Distinct stakeholders involved in at least one interaction in the period."
    ),
}


def dimension_label(dimension: str) -> str:
    return label(Disaggregation(dimension)) if dimension in DIMENSIONS else dimension


def key_label(dimension: str, key: str) -> str:
    """The display label of a disaggregation key: "Women", "Textile and garment", ..."""
    if dimension == SEX:
        return str(SEX_LABELS.get(key, key))
    if dimension == SECTOR:
        return sector_label(key)
    if dimension == STAKEHOLDER_TYPE:
        return type_label(key)
    return key


def metric_description(metric: Metric | str) -> str:
    found = METRIC_DESCRIPTIONS.get(Metric(metric))
    return str(found) if found is not None else ""
