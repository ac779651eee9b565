from flask import current_app, jsonify, render_template
from flask_login import current_user

from crm.blueprints.main import bp
from crm.services import clock, health, interactions, overview


@bp.route("/")
def index():
    today = clock.today()
    return render_template(
        "main/index.html",
        board=overview.dashboard(
            current_user,
            today=today,
            # The request has written nothing: the statements may run side by side.
            side_by_side_in=current_app._get_current_object(),  # type: ignore[attr-defined]
        ),
        today=today,
        can_see=lambda i: interactions.can_see_details(i, current_user),
    )


@bp.route("/healthz")
def healthz():
    if health.database_ok():
        return jsonify(status="ok")
    return jsonify(status="unavailable", database="unreachable"), 503
