"""Query: parse what a user typed, run it with filters and facet counts, cut snippets.

Plain words are ANDed and must each occur in the passage (or its heading or
title) as an exact substring, found through the bigram fields; jieba word
matches only add score, so word matches outrank bigram-only ones. When AND
finds almost nothing the query is relaxed to "most terms must match".
"""
from __future__ import annotations

import difflib
import hashlib
import html
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, TypedDict
from urllib.parse import quote

from whoosh import highlight
from whoosh.analysis import Token
from whoosh.query import Query

import numpy as np

from search import analysis, docsets, enrich, facets, ranking, spelling, whoosh_internals
from search.docsets import IndexView
from search.export import MAX_EXPORT_ROWS
from search.facets import BY_NAME, FACETS, FILTER_NAMES, Facet, Filters
from search.index import CURRENT, TOPICS_FILE, open_index
from search.serialize import INTERNAL, OPTIONAL, exact_keys, to_json

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MAX_LIMIT = 100
MAX_RESULT_DEPTH = 10_000
# Docnums an export takes from its order at a time; each hit is read only when it is written.
EXPORT_CHUNK = 500
# Results ranked (and cached) per query and filters, whatever page was asked for.
RANKED_DEPTH = 50
SNIPPET_CHARS = 180
# How much more a sentence holding a term as typed counts than one holding a synonym or sub-word.
TERM_WEIGHT = 10.0
FILTER_SYNTAX = re.compile(r"^(%s)[:：](.+)$" % "|".join(sorted(map(re.escape, FILTER_NAMES), key=len, reverse=True)))
QUERY_TOKENS = re.compile(r'-?"[^"]*(?:"|$)|\S+')
UNSEARCHABLE = "查询中没有可检索的词（只有符号或运算符）。请输入中文、字母或数字。"


class QueryError(ValueError):
    """Input the engine cannot answer; the message tells the user what to change."""


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
    correct: bool = True  # False: search exactly what was typed, never a correction


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
    level: str
    topics: list[str]
    year: int | None
    url: str
    permalink: str


def document_url(doc_id: str, passage: int) -> str:
    """A passage on its report's page: the id percent-encoded (its folders stay readable)."""
    return f"/doc/{quote(doc_id, safe='/')}#p{passage}"


def passage_anchor(text: str) -> str:
    """A passage's name that survives a reindex: a hash of its normalized text, so white space,
    width, case and traditional characters do not change it and any other edit does."""
    return hashlib.blake2b(analysis.compact(text).encode("utf-8"), digest_size=6).hexdigest()


def passage_permalink(doc_id: str, text: str) -> str:
    """A passage's permalink: it finds the passage by its text, wherever a reindex numbered it."""
    return f"/p/{quote(doc_id, safe='/')}/{passage_anchor(text)}"


@dataclass(frozen=True)
class Correction:
    """A term searched as another: a homophone typo (造血肝细胞 → 造血干细胞) or pinyin
    (wuchangxianxue → 无偿献血)."""

    from_: str = field(metadata={"json_name": "from"})
    to: str


