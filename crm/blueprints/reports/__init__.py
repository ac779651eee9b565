from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from crm.blueprints.reports import cross_border, indicators, views  # noqa: E402, F401
