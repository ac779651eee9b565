from flask import Blueprint

bp = Blueprint("personal_data", __name__)

from crm.blueprints.personal_data import views  # noqa: E402, F401