@dataclass(frozen=True)
class Bucket:
    """One facet value: how many passages selecting it returns, the value it nests under (a
    city's province; None for facets that do not nest), and whether it is selected."""

    value: str | int
    count: int
    parent: str | None = None
    # Raw filter values (short or full names) that select this value: what a link removes.
    selected_by: tuple = field(default=(), metadata=INTERNAL)
    selected: bool = field(init=False, default=False)

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
    facets: dict[str, list[Bucket]] = field(metadata=exact_keys(tuple(f.name for f in FACETS)))
    # Per facet with more values than `facets` shows (FACET_SIZE), how many more.
    facets_more: dict[str, int] = field(default_factory=dict, metadata=OPTIONAL)
    relaxed: bool = False
    filters: Filters = field(default_factory=Filters, metadata=INTERNAL)
    did_you_mean: str | None = field(default=None, metadata=OPTIONAL)
    notice: str | None = field(default=None, metadata=OPTIONAL)
    # Terms that found nothing as typed, searched as what they sound like; the query searched.
    corrected: list[Correction] = field(default_factory=list, metadata=OPTIONAL)
    corrected_query: str | None = field(default=None, metadata=OPTIONAL)

    def to_json(self) -> dict:
        return to_json(self)

    @property
    def last_page(self) -> int:
        """The last page there is: where the results end, or where paging stops (MAX_RESULT_DEPTH)."""
        return min(math.ceil(self.total / self.limit), MAX_RESULT_DEPTH // self.limit)


@dataclass(frozen=True)
class Export:
    """Every passage a search returns: how many, and the hits in the order its pages show them,
    read as they are consumed."""

    total: int
    hits: Iterator[Hit]
    # As in SearchResult: terms searched as what they sound like, and the query searched.
    corrected: list[Correction] = field(default_factory=list)
    corrected_query: str | None = None


def parse_query(text: str, lexicon: analysis.Lexicon | None = None) -> ParsedQuery:
    """Split user input into clauses: words (AND), "phrases", -exclusions, OR, field:value filters."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"查询过长：最多 {MAX_QUERY_CHARS} 个字符 (query too long: at most {MAX_QUERY_CHARS} characters)")
    clauses: list[list[Alternative]] = []
    excluded: list[Alternative] = []
    filters: dict[str, list] = {facet.name: [] for facet in FACETS}
    # OR joins the two words beside it only; beside an exclusion or a filter it joins nothing.
    after_word = pending_or = False
    for raw in QUERY_TOKENS.findall(text):
        if raw == "OR" or raw == "|":
            pending_or = pending_or or after_word
            continue
        negative = raw.startswith("-") and len(raw) > 1
        body = raw[1:] if negative else raw
        match = FILTER_SYNTAX.match(body) if not negative else None
        if match:
            facet = BY_NAME[FILTER_NAMES[match.group(1)]]
            filters[facet.name].append(parse_filter_value(facet, match.group(2)))
            after_word = pending_or = False
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
        after_word, pending_or = not negative, False
    if sum(len(c) for c in clauses) + len(excluded) > MAX_TERMS:
        raise QueryError(f"查询词过多：最多 {MAX_TERMS} 个 (too many terms: at most {MAX_TERMS})")
    inline = Filters(**{name: tuple(values) for name, values in filters.items()})
    return ParsedQuery(tuple(tuple(c) for c in clauses), tuple(excluded), inline,
                       unsearchable=bool(text.strip()) and not (clauses or excluded or inline.any()))


def parse_filter_value(facet: Facet, value: str):
    """A filter value as typed, in its facet's type; QueryError when it is not one (year=abc)."""
    try:
        return facet.parse(value)
    except ValueError:
        raise QueryError(f"{facet.label}必须是数字：{value[:20]} ({facet.name} must be a number)") from None


def _alternative(raw: str) -> Alternative | None:
    exact = raw.startswith('"')
    text = analysis.compact(raw.strip('"'))
    if not exact:
        text = text.strip("\"'“”‘’()（）《》【】[]<>,，.。!！?？;；:：、")
    if not analysis.has_word_char(text):
        return None
    return Alternative(text, exact)


def _expanded(clause: tuple[Alternative, ...], lexicon: analysis.Lexicon) -> list[tuple[Alternative, float]]:
    """A clause's alternatives with their synonyms, and the boost of each."""
    expanded = []
    for alt in clause:
        expanded.append((alt, 1.0))
        if not alt.exact:
            expanded.extend((Alternative(s, False), ranking.SYNONYM_BOOST) for s in lexicon.synonyms_of(alt.text))
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


class Watched:
    """A value loaded from data files, loaded again when one of them changes: users edit
    synonyms.txt or topics.toml while a server runs."""

    def __init__(self, load, *paths: Path):
        self._load, self._paths = load, paths
        self._stamp: tuple | None = None
        self._value = None
        self._lock = threading.Lock()

    def get(self):
        """The value as of the files' current contents."""
        stamp = tuple(analysis.mtime_ns(path) for path in self._paths)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._value, self._stamp = self._load(), stamp
        return self._value

    @property
    def stamp(self) -> tuple | None:
        """Which version of the files the value was loaded from (a cache key part)."""
        return self._stamp


class Engine:
    """The search engine over one index directory; safe to share between threads."""

    def __init__(self, index_dir: Path, gazetteer: enrich.Gazetteer | None = None,
                 topics_file: Path = TOPICS_FILE, synonyms_file: Path = analysis.SYNONYMS,
                 stopwords_file: Path = analysis.STOPWORDS, clock: Callable[[], float] = time.perf_counter):
        self.index_dir = Path(index_dir)
        self.gazetteer = gazetteer or enrich.Gazetteer.load()
        self._topics = Watched(lambda: enrich.TopicRules.load(topics_file), topics_file)
        self._lexicon = Watched(lambda: analysis.Lexicon.load(synonyms_file, stopwords_file),
                                synonyms_file, stopwords_file)
        self.clock = clock
        analysis.segmenter()  # load jieba now, not during the first user's query
        self._local = threading.local()
        self._views: dict = {}
        self._views_lock = threading.Lock()
        self._open: set = set()  # every thread's searcher, so close() can close them all

    def close(self) -> None:
        """Close the searchers this engine opened (their files stay open until then)."""
        with self._views_lock:
            searchers, self._open = self._open, set()
            views, self._views = self._views, {}
        for searcher in searchers:
            searcher.close()
        for view in views.values():
            view.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def topics(self) -> enrich.TopicRules:
        """The topic taxonomy (names and aliases filters accept), as topics.toml says now."""
        return self._topics.get()

    @property
    def lexicon(self) -> analysis.Lexicon:
        """Synonyms and stopwords, as search/data says now."""
        return self._lexicon.get()

    # -- index access -------------------------------------------------
    def view(self) -> tuple[object, IndexView]:
        """This thread's Whoosh searcher, reopened after a reindex or rebuild, and the
        shared view (columns, cached doc sets) of the index version it reads."""
        link = _link_target(self.index_dir)
        searcher = getattr(self._local, "searcher", None)
        if searcher not in self._open or self._local.link != link or not searcher.up_to_date():
            if searcher in self._open:
                searcher.close()
                with self._views_lock:
                    self._open.discard(searcher)
            searcher = open_index(self.index_dir).searcher()
            self._local.searcher, self._local.link = searcher, link
            with self._views_lock:
                self._open.add(searcher)
        key = (link, searcher.reader().generation())
        with self._views_lock:  # one thread builds a new version's view; the others wait for it
            view = self._views.get(key)
            if view is None:
                view = IndexView(key, searcher, docsets.prepared_folder(self.index_dir / link, key[1]) if link else None)
                # Keep the previous version too: other threads may still be reading it.
                self._views = {k: v for k, v in list(self._views.items())[-1:]}
                self._views[key] = view
        return searcher, view

    # -- search -------------------------------------------------------
    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search: hits of the requested page, totals and disjunctive facet counts;
        took_ms covers all of it, snippets and did-you-mean included."""
        started = self.clock()
        result = self._results(request)
        return replace(result, took_ms=round((self.clock() - started) * 1000, 1))

    def _results(self, request: SearchRequest) -> SearchResult:
        _check_paging(request)
        chosen = self._selection(request)
        parsed, view, hits, respelled = chosen.parsed, chosen.view, chosen.hits, chosen.respelled
        buckets = {facet.name: self._facet_counts(view, facet, chosen.matches, chosen.allowed, chosen.filters)
                   for facet in FACETS}
        docnums, scores = self._page(chosen.searcher, view, chosen.matching, hits, request,
                                     key=(parsed, chosen.filters, self._lexicon.stamp))
        return SearchResult(
            query=request.q, total=len(hits), total_reports=int(np.count_nonzero(np.bincount(view.columns.doc_ids[hits]))),
            page=request.page, limit=request.limit, took_ms=0.0,
            hits=[self._hit(chosen.searcher, view, d, s, parsed, chosen.matching.relaxed) for d, s in zip(docnums, scores)],
            facets={name: shown for name, (shown, _) in buckets.items()},
            facets_more={name: more for name, (_, more) in buckets.items() if more},
            relaxed=chosen.matching.relaxed, filters=chosen.filters,
            did_you_mean=respelled.suggestion or (
                self.did_you_mean(request.q) if not len(hits) and not parsed.empty and not respelled.corrected
                else None),
            corrected=respelled.corrected, corrected_query=query_text(parsed) if respelled.corrected else None,
            notice=UNSEARCHABLE if parsed.unsearchable else None)

    def _respelled(self, searcher, view: IndexView, parsed: ParsedQuery) -> "Respelled":
        """The query with its plain terms that found nothing as typed replaced by the index
        words they sound like (homophones, pinyin), and a question (您是不是要找) for terms
        found far less often than what they sound like, or that are words or names
        (spelling.respell decides). Phrases and filters are never respelled."""
        def vocabulary() -> spelling.Vocabulary:
            return self.words(searcher, view)

        def count(text: str) -> int:
            # A word the index holds in many passages needs no exact count (which reads its postings).
            known = searcher.doc_frequency("text", text)
            return known if known >= spelling.WELL_KNOWN else len(self._clause_docs(searcher, view, (Alternative(text, False),)))

        def respell(term: str) -> spelling.Respelling | None:
            return spelling.respell(term, vocabulary, count, analysis.segmenter(), self._names_a_facet_value)

        plain = [clause[0] for clause in parsed.clauses if len(clause) == 1 and not clause[0].exact]
        # Pinyin with spaces between its words (zaoxue ganxibao): read as one run first.
        if len(plain) == len(parsed.clauses) > 1 and all(spelling.typed_letters(a.text) for a in plain):
            run = respell("".join(a.text for a in plain))
            if run and run.replaces and not any(count(a.text) for a in plain):
                typed = " ".join(a.text for a in plain)
                return Respelled(replace(parsed, clauses=((Alternative(run.meant, False),),)),
                                 [Correction(typed, run.meant)])
        meant: dict[str, spelling.Respelling] = {}
        for alt in (a for clause in parsed.clauses for a in clause if not a.exact):
            if alt.text not in meant:
                found = respell(alt.text)
                if found:
                    meant[alt.text] = found
        corrected = {t: r.meant for t, r in meant.items() if r.replaces}
        offered = {t: r.meant for t, r in meant.items() if not r.replaces}
        clauses = tuple(tuple(Alternative(corrected.get(a.text, a.text), a.exact) if not a.exact else a for a in c)
                        for c in parsed.clauses)
        suggestion = query_text(replace(parsed, clauses=tuple(
            tuple(Alternative({**corrected, **offered}.get(a.text, a.text), a.exact) if not a.exact else a
                  for a in c) for c in parsed.clauses))) if offered else None
        return Respelled(replace(parsed, clauses=clauses), [Correction(t, m) for t, m in corrected.items()],
                         suggestion)

    def _names_a_facet_value(self, text: str) -> bool:
        """Whether a term is the name of a place or topic (a word: never replaced by a correction)."""
        return any(self.selects(facet, text) for facet in FACETS if facet.kind is str)

    def read_words(self) -> None:
        """Read the index's words now, and load the tagger that tells names (a server does it
        at start, beside its first answers)."""
        self.words(*self.view())
        spelling.tagger(analysis.segmenter())

    @staticmethod
    def words(searcher, view: IndexView) -> spelling.Vocabulary:
        """The index's words with how many passages hold each (what respelling picks from and
        completions offer), read once per index version and kept with it."""
        def read() -> spelling.Vocabulary:
            counts: dict[str, int] = {}
            # Segment by segment: a multi-segment reader looks each term up in every segment.
            for segment, _ in searcher.reader().leaf_readers():
                for term, info in segment.iter_field("text"):
                    word = term.decode("utf-8") if isinstance(term, bytes) else term
                    counts[word] = counts.get(word, 0) + info.doc_frequency()
            return spelling.Vocabulary(counts)
        return view.kept("words", read)

    def export(self, request: SearchRequest, max_rows: int = MAX_EXPORT_ROWS) -> Export:
        """Every passage a search returns (its query, filters and sort; not its page), in the
        order its pages show them. The order is computed now, the hits are read a chunk at a time
        as they are consumed, so memory stays flat however many there are. QueryError, before
        anything is read, when there are more than max_rows."""
        _check_paging(replace(request, page=1, limit=1))  # only its sort applies
        selection = self._selection(request)
        total = len(selection.hits)
        if total > max_rows:
            raise QueryError(f"共 {total} 条结果，超过导出上限 {max_rows} 条：请加关键词或筛选条件缩小检索范围后再导出 "
                             f"({total} results, more than the export limit of {max_rows}: narrow the search)")
        ordered = self._ordered(selection.searcher, selection.view, selection.matching, selection.hits,
                                request.sort, total)
        corrected = selection.respelled.corrected
        return Export(total, self._exported(selection, ordered), corrected,
                      query_text(selection.parsed) if corrected else None)

    def _exported(self, selection: "_Selection", ordered: "_Ordered") -> Iterator[Hit]:
        for start in range(0, len(ordered.docs), EXPORT_CHUNK):
            chunk = zip(ordered.docs[start:start + EXPORT_CHUNK].tolist(),
                        ordered.scores[start:start + EXPORT_CHUNK].tolist())
            yield from (self._hit(selection.searcher, selection.view, docnum, score, selection.parsed, selection.matching.relaxed)
                        for docnum, score in chunk)

    def facet_counts(self, request: SearchRequest) -> dict[str, list[Bucket]]:
        """Every value of every facet with its count for a search, counted as its answer's facets
        are (which show at most FACET_SIZE values of each)."""
        _check_paging(replace(request, page=1, limit=1))  # only its sort is checked: a bad one is an error
        selection = self._selection(request)
        return {facet.name: self._facet_counts(selection.view, facet, selection.matches, selection.allowed,
                                               selection.filters, every=True)[0] for facet in FACETS}

    def _selection(self, request: SearchRequest) -> "_Selection":
        """What a request selects, whatever page it asks for (with its terms respelled where
        they find nothing as typed, unless the request says not to)."""
        parsed = parse_query(request.q, self.lexicon)
        filters = request.filters.merged(parsed.filters)
        searcher, view = self.view()
        respelled = self._respelled(searcher, view, parsed) if request.correct else Respelled(parsed)
        parsed = respelled.parsed
        self._check_filters(filters)
        allowed = {facet.name: self._filter_docs(view, facet, filters.get(facet.name)) for facet in FACETS}
        selected = [docs for docs in allowed.values() if docs is not None]
        matches = self._matches(searcher, view, parsed)
        matching = matches.for_selection(selected)
        return _Selection(parsed, filters, searcher, view, allowed, matches, matching,
                          docsets.intersect([matching.docs] + selected), respelled)

    def _check_filters(self, filters: Filters) -> None:
        """QueryError for a filter value that names no known value of its facet, with the known
        values nearest to it: an unknown value must not look like an empty result."""
        for name, values in filters.items():
            facet = BY_NAME[name]
            for value in values:
                if not self.selects(facet, value):
                    known = facet.known(self.names)
                    near = difflib.get_close_matches(str(value), known, n=5, cutoff=0.5)
                    hint = (f"相近的有：{'、'.join(near)}" if near else
                            f"可选：{'、'.join(known)}" if 0 < len(known) <= 20 else "没有相近的名称")
                    raise QueryError(f"未知的{facet.label}：{str(value)[:50]}。{hint} "
                                     f"(unknown {facet.name}: {str(value)[:50]!r})")

    @property
    def names(self) -> facets.Names:
        """What facets resolve filter values with (the gazetteer, the topics as topics.toml says now)."""
        return facets.Names(self.gazetteer, self.topics)

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
        return ranking.scoring([(alt.text, boost) for c in clauses for alt, boost in _expanded(c, self.lexicon)])

    def _matches(self, searcher, view: IndexView, parsed: ParsedQuery) -> "_Matches":
        """What the query matches before facet filters, strictly (every term) and, for a query
        of two or more terms, relaxed (most terms, ranked by how many a passage holds)."""
        if parsed.unsearchable:
            return _Matches(_Matching(docsets.EMPTY))
        excluded = docsets.union([self._alternative_docs(searcher, view, a) for a in parsed.excluded])
        if parsed.empty:
            return _Matches(_Matching(docsets.difference(view.passages, excluded)))
        strict = docsets.intersect([self._clause_docs(searcher, view, c) for c in parsed.clauses]
                                   + [self._in_text(searcher, view, parsed.clauses), view.passages])
        strict = _Matching(docsets.difference(strict, excluded), self._scoring(parsed.clauses))
        units = relaxed_units(parsed, self.lexicon)
        if len(units) < 2:
            return _Matches(strict)
        relaxed = view.cached(("relaxed", parsed.clauses, parsed.excluded, self._lexicon.stamp),
                              lambda: self._relaxed(searcher, view, units, strict.docs, excluded))
        return _Matches(strict, relaxed)

    def _relaxed(self, searcher, view: IndexView, units, strict: np.ndarray, excluded: np.ndarray) -> "_Matching":
        """Passages holding enough of the units (ranking.units_needed), strict hits included."""
        unit_docs = [self._clause_docs(searcher, view, u) for u in units]
        held = ranking.coverage(unit_docs, len(view.columns.passages), strict)
        covered = np.flatnonzero(held >= ranking.units_needed(len(units))).astype(np.int32)
        relaxed = docsets.intersect([covered, self._in_text(searcher, view, units), view.passages])
        docs = docsets.union([strict, docsets.difference(relaxed, excluded)])
        return _Matching(docs, self._scoring(units), ranking.Coverage(docs, held[docs]))

    def _filter_docs(self, view: IndexView, facet: Facet, values: tuple) -> np.ndarray | None:
        """Passages one facet's selection allows (OR of its values), or None when nothing is selected."""
        if not values:
            return None
        wanted = set().union(*(self.selects(facet, v) for v in values))
        return view.cached(("filter", facet.name, frozenset(wanted)), lambda: docsets.intersect([docsets.union(
            [view.columns.values[column].holding(wanted) for column in facet.columns]), view.passages]))

    def _facet_counts(self, view: IndexView, facet: Facet, matches: "_Matches", allowed: dict,
                      filters: Filters, every: bool = False) -> tuple[list[Bucket], int]:
        """The facet's buckets (FACET_SIZE and the selected ones, or every one), and how many more
        values it has than they show. Each count is as if this facet's own selection were not
        applied: the total that selecting the value instead returns, relaxed where that is."""
        others = [d for f, d in allowed.items() if f != facet.name and d is not None]
        column = view.columns.values[facet.counted]
        counts = column.counts(docsets.intersect([matches.strict.docs] + others))
        if matches.relaxed is not None:
            relaxed = column.counts(docsets.intersect([matches.relaxed.docs] + others))
            counts = {value: counts.get(value, 0) if counts.get(value, 0) >= ranking.RELAX_BELOW else n
                      for value, n in relaxed.items()}
        selection = filters.get(facet.name)
        parents = self._parents(view, facet)
        buckets = sorted((Bucket(facet.kind(value), count, parents.get(value),
                                 tuple(v for v in selection if value in self.selects(facet, v)))
                          for value, count in counts.items()),
                         key=lambda b: facet.sort_key(b.value, b.count))
        shown = [b for i, b in enumerate(buckets) if every or i < facets.FACET_SIZE or b.selected]
        return shown, len(buckets) - len(shown)

    @staticmethod
    def _parents(view: IndexView, facet: Facet) -> dict[str, str]:
        """Each value's parent value (a city's province), for a facet that nests."""
        if facet.parent is None:
            return {}

        def compute() -> dict[str, str]:
            child, parent = view.columns.values[facet.counted], view.columns.values[BY_NAME[facet.parent].counted]
            pairs = set(zip(child.codes[view.passages].tolist(), parent.codes[view.passages].tolist()))
            return {child.names[c]: parent.names[p] for c, p in pairs if c}
        return view.cached(("parents", facet.name), compute)

    def highlight_terms(self, parsed: ParsedQuery, relaxed: bool) -> list[str]:
        """Every string whose occurrences a hit's snippet marks: terms, their synonyms, relaxed sub-words."""
        clauses = parsed.clauses + (tuple(relaxed_units(parsed, self.lexicon)) if relaxed else ())
        return list(dict.fromkeys(alt.text for c in clauses for alt, _ in _expanded(c, self.lexicon)))

    def selects(self, facet: Facet, value) -> set[str]:
        """The stored values a filter value selects: 石家庄 -> {石家庄市}, 三献 -> three topics;
        empty for a value the facet does not know."""
        try:
            return facet.resolve(str(value), self.names)
        except ValueError:
            return set()

    def did_you_mean(self, q: str) -> str | None:
        """The query with unknown words replaced by close indexed words (edit distance 1), if any."""
        parsed = parse_query(q, self.lexicon)
        searcher, _ = self.view()
        original = corrected = analysis.normalize(q)
        for alt in (a for c in parsed.clauses for a in c if not a.exact and len(a.text) > 1):
            if searcher.doc_frequency("text", alt.text) == 0 and not self._names_a_facet_value(alt.text):
                close = searcher.suggest("text", alt.text, limit=1, maxdist=1, prefix=1)
                if close:
                    corrected = corrected.replace(alt.text, close[0])
        return corrected if corrected != original else None

    def _page(self, searcher, view: IndexView, matching: "_Matching", hits: np.ndarray,
              request: SearchRequest, key) -> tuple[list[int], list[float]]:
        """Docnums and scores of the requested page."""
        start = (request.page - 1) * request.limit
        end = start + request.limit
        # Order a few pages at once and keep them: the next page, a facet toggled back,
        # or the same popular query from another user reuse the order.
        depth = max(end, RANKED_DEPTH)
        ordered = view.cached(("ordered", key, request.sort, depth),
                              lambda: self._ordered(searcher, view, matching, hits, request.sort, depth))
        return ordered.docs[start:end].tolist(), ordered.scores[start:end].tolist()

    @staticmethod
    def _ordered(searcher, view: IndexView, matching: "_Matching", hits: np.ndarray, sort: str,
                 depth: int) -> "_Ordered":
        """The first `depth` hits in the order pages show them, with their scores: best first; by
        date, newest report first; with nothing to rank, in report and passage order."""
        if not len(hits):
            return _Ordered(hits, np.zeros(0))
        if matching.scoring is not None and sort != "date":
            return _Ordered(*ranking.rank(view, searcher, matching.scoring, hits, depth, matching.coverage))
        columns = view.columns
        keys = (columns.passages[hits], columns.doc_ids[hits])
        if sort == "date":
            keys += (-columns.years[hits],)
        docs = hits[np.lexsort(keys)][:depth]
        return _Ordered(docs, np.zeros(len(docs)))

    def _hit(self, searcher, view: IndexView, docnum: int, score: float, parsed: ParsedQuery, relaxed: bool) -> Hit:
        fields = view.stored_fields(searcher, docnum)
        topics = [t for t in fields.get("topics", "").split(",") if t]
        return Hit(
            doc_id=fields["doc_id"], title=fields.get("title", ""), passage=fields["passage"],
            heading=fields.get("heading", ""), text=fields["text"],
            snippet=snippet(fields["text"], self.highlight_terms(parsed, relaxed),
                            {alt.text: TERM_WEIGHT for c in parsed.clauses for alt in c}), score=round(score, 3),
            province=fields.get("province") or None, city=fields.get("city") or None,
            county=fields.get("county") or None, level=fields.get("level") or facets.NATIONAL, topics=topics,
            year=fields.get("year") or None, url=document_url(fields["doc_id"], fields["passage"]),
            permalink=passage_permalink(fields["doc_id"], fields["text"]))


