"""Error pages: HTML for people, JSON for the API and for clients that ask for it.

A 500 shows the request's id (crm.requests): Flask logs the exception with it, so the id a
person reads out from the page finds the log lines of that request.
"""

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm.blueprints.errors import bp
from crm.extensions import db
from crm.i18n import gettext as _
from crm.requests import current_request_id
from crm.services.errors import ServiceError


def _wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        403: (_("Not allowed"), _("Your role does not allow this action.")),
        404: (_("Not found"), _("There is no such page or record. It may have been deleted.")),
        405: (_("Not allowed"), _("This address does not accept that kind of request.")),
        409: (_("Conflict"), _("Someone else changed this record.")),
        413: (_("Too large"), _("The upload is larger than allowed.")),
        422: (_("Invalid input"), _("Some values were not accepted.")),
        429: (_("Too many attempts"), _("Too many attempts. Wait a minute, then try again.")),
        500: (
            _("Something went wrong"),
            _("The error has been logged. Please try again, or tell an administrator."),
        ),
    }


def render_error(status: int, detail: str | None = None):
    if request.path.startswith("/api/"):  # the API's one shape (crm.api.errors)
        from crm.api.errors import error_response

        return error_response(status, detail), status
    title, message = _messages().get(status, (_("Error"), ""))
    request_id = current_request_id() if status >= 500 else None
    if _wants_json():
        extra = {"request_id": request_id} if request_id else {}
        return jsonify(error=title, message=detail or message, status=status, **extra), status
    return render_template(
        "errors/error.html",
        status=status,
        title=title,
        message=detail or message,
        request_id=request_id,
    ), status


@bp.app_errorhandler(CSRFError)
def csrf_error(err: CSRFError):
    return render_error(
        400,
        _(
            "The form has expired or was sent from elsewhere. "
            "Go back, reload the page and submit it again."
        ),
    )


@bp.app_errorhandler(ServiceError)
def service_error(err: ServiceError):
    db.session.rollback()
    return render_error(err.status_code, str(err))


@bp.app_errorhandler(HTTPException)
def http_error(err: HTTPException):
    if err.code is None or err.code < 400:
        return err
    response = render_error(err.code)
    if err.code == 405 and hasattr(err, "valid_methods") and err.valid_methods:
        body, status = response
        return body, status, {"Allow": ", ".join(err.valid_methods)}
    return response


@bp.app_errorhandler(500)
def internal_error(err: Exception):
    db.session.rollback()
    return render_error(500)
