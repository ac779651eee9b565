"""Hostile input, proven: generated values posted to every form endpoint, and thrown at every
list's filters, sorts and pages, never give a server error, and a rejected post writes nothing.

Every POST route in `app.url_map` is found at run time, so a new form is fuzzed without a new
test. Its fields are read from the page that shows it (the same URL, when it answers GET);
values are long, empty, unicode, control characters, wrong types, huge integers and impossible
dates; fields go missing and unknown ones appear. The signed-in user is an administrator (every
permission), on a database holding the demo data set.

The example budget is tiny in `make test` (HYPOTHESIS_PROFILE unset: a few examples per
endpoint); `make fuzz` runs the "fuzz" profile with thousands.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm import create_app, demo
from crm.access import Role
from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    Affiliation,
    FollowUp,
    ImportBatch,
    Indicator,
    Interaction,
    Job,
    Organisation,
    Participation,
    Person,
    Stakeholder,
    StakeholderRelationship,
    Topic,
    User,
)
from tests.conftest import make_config, wipe

settings.register_profile(
    "quick",
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
settings.register_profile(
    "fuzz",
    max_examples=300,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "quick")

# The record a URL argument names (the first one found is used; none: id 1, a 404).
MODELS: dict[str, Any] = {
    "activity_id": Activity,
    "follow_up_id": FollowUp,
    "batch_id": ImportBatch,
    "person_id": Person,
    "indicator_id": Indicator,
    "organisation_id": Organisation,
    "interaction_id": Interaction,
    "stakeholder_id": Stakeholder,
    "relationship_id": StakeholderRelationship,
    "affiliation_id": Affiliation,
    "party_id": ActivityParty,
    "participation_id": Participation,
    "topic_id": Topic,
    "job_id": Job,
    "record_id": Stakeholder,
}
# Endpoints left out, and why.
SKIPPED = {
    "auth.logout": "signs the fuzzing user out",
    "auth.login": "the fuzzing user is signed in; sign-in has its own tests",
    "admin.create_backup": "writes a backup file per example; covered by tests/test_backup.py",
}
FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.IGNORECASE)
# Fields a POST-only action may read (it has no page of its own to read them from).
ACTION_FIELDS = (
    "note",
    "done-note",
    "reason",
    "next",
    "assignee_id",
    "person_id",
    "organisation_id",
    "role",
    "status",
    "title",
    "version",
    "keep",
    "other",
)
LIST_PARAMETERS = (
    "q",
    "page",
    "per_page",
    "sort",
    "desc",
    "type",
    "sector",
    "level",
    "owner",
    "tag",
    "province",
    "influence",
    "interest",
    "from",
    "to",
    "start",
    "end",
    "year",
    "status",
    "kind",
    "channel",
    "assignee",
    "activity",
    "format",
)

CONTROL = "".join(chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127, 0x85, 0x9B))
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(CONTROL + "ab 王芳\u2028\u202e"), max_size=20),
    st.text(alphabet="王芳华为abc", min_size=300, max_size=3000),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "2147483648",
            "9" * 23,
            "-" + "9" * 30,
            "1e309",
            "NaN",
            "2026-02-30",
            "2026-13-01T25:61",
            "0000-00-00",
            "=cmd|' /C calc'!A0",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\x00",
            "\x1b[31m",
            "true",
            "on",
            "[]",
            "{}",
        ]
    ),
)
value = st.one_of(hostile_text, st.lists(hostile_text, min_size=2, max_size=3))


def _payload(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some of the known fields (a missing one is a case too) and maybe an unknown one."""
    kept = st.lists(st.sampled_from(fields), unique=True) if fields else st.just([])
    extra = st.dictionaries(st.text(min_size=1, max_size=12), value, max_size=2)
    return st.tuples(kept, extra).flatmap(
        lambda pair: st.fixed_dictionaries({name: value for name in pair[0]}).map(
            lambda found, extra=pair[1]: {**extra, **found}
        )
    )


