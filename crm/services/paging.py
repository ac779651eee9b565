"""Pages of long lists whose cost does not grow with the page number.

A list page is read in three queries: its count (over an index), the ids of the page's
rows (the list's ORDER BY matched by an index, so OFFSET skips index entries, not rows) and
the records with those ids, with what they show loaded. A page number past the end shows the
last page; the caller tells by comparing `Pagination.page` with the page asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_sqlalchemy.pagination import Pagination


class ReadPage(Pagination):
    """A page whose items and total were read beforehand: the templates' pager works on it
    as on any Flask-SQLAlchemy page."""

    def _query_items(self) -> list[Any]:
        return list(self._query_args["items"])

    def _query_count(self) -> int:
        return int(self._query_args["total"])


def page_within(page: int, *, total: int, per_page: int) -> int:
    """The page to show for the page asked for: 1 at least, the last page at most."""
    return min(max(page, 1), max(1, -(-total // per_page)))


def read_page(items: Sequence[Any], *, page: int, per_page: int, total: int) -> Pagination:
    return ReadPage(
        page=page, per_page=per_page, max_per_page=None, error_out=False, items=items, total=total
    )
