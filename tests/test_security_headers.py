"""Security headers on every kind of response, and pages that need no inline script or style.

Issue 15, "Headers": a Content-Security-Policy without 'unsafe-inline', frame-ancestors 'none'
and X-Frame-Options DENY, nosniff, a same-origin referrer policy, a permissions policy, and
HSTS only in production (crm.security). The policy only works if the pages obey it, so the
main pages are rendered with data and searched for inline scripts, style attributes and
inline event handlers.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from crm import create_app
from crm.access import Role
from crm.config import ProductionConfig
from crm.models import User
from tests import pages
from tests.conftest import make_config

# ---------------------------------------------------------------------------------------------
# The headers
# ---------------------------------------------------------------------------------------------


def policy(response: TestResponse) -> dict[str, list[str]]:
    """The Content-Security-Policy as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request.path}"
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} twice in {header}"
        directives[name] = sources
    return directives


def nonce_of(response: TestResponse) -> str:
    (nonce,) = [
        s[len("'nonce-") : -1] for s in policy(response)["style-src"] if s.startswith("'nonce-")
    ]
    return nonce


def assert_protected(response: TestResponse) -> None:
    """Every header the issue asks for, with the values that make it strict."""
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
    styles = csp["style-src"]
    assert "'self'" in styles and "'unsafe-inline'" not in styles
    assert all(s == "'self'" or s.startswith("'nonce-") for s in styles), styles
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert not any("'unsafe-eval'" in sources for sources in csp.values())
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    permissions = dict(
        item.strip().split("=", 1) for item in headers["Permissions-Policy"].split(",")
    )
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert permissions.get(feature) == "()", feature


@pytest.fixture
def admin(login_as: Callable[..., FlaskClient]) -> FlaskClient:
    # With a calendar link: the profile page then shows it in a field that selects itself.
    return login_as(Role.admin, calendar_token="calendar-token-of-the-admin")


def test_a_page_carries_every_header_and_no_hsts_outside_production(admin):
    response = admin.get("/")
    assert response.status_code == 200
    assert_protected(response)
    assert "Strict-Transport-Security" not in response.headers
    https = admin.get("/", base_url="https://crm.example.org")
    assert "Strict-Transport-Security" not in https.headers


def test_a_redirect_carries_the_headers(client):
    response = client.get("/organisations")  # anonymous: to the sign-in page
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert_protected(response)


def test_the_sign_in_page_carries_the_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert_protected(response)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_carries_the_headers(admin, make_organisation, fmt):
    make_organisation(display_name="Export Textiles")
    response = admin.get(f"/organisations?format={fmt}")
    assert response.status_code == 200
    assert response.mimetype != "text/html"
    body = response.get_data()
    assert b"Export Textiles" in body if fmt == "csv" else body.startswith(b"PK")
    assert_protected(response)


def test_json_carries_the_headers(admin, make_organisation):
    make_organisation(display_name="Json Electronics")
    response = admin.get("/search.json?q=Json")
    assert response.status_code == 200 and response.is_json
    assert_protected(response)


@pytest.mark.parametrize(
    "path",
    ["/static/css/app.css", "/static/js/app.js", "/static/img/favicon.svg"],
)
def test_a_static_file_carries_the_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_protected(response)
    response.close()


def test_bootstraps_files_carry_the_headers(client):
    response = client.get("/bootstrap/static/css/bootstrap.min.css")
    assert response.status_code == 200
    assert_protected(response)
    response.close()


def test_a_404_page_carries_the_headers(admin, client):
    for who in (admin, client):
        response = who.get("/no/such/page")
        assert response.status_code == 404
        assert_protected(response)


def test_a_403_page_carries_the_headers(login_as):
    response = login_as(Role.viewer).get("/organisations/new")
    assert response.status_code == 403
    assert "Your role does not allow this action." in response.get_data(as_text=True)
    assert_protected(response)


