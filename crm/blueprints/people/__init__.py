from flask import Blueprint

bp = Blueprint("people", __name__, url_prefix="/people")

from crm.blueprints.people import views  # noqa: E402, F401
