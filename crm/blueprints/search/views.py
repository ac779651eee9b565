from typing import Any

from flask import jsonify, render_template, request, url_for

from crm.blueprints.search import bp
from crm.services import search

DETAIL_ENDPOINTS = {
    "organisation": ("organisations.detail", "organisation_id"),
    "person": ("people.detail", "person_id"),
    "activity": ("activities.detail", "activity_id"),
    "interaction": ("interactions.detail", "interaction_id"),
}


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
    """Typeahead for pickers: `?q=...&type=organisation` (several `type`s allowed)."""
    text = (request.args.get("q") or "")[: search.MAX_QUERY]
    types = [t for t in request.args.getlist("type") if t in search.ENTITY_TYPES]
    limit = min(max(request.args.get("limit", 10, type=int) or 10, 1), 50)
    results = search.search(text, types=types or search.ENTITY_TYPES, limit=limit)
    return jsonify(
        query=results.query,
        results=[
            {
                "type": hit.entity_type,
                "id": hit.entity_id,
                "label": hit.title,
                "detail": hit.subtitle,
                "url": detail_url(hit),
            }
            for hits in results.groups.values()
            for hit in hits
        ],
    )