def test_a_500_page_carries_the_headers(database_url, _schema):
    app = create_app(make_config(database_url, PROPAGATE_EXCEPTIONS=False))

    def broken() -> str:
        raise RuntimeError("a bug")

    app.view_functions["main.healthz"] = broken  # a public endpoint: no sign-in needed
    response = app.test_client().get("/healthz", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert_protected(response)


def test_each_response_gets_a_fresh_nonce(admin):
    assert nonce_of(admin.get("/")) != nonce_of(admin.get("/"))


def _production(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Flask:
    secret = "s" * 40
    monkeypatch.setenv("SECRET_KEY", secret)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SINGLE_PROCESS", "1")
    config = type(
        "Production",
        (ProductionConfig,),
        {"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": database_url, "SINGLE_PROCESS": True},
    )
    return create_app(config)


def test_production_sends_hsts_on_https(database_url, _schema, monkeypatch):
    client = _production(database_url, monkeypatch).test_client()
    direct = client.get("/login", base_url="https://crm.example.org")
    assert direct.status_code == 200
    assert_protected(direct)
    hsts = direct.headers["Strict-Transport-Security"]
    assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts)
    assert int(hsts.split("=")[1].split(";")[0]) >= 180 * 24 * 3600
    # TLS ends at the proxy, which says so; the app itself never redirects to https.
    proxied = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200 and "Strict-Transport-Security" in proxied.headers
    static = client.get("/static/css/app.css", base_url="https://crm.example.org")
    assert "Strict-Transport-Security" in static.headers
    static.close()
    # Browsers ignore HSTS over plain http; it is not sent there.
    plain = client.get("/login")
    assert plain.status_code == 200 and "Strict-Transport-Security" not in plain.headers


def test_the_headers_leave_the_cookie_settings_alone(database_url, _schema, monkeypatch):
    """Talisman would force Secure cookies everywhere; outside production that would lock
    out anyone using the app over plain http on a laptop."""
    app = create_app(make_config(database_url))
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    production = _production(database_url, monkeypatch)
    assert production.config["SESSION_COOKIE_SECURE"] is True


# ---------------------------------------------------------------------------------------------
# Pages that obey the policy
# ---------------------------------------------------------------------------------------------

TAG = re.compile(r"<[a-zA-Z][^>]*>")
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=\"application/json\")[^>]*>")
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
SCRIPT_URL = re.compile(r"\b(?:href|src|action|formaction)\s*=\s*[\"']?\s*javascript:", re.I)
STYLE_ELEMENT = re.compile(r"<style\b[^>]*>")


def inline_code(html: str, nonce: str) -> list[str]:
    """What the page's policy would refuse: inline scripts, style attributes, inline event
    handlers, javascript: URLs, and <style> elements without the response's nonce."""
    found = INLINE_SCRIPT.findall(html)
    for tag in TAG.findall(html):
        if STYLE_ATTRIBUTE.search(tag) or HANDLER.search(tag) or SCRIPT_URL.search(tag):
            found.append(tag)
    for element in STYLE_ELEMENT.findall(html):
        if f'nonce="{nonce}"' not in element:
            found.append(element)
    return found


def test_the_checker_finds_each_kind_of_inline_code():
    nonce = "abc"
    page = (
        '<script>alert(1)</script><script src="/static/js/app.js"></script>'
        '<script type="application/json">{}</script><div style="width: 5%">'
        '<button type="button" onclick="print()"><a href="javascript:history.back()">'
        '<style>p{}</style><style nonce="abc">p{}</style><p>style= and onclick= in text</p>'
    )
    assert inline_code(page, nonce) == [
        "<script>",
        '<div style="width: 5%">',
        '<button type="button" onclick="print()">',
        '<a href="javascript:history.back()">',
        "<style>",
    ]


@pytest.fixture
def world(app: Flask, actor: User, make_organisation, make_person) -> dict[str, int]:
    return pages.seed(app, actor, make_organisation=make_organisation, make_person=make_person)


@pytest.mark.parametrize("path", pages.PAGES)
def test_a_page_has_no_inline_script_style_or_handler(admin, world, path):
    response = admin.get(path.format(**world))
    assert response.status_code in (200, 404), response.status_code
    html = response.get_data(as_text=True)
    assert "</html>" in html
    assert_protected(response)
    assert inline_code(html, nonce_of(response)) == []


def test_the_sign_in_page_has_no_inline_code(client):
    response = client.get("/login")
    assert inline_code(response.get_data(as_text=True), nonce_of(response)) == []


def test_the_report_charts_styles_carry_the_responses_nonce(admin, world):
    response = admin.get("/reports")
    html = response.get_data(as_text=True)
    nonce = nonce_of(response)
    styles = re.findall(r"<style\b([^>]*)>(.*?)</style>", html, re.S)
    assert len(styles) == 5  # one per chart
    for attributes, css in styles:
        assert f'nonce="{nonce}"' in attributes
        assert re.search(r"#chart-[a-z-]+ \.title", css)  # pygal's rules, scoped to the chart
    assert "<svg" in html and 'class="tooltip"' not in html


def test_an_import_preview_has_no_inline_code(admin):
    upload = io.BytesIO("名称,类型\nPreview Textiles,enterprise\n".encode())
    response = admin.post(
        "/imports",
        data={"kind": "organisations", "file": (upload, "orgs.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    preview = admin.get(response.headers["Location"])
    assert preview.status_code == 200 and "Preview Textiles" in preview.get_data(as_text=True)
    assert inline_code(preview.get_data(as_text=True), nonce_of(preview)) == []
