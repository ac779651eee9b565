"""The kinds of import and the preview: mapping headers to fields, validating and matching rows.

Each kind of import (`KINDS`: "organisations", "people", "attendance") is a `Kind`
(crm.services.imports.writing): its fields (crm.services.imports.fields), how a row becomes
record data (`build_organisation`, `build_person`), how rows are matched to existing records
(crm.services.imports.matching) and how a row is written. `guess_mapping` maps headers to
fields; the user may change it. `locate_header` skips title rows above the headers (sign-in
sheets often have one).

`prepare(table, kind, mapping=)` validates every row (errors carry the column name) and finds
duplicate candidates in batched queries, and rows repeated within the file. It writes
nothing.

**Attendance sheets.** The third kind, "attendance", is an activity's sign-in sheet: the
people fields, read, built and matched exactly as for "people", with the activity in the
import's options (`stage(..., options={"activity_id": ...})`, checked when staged and again
when committed); only writing differs (crm.services.imports.writing). Another kind of import
is another `Kind` in `KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from crm.i18n import gettext as _
from crm.models import ConsentSource, DuplicateAction, ImportKind, Organisation, Person, label
from crm.services import duplicates, names, stakeholders
from crm.services.errors import InvalidInput
from crm.services.imports.fields import (
    ORGANISATION_IMPORT_FIELDS,
    PERSON_IMPORT_FIELDS,
    CellError,
    FieldSpec,
    alias_rank,
    header_key,
)
from crm.services.imports.matching import (
    employer_key,
    find_organisations,
    find_people,
    organisation_keys,
    person_keys,
    probe_organisation,
    probe_person,
)
from crm.services.imports.reading import Row, Table, header_candidates, with_header_at
from crm.services.imports.rows import Built, Match, Preview, PreviewRow
from crm.services.imports.writing import (
    Kind,
    attendance_options,
    mark_attended,
    write_attendee,
    write_organisation,
    write_person,
)
from crm.services.text import has_han

# --- Building rows into record data -----------------------------------------------------------


def build_organisation(values: dict[str, Any]) -> Built:
    data = dict(values)
    name = data.pop("name", None)
    if name:
        if has_han(name):
            data.setdefault("chinese_name", name)
            data.setdefault("display_name", name)
        else:
            data.setdefault("display_name", name)
    if not data.get("display_name") and data.get("chinese_name"):
        data["display_name"] = data["chinese_name"]
    if data.get("display_name") and has_han(data["display_name"]):
        data.setdefault("chinese_name", data["display_name"])
    errors = []
    if not data.get("display_name"):
        errors.append(_("A name is required."))
    parts = [label(data.get("org_type")), label(data.get("sector")), data.get("city")]
    display = data.get("display_name") or ""
    if data.get("chinese_name") and data["chinese_name"] != display:
        display = f"{display} {data['chinese_name']}"
    return Built(data, {}, display, " · ".join(p for p in parts if p), errors)


NAME_PART_MAX = 80  # Person.family_name and given_name


def _set_names(data: dict[str, Any], full: str | None) -> None:
    """The name parts of a row, family name first for a Chinese name (crm.services.names):
    from a full name ("王芳", "Wang Fang", "Xiaohong Zhou", "王芳 Wang Fang") when the row has
    no family or given name, else from those columns, put right when they are swapped."""
    columns = bool(data.get("family_name") or data.get("given_name"))
    if full:
        name = names.split_full_name(full, chinese=data.get("chinese_name"))
        if name.chinese:
            data.setdefault("chinese_name", name.chinese)
        if not columns:
            if name.family:
                data["family_name"] = name.family
            if name.given:
                data["given_name"] = name.given
    if columns:
        written = (data.get("family_name") or "", data.get("given_name") or "")
        ordered = names.order_parts(*written, chinese=data.get("chinese_name"))
        if ordered != written:
            for key, value in zip(("family_name", "given_name"), ordered, strict=True):
                if value:
                    data[key] = value
                else:
                    data.pop(key, None)


def build_person(values: dict[str, Any]) -> Built:
    data = dict(values)
    full = data.pop("full_name", None)
    organisation = data.pop("organisation", None)
    _set_names(data, full)
    family, given = data.get("family_name"), data.get("given_name")
    if family and given and has_han(family) and has_han(given) and not data.get("chinese_name"):
        # 姓 and 名 in characters make the Chinese name; the Latin name parts stay empty.
        data["chinese_name"] = f"{family}{given}"
        del data["family_name"], data["given_name"]
    errors = []
    if not (data.get("chinese_name") or data.get("family_name") or data.get("given_name")):
        errors.append(
            _("A name is required: a full name, a family or given name, or a Chinese name.")
        )
    if any(len(data.get(key) or "") > NAME_PART_MAX for key in ("family_name", "given_name")):
        # Never cut a name short: the row is refused with the reason, as typed.
        errors.append(
            _(
                "The family name and the given name can have at most %(max)d characters each.",
                max=NAME_PART_MAX,
            )
        )
    extra: dict[str, Any] = {}
    if organisation:
        if employer_key(organisation) is None:
            errors.append(_("“%(value)s” is not an organisation name.", value=organisation[:60]))
        else:
            extra["organisation"] = organisation
    name = stakeholders.person_display_name(
        family_name=data.get("family_name"),
        given_name=data.get("given_name"),
        chinese_name=data.get("chinese_name"),
    )
    if data.get("chinese_name") and data["chinese_name"] != name:
        name = f"{name} {data['chinese_name']}"
    parts = [data.get("email"), data.get("phone"), organisation, data.get("job_title")]
    return Built(data, extra, name, " · ".join(p for p in parts if p), errors)


# --- The kinds --------------------------------------------------------------------------------


_PEOPLE = Kind(
    name=ImportKind.people.value,
    model=Person,
    fields=PERSON_IMPORT_FIELDS,
    required=("full_name", "chinese_name", "family_name", "given_name"),
    build=build_person,
    probe=probe_person,
    find=find_people,
    keys=person_keys,
    write=write_person,
)

KINDS: dict[str, Kind] = {
    ImportKind.organisations.value: Kind(
        name=ImportKind.organisations.value,
        model=Organisation,
        fields=ORGANISATION_IMPORT_FIELDS,
        required=("name", "display_name", "chinese_name"),
        build=build_organisation,
        probe=probe_organisation,
        find=find_organisations,
        keys=organisation_keys,
        write=write_organisation,
    ),
    ImportKind.people.value: _PEOPLE,
    # A sign-in sheet is read and matched as people are; only writing differs.
    ImportKind.attendance.value: replace(
        _PEOPLE,
        name=ImportKind.attendance.value,
        write=write_attendee,
        default_action=DuplicateAction.update,
        options=attendance_options,
        after=mark_attended,
        consent_source=ConsentSource.sign_in_sheet,
    ),
}


def get_kind(kind: Kind | str) -> Kind:
    if isinstance(kind, Kind):
        return kind
    try:
        return KINDS[str(kind)]
    except KeyError:
        raise InvalidInput(
            _("Choose what to import: organisations, people or an activity's sign-in sheet.")
        ) from None


# --- Mapping headers to fields ----------------------------------------------------------------


def field_choices(kind: Kind | str) -> list[tuple[str, str]]:
    """(field name, label) of a kind, for the mapping selects."""
    return [(spec.name, str(spec.label)) for spec in get_kind(kind).fields]


def guess_mapping(headers: Sequence[str], kind: Kind | str) -> list[str]:
    """The field each header stands for ("" when none); weak aliases only fill gaps."""
    kind = get_kind(kind)
    mapping = [""] * len(headers)
    for index, header in enumerate(headers):
        key = header_key(header)
        if not key:
            continue
        for spec in kind.fields:
            if key == spec.name.replace("_", "") or key in spec.aliases:
                mapping[index] = spec.name
                break
    for index, header in enumerate(headers):
        if mapping[index]:
            continue
        key = header_key(header)
        for spec in kind.fields:
            if key in spec.weak_aliases and spec.name not in mapping:
                mapping[index] = spec.name
                break
    return mapping


def locate_header(table: Table, kind: Kind | str) -> Table:
    """The table with its header moved down past title rows, when a later row is the header.

    Sign-in sheets often open with a title ("2026年3月培训签到表") above the real headers.
    Among the first rows, the one naming the most fields (at least two) becomes the header.
    """
    kind = get_kind(kind)
    candidates = header_candidates(table)
    scores = [sum(1 for f in guess_mapping(r.cells, kind) if f) for r in candidates]
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    if best == 0 or scores[best] < 2 or scores[best] <= scores[0]:
        return table
    return with_header_at(table, best)


def checked_mapping(mapping: Sequence[str], width: int, kind: Kind | str) -> tuple[str, ...]:
    """A mapping chosen by the user, one field name (or "") per column of a table `width`
    columns wide; InvalidInput names the fields the kind does not have."""
    kind = get_kind(kind)
    names = {spec.name for spec in kind.fields}
    mapping = [str(m or "") for m in mapping][:width]
    mapping += [""] * (width - len(mapping))
    unknown = sorted({m for m in mapping if m and m not in names})
    if unknown:
        raise InvalidInput(_("Unknown field: %(name)s", name=", ".join(unknown)))
    return tuple(mapping)


# --- The preview ------------------------------------------------------------------------------


# How far `prepare` has got, in tenths of rows: reading the rows is 7 tenths of the work,
# matching them 3 (measured on 10,000 rows).
CHECK_STEPS = 10
_READ_STEPS = 7


def prepare(
    table: Table,
    kind: Kind | str,
    *,
    mapping: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Preview:
    """Every row parsed, validated and matched against the database; writes nothing.

    Without `mapping` the headers are mapped with `guess_mapping`. A file-level problem
    (no column holds a name) is in `problems`; row errors name the column as headed in the
    file. `progress(done, total)` hears how far it has got (`CHECK_STEPS` per row).
    """
    kind = get_kind(kind)
    width = len(table.headers)
    mapping = checked_mapping(
        guess_mapping(table.headers, kind) if mapping is None else mapping, width, kind
    )
    columns = _columns(table.headers, mapping, kind)
    problems = _problems(columns, kind)
    notices = _notices(table, mapping)
    total = CHECK_STEPS * len(table.rows)
    step = max(1, len(table.rows) // 100)
    built = []
    for done, row in enumerate(table.rows):
        if progress is not None and done % step == 0:
            progress(_READ_STEPS * done, total)
        built.append(_build_row(table, row, columns, kind))
    if progress is not None:
        progress(_READ_STEPS * len(built), total)
    rows = tuple(_preview_rows(table, built, kind))
    if progress is not None:
        progress(total, total)
    return Preview(
        kind=kind.name,
        headers=tuple(table.headers),
        mapping=mapping,
        rows=rows,
        problems=tuple(problems),
        notices=tuple(notices),
    )


def _columns(
    headers: Sequence[str], mapping: Sequence[str], kind: Kind
) -> list[tuple[FieldSpec, list[int]]]:
    """Each mapped field with its columns, the best-named first (`alias_rank`): a field fed by
    several columns reads the first non-empty one."""
    indexes_of: dict[str, list[int]] = {}
    for index, name in enumerate(mapping):
        if name:
            indexes_of.setdefault(name, []).append(index)
    columns = []
    for name, indexes in indexes_of.items():
        spec = kind.spec(name)
        indexes.sort(key=partial(_alias_order, spec, headers))
        columns.append((spec, indexes))
    return columns


def _alias_order(spec: FieldSpec, headers: Sequence[str], index: int) -> tuple[int, int]:
    return alias_rank(spec, headers[index]), index


def _problems(columns: Sequence[tuple[FieldSpec, list[int]]], kind: Kind) -> list[str]:
    """What stops the whole file from being imported: no column holds a name."""
    mapped = {spec.name for spec, _indexes in columns}
    if any(name in mapped for name in kind.required):
        return []
    labels = ", ".join(str(kind.spec(n).label) for n in kind.required)
    return [
        _(
            "No column holds a name. Choose below which column is the name (%(fields)s); "
            "headers such as 姓名, 名称, Name, First Name/Last Name are recognised.",
            fields=labels,
        )
    ]


def _notices(table: Table, mapping: Sequence[str]) -> list[str]:
    """The reader's notices, and the columns holding values that no field takes."""
    notices = list(table.source.get("notices", []))
    ignored = [
        table.headers[i] or _("column %(n)d", n=i + 1)
        for i, name in enumerate(mapping)
        if not name and any(row.cells[i] for row in table.rows[:200])
    ]
    if ignored:
        notices.append(
            _("Columns not imported: %(columns)s.", columns=", ".join(f"“{h}”" for h in ignored))
        )
    return notices


