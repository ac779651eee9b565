"""Independent read-only statements of one report, run side by side on two connections.

A year's engagement report is four statements that do not depend on each other: the
stakeholder and interaction figures (the longest, some 130 ms at scale 1 on SQLite), then
the level moves, the follow-ups and the activities (some 80 ms together). Each one spends
its time inside the database driver, which releases the GIL while SQLite or PostgreSQL
works, so on two cores they take as long as the longest of them rather than their sum.

`run(app, first, *others)` runs `first` in the calling thread, on the caller's session, and
the others one after another in a helper thread, in an application context of `app` of its
own (so a session and a connection of its own from the pool, returned when done). The helper thread
lives for one call: nothing to share with, or to lose to, a pre-forking server's fork.

Each connection reads its own snapshot: the parts of a report computed side by side can
differ by a write committed between the start of one statement and of the other, as two
reports asked for a moment apart would. What only the caller's transaction holds (rows
added and not committed, as a test might) is not seen by the helper: callers ask for this
only where their session has written nothing (`reporting.engagement(side_by_side_in=app)`
from the views and the API).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask

from crm.extensions import db


def run(app: Flask, first: Callable[[], Any], *others: Callable[[], Any]) -> list[Any]:
    """[first(), *(other() for other in others)], `first` here and the others beside it, in
    an application context of `app`."""

    def rest() -> list[Any]:
        with app.app_context():
            try:
                return [other() for other in others]
            finally:
                db.session.remove()

    # Leaving the block waits for the helper, also when `first` fails.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report") as pool:
        beside = pool.submit(rest)
        here = first()
        found = beside.result()
    return [here, *found]