def _link_target(index_dir: Path) -> str | None:
    """Where `current` points: a cheap way to notice that a rebuild swapped generations."""
    try:
        return os.readlink(index_dir / CURRENT)
    except OSError:
        return None


class _Selection(NamedTuple):
    """What a search selects before paging: its query, its filters and the passages each facet's
    selection allows, what the query matches, and the passages it returns."""

    parsed: ParsedQuery
    filters: Filters
    searcher: object
    view: IndexView
    allowed: dict
    matches: "_Matches"
    matching: "_Matching"
    hits: np.ndarray
    respelled: "Respelled"


@dataclass(frozen=True)
class _Ordered:
    """Hits in the order a search shows them, and their scores."""

    docs: np.ndarray
    scores: np.ndarray

    @property
    def nbytes(self) -> int:
        """Memory held, for the view's cache."""
        return self.docs.nbytes + self.scores.nbytes


@dataclass(frozen=True)
class _Matching:
    """Passages a query matches, the Whoosh query that scores them, and, when relaxed,
    how many of the query's terms each passage holds."""

    docs: np.ndarray
    scoring: Query | None = None
    coverage: ranking.Coverage | None = None

    @property
    def relaxed(self) -> bool:
        return self.coverage is not None

    @property
    def nbytes(self) -> int:
        """Memory held, for the view's cache."""
        return self.docs.nbytes + (self.coverage.nbytes if self.coverage else 0)


