"""HTML pages: search, document view, overview. They only render what the engine returns."""
from __future__ import annotations

import re

import markdown
import nh3
from flask import Blueprint, abort, render_template, request, url_for
from markupsafe import Markup, escape

from search.query import QueryError, match_spans, overview, document, parse_query
from web.engine import get_engine, search_request

bp = Blueprint("pages", __name__)


@bp.get("/")
def search_page():
    """The search page: query box, results grouped by report, facets."""
    error = result = None
    try:
        req = search_request(request.args)
        if req.q.strip() or req.filters.any():
            result = get_engine().search(req)
    except QueryError as exc:
        error, req = str(exc), None
    except FileNotFoundError:
        error, req = "索引尚未建立，请先运行 rcsearch index。", None
    return render_template("search.html", result=result, error=error, args=request.args,
                           groups=_grouped(result.hits) if result else [],
                           facet_url=_facet_url), 400 if error and req is None and "索引" not in error else 200


def _grouped(hits):
    """Consecutive hits of one report under one heading, in rank order of their best passage."""
    groups: dict[str, list] = {}
    for hit in hits:
        groups.setdefault(hit.doc_id, []).append(hit)
    return list(groups.values())


def _facet_url(name: str, value, remove: bool = False) -> str:
    """The current search with one facet value toggled (page reset)."""
    args = request.args.to_dict(flat=False)
    values = [v for v in args.get(name, []) if v != str(value)]
    if not remove and str(value) not in args.get(name, []):
        values.append(str(value))
    args[name] = values
    args.pop("page", None)
    return url_for("pages.search_page", **{k: v for k, v in args.items() if v})


@bp.get("/doc/<doc_id>")
def document_page(doc_id):
    """A whole report, query terms highlighted, with a table of contents."""
    view = document(get_engine(), doc_id)
    if view is None:
        abort(404)
    q = request.args.get("q", "")
    try:
        needles = [a.text for c in parse_query(q).clauses for a in c]
    except QueryError:
        needles = []
    lead = [p for p in view.passages if p["role"] == "lead"]
    sections = [{"heading": "", "anchor": None, "passages": []}]
    for p in view.passages:
        if p["role"] == "heading":
            sections.append({"heading": p["text"], "anchor": f"p{p['passage']}", "passages": []})
        elif p["role"] == "paragraph":
            sections[-1]["passages"].append(
                {"number": p["passage"], "html": _passage_html(p["text"], view.format, needles)})
    lead_lines = [line for p in lead for line in p["text"].split("\n") if line != view.title]
    return render_template("document.html", doc=view, sections=sections, lead_lines=lead_lines,
                           lead_anchor=f"p{lead[0]['passage']}" if lead else None, q=q)


def _passage_html(text: str, fmt: str, needles: list[str]) -> Markup:
    """Passage text as safe HTML: Markdown rendered and sanitized for .md, escaped for .txt; terms marked."""
    if fmt == "md":
        rendered = nh3.clean(markdown.markdown(text), tags={"strong", "em", "code", "a", "p", "br"},
                             url_schemes={"http", "https", "mailto"})
    else:
        rendered = f"<p>{escape(text)}</p>"
    return Markup(_mark_html(rendered, needles))


def _mark_html(rendered: str, needles: list[str]) -> str:
    """Wrap query terms in <mark> inside the text (never inside tags) of sanitized HTML."""
    if not needles:
        return rendered
    parts = re.split(r"(<[^>]+>)", rendered)
    out = []
    for part in parts:
        if part.startswith("<"):
            out.append(part)
            continue
        spans = match_spans(part, needles)
        cursor, pieces = 0, []
        for start, end in spans:
            pieces += [part[cursor:start], "<mark>", part[start:end], "</mark>"]
            cursor = end
        out.append("".join(pieces) + part[cursor:])
    return "".join(out)


@bp.get("/overview")
def overview_page():
    """The collection at a glance."""
    try:
        data = overview(get_engine())
    except FileNotFoundError:
        data = None
    return render_template("overview.html", data=data)
