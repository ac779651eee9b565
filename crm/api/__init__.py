"""The JSON API, version 1 (/api/v1): bearer tokens, the web's permissions and services.

One flask-smorest blueprint, `api`, holds every resource (a module each); the OpenAPI 3.1
document is built from the same marshmallow schemas that read the requests and shape the
responses, and is served at /api/v1/openapi.json with a page that lists its operations
(/api/v1/docs, no CDN). The session's CSRF protection does not apply: no cookie is read.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api, Blueprint
from flask_smorest.spec.plugins import integerconverter2paramschema
from werkzeug.exceptions import HTTPException

from crm.api import schemas
from crm.extensions import csrf, limiter
from crm.requests import IdConverter
from crm.services.errors import ServiceError

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Stakeholder tracker API",
)

SECURITY_SCHEME = "bearerAuth"


class CrmApi(Api):
    """flask-smorest's Api without its application-wide error handler: the errors blueprint
    answers every error, in the API's shape under /api/ (crm.api.errors), which the
    documented error responses describe (no catch-all "default" response)."""

    ERROR_SCHEMA = schemas.Error
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        return None


def init_app(app: Flask) -> CrmApi:
    app.config.setdefault("API_TITLE", "Stakeholder tracker")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    # Never reads the session's cookie, so a form's CSRF token has nothing to protect.
    csrf.exempt(bp)
    smorest = CrmApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Send `Authorization: Bearer <token>` with every request; create a token "
                    "on your profile page or with `flask --app wsgi crm create-token`."
                )
            },
            "servers": [{"url": "/"}],
        },
    )
    smorest.spec.components.security_scheme(SECURITY_SCHEME, {"type": "http", "scheme": "bearer"})
    smorest.spec.options["security"] = [{SECURITY_SCHEME: []}]
    smorest.register_converter(IdConverter, integerconverter2paramschema)
    smorest.register_blueprint(bp)
    app.extensions["crm_api"] = smorest
    return smorest


from crm.api import (  # noqa: E402
    activities,
    auth,
    docs,
    errors,
    follow_ups,
    forms,
    interactions,
    organisations,
    people,
    reports,
    taxonomy,
)

bp.before_request(auth.authenticate)
bp.register_error_handler(HTTPException, errors.http_error)
bp.register_error_handler(ServiceError, errors.service_error)
bp.register_error_handler(forms.FormInvalid, errors.form_invalid)
limiter.limit(auth.rate_limit, key_func=auth.rate_limit_key, per_method=False)(bp)

__all__ = [
    "activities",
    "bp",
    "docs",
    "follow_ups",
    "init_app",
    "interactions",
    "organisations",
    "people",
    "reports",
    "taxonomy",
]
