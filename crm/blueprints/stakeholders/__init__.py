from flask import Blueprint

bp = Blueprint("stakeholders", __name__, url_prefix="/stakeholders")

from crm.blueprints.stakeholders import views  # noqa: E402, F401
