"""HTTP security headers on every response: pages, redirects, exports, errors, static files.

Flask-Talisman sets them in an after-request hook, so responses from error handlers carry
them too. TLS ends at the reverse proxy, so the app never redirects to https itself
(`force_https=False`); HSTS is sent only by the production configuration, and only on
requests that arrived over https (directly or as the proxy's X-Forwarded-Proto), as browsers
ignore it on plain http anyway.

The policy admits no inline script and no inline style: every script and style sheet is a file
under static/ (or Bootstrap's, served from the installed package). The one exception is the
stylesheet pygal writes into each SVG chart of the engagement report: its <style> carries the
request's nonce (`csp_nonce()` in templates), which no attacker-injected markup can know.
"""

from __future__ import annotations

from flask import Flask
from flask_talisman import DENY, Talisman

CONTENT_SECURITY_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    # 'self' plus the request's nonce (added by Talisman): never 'unsafe-inline', so style=""
    # attributes are refused too.
    "style-src": "'self'",
    # Bootstrap's CSS draws its check marks, select arrows and close buttons as data: SVGs.
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Powerful features the CRM never uses, denied to the page and anything it could embed.
PERMISSIONS_POLICY: dict[str, str] = {
    feature: "()"
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# Reports and records are confidential: no address of this site leaves it in a Referer.
REFERRER_POLICY = "same-origin"


def init_security_headers(app: Flask) -> Talisman:
    """Set the headers on every response of `app`. One Talisman per app: it keeps its
    settings on the instance, so a shared one would mix the settings of two apps (tests)."""
    talisman = Talisman(
        app,
        force_https=False,
        frame_options=DENY,
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=["style-src"],
        permissions_policy=PERMISSIONS_POLICY,
        referrer_policy=REFERRER_POLICY,
        strict_transport_security=app.config["HSTS_ENABLED"],
        strict_transport_security_max_age=app.config["HSTS_MAX_AGE"],
        strict_transport_security_include_subdomains=True,
        x_content_type_options=True,
        # The cookie flags stay with crm.config (Secure in production only, so the app still
        # works over plain http on a laptop); Talisman would otherwise overwrite them.
        session_cookie_secure=False,
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
    app.extensions["talisman"] = talisman
    return talisman
