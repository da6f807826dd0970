"""Query: parse what a user typed, run it with filters and facet counts, cut snippets.

Plain words are ANDed and must each occur in the passage (or its heading or
title) as an exact substring, found through the bigram fields; jieba word
matches only add score, so word matches outrank bigram-only ones. When AND
finds almost nothing the query is relaxed to "most terms must match".
"""
from __future__ import annotations

import html
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, TypedDict
from urllib.parse import quote

from whoosh import highlight
from whoosh.analysis import Token
from whoosh.query import Or, Query, Term

import numpy as np

from search import analysis, docsets, enrich
from search.docsets import IndexView
from search.index import CURRENT, TOPICS_FILE, open_index
from search.serialize import INTERNAL, OPTIONAL, exact_keys, to_json

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MAX_LIMIT = 100
MAX_RESULT_DEPTH = 10_000
# Fewer strict hits than this and the query is relaxed to "most terms match".
RELAX_BELOW = 3
# A relaxed query scores exactly only this many of its best-covered passages (or the page depth).
RELAXED_SCORED = 200
# Results ranked (and cached) per query and filters, whatever page was asked for.
RANKED_DEPTH = 50
SNIPPET_CHARS = 180
# How much more a sentence holding a term as typed counts than one holding a synonym or sub-word.
TERM_WEIGHT = 10.0
FACETS = ("province", "city", "topic", "year")
FILTER_SYNTAX = re.compile(r"^(city|province|topic|year|城市|省份|主题|年份)[:：](.+)$")
FILTER_ALIASES = {"城市": "city", "省份": "province", "主题": "topic", "年份": "year"}
QUERY_TOKENS = re.compile(r'-?"[^"]*(?:"|$)|\S+')
UNSEARCHABLE = "查询中没有可检索的文字（只有符号）。请输入中文、字母或数字。"
WORD_BOOST = 3.0
GRAM_BOOST = 0.3
SYNONYM_BOOST = 0.6


class QueryError(ValueError):
    """Input the engine cannot answer; the message tells the user what to change."""


@dataclass(frozen=True)
class Filters:
    """Selected facet values: OR within a facet, AND across facets."""

    city: tuple[str, ...] = ()
    province: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    year: tuple[int, ...] = ()

    def merged(self, other: "Filters") -> "Filters":
        """Both selections together (values of the same facet are ORed)."""
        return Filters(*(tuple(dict.fromkeys(getattr(self, f) + getattr(other, f)))
                         for f in ("city", "province", "topic", "year")))

    def any(self) -> bool:
        return bool(self.city or self.province or self.topic or self.year)


@dataclass(frozen=True)
class Alternative:
    text: str
    exact: bool


@dataclass(frozen=True)
class ParsedQuery:
    """A query as typed: required clauses (each a set of OR'ed alternatives), exclusions, inline filters."""

    clauses: tuple[tuple[Alternative, ...], ...] = ()
    excluded: tuple[Alternative, ...] = ()
    filters: Filters = field(default_factory=Filters)
    unsearchable: bool = False  # something was typed, but nothing in it can be searched (only symbols)

    @property
    def empty(self) -> bool:
        return not self.clauses


@dataclass(frozen=True)
class SearchRequest:
    """Everything a search needs from the user."""

    q: str = ""
    filters: Filters = field(default_factory=Filters)
    page: int = 1
    limit: int = 10
    sort: str = "relevance"


@dataclass(frozen=True)
class Hit:
    """One passage found: its text, the snippet with the matches marked, and its report's facets."""

    doc_id: str
    title: str
    passage: int
    heading: str
    text: str
    snippet: str
    score: float
    province: str | None
    city: str | None
    county: str | None
    topics: list[str]
    year: int | None
    url: str


def document_url(doc_id: str, passage: int) -> str:
    """A passage on its report's page: the id percent-encoded (its folders stay readable)."""
    return f"/doc/{quote(doc_id, safe='/')}#p{passage}"


