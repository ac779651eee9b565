from flask import Blueprint

bp = Blueprint("activities", __name__, url_prefix="/activities")

from crm.blueprints.activities import views  # noqa: E402, F401
