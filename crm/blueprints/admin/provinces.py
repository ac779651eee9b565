"""The administrators' list of organisations whose province is not one of crm.provinces.

The migration that turned free-text provinces into codes, and imports since, keep text no rule
could read as it was written ("Guangdong, Shenzhen", "PRC"): this page lists those records,
each with a link to its edit form, where the province is then chosen from the list.
"""

from flask import render_template

from crm.access import Permission, permission_required
from crm.blueprints.admin import bp
from crm.blueprints.common import list_args
from crm.services import stakeholders


@bp.route("/admin/provinces")
@permission_required(Permission.MANAGE_USERS)  # the administrators' pages
def provinces():
    args = list_args()
    page = stakeholders.unknown_provinces(page=args.page(), per_page=args.per_page())
    return render_template("admin/provinces.html", page=page)