@dataclass(frozen=True)
class Bucket:
    """One facet value: how many passages it would return, and which selected filter values pick it."""

    value: str | int
    count: int
    parent: str | None = field(default=None, metadata=OPTIONAL)  # the province of a city
    # Raw filter values (short or full names) that select this value: what a link removes.
    selected_by: tuple = field(default=(), metadata=INTERNAL)
    selected: bool = field(init=False, default=False, metadata=OPTIONAL)

    def __post_init__(self):
        object.__setattr__(self, "selected", bool(self.selected_by))


@dataclass(frozen=True)
class SearchResult:
    """One page of results with facet counts; `to_json()` is the /api/search answer."""

    query: str
    total: int
    total_reports: int
    page: int
    limit: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[Bucket]] = field(metadata=exact_keys(FACETS))
    relaxed: bool = False
    filters: Filters = field(default_factory=Filters, metadata=INTERNAL)
    did_you_mean: str | None = field(default=None, metadata=OPTIONAL)
    notice: str | None = field(default=None, metadata=OPTIONAL)

    def to_json(self) -> dict:
        return to_json(self)

    @property
    def last_page(self) -> int:
        """The last page there is: where the results end, or where paging stops (MAX_RESULT_DEPTH)."""
        return min(math.ceil(self.total / self.limit), MAX_RESULT_DEPTH // self.limit)


def parse_query(text: str, lexicon: analysis.Lexicon | None = None) -> ParsedQuery:
    """Split user input into clauses: words (AND), "phrases", -exclusions, OR, field:value filters."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"查询过长：最多 {MAX_QUERY_CHARS} 个字符 (query too long: at most {MAX_QUERY_CHARS} characters)")
    clauses: list[list[Alternative]] = []
    excluded: list[Alternative] = []
    filters: dict[str, list] = {name: [] for name in ("city", "province", "topic", "year")}
    pending_or = False
    for raw in QUERY_TOKENS.findall(text):
        if raw == "OR" or raw == "|":
            pending_or = bool(clauses)
            continue
        negative = raw.startswith("-") and len(raw) > 1
        body = raw[1:] if negative else raw
        match = FILTER_SYNTAX.match(body) if not negative else None
        if match:
            name = FILTER_ALIASES.get(match.group(1), match.group(1))
            filters[name].append(_year(match.group(2)) if name == "year" else match.group(2))
            continue
        alternative = _alternative(body)
        if alternative is None:
            continue
        if negative:
            excluded.append(alternative)
        elif pending_or:
            clauses[-1].append(alternative)
        else:
            clauses.append([alternative])
        pending_or = False
    if sum(len(c) for c in clauses) + len(excluded) > MAX_TERMS:
        raise QueryError(f"查询词过多：最多 {MAX_TERMS} 个 (too many terms: at most {MAX_TERMS})")
    inline = Filters(*(tuple(filters[n]) for n in ("city", "province", "topic", "year")))
    return ParsedQuery(tuple(tuple(c) for c in clauses), tuple(excluded), inline,
                       unsearchable=bool(text.strip()) and not (clauses or excluded or inline.any()))


def _year(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise QueryError(f"年份必须是数字：{value} (year must be a number)") from None


def _alternative(raw: str) -> Alternative | None:
    exact = raw.startswith('"')
    text = analysis.compact(raw.strip('"'))
    if not exact:
        text = text.strip("\"'“”‘’()（）《》【】[]<>,，.。!！?？;；:：、")
    if not any(analysis.is_word_char(c) for c in text):
        return None
    return Alternative(text, exact)


def scoring_query(text: str) -> Query:
    """How a term scores: jieba word matches in the text and in the heading and report title
    the passage shares (field boosts apply); bigrams add a little for strings jieba does not
    know. An Or of Terms: the form IndexView.bm25f_scores computes in arrays."""
    if len(text) == 1:
        return Or([Term(f, text, boost=WORD_BOOST) for f in ("text", "heading_words")])
    words = [text] if analysis.is_dictionary_word(text) else [w for w in analysis.cut(text) if len(w) > 1]
    # Bigram terms are long posting lists: only for strings jieba finds no word in.
    grams = [] if words else [Term("grams", g, boost=GRAM_BOOST) for g in analysis.query_grams(text)]
    return Or([Term(f, w, boost=WORD_BOOST) for w in words for f in ("text", "heading_words", "title_words")]
              + grams)


def _expanded(clause: tuple[Alternative, ...], lexicon: analysis.Lexicon) -> list[tuple[Alternative, float]]:
    """A clause's alternatives with their synonyms, and the boost of each."""
    expanded = []
    for alt in clause:
        expanded.append((alt, 1.0))
        if not alt.exact:
            expanded.extend((Alternative(s, False), SYNONYM_BOOST) for s in lexicon.synonyms_of(alt.text))
    return expanded


def relaxed_units(parsed: ParsedQuery, lexicon: analysis.Lexicon) -> list[tuple[Alternative, ...]]:
    """The clauses a relaxed search counts: long plain terms split into words, stopwords left out."""
    units: list[tuple[Alternative, ...]] = []
    for clause in parsed.clauses:
        if len(clause) > 1 or clause[0].exact or analysis.is_dictionary_word(clause[0].text):
            units.append(clause)
            continue
        # Single characters left over by the split (会, 新) match almost everything.
        words = [w for w in analysis.cut(clause[0].text) if w not in lexicon.stopwords and len(w) > 1]
        units.extend((Alternative(w, False),) for w in dict.fromkeys(words))
    return units


class Engine:
    """The search engine over one index directory; safe to share between threads."""

    def __init__(self, index_dir: Path, gazetteer: enrich.Gazetteer | None = None,
                 topics: enrich.TopicRules | None = None, lexicon: analysis.Lexicon | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.index_dir = Path(index_dir)
        self.gazetteer = gazetteer or enrich.Gazetteer.load()
        self.topics = topics or enrich.TopicRules.load(TOPICS_FILE)
        self.lexicon = lexicon or analysis.Lexicon.load()
        self.clock = clock
        analysis.segmenter()  # load jieba now, not during the first user's query
        self._local = threading.local()
        self._views: dict = {}
        self._views_lock = threading.Lock()

    # -- index access -------------------------------------------------
    def view(self) -> tuple[object, IndexView]:
        """This thread's Whoosh searcher, reopened after a reindex or rebuild, and the
        shared view (columns, cached doc sets) of the index version it reads."""
        link = _link_target(self.index_dir)
        searcher = getattr(self._local, "searcher", None)
        if searcher is None or self._local.link != link or not searcher.up_to_date():
            if searcher is not None:
                searcher.close()
            searcher = open_index(self.index_dir).searcher()
            self._local.searcher, self._local.link = searcher, link
        key = (link, searcher.reader().generation())
        with self._views_lock:  # one thread builds a new version's view; the others wait for it
            view = self._views.get(key)
            if view is None:
                view = IndexView(key, searcher)
                # Keep the previous version too: other threads may still be reading it.
                self._views = {k: v for k, v in list(self._views.items())[-1:]}
                self._views[key] = view
        return searcher, view

    def close(self) -> None:
        """Close the searcher of the calling thread (each thread that searched holds one)."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None

    # -- search -------------------------------------------------------
    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search: hits of the requested page, totals and disjunctive facet counts;
        took_ms covers all of it, snippets and did-you-mean included."""
        started = self.clock()
        result = self._results(request)
        return replace(result, took_ms=round((self.clock() - started) * 1000, 1))

    def _results(self, request: SearchRequest) -> SearchResult:
        _check_paging(request)
        parsed = parse_query(request.q, self.lexicon)
        filters = request.filters.merged(parsed.filters)
        searcher, view = self.view()
        allowed = {facet: self._filter_docs(searcher, view, facet, getattr(filters, facet)) for facet in FACETS}
        selected = [docs for docs in allowed.values() if docs is not None]
        matching = self._matching(searcher, view, parsed, selected)
        hits = docsets.intersect([matching.docs] + selected)
        facets = {facet: self._facet_counts(view, facet, matching.docs, allowed, filters) for facet in FACETS}
        docnums, scores = self._page(searcher, view, matching, hits, request,
                                     key=(parsed.clauses, parsed.excluded, filters))
        return SearchResult(
            query=request.q, total=len(hits), total_reports=int(np.count_nonzero(np.bincount(view.columns.doc_ids[hits]))),
            page=request.page, limit=request.limit, took_ms=0.0,
            hits=[self._hit(searcher, d, s, parsed, matching.relaxed) for d, s in zip(docnums, scores)],
            facets=facets, relaxed=matching.relaxed, filters=filters,
            did_you_mean=self.did_you_mean(request.q) if not len(hits) and not parsed.empty else None,
            notice=UNSEARCHABLE if parsed.unsearchable else None)

    def _alternative_docs(self, searcher, view: IndexView, alt: Alternative) -> np.ndarray:
        """Passages containing the term: in the text, or (unquoted) in the heading or title."""
        docs = view.substring_docs(searcher, alt.text, "text")
        if alt.exact:
            return docs
        return docsets.union([docs, view.substring_docs(searcher, alt.text, "heading")])

    def _clause_docs(self, searcher, view: IndexView, clause) -> np.ndarray:
        return docsets.union([self._alternative_docs(searcher, view, alt)
                              for alt, _ in _expanded(clause, self.lexicon)])

    def _in_text(self, searcher, view: IndexView, clauses) -> np.ndarray:
        """Passages where some term occurs in the text itself: a title or heading match
        alone only gives context."""
        return docsets.union([view.substring_docs(searcher, alt.text, "text")
                              for c in clauses for alt, _ in _expanded(c, self.lexicon)])

    def _scoring(self, clauses) -> Query:
        return Or([scoring_query(alt.text).with_boost(boost)
                   for c in clauses for alt, boost in _expanded(c, self.lexicon)])

    def _matching(self, searcher, view: IndexView, parsed: ParsedQuery, selected: list) -> "_Matching":
        """What the query matches before facet filters, and how to rank it.

        Strict AND first; when that leaves fewer than RELAX_BELOW hits after the
        filters, passages holding most of the terms join, ranked by how many they hold.
        """
        if parsed.unsearchable:
            return _Matching(docsets.EMPTY)
        excluded = docsets.union([self._alternative_docs(searcher, view, a) for a in parsed.excluded])
        if parsed.empty:
            return _Matching(docsets.difference(view.passages, excluded))
        strict = docsets.intersect([self._clause_docs(searcher, view, c) for c in parsed.clauses]
                                   + [self._in_text(searcher, view, parsed.clauses), view.passages])
        strict = docsets.difference(strict, excluded)
        units = relaxed_units(parsed, self.lexicon)
        if len(docsets.intersect([strict] + selected)) >= RELAX_BELOW or len(units) < 2:
            return _Matching(strict, self._scoring(parsed.clauses))
        unit_docs = [self._clause_docs(searcher, view, u) for u in units]
        held = np.zeros(len(view.columns.passages), dtype=np.int32)
        weight = np.zeros(len(held))
        for unit in unit_docs:
            held[unit] += 1
            # Rarer terms say more: idf-weighted coverage orders passages that hold equally many.
            weight[unit] += math.log(1 + len(view.passages) / max(1, len(unit)))
        needed = max(1, math.ceil(len(units) * 2 / 3))
        covered = np.flatnonzero(held >= needed).astype(np.int32)
        relaxed = docsets.intersect([covered, self._in_text(searcher, view, units), view.passages])
        relaxed = docsets.difference(relaxed, excluded)
        # Strict hits hold every term: they come first.
        weight[strict] = weight.max(initial=0.0)
        held[strict] = len(units)
        return _Matching(docsets.union([strict, relaxed]), self._scoring(units), _Coverage(held, weight))

    def _filter_docs(self, searcher, view: IndexView, facet: str, values: tuple) -> np.ndarray | None:
        """Passages one facet's selection allows (OR of its values), or None when nothing is selected."""
        if not values:
            return None
        if facet == "year":
            return view.cached(("year", values), lambda: docsets.intersect([
                np.flatnonzero(np.isin(view.columns.years, [int(v) for v in values])).astype(np.int32),
                view.passages]))
        if facet == "topic":
            terms = [("topics", name) for v in values for name in self.topics.expand(str(v))]
        else:
            level = "province" if facet == "province" else "city"
            terms = [("areas", div.code) for v in values for div in self.gazetteer.resolve(str(v), level)]
        return docsets.union([view.term_docs(searcher, field, text) for field, text in terms])

    def _facet_counts(self, view: IndexView, facet: str, matches: np.ndarray, allowed: dict,
                      filters: Filters) -> list[Bucket]:
        """Passage counts per value, as if this facet's own selection were not applied."""
        base = docsets.intersect([matches] + [d for f, d in allowed.items() if f != facet and d is not None])
        columns = view.columns
        if facet == "topic":
            counts = dict(zip(columns.topic_names, columns.topics[base].sum(axis=0).tolist()))
        elif facet == "year":
            numbers = np.bincount(columns.years[base])
            values = np.flatnonzero(numbers)
            counts = dict(zip(values.tolist(), numbers[values].tolist()))
        else:
            codes, names = ((columns.provinces, columns.province_names) if facet == "province"
                            else (columns.cities, columns.city_names))
            counts = dict(zip(names, np.bincount(codes[base], minlength=len(names)).tolist()))
        counts = {value: n for value, n in counts.items() if value and n}
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], -kv[0] if facet == "year" else 0, str(kv[0])))
        selection = getattr(filters, facet)
        return [Bucket(value, count, view.parents.get(value) if facet == "city" else None,
                       tuple(v for v in selection if value in self.selects(facet, v)))
                for value, count in ordered]

    def highlight_terms(self, parsed: ParsedQuery, relaxed: bool) -> list[str]:
        """Every string whose occurrences a hit's snippet marks: terms, their synonyms, relaxed sub-words."""
        clauses = parsed.clauses + (tuple(relaxed_units(parsed, self.lexicon)) if relaxed else ())
        return list(dict.fromkeys(alt.text for c in clauses for alt, _ in _expanded(c, self.lexicon)))

    def selects(self, facet: str, value) -> set:
        """The facet values (full names) a filter value selects: 石家庄 -> {石家庄市}, 三献 -> three topics."""
        if facet == "year":
            return {int(value)}
        if facet == "topic":
            return set(self.topics.expand(str(value)))
        level = "province" if facet == "province" else "city"
        return {div.name for div in self.gazetteer.resolve(str(value), level)}

    def did_you_mean(self, q: str) -> str | None:
        """The query with unknown words replaced by close indexed words (edit distance 1), if any."""
        parsed = parse_query(q, self.lexicon)
        searcher, _ = self.view()
        original = corrected = analysis.normalize(q)
        for alt in (a for c in parsed.clauses for a in c if not a.exact and len(a.text) > 1):
            if searcher.doc_frequency("text", alt.text) == 0:
                close = searcher.suggest("text", alt.text, limit=1, maxdist=1, prefix=1)
                if close:
                    corrected = corrected.replace(alt.text, close[0])
        return corrected if corrected != original else None

    def _page(self, searcher, view: IndexView, matching: "_Matching", hits: np.ndarray,
              request: SearchRequest, key) -> tuple[list[int], list[float]]:
        """Docnums and scores of the requested page."""
        start = (request.page - 1) * request.limit
        end = start + request.limit
        if not len(hits):
            return [], []
        if matching.scoring is not None and request.sort != "date":
            # Rank a few pages at once and keep them: the next page, a facet toggled back,
            # or the same popular query from another user reuse the ranking.
            depth = max(end, RANKED_DEPTH)
            ranked = view.cached(("ranked", key, depth), lambda: self._ranked(searcher, view, matching, hits, depth))
            page = ranked[start:end]
            return [d for d, _ in page], [round(s, 3) for _, s in page]
        # Browsing, or by date: newest first, then report and passage order.
        columns = view.columns
        keys = (columns.passages[hits], columns.doc_ids[hits])
        if request.sort == "date":
            keys += (-columns.years[hits],)
        page = hits[np.lexsort(keys)][start:end].tolist()
        return page, [0.0] * len(page)

    def _ranked(self, searcher, view: IndexView, matching: "_Matching", hits: np.ndarray,
                end: int) -> list[tuple[int, float]]:
        """The `end` best hits with their scores, best first (ties in index order).

        Passages the scoring terms do not reach (found only through the bigrams) score 0
        and come last; a relaxed query ranks by how many terms a passage holds first.
        """
        if matching.relaxed:
            held, weight = matching.coverage.at(hits)
            # Only the best-covered hits, with room to spare, get exact scores.
            candidates = np.sort(hits[np.lexsort((hits, -weight, -held))[:max(end, RELAXED_SCORED)]])
            scores = view.bm25f_scores(searcher, matching.scoring, candidates)
            order = np.lexsort((candidates, -scores, -matching.coverage.at(candidates)[0]))[:end]
        else:
            candidates = hits
            scores = view.bm25f_scores(searcher, matching.scoring, candidates)
            order = _top(scores, candidates, end)
        return list(zip(candidates[order].tolist(), scores[order].tolist()))

    def _hit(self, searcher, docnum: int, score: float, parsed: ParsedQuery, relaxed: bool) -> Hit:
        fields = searcher.stored_fields(docnum)
        topics = [t for t in fields.get("topics", "").split(",") if t]
        return Hit(
            doc_id=fields["doc_id"], title=fields.get("title", ""), passage=fields["passage"],
            heading=fields.get("heading", ""), text=fields["text"],
            snippet=snippet(fields["text"], self.highlight_terms(parsed, relaxed),
                            {alt.text: TERM_WEIGHT for c in parsed.clauses for alt in c}), score=score,
            province=fields.get("province") or None, city=fields.get("city") or None,
            county=fields.get("county") or None, topics=topics, year=fields.get("year") or None,
            url=document_url(fields["doc_id"], fields["passage"]))


