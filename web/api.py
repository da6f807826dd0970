"""JSON API: /api/search, /api/export, /api/figures, /api/figures/export, /api/suggest,
/api/documents/<id>, /openapi.json, /healthz."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from search import export
from search.figure_search import export_figures, search_figures
from search.index import OutdatedIndexError
from search.lookups import document, suggestions
from search.querylang import QueryError
from search.serialize import to_json
from web.answers import Error, Health, Suggestions
from web.engine import export_format, figure_request, get_engine, search_request, unavailable_reason
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


@bp.get("/api/export")
def api_export():
    """Every passage a search returns as CSV or JSON Lines, streamed, or its facet counts as CSV."""
    fmt = export_format(request.args)
    search = search_request(request.args)
    if fmt == "facets-csv":
        return _download(export.facets_csv(get_engine().facet_counts(search)), fmt, "rcsearch-facets.csv")
    # Counted and ordered now (a 400 when over the cap); the rows are read as they are sent.
    hits = get_engine().export(search, current_app.config["EXPORT_MAX_ROWS"]).hits
    if fmt == "csv":
        return _download(export.hits_csv(hits, request.url_root.rstrip("/")), fmt, "rcsearch.csv")
    return _download(export.hits_jsonl(hits), fmt, "rcsearch.jsonl")


@bp.get("/api/figures")
def api_figures():
    """The figures of the passages a search returns: one page, and the unit counts."""
    return answer(search_figures(get_engine(), *figure_request(request.args)))


@bp.get("/api/figures/export")
def api_figures_export():
    """Every figure /api/figures pages, as CSV or JSON Lines, streamed."""
    fmt = export_format(request.args, export.FIGURE_FORMATS)
    found = export_figures(get_engine(), *figure_request(request.args), current_app.config["EXPORT_MAX_ROWS"])
    if fmt == "csv":
        return _download(export.figures_csv(found, request.url_root.rstrip("/")), fmt, "rcsearch-figures.csv")
    return _download(export.figures_jsonl(found), fmt, "rcsearch-figures.jsonl")


def _download(lines, fmt: str, filename: str):
    """A streamed attachment: lines are sent as they are written."""
    response = current_app.response_class(lines, content_type=f"{export.FORMATS[fmt]}; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