@pytest.fixture(scope="module")
def fuzz_app(
    database_url: str, _schema: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The demo data set (a record of every kind), loaded once for the module."""
    app = create_app(make_config(database_url, BACKUP_DIR=str(tmp_path_factory.mktemp("backups"))))
    wipe(app)
    with app.app_context():
        demo.seed()  # activities, interactions, follow-ups, indicators, …
        db.session.remove()
    yield app
    wipe(app)
    with app.app_context():
        db.engine.dispose()


def _ids() -> dict[str, int]:
    found = {}
    for name, model in MODELS.items():
        found[name] = db.session.scalar(sa.select(sa.func.min(model.id))) or 1
    found["user_id"] = (
        db.session.scalar(sa.select(sa.func.min(User.id)).where(User.role != Role.admin)) or 1
    )
    return found


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        for table in db.metadata.sorted_tables
    }


def _signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.role == Role.admin))
        assert admin is not None
        user_id = f"{admin.id}:{admin.session_token}"
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def _rules(app: Flask, method: str) -> list[Any]:
    return sorted(
        (r for r in app.url_map.iter_rules() if method in (r.methods or ())),
        key=lambda r: r.endpoint,
    )


def _fill(rule: Any, ids: dict[str, int]) -> str | None:
    values = {}
    for argument in rule.arguments:
        if argument not in ids:
            return None  # a token or a file name: not a form
        values[argument] = ids[argument]
    return rule.build(values, append_unknown=False)[1]


_endpoints = _rules(create_app(make_config("sqlite://")), "POST")


@pytest.mark.parametrize("rule", _endpoints, ids=[r.endpoint for r in _endpoints])
def test_a_form_endpoint_never_fails_and_a_rejected_post_writes_nothing(
    fuzz_app: Flask, rule: Any
) -> None:
    if rule.endpoint in SKIPPED:
        pytest.skip(SKIPPED[rule.endpoint])
    client = _signed_in(fuzz_app)
    with fuzz_app.app_context():
        url = _fill(rule, _ids())
    if url is None:
        pytest.skip(f"{rule.rule} takes no record id")
    fields = list(ACTION_FIELDS)
    if "GET" in (rule.methods or ()):
        page = client.get(url)
        assert page.status_code < 500, f"GET {url}: {page.status_code}"
        fields = sorted(set(FIELD.findall(page.get_data(as_text=True))) - {"csrf_token"})

    @settings(settings.get_profile(PROFILE))
    @given(data=_payload(fields))
    def post(data: dict[str, Any]) -> None:
        with fuzz_app.app_context():
            before = _row_counts()
            db.session.remove()
        response = client.post(url, data=data)
        assert response.status_code < 500, f"POST {url} {data!r}: {response.status_code}"
        if response.status_code in (400, 409, 413, 415, 422):
            with fuzz_app.app_context():
                assert _row_counts() == before, f"POST {url} {data!r} was refused but wrote"
                db.session.remove()

    post()


_lists = [
    r
    for r in _rules(create_app(make_config("sqlite://")), "GET")
    if not r.arguments and not r.rule.startswith(("/static", "/bootstrap", "/logout"))
]


@pytest.mark.parametrize("rule", _lists, ids=[r.endpoint for r in _lists])
def test_a_page_never_fails_whatever_its_filters_sort_and_page(fuzz_app: Flask, rule: Any) -> None:
    client = _signed_in(fuzz_app)
    parameters = st.dictionaries(st.sampled_from(LIST_PARAMETERS), hostile_text, max_size=4)

    @settings(settings.get_profile(PROFILE))
    @given(query=parameters)
    def get(query: dict[str, str]) -> None:
        response = client.get(rule.rule, query_string=query)
        assert response.status_code < 500, f"GET {rule.rule} {query!r}: {response.status_code}"

    get()


def test_the_fuzzing_user_is_really_signed_in(fuzz_app: Flask) -> None:
    """Without this, every page would answer the sign-in redirect and prove nothing."""
    client = _signed_in(fuzz_app)
    response = client.get("/organisations")
    assert response.status_code == 200
    assert "organisations" in response.get_data(as_text=True).lower()
