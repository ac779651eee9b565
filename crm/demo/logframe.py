"""The donor indicators of the demo: the programme's logframe, bilingual, over three years.

Each indicator is bound to a figure the system computes from the demo's activities and
interactions (crm.services.reporting.indicators), so the indicator pages of a fresh demo
show real progress. Like the demo's activities (crm.demo.programme), the years follow the
day the demo is loaded (the programme's today, crm.services.clock): targets for last year
(the inception year, modest), this year and next year, and baselines for the year before
last. Loaded in 2026, that is baselines of 2024 and targets for 2025–2027. Written through
the indicator service as the demo manager, who keeps the logframe, so each indicator has
its audit history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from crm.models import User
from crm.services import clock
from crm.services.reporting import indicators


@dataclass(frozen=True)
class _Indicator:
    code: str
    name: str
    name_zh: str
    unit: str
    metric: str
    disaggregations: tuple[str, ...]
    baseline: int
    targets: tuple[int, int, int]  # last year, this year, next year
    notes: str


# fmt: off
LOGFRAME: tuple[_Indicator, ...] = (
    _Indicator(
        "1.1", "Enterprises trained on responsible business conduct and due diligence",
        "接受负责任商业行为与尽责管理培训的企业数量", "enterprises", "enterprises_trained",
        ("sector",), 0, (5, 15, 20),
        "Means of verification: attendance lists and sign-in sheets of each training.",
    ),
    _Indicator(
        "1.2", "People trained in enterprises, unions and associations, by sex",
        "接受培训的人数（按性别分列）", "people", "participants_trained",
        ("sex", "sector"), 0, (20, 80, 100),
        "Each person counts once a year however many trainings they attend; attendees on "
        "sign-in sheets without names are added. Target: at least 40 % women.",
    ),
    _Indicator(
        "2.1", "Government officials trained on labour inspection and RBC policy",
        "接受劳动监察与负责任商业行为政策培训的政府官员人数", "officials", "officials_trained",
        ("sex",), 0, (3, 8, 10),
        "Staff of human resources and social security bureaus and of MOFCOM, by sex.",
    ),
    _Indicator(
        "2.2", "Memoranda of understanding signed with government and industry partners",
        "与政府及行业伙伴签署的谅解备忘录数量", "MoUs", "mous_signed",
        ("sector",), 1, (1, 1, 1),
        "Counted on the day of signature. Baseline: the MoU signed with MOHRSS before the "
        "programme.",
    ),
    _Indicator(
        "3.1", "Multi-stakeholder forums held on RBC in supply chains",
        "举办的负责任供应链多利益相关方论坛数量", "forums", "forums_held",
        ("sector",), 2, (1, 2, 3),
        "National and provincial forums bringing together government, business, unions "
        "and buyers.",
    ),
    _Indicator(
        "3.2", "Research outputs published",
        "发布的研究成果数量", "publications", "research_published",
        ("sector",), 1, (1, 2, 2),
        "Reports, policy briefs and guidance published by the programme and its research "
        "partners.",
    ),
    _Indicator(
        "3.3", "Stakeholders actively engaged by the programme",
        "项目积极接触的利益相关方数量", "stakeholders", "stakeholders_engaged",
        ("stakeholder_type", "sector"), 25, (20, 50, 70),
        "Organisations and people with at least one recorded meeting, call, visit or "
        "exchange in the year.",
    ),
)
# fmt: on


def load(*, actor: User, today: date | None = None) -> int:
    """Create the demo's indicators (one commit each); returns how many."""
    this_year = (today or clock.today()).year
    years = (this_year - 1, this_year, this_year + 1)
    for spec in LOGFRAME:
        indicators.create(
            {
                "code": spec.code,
                "name": spec.name,
                "name_zh": spec.name_zh,
                "unit": spec.unit,
                "metric": spec.metric,
                "disaggregations": list(spec.disaggregations),
                "baseline": spec.baseline,
                "baseline_year": this_year - 2,
                "notes": spec.notes,
                "targets": [
                    {"year": year, "target": target}
                    for year, target in zip(years, spec.targets, strict=True)
                ],
            },
            actor=actor,
        )
    return len(LOGFRAME)
