"""The statement count of a page does not grow with the data (issue "Instant at a regional
programme's scale"): every page the benchmark measures sends the same number of SQL statements
on a generated data set of 50 organisations as on one of 200, and never more than 15.

The pages and the records they open (the busiest organisation, person and activity) come from
bench/pages.py, so the guard and the benchmark measure the same things.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.security import generate_password_hash

from bench import pages
from crm.demo import generate
from crm.extensions import db
from tests.conftest import PASSWORD, sign_in


def _statements_per_page(app: Flask, count_queries: Callable[[], Any]) -> dict[str, int]:
    with app.app_context():
        found = pages.subjects()
        user = pages.busiest_coordinator()
        user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        db.session.commit()
        email = user.email
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    counts = {}
    for page in pages.pages(found):
        client.get(page.path)  # first use of a page may load things once per process
        with count_queries() as counter:
            response = client.get(page.path)
            response.get_data()
        assert response.status_code == 200, page.path
        counts[page.name] = counter.count
    return counts


def test_pages_send_as_many_statements_for_200_organisations_as_for_50(
    app: Flask, count_queries: Callable[[], Any]
) -> None:
    with app.app_context():
        # Enough for every page to show rows (textile enterprises, duplicate pairs, a report).
        generate.generate(scale=0.0025, seed=1)  # 50 organisations, 150 people
        small = _statements_per_page(app, count_queries)
    with app.app_context():
        generate.generate(scale=0.0075, seed=2)  # 150 more organisations, 450 more people
        large = _statements_per_page(app, count_queries)

    grew = {name: (small[name], large[name]) for name in small if large[name] != small[name]}
    assert grew == {}, "pages whose statement count grows with the data (50 → 200)"
    over = {
        page.name: large[page.name]
        for page in pages.pages(_any_subjects())
        if page.max_statements is not None and large[page.name] > page.max_statements
    }
    assert over == {}, f"pages over {pages.MAX_STATEMENTS} statements"


def _any_subjects() -> pages.Subjects:
    """Only the page names and budgets are needed: any ids will do."""
    from datetime import date

    return pages.Subjects(1, 1, 1, 1, 2025, date(2025, 1, 1))