@dataclass(frozen=True)
class Respelled:
    """A query after respelling: what is searched, the corrections made, and a suggestion."""

    parsed: ParsedQuery
    corrected: list[Correction] = field(default_factory=list)
    suggestion: str | None = None


def query_text(parsed: ParsedQuery) -> str:
    """A parsed query written back in the query language (what a corrected search searched)."""
    words = [" OR ".join(f'"{a.text}"' if a.exact else a.text for a in clause) for clause in parsed.clauses]
    words += [f'-"{a.text}"' if a.exact else f"-{a.text}" for a in parsed.excluded]
    words += [f"{name}:{value}" for name, values in parsed.filters.items() for value in values]
    return " ".join(words)


@dataclass(frozen=True)
class _Matches:
    """A query's strict match (every term) and, for two or more terms, its relaxed match
    (most terms). Which one a selection of facet values gets depends on the selection, the
    same way for the results and for each facet bucket, so every count is what selecting
    its value returns."""

    strict: _Matching
    relaxed: _Matching | None = None

    def for_selection(self, selected: list[np.ndarray]) -> _Matching:
        """Strict, unless the selection leaves fewer than ranking.RELAX_BELOW strict hits."""
        if self.relaxed is None or len(docsets.intersect([self.strict.docs] + selected)) >= ranking.RELAX_BELOW:
            return self.strict
        return self.relaxed


