from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

from crm.blueprints.jobs import views  # noqa: E402, F401
