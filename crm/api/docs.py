"""The OpenAPI document and a page that lists its operations, drawn on the server from the
document itself: no CDN, no copied assets, no script (the CSP allows none inline)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint as SmorestBlueprint

from crm.api import bp

METHODS = ("get", "post", "put", "patch", "delete")


def spec() -> dict[str, Any]:
    return current_app.extensions["crm_api"].spec.to_dict()


def openapi_json() -> ResponseReturnValue:
    return jsonify(spec())


def operations(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The document's operations grouped by tag, in the order of the document."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["api"])[0]
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            groups.setdefault(tag, []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [p.get("name", "") for p in parameters],
                    "body": _ref_name(body.get("schema", {})),
                    "responses": sorted(operation.get("responses", {})),
                }
            )
    return list(groups.items())


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def docs() -> ResponseReturnValue:
    document = spec()
    return render_template(
        "api/docs.html",
        groups=operations(document),
        schemas=document.get("components", {}).get("schemas", {}),
        info=document.get("info", {}),
    )


# Flask's own add_url_rule: flask-smorest would list these two in the document itself.
_add = super(SmorestBlueprint, bp).add_url_rule
_add("/openapi.json", "openapi_json", openapi_json, methods=["GET"])
_add("/docs", "docs", docs, methods=["GET"])
