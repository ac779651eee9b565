from flask import jsonify, render_template

from crm.blueprints.main import bp
from crm.services import health, overview


@bp.route("/")
def index():
    return render_template("main/index.html", summary=overview.summary())


@bp.route("/healthz")
def healthz():
    if health.database_ok():
        return jsonify(status="ok")
    return jsonify(status="unavailable", database="unreachable"), 503
