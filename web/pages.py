"""HTML pages: search, document view, overview. They only render what the engine returns."""
from __future__ import annotations

import re
import time
from dataclasses import replace
from html.parser import HTMLParser

import markdown
import nh3
from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from markupsafe import Markup

from search import topics
from search.facets import FACETS
from search.figure_search import amount_text, search_figures
from search.lookups import document, original_file, overview, passage_by_anchor, passage_figures
from search.querylang import QueryError
from search.results import DocumentView, figure_mark
from search.snippets import highlighted
from web.engine import figure_request, get_engine, search_request

bp = Blueprint("pages", __name__)


# The 数字 view (view=figures) and what it takes of the figures: kept in the URL like the search.
FIGURES_VIEW = "figures"
FIGURE_ARGS = ("view", "unit", "min", "max", "approx")
SEARCH_ARGS = ("q", *(facet.name for facet in FACETS), "sort", "page", "limit", "correct", "places", *FIGURE_ARGS)


@bp.app_context_processor
def facet_definitions() -> dict:
    """Every template lays out the facets from their definitions."""
    return {"facets": FACETS}


@bp.app_context_processor
def export_links() -> dict:
    """The search page offers its results for download, up to the export limit."""
    return {"export_url": _export_url, "export_max_rows": current_app.config["EXPORT_MAX_ROWS"]}


@bp.app_context_processor
def figure_links() -> dict:
    """The search page's two views link to each other; the 数字 view's rows to their figures."""
    return {"tab_url": _tab_url, "figure_export_url": _figure_export_url, "figure_link": _figure_link}


bp.add_app_template_filter(amount_text, "amount")


@bp.get("/")
def search_page():
    """The search page: query box, results grouped by report, facets; or its 数字 view."""
    if request.args.get("view") == FIGURES_VIEW:
        return _figures_page()
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


def _figures_page():
    """The search page's 数字 view: the figures of the passages the search returns, as a table
    (every passage's when nothing is asked), with unit counts and the search's facets."""
    error = result = figure_result = None
    status = 200
    try:
        search, query = figure_request(request.args)
        result = get_engine().search(replace(search, limit=1))  # totals, facets and corrections
        figure_result = search_figures(get_engine(), search, query)
    except QueryError as exc:
        error, status = str(exc), 400
    return render_template("search.html", result=result, error=error, args=request.args, groups=[],
                           understood=_understood(result.understood) if result else [],
                           chips=_chips() + _figure_chips(), state=_search_state(), url=_search_url,
                           figure_result=figure_result, figure_limit=query.limit if figure_result else 0), status


def _tab_url(view: str | None) -> str:
    """The current search in the passages view (None) or the 数字 view: what only one view
    takes (a unit, a range, an order by value, a page size) is left behind."""
    sort = request.args.get("sort")
    return _search_url(view=view, unit=None, min=None, max=None, approx=None, limit=None,
                       sort=sort if sort in ("relevance", "date") else None)


FIGURE_CHIPS = {"unit": "单位", "min": "数值不小于", "max": "数值不大于", "approx": "约数"}
APPROX_CHIPS = {"true": "只看约数", "1": "只看约数", "false": "只看确数", "0": "只看确数"}


def _figure_chips() -> list[tuple[str, str, str]]:
    """(label, value, URL without it) for the unit, range and exactness the 数字 view filters by."""
    chips = []
    for name, label in FIGURE_CHIPS.items():
        value = request.args.get(name, "").strip()
        if value:
            shown = APPROX_CHIPS.get(value.lower(), value) if name == "approx" else value
            chips.append((label, shown, _search_url(**{name: None})))
    return chips


def _figure_link(figure) -> str:
    """A figure (results.FigureHit) in its passage on the report's page, marked; the page keeps the
    search, to mark its terms and to come back to it."""
    target = url_for("pages.document_page", doc_id=figure.doc_id, mark=figure.mark, **_search_state())
    return f"{target}#p{figure.passage}"


def _figure_export_url(fmt: str) -> str:
    """Every figure of the 数字 view's search, as `fmt` (search.export.FIGURE_FORMATS)."""
    state = {k: v for k, v in _search_state().items() if k not in ("page", "limit", "view")}
    return url_for("api.api_figures_export", format=fmt, **state)


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
    state = _search_state()
    span = MARK.fullmatch(request.args.get("mark", ""))
    if span and span["passage"] is None:  # a figure of this passage: the document page names it
        state["mark"] = [figure_mark(int(span["start"]), int(span["end"]), passage["passage"])]
    target = url_for("pages.document_page", doc_id=doc_id, **state)
    return redirect(f"{target}#p{passage['passage']}")


