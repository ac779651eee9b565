"""The administrators' Backups page: list the backups in BACKUP_DIR, make one, download one.

"Back up now" runs inside its request rather than as a background job: a backup is one
bounded step (about 4 s, its check included, for the 400 MB SQLite database of benchmark
scale 1; pg_dump streams the database), no job kind fits it without a migration (JobKind is
a checked column), and the admin sees the result, or why it failed, on the next page.
Scheduled backups are for cron or a systemd timer running `flask --app wsgi crm backup`
(README, "Backups").
"""

from pathlib import Path

from flask import current_app, flash, redirect, render_template, send_file, url_for
from flask_login import current_user

from crm.access import Permission, permission_required
from crm.blueprints.admin import bp
from crm.i18n import gettext as _
from crm.services import backup
from crm.services.errors import ServiceError


def _directory() -> Path:
    return Path(current_app.config["BACKUP_DIR"])


@bp.route("/admin/backups")
@permission_required(Permission.BACKUP)
def backups():
    problem = None
    try:
        found = backup.listing(_directory())
    except ServiceError as err:
        found, problem = [], str(err)
    return render_template(
        "admin/backups.html", backups=found, problem=problem, directory=_directory()
    )


@bp.route("/admin/backups", methods=["POST"])
@permission_required(Permission.BACKUP)
def create_backup():
    try:
        made = backup.create(_directory(), actor=current_user)
    except ServiceError as err:
        flash(str(err), "danger")
    else:
        flash(_("Backup %(name)s written.", name=made.name), "success")
    return redirect(url_for(".backups"))


@bp.route("/admin/backups/<name>")
@permission_required(Permission.BACKUP)
def download_backup(name: str):
    # The service matches `name` against the files listed; the path sent is the listing's.
    found = backup.download(_directory(), name, actor=current_user)
    response = send_file(
        found.path,
        as_attachment=True,
        download_name=found.name,
        mimetype="application/octet-stream",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
