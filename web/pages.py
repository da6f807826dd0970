"""HTML pages: search, document view, overview. They only render what the engine returns."""
from __future__ import annotations

import time
from html.parser import HTMLParser

import markdown
import nh3
from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from markupsafe import Markup

from search import topics
from search.facets import FACETS
from search.lookups import document, original_file, overview, passage_by_anchor
from search.querylang import QueryError
from search.results import DocumentView
from search.snippets import highlighted
from web.engine import get_engine, search_request

bp = Blueprint("pages", __name__)


SEARCH_ARGS = ("q", *(facet.name for facet in FACETS), "sort", "page", "limit", "correct", "places")


@bp.app_context_processor
def facet_definitions() -> dict:
    """Every template lays out the facets from their definitions."""
    return {"facets": FACETS}


@bp.app_context_processor
def export_links() -> dict:
    """The search page offers its results for download, up to the export limit."""
    return {"export_url": _export_url, "export_max_rows": current_app.config["EXPORT_MAX_ROWS"]}


@bp.get("/")
def search_page():
    """The search page: query box, results grouped by report, facets."""
    error = result = None
    status = 200
    try:
        req = search_request(request.args)
        if req.q.strip() or req.filters.any():
            result = get_engine().search(req)
    except QueryError as exc:
        error, status = str(exc), 400
    return render_template("search.html", result=result, error=error, args=request.args,
                           groups=_grouped(result.hits) if result else [],
                           understood=_understood(result.understood) if result else [],
                           chips=_chips(), state=_search_state(), url=_search_url), status


def _grouped(hits):
    """Hits of one report under one heading, reports in the rank order of their best passage."""
    groups: dict[str, list] = {}
    for hit in hits:
        groups.setdefault(hit.doc_id, []).append(hit)
    return list(groups.values())


def _understood(understood) -> list[tuple[str, list[tuple[list[str], str | None]]]]:
    """Per word read as a place: the places it was read as, per facet, each group with the
    link that searches them as a filter instead (None when the word is joined to another by OR)."""
    words: dict[str, dict[str, list]] = {}
    for entry in understood:
        words.setdefault(entry.term, {}).setdefault(entry.facet, []).append(entry)
    return [(term, [([e.value for e in entries], None if entries[0].query is None else
                     _search_url(add={facet: [e.value for e in entries]}, q=entries[0].query or None))
                    for facet, entries in by_facet.items()])
            for term, by_facet in words.items()]


def _search_state() -> dict[str, list[str]]:
    """The current search as query-string lists (what every link on the page starts from)."""
    return {k: [v for v in request.args.getlist(k) if v.strip()] for k in SEARCH_ARGS if request.args.getlist(k)}


def _search_url(add: dict | None = None, remove: dict | None = None, **replace) -> str:
    """The current search changed: values added to or removed from facets, other arguments replaced.

    Any change but paging goes back to page 1.
    """
    state = _search_state()
    for name, values in (remove or {}).items():
        state[name] = [v for v in state.get(name, []) if v not in {str(x) for x in values}]
    for name, values in (add or {}).items():
        state[name] = state.get(name, []) + [str(v) for v in values if str(v) not in state.get(name, [])]
    state.update({k: [str(v)] if v is not None else [] for k, v in replace.items()})
    if "page" not in replace:
        state.pop("page", None)
    return url_for("pages.search_page", **{k: v for k, v in state.items() if v})


def _export_url(fmt: str) -> str:
    """The current search (every page of it) exported as `fmt` (search.export.FORMATS)."""
    state = {k: v for k, v in _search_state().items() if k not in ("page", "limit")}
    return url_for("api.api_export", format=fmt, **state)


def _chips() -> list[tuple[str, str, str]]:
    """(facet label, value, URL without it) for every selected filter value."""
    return [(facet.label, value, _search_url(remove={facet.name: [value]}))
            for facet in FACETS for value in request.args.getlist(facet.name) if value.strip()]


# An id is never normalized (no merged slashes, no redirect): it is looked up as it came.
@bp.get("/doc/<path:doc_id>", merge_slashes=False)
def document_page(doc_id):
    """A whole report, query terms highlighted, with a table of contents."""
    view = document(get_engine(), doc_id)
    if view is None:
        abort(404)
    return _document_page(view)


# A passage's permalink (search.results.passage_permalink): its report's id, then its anchor.
@bp.get("/p/<path:doc_id>/<anchor>", merge_slashes=False)
def passage_page(doc_id, anchor):
    """A permalink: the report at the passage with that text, wherever a reindex numbered it;
    the report with a notice (404) when no passage has that text any more."""
    view = document(get_engine(), doc_id)
    if view is None:
        abort(404)
    passage = passage_by_anchor(view, anchor)
    if passage is None:
        return _document_page(view, notice=PASSAGE_GONE), 404
    target = url_for("pages.document_page", doc_id=doc_id, **_search_state())
    return redirect(f"{target}#p{passage['passage']}")