def _check_paging(request: SearchRequest) -> None:
    if not 1 <= request.limit <= MAX_LIMIT:
        raise QueryError(f"limit 必须在 1 到 {MAX_LIMIT} 之间 (limit must be between 1 and {MAX_LIMIT})")
    if request.page < 1:
        raise QueryError("page 必须是正整数 (page must be 1 or more)")
    if request.page * request.limit > MAX_RESULT_DEPTH:
        raise QueryError(f"页码过大：只能浏览前 {MAX_RESULT_DEPTH} 条结果 (page too deep: only the first {MAX_RESULT_DEPTH} results can be paged)")
    if request.sort not in ("relevance", "date"):
        raise QueryError("sort 只能是 relevance 或 date (sort must be relevance or date)")


SENTENCE_ENDS = "。！？!?；;"
SNIPPET_FRAGMENTER = highlight.SentenceFragmenter(maxchars=SNIPPET_CHARS, sentencechars=SENTENCE_ENDS)
CONTEXT_FRAGMENTER = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=40)
SNIPPET_FORMATTER = whoosh_internals.MarkFormatter(between="…")


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
    anchor: str  # what its permalink names it by (passage_anchor)
    role: str
    heading: str
    text: str
    topics: list[str]
    province: str | None
    city: str | None
    county: str | None
    level: str


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
    title_source: str = "headline"  # or "first sentence": the report has no headline
    date: str | None = None         # YYYY-MM-DD the page or file gave
    original: str | None = None     # the original file's name, while it is still where it was indexed from


