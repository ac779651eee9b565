from flask import jsonify, render_template
from flask_login import current_user

from crm.blueprints.main import bp
from crm.services import clock, health, interactions, overview


@bp.route("/")
def index():
    today = clock.today()
    return render_template(
        "main/index.html",
        board=overview.dashboard(current_user, today=today),
        today=today,
        can_see=lambda i: interactions.can_see_details(i, current_user),
    )


@bp.route("/healthz")
def healthz():
    if health.database_ok():
        return jsonify(status="ok")
    return jsonify(status="unavailable", database="unreachable"), 503