def _link_target(index_dir: Path) -> str | None:
    """Where `current` points: a cheap way to notice that a rebuild swapped generations."""
    try:
        return os.readlink(index_dir / CURRENT)
    except OSError:
        return None


def _top(scores: np.ndarray, docs: np.ndarray, end: int) -> np.ndarray:
    """Indexes of the `end` highest scores, best first, equal scores in docnum order."""
    if len(scores) > end:
        threshold = np.partition(scores, len(scores) - end)[len(scores) - end]
        chosen = np.flatnonzero(scores >= threshold)
    else:
        chosen = np.arange(len(scores))
    return chosen[np.lexsort((docs[chosen], -scores[chosen]))][:end]


@dataclass(frozen=True)
class _Coverage:
    """Per docnum, for a relaxed query: how many of its units a passage holds, and their
    idf weight (rarer terms say more)."""

    held: np.ndarray
    weight: np.ndarray

    def at(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Units held and their weight for each of `docs`."""
        return self.held[docs], self.weight[docs]


@dataclass(frozen=True)
class _Matching:
    """Passages a query matches, the Whoosh query that scores them, and, when relaxed,
    how many of the query's terms each passage holds."""

    docs: np.ndarray
    scoring: Query | None = None
    coverage: _Coverage | None = None

    @property
    def relaxed(self) -> bool:
        return self.coverage is not None


def _check_paging(request: SearchRequest) -> None:
    if not 1 <= request.limit <= MAX_LIMIT:
        raise QueryError(f"limit 必须在 1 到 {MAX_LIMIT} 之间 (limit must be between 1 and {MAX_LIMIT})")
    if request.page < 1:
        raise QueryError("page 必须是正整数 (page must be 1 or more)")
    if request.page * request.limit > MAX_RESULT_DEPTH:
        raise QueryError(f"页码过大：只能浏览前 {MAX_RESULT_DEPTH} 条结果 (page too deep: only the first {MAX_RESULT_DEPTH} results can be paged)")
    if request.sort not in ("relevance", "date"):
        raise QueryError("sort 只能是 relevance 或 date (sort must be relevance or date)")


class _MarkFormatter(highlight.HtmlFormatter):
    """<mark> around matched text, everything else escaped; no classes or attributes."""

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=False)}</mark>"

    def _text(self, text):
        return html.escape(text, quote=False)


