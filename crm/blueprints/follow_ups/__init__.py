from flask import Blueprint

bp = Blueprint("follow_ups", __name__, url_prefix="/follow-ups")

from crm.blueprints.follow_ups import views  # noqa: E402, F401
