"""The stakeholders the interface's and the README's examples name, so the demo answers them.

The search box suggests 华为, huawei and hw; the search page adds hua wei, wang fang and
138 0013; the pickers suggest 王芳, wang fang and wf; the README searches 华为技术, huá wéi,
hua2wei2 and weiji. Huawei is named as itself (a real enterprise, like the demo's ministries
and associations: nothing is said about it beyond its public profile); 王芳, who works there,
is invented like every person in the demo. Written through the services as the demo
administrator, like the rest of the network (crm.demo.network).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from crm.access import Role
from crm.models import Organisation, Person, User
from crm.services import stakeholders

HUAWEI = "huawei"

ORGANISATIONS: dict[str, dict[str, object]] = {
    HUAWEI: {
        "display_name": "Huawei Technologies Co., Ltd.",
        "chinese_name": "华为技术有限公司",
        "org_type": "enterprise",
        "sector": "electronics",
        "ownership": "private",
        "size_band": "large",
        "supply_chain_role": "brand_buyer",
        "province": "Guangdong",
        "city": "Shenzhen",
        "website": "https://www.huawei.com",
        # Unaware when the year began; crm.demo.outreach records the move to "aware".
        "engagement_level": "unaware",
        "influence": 5,
        "interest": 2,
        "tags": ["brand engagement"],
    },
}
OWNERS = {HUAWEI: Role.coordinator}


@dataclass(frozen=True)
class _Person:
    org: str
    title: str
    since: date
    data: Mapping[str, object]


PEOPLE: tuple[_Person, ...] = (
    _Person(
        HUAWEI,
        "Supplier Social Responsibility Manager",
        date(2019, 7, 1),
        {
            "chinese_name": "王芳",
            "family_name": "Wang",
            "given_name": "Fang",
            "gender": "female",
            "job_title": "Supplier Social Responsibility Manager",
            "email": "wang.fang@huawei.example.cn",
            "phone": "+86 138 0013 8000",
            "wechat_id": "wangfang_sz",
            "preferred_language": "zh",
            "consent": "given",
            "consent_on": date(2025, 6, 18),
            "consent_source": "Registration form, national RBC forum, Beijing",
            "engagement_level": "aware",
            "influence": 3,
            "interest": 3,
        },
    ),
)


@dataclass(frozen=True)
class Loaded:
    organisations: dict[str, Organisation]  # by key
    people_by_org: dict[str, list[Person]]
    affiliations: int


def load(*, admin: User, owners: Mapping[Role, int]) -> Loaded:
    """Create the example organisations and people, each person with their position."""
    orgs = {
        key: stakeholders.create_organisation(
            {**data, "owner_id": owners[OWNERS[key]]}, actor=admin, allow_duplicate=True
        )
        for key, data in ORGANISATIONS.items()
    }
    people_by_org: dict[str, list[Person]] = {}
    for spec in PEOPLE:
        person = stakeholders.create_person(
            {**spec.data, "owner_id": owners[OWNERS[spec.org]]}, actor=admin, allow_duplicate=True
        )
        stakeholders.add_affiliation(
            person,
            organisation_id=orgs[spec.org].id,
            title=spec.title,
            start_on=spec.since,
            end_on=None,
            actor=admin,
        )
        people_by_org.setdefault(spec.org, []).append(person)
    return Loaded(orgs, people_by_org, len(PEOPLE))