SENTENCE_ENDS = "。！？!?；;"
SNIPPET_FRAGMENTER = highlight.SentenceFragmenter(maxchars=SNIPPET_CHARS, sentencechars=SENTENCE_ENDS)
CONTEXT_FRAGMENTER = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=40)
SNIPPET_FORMATTER = _MarkFormatter(between="…")


def match_spans(text: str, needles: list[str], weights: dict[str, float] | None = None) -> list[tuple[int, int, float]]:
    """Character spans of `text` where any needle occurs (normalized, whitespace-insensitive),
    overlapping ones merged, each with the highest weight of the needles in it (default 1)."""
    norm = analysis.normalize(text)
    positions = [i for i, c in enumerate(norm) if not c.isspace()]
    compact = "".join(norm[i] for i in positions)
    spans = []
    for needle in set(filter(None, needles)):
        weight = (weights or {}).get(needle, 1.0)
        start = compact.find(needle)
        while start != -1:
            spans.append((positions[start], positions[start + len(needle) - 1] + 1, weight))
            start = compact.find(needle, start + 1)
    merged: list[tuple[int, int, float]] = []
    for start, end, weight in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), max(weight, merged[-1][2]))
        else:
            merged.append((start, end, weight))
    return merged


def _tokens(text: str, spans: list[tuple[int, int, float]]):
    """Whoosh tokens covering the text: each matched span one token (its weight as boost),
    other characters one each."""
    token = Token(positions=False, chars=True)
    cursor = 0
    for start, end, weight in spans + [(len(text), len(text), 0.0)]:
        for i in range(cursor, start):
            token.text, token.startchar, token.endchar, token.matched, token.boost = text[i], i, i + 1, False, 1.0
            yield token
        if end > start:
            token.text, token.startchar, token.endchar, token.matched = text[start:end], start, end, True
            token.boost = weight
            yield token
        cursor = end