PASSAGE_GONE = ("这个链接指向的段落已修改或已删除，无法定位到原段落；下面是这篇报告的当前全文。"
                "(The passage this link points to has changed or is gone.)")


# Characters of a passage a link asks the document page to mark (results.figure_mark): P:S-E on
# the document page, S-E on a passage's permalink, which names the passage.
MARK = re.compile(r"(?:(?P<passage>[0-9]{1,7}):)?(?P<start>[0-9]{1,7})-(?P<end>[0-9]{1,7})")
MARK_GONE = ("链接要标出的数字已不在这篇报告的这一段中（报告可能已更新）；下面是这篇报告的当前全文。"
             "(The figure this link marks is no longer in that passage.)")


def _marked_figure(view: DocumentView) -> tuple[int, int, int] | None:
    """(passage, start, end) of the figure the page's link marks, or None when it marks none: only
    a figure the passage states is marked, so a link into a report that has changed since marks
    nothing rather than the wrong characters."""
    span = MARK.fullmatch(request.args.get("mark", ""))
    if span is None or span["passage"] is None:
        return None
    passage, start, end = int(span["passage"]), int(span["start"]), int(span["end"])
    stated = {(f.start, f.end) for f in passage_figures(get_engine(), view.doc_id, passage)}
    return (passage, start, end) if (start, end) in stated else None


def _document_page(view: DocumentView, notice: str | None = None) -> str:
    """The document view of a report (with a notice above it, if any), the figure a link marks
    marked."""
    q = request.args.get("q", "")
    needles = _searched_terms() if q.strip() else []
    figure = _marked_figure(view)
    if figure is None and request.args.get("mark"):
        notice = notice or MARK_GONE
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
                                             "html": _passage_html(p["text"], view.format, needles,
                                                                   figure[1:] if figure and figure[0] == p["passage"]
                                                                   else None),
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


def _passage_html(text: str, fmt: str, needles: list[str], figure: tuple[int, int] | None = None) -> Markup:
    """Passage text as safe HTML, terms marked (and the characters of `figure`): Markdown rendered
    and sanitized for .md, escaped for .txt."""
    if fmt != "md":
        return Markup(f"<p>{highlighted(text, needles, figure)}</p>")
    rendered = nh3.clean(markdown.markdown(text), tags={"strong", "em", "code", "a", "p", "br"},
                         url_schemes={"http", "https", "mailto"})
    written = (text[figure[0]:figure[1]], text.count(text[figure[0]:figure[1]], 0, figure[0])) if figure else None
    return Markup(_TextMarker(needles, written).marked(rendered))


class _TextMarker(HTMLParser):
    """Sanitized HTML with its tags as they are and its text nodes marked: each node's
    text is unescaped, marked, then escaped again, so a term never matches inside an
    entity or a tag. A figure, given as its text and how many times that text comes
    before it in the Markdown, is marked where it stands in the rendered text (Markdown
    moves characters about but keeps a figure's digits and unit)."""

    def __init__(self, needles: list[str], figure: tuple[str, int] | None = None):
        super().__init__(convert_charrefs=True)
        self.needles = needles
        self.figure = figure
        self.nodes: list[tuple[bool, str]] = []  # (is text, its text or the tag as written)

    def marked(self, html: str) -> str:
        self.feed(html)
        self.close()
        span = self._figure_span("".join(node for is_text, node in self.nodes if is_text))
        parts, offset = [], 0
        for is_text, node in self.nodes:
            if not is_text:
                parts.append(node)
                continue
            inside = span and (max(span[0], offset) - offset, min(span[1], offset + len(node)) - offset)
            parts.append(highlighted(node, self.needles, inside if inside and inside[0] < inside[1] else None))
            offset += len(node)
        return "".join(parts)

    def _figure_span(self, text: str) -> tuple[int, int] | None:
        """Where the figure stands in the rendered text, or None when it is not there."""
        if self.figure is None:
            return None
        written, before = self.figure
        start = -len(written)
        for _ in range(before + 1):
            start = text.find(written, start + len(written))
            if start < 0:
                return None
        return start, start + len(written)

    def handle_data(self, data):
        if self.nodes and self.nodes[-1][0]:
            self.nodes[-1] = (True, self.nodes[-1][1] + data)
        else:
            self.nodes.append((True, data))

    def handle_starttag(self, tag, attrs):
        self.nodes.append((False, self.get_starttag_text()))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self.nodes.append((False, f"</{tag}>"))


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
