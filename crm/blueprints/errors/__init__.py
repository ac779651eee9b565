from flask import Blueprint

bp = Blueprint("errors", __name__)

from crm.blueprints.errors import views  # noqa: E402, F401