def snippet(text: str, needles: list[str], weights: dict[str, float] | None = None) -> str:
    """HTML-safe excerpt around the best-matching sentences, matched characters in <mark>.

    `weights` ranks needles: the sentence holding the user's own terms beats one that
    only holds the sub-words of a relaxed query.
    """
    spans = match_spans(text, needles, weights)
    if spans:
        fragments = (list(SNIPPET_FRAGMENTER.fragment_tokens(text, _tokens(text, spans)))
                     # A sentence longer than a snippet: a window around the matches instead.
                     or list(CONTEXT_FRAGMENTER.fragment_tokens(text, _tokens(text, spans))))
        best = highlight.top_fragments(fragments, 1, highlight.BasicFragmentScorer(), highlight.SCORE)
        if best:
            fragment = _whole_sentences(text, best[0])
            prefix = "…" if fragment.startchar > 0 else ""
            suffix = "…" if fragment.endchar < len(text) else ""
            return prefix + SNIPPET_FORMATTER.format_fragment(fragment) + suffix
    head = text[:SNIPPET_CHARS]
    return html.escape(head, quote=False) + ("…" if len(text) > SNIPPET_CHARS else "")


def _whole_sentences(text: str, fragment: highlight.Fragment) -> highlight.Fragment:
    """The fragment from its first sentence's first character to its last sentence's closing
    mark: Whoosh's SentenceFragmenter starts a fragment at the previous sentence's closing
    mark and ends it before its own."""
    first_match = min((t.startchar for t in fragment.matches), default=fragment.endchar)
    while fragment.startchar < first_match and text[fragment.startchar] in SENTENCE_ENDS:
        fragment.startchar += 1
    while fragment.endchar < len(text) and text[fragment.endchar] in SENTENCE_ENDS:
        fragment.endchar += 1
    return fragment


