"""The API through its HTTP door: tokens, roles per resource, conflicts, confidentiality,
bad input, the audit trail, the CLI and the profile page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from crm import create_app
from crm.access import Role
from crm.extensions import db
from crm.models import ApiToken, AuditEvent, Organisation, User, utcnow
from crm.services import api_tokens
from tests.conftest import make_config

Token = Callable[..., dict[str, str]]
ORG = {"display_name": "Suzhou Silk Weaving Co.", "org_type": "enterprise", "sector": "textile"}


def _error(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"]), body
    return body["error"]


# --------------------------------------------------------------------------- tokens


def test_anonymous_request_gets_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/organisations")
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthorized"


def test_a_session_cookie_is_not_enough(login_as: Callable[..., FlaskClient]) -> None:
    assert login_as(Role.admin).get("/api/v1/organisations").status_code == 401


def test_revoked_token_stops_at_the_next_request(
    client: FlaskClient, make_token: Token, in_app: Any
) -> None:
    headers = make_token(Role.viewer)
    assert client.get("/api/v1/organisations", headers=headers).status_code == 200
    with in_app():
        token = db.session.scalar(sa.select(ApiToken))
        api_tokens.revoke(token, actor=token.user)
    assert client.get("/api/v1/organisations", headers=headers).status_code == 401


def test_deactivated_user_token_stops(client: FlaskClient, make_token: Token, in_app: Any) -> None:
    headers = make_token(Role.manager)
    with in_app():
        user = db.session.get(User, headers.user.id)
        user.is_enabled = False
        db.session.commit()
    assert client.get("/api/v1/organisations", headers=headers).status_code == 401


def test_expired_token_is_refused(client: FlaskClient, make_token: Token, in_app: Any) -> None:
    headers = make_token(Role.viewer)
    with in_app():
        token = db.session.scalar(sa.select(ApiToken))
        token.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get("/api/v1/organisations", headers=headers).status_code == 401


def test_token_is_stored_hashed_and_marked_used(
    client: FlaskClient, make_token: Token, in_app: Any
) -> None:
    headers = make_token(Role.viewer)
    secret = headers["Authorization"].removeprefix("Bearer ")
    client.get("/api/v1/tags", headers=headers)
    with in_app():
        token = db.session.scalar(sa.select(ApiToken))
        assert token.token_hash == api_tokens.hash_secret(secret) != secret
        assert secret.startswith(token.prefix) and token.last_used_at is not None


def test_read_only_token_cannot_write(client: FlaskClient, make_token: Token, in_app: Any) -> None:
    headers = make_token(Role.admin, read_only=True)
    assert client.get("/api/v1/organisations", headers=headers).status_code == 200
    response = client.post("/api/v1/organisations", json=ORG, headers=headers)
    assert response.status_code == 403
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


# --------------------------------------------------------------------------- roles

WRITES = [
    # (role, method, url, body, status)
    (Role.viewer, "post", "/api/v1/organisations", ORG, 403),
    (Role.member, "post", "/api/v1/organisations", ORG, 201),
    (Role.viewer, "post", "/api/v1/people", {"family_name": "Li", "given_name": "Na"}, 403),
    (Role.member, "post", "/api/v1/people", {"family_name": "Li", "given_name": "Na"}, 201),
    (
        Role.member,
        "post",
        "/api/v1/activities",
        {"title": "OSH training", "start_on": "2026-03-01"},
        403,
    ),
    (
        Role.coordinator,
        "post",
        "/api/v1/activities",
        {"title": "OSH training", "start_on": "2026-03-01"},
        201,
    ),
    (Role.coordinator, "post", "/api/v1/topics", {"name": "Heat stress"}, 403),
    (Role.admin, "post", "/api/v1/topics", {"name": "Heat stress"}, 201),
]


@pytest.mark.parametrize(("role", "method", "url", "body", "status"), WRITES)
def test_writes_follow_the_role(
    client: FlaskClient,
    make_token: Token,
    role: Role,
    method: str,
    url: str,
    body: Any,
    status: int,
) -> None:
    response = client.open(url, method=method.upper(), json=body, headers=make_token(role))
    assert response.status_code == status, response.get_data(as_text=True)


READS = [
    "/api/v1/organisations",
    "/api/v1/people",
    "/api/v1/activities",
    "/api/v1/interactions",
    "/api/v1/follow-ups",
    "/api/v1/tags",
    "/api/v1/topics",
    "/api/v1/reports/engagement?start=2026-01-01&end=2026-03-31",
    "/api/v1/reports/indicators?year=2026",
]


@pytest.mark.parametrize("url", READS)
def test_viewer_can_read_every_resource(client: FlaskClient, make_token: Token, url: str) -> None:
    assert client.get(url, headers=make_token(Role.viewer)).status_code == 200


@pytest.mark.parametrize(("role", "status"), [(Role.member, 403), (Role.coordinator, 204)])
def test_delete_to_trash_needs_coordinator(
    client: FlaskClient, make_token: Token, make_organisation: Any, role: Role, status: int
) -> None:
    org = make_organisation()
    response = client.delete(f"/api/v1/organisations/{org.id}", headers=make_token(role))
    assert response.status_code == status
    if status == 204:  # in the trash: gone for the API
        again = client.get(f"/api/v1/organisations/{org.id}", headers=make_token(Role.viewer))
        assert again.status_code == 404


# --------------------------------------------------------------------------- records


def test_member_creates_filters_and_updates_an_organisation(
    client: FlaskClient, make_token: Token
) -> None:
    headers = make_token(Role.member)
    created = client.post("/api/v1/organisations", json={**ORG, "tags": ["silk"]}, headers=headers)
    assert created.status_code == 201, created.get_json()
    org = created.get_json()
    assert org["tags"] == ["silk"] and org["version"] == 1
    listed = client.get("/api/v1/organisations?sector=textile", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == org["id"]
    assert (
        client.get("/api/v1/organisations?sector=electronics", headers=headers).get_json()["total"]
        == 0
    )
    changed = client.patch(
        f"/api/v1/organisations/{org['id']}", json={"version": 1, "city": "Suzhou"}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.get_json()["city"] == "Suzhou" and changed.get_json()["tags"] == ["silk"]


def test_stale_version_is_409_with_the_current_record(
    client: FlaskClient, make_token: Token, make_organisation: Any
) -> None:
    org = make_organisation()
    headers = make_token(Role.member)
    first = client.patch(
        f"/api/v1/organisations/{org.id}",
        json={"version": org.version, "city": "A"},
        headers=headers,
    )
    assert first.status_code == 200
    stale = client.patch(
        f"/api/v1/organisations/{org.id}",
        json={"version": org.version, "city": "B"},
        headers=headers,
    )
    assert stale.status_code == 409
    error = _error(stale)
    assert error["code"] == "conflict" and error["current"]["city"] == "A"


def test_likely_duplicate_is_409_with_candidates_until_forced(
    client: FlaskClient, make_token: Token, make_organisation: Any
) -> None:
    existing = make_organisation(display_name=ORG["display_name"])
    headers = make_token(Role.member)
    response = client.post("/api/v1/organisations", json=ORG, headers=headers)
    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "duplicate"
    assert [c["id"] for c in error["candidates"]] == [existing.id]
    forced = client.post("/api/v1/organisations", json={**ORG, "force": True}, headers=headers)
    assert forced.status_code == 201


def test_person_detail_lists_positions(
    client: FlaskClient, make_token: Token, make_organisation: Any
) -> None:
    org = make_organisation()
    headers = make_token(Role.member)
    body = {"family_name": "Zhang", "given_name": "Wei", "job_title": "HR", "employer_id": org.id}
    created = client.post("/api/v1/people", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    positions = created.get_json()["positions"]
    assert [p["organisation"]["id"] for p in positions] == [org.id]


def test_writes_are_audited_with_the_token_name(
    client: FlaskClient, make_token: Token, in_app: Any
) -> None:
    headers = make_token(Role.member)
    client.post("/api/v1/organisations", json=ORG, headers=headers)
    with in_app():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.entity_type != "api_tokens")
        )
        assert event is not None and f"test {headers.user.email}" in event.summary
        assert event.actor_id == headers.user.id


def test_logging_an_interaction_and_its_follow_up(
    client: FlaskClient, make_token: Token, make_person: Any
) -> None:
    person = make_person()
    headers = make_token(Role.member)
    body = {
        "occurred_at": "2026-03-04T10:00:00",
        "channel": "wechat",
        "stakeholders": [person.id],
        "subject": "工时座谈",
        "summary": "讨论加班时长",
        "follow_ups": [{"title": "Send the checklist", "due_on": "2026-03-11"}],
    }
    response = client.post("/api/v1/interactions", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["subject"] == "工时座谈"
    follow_ups = client.get("/api/v1/follow-ups", headers=headers).get_json()
    assert [f["title"] for f in follow_ups["items"]] == ["Send the checklist"]


def test_confidential_interaction_hidden_from_those_who_may_not_see_it(
    client: FlaskClient, make_token: Token, make_person: Any
) -> None:
    person = make_person()
    author = make_token(Role.member)
    body = {
        "occurred_at": "2026-03-04T10:00:00",
        "stakeholders": [person.id],
        "subject": "Grievance",
        "summary": "Named a supervisor",
        "is_confidential": True,
    }
    created = client.post("/api/v1/interactions", json=body, headers=author).get_json()
    other = make_token(Role.coordinator)
    seen = client.get(f"/api/v1/interactions/{created['id']}", headers=other).get_json()
    assert seen["can_see_details"] is False and seen["summary"] is None
    assert seen["subject"] != "Grievance"
    listed = client.get("/api/v1/interactions", headers=other).get_json()["items"]
    assert listed[0]["summary"] is None
    refused = client.patch(
        f"/api/v1/interactions/{created['id']}", json={"version": 1, "subject": "x"}, headers=other
    )
    assert refused.status_code == 403
    manager = make_token(Role.manager)
    assert (
        client.get(f"/api/v1/interactions/{created['id']}", headers=manager).get_json()["summary"]
        == "Named a supervisor"
    )


def test_activity_detail_has_parties_participants_and_reach(
    client: FlaskClient, make_token: Token, make_organisation: Any, make_person: Any
) -> None:
    org, person = make_organisation(), make_person()
    headers = make_token(Role.coordinator)
    activity = client.post(
        "/api/v1/activities",
        json={"title": "Forum", "start_on": "2026-02-01", "status": "held"},
        headers=headers,
    ).get_json()
    party = client.post(
        f"/api/v1/activities/{activity['id']}/parties",
        json={"organisation_id": org.id, "role": "host"},
        headers=headers,
    )
    assert party.status_code == 201, party.get_json()
    added = client.post(
        f"/api/v1/activities/{activity['id']}/participants",
        json={"people": [person.id], "status": "attended"},
        headers=headers,
    ).get_json()
    assert [p["person"]["id"] for p in added["participants"]] == [person.id]
    assert added["parties"][0]["organisation"]["id"] == org.id
    assert added["reach"]["named_women"] == 1


# --------------------------------------------------------------------------- bad input


def test_bad_input_gets_the_documented_errors(
    client: FlaskClient, make_token: Token, make_organisation: Any, in_app: Any
) -> None:
    headers = make_token(Role.coordinator)
    url = "/api/v1/organisations"
    malformed = client.post(url, data="{oops", content_type="application/json", headers=headers)
    assert malformed.status_code == 400 and _error(malformed)["code"] == "bad_request"
    form_encoded = client.post(url, data={"display_name": "x"}, headers=headers)
    assert form_encoded.status_code == 415
    unknown = client.post(url, json={**ORG, "colour": "red"}, headers=headers)
    assert unknown.status_code == 422 and "colour" in _error(unknown)["fields"]
    invalid = client.post(url, json={**ORG, "display_name": "", "website": "nope"}, headers=headers)
    assert invalid.status_code == 422
    assert {"display_name", "website"} <= set(_error(invalid)["fields"])
    huge_page = client.get(f"{url}?per_page=1000000", headers=headers)
    assert huge_page.status_code == 422 and "per_page" in _error(huge_page)["fields"]
    too_big = client.post(
        url,
        data=b"[" + b"1," * (10 * 1024 * 1024) + b"1]",
        content_type="application/json",
        headers=headers,
    )
    assert too_big.status_code == 413 and _error(too_big)["code"] == "too_large"
    assert client.put(url, json={}, headers=headers).status_code == 405
    org = make_organisation()
    client.delete(f"{url}/{org.id}", headers=headers)
    gone = client.patch(f"{url}/{org.id}", json={"version": 1, "city": "x"}, headers=headers)
    assert gone.status_code == 404 and _error(gone)["code"] == "not_found"
    with in_app():  # nothing half-written
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 1


def test_errors_speak_the_token_users_language(client: FlaskClient, make_token: Token) -> None:
    headers = make_token(Role.viewer, locale="zh")
    response = client.post("/api/v1/organisations", json=ORG, headers=headers)
    assert response.status_code == 403
    assert any("\u4e00" <= ch <= "\u9fff" for ch in _error(response)["message"])


def test_tokens_are_rate_limited(database_url: str, _schema: None, make_token: Token) -> None:
    app = create_app(
        make_config(database_url, RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute")
    )
    client = app.test_client()
    headers = make_token(Role.viewer)
    statuses = [client.get("/api/v1/tags", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert _error(client.get("/api/v1/tags", headers=headers))["code"] == "rate_limited"
    assert client.get("/api/v1/tags", headers=make_token(Role.viewer)).status_code == 200


# --------------------------------------------------------------------------- docs, CLI, profile


def test_openapi_document_and_docs_page(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    for path in (
        "/api/v1/organisations",
        "/api/v1/people",
        "/api/v1/activities",
        "/api/v1/interactions",
        "/api/v1/follow-ups",
        "/api/v1/reports/engagement",
        "/api/v1/reports/indicators",
    ):
        assert path in document["paths"]
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/organisations" in page and "cdn" not in page.lower()


def test_cli_creates_a_token_printed_once(
    app: Flask, runner: Any, make_user: Any, client: FlaskClient
) -> None:
    user = make_user(Role.viewer)
    result = runner.invoke(args=["crm", "create-token", user.email, "--name", "BI", "--read-only"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    response = client.get("/api/v1/tags", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    unknown = runner.invoke(args=["crm", "create-token", "nobody@example.org", "--name", "x"])
    assert unknown.exit_code == 1


def test_user_creates_and_revokes_a_token_on_the_profile_page(
    login_as: Callable[..., FlaskClient], in_app: Any
) -> None:
    browser = login_as(Role.member)
    page = browser.post("/profile/tokens", data={"token-name": "Power BI", "token-read_only": "y"})
    assert page.status_code == 201
    html = page.get_data(as_text=True)
    with in_app():
        token = db.session.scalar(sa.select(ApiToken))
        assert token.name == "Power BI" and token.read_only and token.prefix in html
    profile = browser.get("/profile").get_data(as_text=True)
    assert "Power BI" in profile
    browser.post(f"/profile/tokens/{token.id}/revoke")
    with in_app():
        assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_someone_elses_token_cannot_be_revoked(
    login_as: Callable[..., FlaskClient], make_token: Token, in_app: Any
) -> None:
    make_token(Role.viewer)
    with in_app():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    assert login_as(Role.admin).post(f"/profile/tokens/{token_id}/revoke").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/organisations?per_page=200",
        "/api/v1/people?per_page=200",
        "/api/v1/interactions?per_page=200",
        "/api/v1/follow-ups?per_page=200&status=all",
    ],
)
def test_lists_cost_a_fixed_number_of_queries(
    client: FlaskClient,
    make_token: Token,
    make_organisation: Any,
    make_person: Any,
    count_queries: Any,
    url: str,
) -> None:
    headers = make_token(Role.member)
    people = [make_person(family_name=f"Wang{n}", email=f"w{n}@example.org") for n in range(3)]
    for n in range(3):
        make_organisation(display_name=f"Factory {n}", tags=["silk", f"t{n}"])
        client.post(
            "/api/v1/interactions",
            json={
                "occurred_at": "2026-03-04T10:00:00",
                "stakeholders": [p.id for p in people],
                "subject": f"Visit {n}",
                "follow_ups": [{"title": f"Call back {n}", "due_on": "2026-03-11"}],
            },
            headers=headers,
        )
    client.get(url, headers=headers)  # the token's first use is written once a minute
    with count_queries() as counted:
        response = client.get(url, headers=headers)
    assert response.status_code == 200 and response.get_json()["total"] >= 3
    assert counted.count <= 15, counted


def test_a_topic_name_taken_in_another_case_is_refused_not_a_500(
    client: FlaskClient, make_token: Token
) -> None:
    headers = make_token(Role.admin)
    assert client.post("/api/v1/topics", json={"name": "Ý"}, headers=headers).status_code == 201
    again = client.post("/api/v1/topics", json={"name": "Ý"}, headers=headers)
    assert again.status_code == 422 and "name" in _error(again)["fields"]
