"""The rows of an import as they pass between its steps: `Built`, `Match`, `PreviewRow`, `Preview`.

A row is built into record data (`Built`, by a kind), matched against existing records and
earlier rows of the file (`Match`, crm.services.imports.matching), shown as a `PreviewRow` of
the `Preview` (crm.services.imports.kinds.prepare) and written from there
(crm.services.imports.writing). They live here, below all of those, so that each step can
use them without importing a later one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Match:
    """A record the row may describe: an existing one (`id`) or an earlier row (`row`)."""

    id: int | None
    row: int | None
    label: str
    detail: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Built:
    """A row as record data: `data` for the stakeholder service, `extra` for the kind."""

    data: dict[str, Any]
    extra: dict[str, Any]
    label: str
    detail: str
    errors: list[str]


@dataclass(frozen=True)
class PreviewRow:
    number: int
    label: str
    detail: str
    data: Mapping[str, Any]  # Python values; JSON-safe values when read back from a batch
    extra: Mapping[str, Any]
    errors: tuple[str, ...]
    matches: tuple[Match, ...]

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Preview:
    kind: str
    headers: tuple[str, ...]
    mapping: tuple[str, ...]
    rows: tuple[PreviewRow, ...]
    problems: tuple[str, ...] = ()  # about the whole file: nothing can be imported
    notices: tuple[str, ...] = ()  # worth knowing, not blocking

    @property
    def invalid(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.errors]

    @property
    def matched(self) -> list[PreviewRow]:
        return [r for r in self.rows if r.matches and not r.errors]

    @property
    def new(self) -> list[PreviewRow]:
        return [r for r in self.rows if not r.matches and not r.errors]

    def row(self, number: int) -> PreviewRow | None:
        for row in self.rows:
            if row.number == number:
                return row
        return None