def highlighted(text: str, needles: list[str]) -> str:
    """The whole text as HTML, every match in <mark>: marked first, then escaped, so a
    term never matches inside an entity (q=amp leaves `&` alone)."""
    pieces, cursor = [], 0
    for start, end, _ in match_spans(text, needles):
        pieces += [html.escape(text[cursor:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        cursor = end
    return "".join(pieces) + html.escape(text[cursor:])


@dataclass(frozen=True)
class FacetRow:
    value: str | int
    reports: int
    passages: int


@dataclass(frozen=True)
class Overview:
    """The collection at a glance: reports and passages per facet value."""

    reports: int
    passages: int
    facets: dict[str, list[FacetRow]]
    built_at: float | None

    def to_json(self) -> dict:
        return {"reports": self.reports, "passages": self.passages, "built_at": self.built_at,
                "facets": {name: [row.__dict__ for row in rows] for name, rows in self.facets.items()}}


class DocumentPassage(TypedDict):
    """One passage of a report in the document view."""

    passage: int
    role: str
    heading: str
    text: str
    topics: list[str]
    province: str | None
    city: str | None
    county: str | None


@dataclass(frozen=True)
class DocumentView:
    """A whole report as stored in the index."""

    doc_id: str
    title: str
    format: str
    source: str
    province: str | None
    city: str | None
    county: str | None
    year: int | None
    passages: list[DocumentPassage]


# An id is whatever the file name held (spaces, brackets, dots, folders with `/`); it is
# only ever looked up in the index. Control characters and absurd lengths are no id.
MAX_DOC_ID_CHARS = 1000
NOT_IN_DOC_IDS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def overview(engine: Engine) -> Overview:
    """Reports and passages per province, city, topic and year, computed once per index version."""
    _, view = engine.view()
    return view.cached("overview", lambda: _overview(view, _built_at(engine.index_dir)))


def _built_at(index_dir: Path) -> float | None:
    """When the index was last written: its last commit (the report records hold the
    time too, but reading them would load every report's full text)."""
    try:
        return open_index(index_dir).last_modified()
    except OSError:
        return None


def _overview(view: IndexView, built_at: float | None) -> Overview:
    columns, passages = view.columns, view.passages
    doc_ids = columns.doc_ids[passages]
    per_value = {
        "province": [(columns.province_names[c], columns.provinces[passages] == c)
                     for c in range(1, len(columns.province_names))],
        "city": [(columns.city_names[c], columns.cities[passages] == c) for c in range(1, len(columns.city_names))],
        "topic": [(name, columns.topics[passages, i] == 1) for i, name in enumerate(columns.topic_names)],
        "year": [(int(y), columns.years[passages] == y) for y in np.unique(columns.years[passages]) if y],
    }
    facets = {facet: sorted((FacetRow(value, len(np.unique(doc_ids[mask])), int(mask.sum()))
                             for value, mask in rows if mask.any()),
                            key=lambda row: (-row.passages, str(row.value)))
              for facet, rows in per_value.items()}
    return Overview(len(np.unique(doc_ids)), len(passages), facets, built_at)


def document(engine: Engine, doc_id: str) -> DocumentView | None:
    """A report by id, or None when there is no such report (ids never touch the filesystem)."""
    if not 0 < len(doc_id) <= MAX_DOC_ID_CHARS or NOT_IN_DOC_IDS.search(doc_id):
        return None
    searcher, _ = engine.view()
    record = searcher.document(key=doc_id, kind="doc")
    if record is None:
        return None
    passages = sorted((f for f in searcher.documents(doc_id=doc_id, kind="passage")),
                      key=lambda f: f["passage"])
    return DocumentView(
        doc_id=doc_id, title=record.get("title", doc_id), format=record.get("format", "txt"),
        source=record.get("source", ""), province=record.get("province") or None,
        city=record.get("city") or None, county=record.get("county") or None,
        year=record.get("year") or None,
        passages=[DocumentPassage(passage=p["passage"], role=p.get("role", "paragraph"),
                                  heading=p.get("heading", ""), text=p["text"],
                                  topics=[t for t in p.get("topics", "").split(",") if t],
                                  province=p.get("province") or None, city=p.get("city") or None,
                                  county=p.get("county") or None) for p in passages])


def suggestions(engine: Engine, prefix: str, limit: int = 8) -> list[str]:
    """Indexed words starting with what the user has typed, most frequent first."""
    norm = "".join(analysis.normalize(prefix).split())
    if not norm or len(norm) > 50:
        return []
    reader = engine.view()[0].reader()
    words = [(reader.doc_frequency("text", w), w.decode() if isinstance(w, bytes) else w)
             for w in reader.expand_prefix("text", norm)]
    return [w for _, w in sorted(words, key=lambda fw: (-fw[0], fw[1])) if w != norm][:limit]