def _build_row(
    table: Table, row: Row, columns: Sequence[tuple[FieldSpec, list[int]]], kind: Kind
) -> Built:
    """One row read field by field and built into record data; its errors name their column."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    for spec, indexes in columns:
        errors += _unreadable_cells(table, row, indexes)
        column = next((i for i in indexes if row.cells[i]), None)
        if column is None:
            continue
        try:
            values[spec.name] = spec.parse(row.cells[column])
        except CellError as err:
            errors.append(_column_error(table.headers[column], column, str(err)))
    result = kind.build(values)
    return replace(result, errors=errors + result.errors)


def _unreadable_cells(table: Table, row: Row, indexes: Sequence[int]) -> list[str]:
    """The reader's errors for these cells of the row (a formula without a saved result)."""
    problems = ((i, table.cell_errors.get((row.number, i))) for i in indexes)
    return [_column_error(table.headers[i], i, problem) for i, problem in problems if problem]


def _preview_rows(table: Table, built: Sequence[Built], kind: Kind) -> list[PreviewRow]:
    """Each built row with its candidates: records found by the kind (batched queries), then
    the earlier rows of the file it repeats. Each row's probe is made once, for both."""
    probes = [kind.probe(item) for item in built]
    found = kind.find(probes)
    seen: dict[str, int] = {}
    return [
        PreviewRow(
            number=row.number,
            label=item.label,
            detail=item.detail,
            data=item.data,
            extra=item.extra,
            errors=tuple(item.errors),
            matches=(*matches, *_repeats(item, probe, row.number, kind, seen)),
        )
        for row, item, probe, matches in zip(table.rows, built, probes, found, strict=True)
    ]


def _repeats(
    item: Built, probe: duplicates.Probe, number: int, kind: Kind, seen: dict[str, int]
) -> list[Match]:
    """The earlier rows of the file sharing a key with this one; records this row's keys in
    `seen`. A row with errors neither repeats nor is repeated."""
    if item.errors:
        return []
    keys = kind.keys(probe)
    earlier = sorted({seen[k] for k in keys if k in seen})
    for key in keys:
        seen.setdefault(key, number)
    return [Match(None, n, _("row %(n)d", n=n), "", ("file",)) for n in earlier]


def _column_error(header: str, index: int, reason: str) -> str:
    return _(
        "%(column)s: %(reason)s", column=header or _("column %(n)d", n=index + 1), reason=reason
    )
