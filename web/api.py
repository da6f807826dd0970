"""JSON API: /api/search, /api/suggest, /api/documents/<id>, /openapi.json, /healthz."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from search.index import OutdatedIndexError
from search.query import QueryError, document, suggestions
from search.serialize import to_json
from web.answers import Error, Health, Suggestions
from web.engine import get_engine, search_request, unavailable_reason
from web.openapi import SPEC

bp = Blueprint("api", __name__)


def answer(result, status: int = 200):
    """A result object as the JSON response the OpenAPI document describes."""
    response = jsonify(to_json(result))
    response.status_code = status
    return response


@bp.errorhandler(QueryError)
def bad_query(error):
    return answer(Error(str(error)), 400)


@bp.get("/api/search")
def api_search():
    """Search passages; the answer is what `rcsearch search --json` prints."""
    return answer(get_engine().search(search_request(request.args)))


@bp.get("/api/suggest")
def api_suggest():
    """Completions for what the user has typed so far."""
    q = request.args.get("q", "")
    return answer(Suggestions(q, suggestions(get_engine(), q)))


@bp.get("/api/documents/<path:doc_id>", merge_slashes=False)
def api_document(doc_id):
    """One whole report with its passages."""
    view = document(get_engine(), doc_id)
    if view is None:
        return answer(Error(f"没有这个报告：{doc_id[:100]} (no such document)"), 404)
    return answer(view)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI description of this API."""
    return jsonify(SPEC)


@bp.get("/healthz")
def healthz():
    """Ready when the index can be searched; otherwise 503 with the reason and what to run."""
    try:
        get_engine().view()
    except FileNotFoundError as error:
        status = "outdated index" if isinstance(error, OutdatedIndexError) else "no index"
        return answer(Health(status, False, unavailable_reason(error)), 503)
    return answer(Health("ok", True))
