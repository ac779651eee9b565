from typing import Any

from flask import jsonify, render_template, request, url_for
from flask_login import current_user

from crm.access import Permission, can
from crm.blueprints.search import bp
from crm.forms import chinese_first
from crm.i18n import gettext as _
from crm.services import accounts, search, stakeholders
from crm.services.errors import PermissionDenied

DETAIL_ENDPOINTS = {
    "organisation": ("organisations.detail", "organisation_id"),
    "person": ("people.detail", "person_id"),
    "activity": ("activities.detail", "activity_id"),
    "interaction": ("interactions.detail", "interaction_id"),
}
STAKEHOLDER_TYPES = ("organisation", "person")
#: The source of the staff picker: active users, not a record type of the search index.
USER_TYPE = "user"


def detail_url(hit: search.Hit) -> str:
    endpoint, arg = DETAIL_ENDPOINTS[hit.entity_type]
    values: dict[str, Any] = {arg: hit.entity_id}
    return url_for(endpoint, **values)


@bp.route("/search")
def index():
    text = (request.args.get("q") or "")[: search.MAX_QUERY]
    results = search.search(text) if text.strip() else None
    return render_template("search/index.html", q=text, results=results, detail_url=detail_url)


@bp.route("/search.json")
def suggest():
    """Typeahead for pickers: `?q=...&type=organisation` (several `type`s allowed).

    Each result's `name` is what a picker shows and keeps: a stakeholder's name with its
    Chinese name, in the order of the interface's language ("Wang Fang 王芳", "王芳 Wang
    Fang"). `type=user` asks for active colleagues instead (the staff picker), for those who
    may log interactions.
    """
    text = (request.args.get("q") or "")[: search.MAX_QUERY]
    requested = request.args.getlist("type")
    limit = min(max(request.args.get("limit", 10, type=int) or 10, 1), 50)
    if USER_TYPE in requested:
        return jsonify(query=text.strip(), results=_colleagues(text, limit=limit))
    types = [t for t in requested if t in search.ENTITY_TYPES]
    results = search.search(text, types=types or search.ENTITY_TYPES, limit=limit)
    hits = [hit for hits in results.groups.values() for hit in hits]
    names = stakeholders.display_names(
        [h.entity_id for h in hits if h.entity_type in STAKEHOLDER_TYPES],
        chinese_first=chinese_first(),
    )
    return jsonify(
        query=results.query,
        results=[
            {
                "type": hit.entity_type,
                "id": hit.entity_id,
                "label": hit.title,
                "name": names.get(hit.entity_id, hit.title)
                if hit.entity_type in STAKEHOLDER_TYPES
                else hit.title,
                "detail": _detail(hit, names),
                "url": detail_url(hit),
            }
            for hit in hits
        ],
    )


def _detail(hit: search.Hit, names: dict[int, str]) -> str:
    """The hit's second line without the Chinese name its `name` already shows."""
    if hit.entity_type not in STAKEHOLDER_TYPES or hit.entity_id not in names:
        return hit.subtitle
    shown = names[hit.entity_id]
    return " · ".join(
        part
        for part in hit.subtitle.split(" · ")
        if not (shown.startswith(f"{part} ") or shown.endswith(f" {part}"))
    )


def _colleagues(text: str, *, limit: int) -> list[dict[str, Any]]:
    """Active users matching `text`, as picker results (id and name only)."""
    if not can(current_user, Permission.EDIT_STAKEHOLDERS):
        raise PermissionDenied(_("You do not have permission to do that."))
    return [
        {"type": USER_TYPE, "id": user_id, "label": name, "name": name, "detail": ""}
        for user_id, name in accounts.find_colleagues(text, limit=limit)
    ]
