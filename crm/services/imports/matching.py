"""Matching rows against existing records and each other: the duplicate candidates of a preview.

Every row becomes a probe of the one matcher (`probe_organisation`, `probe_person`: its keys,
computed once per row); `find_organisations` and `find_people` hand the probes to
crm.services.duplicates.find and return its candidates (same keys, same verdicts as the entry
forms and /duplicates) in batched queries: one per reason for every 100 rows, never one per
row. `organisation_keys` and `person_keys` are the keys that make two rows of one
file the same record, from the same probes. `REASON_LABELS` names the reasons for the user.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from crm.i18n import lazy_gettext as _l
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
# Rows handed to the matcher at a time. Its queries put one key per row in an IN list; past
# about 150 keys SQLite's planner, misled by `deleted_at IS NULL` (which its statistics make
# look selective), walks every live person instead of looking the keys up: 60-90 ms a query
# instead of 1 at 60,000 people. Slices of 100 rows keep every lookup on its index.
_ROWS_PER_FIND = 100


def live(model: Any) -> sa.ColumnElement[bool]:
    """`deleted_at IS NULL` for a query that names its records in an IN list, written so that
    SQLite looks them up by that list: its statistics make `IS NULL` look selective, so it
    would otherwise walk every live record (100 ms instead of 1 ms for 500 keys at 80,000
    stakeholders). PostgreSQL reads it as the plain test."""
    return model.deleted_at.is_(None).self_group() == sa.true()


def chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    """The distinct non-empty values, sorted, in lists short enough for one IN (...) query."""
    items = sorted({v for v in values if v})
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


@functools.lru_cache(maxsize=4096)
def employer_key(name: str) -> str | None:
    """`duplicates.organisation_key` of an organisation named in a row, worked out once per
    name: the rows of a file name the same few employers again and again."""
    return duplicates.organisation_key(name)


def name_of(stakeholder: Stakeholder) -> str:
    """A record as the preview and the report name it: its name, and its Chinese name too."""
    if stakeholder.chinese_name and stakeholder.chinese_name != stakeholder.display_name:
        return f"{stakeholder.display_name} {stakeholder.chinese_name}"
    return stakeholder.display_name


# --- Rows as probes of the one matcher (crm.services.duplicates) ------------------------------


def probe_organisation(item: Built) -> duplicates.Probe:
    """The probe of an organisation row: its keys, computed once for `find_*` and `*_keys`."""
    return duplicates.organisation_probe(item.data)


def probe_person(item: Built) -> duplicates.Probe:
    """The probe of a person row, with the keys of the organisation the row names."""
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


def organisation_keys(probe: duplicates.Probe) -> set[str]:
    return _row_keys(probe, "org")


def person_keys(probe: duplicates.Probe) -> set[str]:
    return _row_keys(probe, "person")


def _find(probes: Sequence[duplicates.Probe]) -> list[list[duplicates.Candidate]]:
    """`duplicates.find` for every probe, `_ROWS_PER_FIND` rows at a time."""
    found: list[list[duplicates.Candidate]] = []
    for start in range(0, len(probes), _ROWS_PER_FIND):
        found += duplicates.find(probes[start : start + _ROWS_PER_FIND], limit=_LIMIT)
    return found


def find_organisations(probes: Sequence[duplicates.Probe]) -> list[list[Match]]:
    """Each row's candidates among live organisations (crm.services.duplicates.find)."""
    found = _find(probes)
    return [[_match(c, _organisation_detail(c.stakeholder)) for c in row] for row in found]


def find_people(probes: Sequence[duplicates.Probe]) -> list[list[Match]]:
    """Each row's candidates among live people (crm.services.duplicates.find): the same email,
    phone or WeChat ID, or the same name unless the row and the record name different
    organisations; a name match at the same organisation says so ("same organisation")."""
    found = _find(probes)
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
