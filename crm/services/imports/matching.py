"""Matching rows against existing records and each other: the duplicate candidates of a preview.

`find_organisations` and `find_people` turn every row into a probe of the one matcher,
crm.services.duplicates.find, and return its candidates (same keys, same verdicts as the entry
forms and /duplicates) in batched queries. `organisation_keys` and `person_keys` are the keys
that make two rows of one file the same record, built from the same probes. `REASON_LABELS`
names the reasons for the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l

from crm.models import Stakeholder, label
from crm.services import duplicates
from crm.services.imports.rows import Built, Match

_CHUNK = 500

REASON_LABELS: dict[str, Any] = {
    "email": _l("same email"),
    "phone": _l("same phone"),
    "wechat": _l("same WeChat ID"),
    "name": _l("same name"),
    "chinese_name": _l("same Chinese name"),
    "organisation": _l("same organisation"),
    "file": _l("repeats an earlier row"),
}
_LIMIT = 5  # candidates shown per row


def chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    """The distinct non-empty values, sorted, in lists short enough for one IN (...) query."""
    items = sorted({v for v in values if v})
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def name_of(stakeholder: Stakeholder) -> str:
    """A record as the preview and the report name it: its name, and its Chinese name too."""
    if stakeholder.chinese_name and stakeholder.chinese_name != stakeholder.display_name:
        return f"{stakeholder.display_name} {stakeholder.chinese_name}"
    return stakeholder.display_name


# --- Rows as probes of the one matcher (crm.services.duplicates) ------------------------------


def _probe(kind: str, item: Built) -> duplicates.Probe:
    if kind == "organisation":
        return duplicates.organisation_probe(item.data)
    return duplicates.person_probe(item.data, organisation=item.extra.get("organisation"))


def _row_keys(probe: duplicates.Probe, prefix: str) -> set[str]:
    """The keys that make two rows of one file the same record: a strong key, or the name at
    the same organisation (a person) or the name (an organisation)."""
    if probe.kind == "organisation":
        return {f"{prefix}:{key}" for key in probe.keys.values()}
    keys = {f"{reason}:{probe.keys[reason]}" for reason in duplicates.STRONG & set(probe.keys)}
    if "name" in probe.keys:
        employer = min(probe.employer_keys, default="")
        keys.add(f"name:{probe.keys['name']}@{employer}")
    return keys


def organisation_keys(item: Built) -> set[str]:
    return _row_keys(_probe("organisation", item), "org")


def person_keys(item: Built) -> set[str]:
    return _row_keys(_probe("person", item), "person")


def find_organisations(built: Sequence[Built]) -> list[list[Match]]:
    """Each row's candidates among live organisations (crm.services.duplicates.find)."""
    found = duplicates.find([_probe("organisation", b) for b in built], limit=_LIMIT)
    return [[_match(c, _organisation_detail(c.stakeholder)) for c in row] for row in found]


def find_people(built: Sequence[Built]) -> list[list[Match]]:
    """Each row's candidates among live people (crm.services.duplicates.find): the same email,
    phone or WeChat ID, or the same name unless the row and the record name different
    organisations; a name match at the same organisation says so ("same organisation")."""
    found = duplicates.find([_probe("person", b) for b in built], limit=_LIMIT)
    return [[_match(c, _person_detail(c.stakeholder)) for c in row] for row in found]


def _match(candidate: duplicates.Candidate, detail: str) -> Match:
    return Match(
        candidate.stakeholder.id, None, name_of(candidate.stakeholder), detail, candidate.reasons
    )


def _organisation_detail(org: Any) -> str:
    return " · ".join(p for p in (label(org.org_type), org.city) if p)


def _person_detail(person: Any) -> str:
    employers = [o.display_name for o in duplicates.current_employers(person)]
    return " · ".join(p for p in (person.email, *employers) if p)