# An id is whatever the file name held (spaces, brackets, dots, folders with `/`); it is
# only ever looked up in the index. Control characters and absurd lengths are no id.
MAX_DOC_ID_CHARS = 1000
NOT_IN_DOC_IDS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def overview(engine: Engine) -> Overview:
    """Reports and passages per value of every facet, computed once per index version."""
    _, view = engine.view()
    return view.kept("overview", lambda: _overview(view, _built_at(engine.index_dir)))


def _built_at(index_dir: Path) -> float | None:
    """When the index was last written: its last commit (the report records hold the
    time too, but reading them would load every report's full text)."""
    try:
        return open_index(index_dir).last_modified()
    except OSError:
        return None


def _overview(view: IndexView, built_at: float | None) -> Overview:
    passages, doc_ids = view.passages, view.columns.doc_ids
    rows = {}
    for facet in FACETS:
        tally = view.columns.values[facet.counted].tally(passages, doc_ids)
        rows[facet.name] = sorted((FacetRow(facet.kind(value), reports, count) for value, (count, reports) in tally.items()),
                                  key=lambda row: facet.sort_key(row.value, row.passages))
    return Overview(int(np.count_nonzero(np.bincount(doc_ids[passages]))), len(passages), rows, built_at)


def document(engine: Engine, doc_id: str) -> DocumentView | None:
    """A report by id, or None when there is no such report (ids never touch the filesystem)."""
    record = document_record(engine, doc_id)
    if record is None:
        return None
    original = _original_path(record)
    searcher, _ = engine.view()
    passages = sorted((f for f in searcher.documents(doc_id=doc_id, kind="passage")),
                      key=lambda f: f["passage"])
    return DocumentView(
        doc_id=doc_id, title=record.get("title", doc_id), format=record.get("format", "txt"),
        source=record.get("source", ""), province=record.get("province") or None,
        city=record.get("city") or None, county=record.get("county") or None,
        year=record.get("year") or None, title_source=record.get("title_source") or "headline",
        date=record.get("date") or None, original=original.name if original else None,
        passages=[DocumentPassage(passage=p["passage"], anchor=passage_anchor(p["text"]),
                                  role=p.get("role", "paragraph"), heading=p.get("heading", ""), text=p["text"],
                                  topics=[t for t in p.get("topics", "").split(",") if t],
                                  province=p.get("province") or None, city=p.get("city") or None,
                                  county=p.get("county") or None, level=p.get("level") or facets.NATIONAL)
                  for p in passages])


