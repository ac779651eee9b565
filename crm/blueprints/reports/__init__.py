from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from crm.blueprints.reports import indicators, views  # noqa: E402, F401
