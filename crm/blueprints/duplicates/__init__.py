from flask import Blueprint

bp = Blueprint("duplicates", __name__, url_prefix="/duplicates")

from crm.blueprints.duplicates import views  # noqa: E402, F401