def passage_by_anchor(view: DocumentView, anchor: str) -> DocumentPassage | None:
    """The passage a permalink names (the first, should two hold the same text), or None when
    no passage of the report has that text any more."""
    return next((p for p in view.passages if p["anchor"] == anchor), None)


def original_file(engine: Engine, doc_id: str) -> Path | None:
    """The file a report was indexed from, for download: only while it is still where it was
    indexed from, inside the source folder it was found in, with the same content."""
    record = document_record(engine, doc_id)
    path = _original_path(record) if record else None
    if path is None:
        return None
    try:
        with path.open("rb") as file:
            same = hashlib.file_digest(file, "sha256").hexdigest() == record.get("hash")
    except OSError:
        return None
    return path if same else None


def document_record(engine: Engine, doc_id: str) -> dict | None:
    """The stored report record of an id, or None (ids never touch the filesystem)."""
    if not 0 < len(doc_id) <= MAX_DOC_ID_CHARS or NOT_IN_DOC_IDS.search(doc_id):
        return None
    searcher, _ = engine.view()
    return searcher.document(key=doc_id, kind="doc")


def _original_path(record: dict) -> Path | None:
    """Where a report's file was indexed from, if a regular file is still there inside its
    source folder (a link swapped in since, pointing elsewhere, is not followed out)."""
    if not record.get("path") or not record.get("source_root"):
        return None
    path, root = Path(record["path"]), Path(record["source_root"])
    try:
        inside = path.resolve().is_relative_to(root.resolve()) and path.is_file()
    except OSError:
        return None
    return path if inside else None


@dataclass(frozen=True)
class Suggestion:
    """A completion of what was typed: the word, the part the typing matched marked (HTML-safe),
    and how many passages hold the word."""

    text: str
    marked: str
    passages: int


MAX_SUGGEST_CHARS = 50


def suggestions(engine: Engine, prefix: str, limit: int = 8) -> list[Suggestion]:
    """Index words completing what was typed, by its characters, its pinyin or its initials
    (zaox, zxg → 造血干细胞), most passages first."""
    typed = "".join(analysis.normalize(prefix).split())
    if not typed or len(typed) > MAX_SUGGEST_CHARS:
        return []
    searcher, view = engine.view()
    vocabulary = engine.words(searcher, view)
    return [Suggestion(c.word, f"<mark>{html.escape(c.word[:c.matched])}</mark>{html.escape(c.word[c.matched:])}",
                       c.passages) for c in vocabulary.completions(typed, limit)]