"""The cross-border summary: people sent to headquarters this year against the threshold."""

from flask import current_app, render_template

from crm.blueprints.common import list_args
from crm.blueprints.reports import bp
from crm.services import clock, cross_border


@bp.route("/cross-border")
def cross_border_summary():
    # Readable as the reports are: counts only, no one is named.
    this_year = clock.today().year
    year = list_args().integer("year") or this_year
    if not 2000 <= year <= this_year + 1:
        year = this_year
    summary = cross_border.summary(year, threshold=current_app.config["CROSS_BORDER_THRESHOLD"])
    return render_template("reports/cross_border.html", summary=summary, this_year=this_year)