PASSAGE_GONE = ("这个链接指向的段落已修改或已删除，无法定位到原段落；下面是这篇报告的当前全文。"
                "(The passage this link points to has changed or is gone.)")


def _document_page(view: DocumentView, notice: str | None = None) -> str:
    """The document view of a report (with a notice above it, if any)."""
    q = request.args.get("q", "")
    needles = _searched_terms() if q.strip() else []
    lead = [p for p in view.passages if p["role"] == "lead"]
    sections = [{"heading": "", "anchor": None, "passages": [], "reasons": []}]
    named = set()  # a text repeated in the report: its permalink names the first one
    for p in view.passages:
        if p["role"] == "heading":
            sections.append({"heading": p["text"], "anchor": f"p{p['passage']}", "passages": [],
                             "reasons": _topic_reasons(p)})
        elif p["role"] in ("paragraph", "byline"):
            sections[-1]["passages"].append({"number": p["passage"], "role": p["role"],
                                             "anchor": p["anchor"] if p["anchor"] not in named else None,
                                             "html": _passage_html(p["text"], view.format, needles),
                                             "reasons": _topic_reasons(p)})
            named.add(p["anchor"])
    lead_lines = [line for p in lead for line in p["text"].split("\n") if line != view.title]
    return render_template("document.html", args=request.args, doc=view, sections=sections, lead_lines=lead_lines,
                           notice=notice, lead_reasons=[r for p in lead for r in _topic_reasons(p)],
                           lead_anchor=f"p{lead[0]['passage']}" if lead else None,
                           back=url_for("pages.search_page", **{k: v for k, v in _search_state().items()
                                                               if k != "limit"}) if q else None)


# Where a word that gave a topic stood, as the document page names it.
WHERE = {topics.TEXT: "本段", topics.HEADING: "小标题", topics.TITLE: "标题", topics.NEIGHBOURS: "相邻段落"}


def _topic_reasons(passage) -> list[dict]:
    """Each topic of a passage with the words that gave it, grouped by where they stood, in
    the order WHERE lists the places: {"topic": 无偿献血, "sources": [("本段", ["献血", "献血者"])]}."""
    return [{"topic": topic,
             "sources": [(label, words) for where, label in WHERE.items()
                         if (words := [w.word for w in evidence if w.where == where])]}
            for topic, evidence in passage["topic_evidence"].items()]


def _searched_terms() -> list[str]:
    """What the search this page was opened from marked in its snippets: its terms as the
    engine searched them (corrections, synonyms, and sub-words when it was relaxed)."""
    try:
        return get_engine().select(search_request(request.args)).terms.highlights
    except QueryError:  # a link edited into a search the engine refuses: the report, unmarked
        return []


def _passage_html(text: str, fmt: str, needles: list[str]) -> Markup:
    """Passage text as safe HTML, terms marked: Markdown rendered and sanitized for .md, escaped for .txt."""
    if fmt != "md":
        return Markup(f"<p>{highlighted(text, needles)}</p>")
    rendered = nh3.clean(markdown.markdown(text), tags={"strong", "em", "code", "a", "p", "br"},
                         url_schemes={"http", "https", "mailto"})
    return Markup(_TextMarker(needles).marked(rendered))


class _TextMarker(HTMLParser):
    """Sanitized HTML with its tags as they are and its text nodes marked: each node's
    text is unescaped, marked, then escaped again, so a term never matches inside an
    entity or a tag."""

    def __init__(self, needles: list[str]):
        super().__init__(convert_charrefs=True)
        self.needles = needles
        self.parts: list[str] = []
        self.text: list[str] = []

    def marked(self, html: str) -> str:
        self.feed(html)
        self.close()
        self._flush()
        return "".join(self.parts)

    def _flush(self):
        self.parts.append(highlighted("".join(self.text), self.needles))
        self.text = []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        self._flush()
        self.parts.append(self.get_starttag_text())

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._flush()
        self.parts.append(f"</{tag}>")


@bp.get("/original/<path:doc_id>", merge_slashes=False)
def original_page(doc_id):
    """The file a report was indexed from, as a download, while it is still there unchanged."""
    original = original_file(get_engine(), doc_id)
    if original is None:
        abort(404)
    # The file that was checked, already open: a path would be opened again, and could be swapped first.
    response = send_file(original.file, as_attachment=True, download_name=original.name, etag=original.digest)
    response.content_length = original.size
    return response


@bp.get("/overview")
def overview_page():
    """The collection at a glance."""
    data = overview(get_engine())
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(data.built_at)) if data.built_at else None
    return render_template("overview.html", args=request.args, data=data, built=built)
