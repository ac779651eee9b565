from flask import Blueprint

bp = Blueprint("auth", __name__)

from crm.blueprints.auth import second_factor, tokens, views  # noqa: E402, F401
