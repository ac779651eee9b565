"""Statements run side by side (crm.services.reporting.side_by_side): each on its own session,
what they return in order, and a failure on either side reaching the caller."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.services.reporting import side_by_side


def _where() -> tuple[str, int]:
    return threading.current_thread().name, id(db.session())


def test_the_first_runs_here_and_the_others_beside_it_on_another_session(app):
    with app.app_context():
        here, beside, after = side_by_side.run(
            app, _where, _where, lambda: db.session.scalar(sa.select(sa.literal(7)))
        )
        assert here == (threading.current_thread().name, id(db.session()))
        assert beside[0].startswith("report") and beside[1] != here[1]
        assert after == 7


@pytest.mark.parametrize("failing", ["first", "beside"])
def test_a_failure_on_either_side_reaches_the_caller(app, failing):
    def fail() -> None:
        raise LookupError(failing)

    def fine() -> int:
        return 1

    calls = (fail, fine) if failing == "first" else (fine, fail)
    with app.app_context(), pytest.raises(LookupError, match=failing):
        side_by_side.run(app, *calls)
