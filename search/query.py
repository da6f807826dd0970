"""Query: parse what a user typed, run it with filters and facet counts, cut snippets.

Plain words are ANDed and must each occur in the passage (or its heading or
title) as an exact substring, found through the bigram fields; jieba word
matches only add score, so word matches outrank bigram-only ones. When AND
finds almost nothing the query is relaxed to "most terms must match".
"""
from __future__ import annotations

import html
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from whoosh import collectors, highlight
from whoosh.analysis import Token
from whoosh.query import And, AndMaybe, AndNot, Or, Phrase, Query, Term

from search import analysis, enrich
from search.index import TOPICS_FILE, current_generation, open_index

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MAX_LIMIT = 100
MAX_RESULT_DEPTH = 10_000
# Fewer strict hits than this and the query is relaxed to "most terms match".
RELAX_BELOW = 3
SNIPPET_CHARS = 180
FACETS = ("province", "city", "topic", "year")
FILTER_SYNTAX = re.compile(r"^(city|province|topic|year|城市|省份|主题|年份)[:：](.+)$")
FILTER_ALIASES = {"城市": "city", "省份": "province", "主题": "topic", "年份": "year"}
QUERY_TOKENS = re.compile(r'-?"[^"]*(?:"|$)|\S+')
WORD_BOOST = 3.0
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

    def without(self, facet: str) -> "Filters":
        """This selection with one facet cleared (for disjunctive facet counts)."""
        return replace(self, **{facet: ()})

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


@dataclass(frozen=True)
class Bucket:
    """One facet value: how many passages it would return, and which selected filter values pick it."""

    value: str | int
    count: int
    parent: str | None = None  # the province of a city
    selected_by: tuple = ()   # raw filter values (short or full names) that select this value

    @property
    def selected(self) -> bool:
        return bool(self.selected_by)

    def to_json(self) -> dict:
        data = {"value": self.value, "count": self.count}
        if self.parent:
            data["parent"] = self.parent
        if self.selected:
            data["selected"] = True
        return data


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
    facets: dict[str, list[Bucket]]
    relaxed: bool = False
    filters: Filters = field(default_factory=Filters)
    did_you_mean: str | None = None

    def to_json(self) -> dict:
        answer = {
            "query": self.query, "total": self.total, "total_reports": self.total_reports,
            "page": self.page, "limit": self.limit, "took_ms": self.took_ms,
            "relaxed": self.relaxed,
            "hits": [hit.__dict__ for hit in self.hits],
            "facets": {name: [b.to_json() for b in buckets] for name, buckets in self.facets.items()},
        }
        if self.did_you_mean:
            answer["did_you_mean"] = self.did_you_mean
        return answer


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
    return ParsedQuery(tuple(tuple(c) for c in clauses), tuple(excluded),
                       Filters(*(tuple(filters[n]) for n in ("city", "province", "topic", "year"))))


def _year(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise QueryError(f"年份必须是数字：{value} (year must be a number)") from None


def _alternative(raw: str) -> Alternative | None:
    exact = raw.startswith('"')
    text = "".join(analysis.normalize(raw.strip('"')).split())
    if not exact:
        text = text.strip("\"'“”‘’()（）《》【】[]<>,，.。!！?？;；:：、")
    if not any(analysis.is_word_char(c) for c in text):
        return None
    return Alternative(text, exact)


def _gram_query(text: str, grams_field: str, chars_field: str) -> Query:
    if len(text) == 1:
        return Term(chars_field, text)
    grams = [text[i:i + 2] for i in range(len(text) - 1)]
    return Term(grams_field, grams[0]) if len(grams) == 1 else Phrase(grams_field, grams)


def _word_boost(text: str) -> Query:
    words = [text] if analysis.is_dictionary_word(text) else analysis.cut(text)
    return Or([Term(f, w) for w in words for f in ("text", "heading", "title")], boost=WORD_BOOST)


def alternative_query(alt: Alternative) -> Query:
    """Whoosh query for one term: it must occur as a substring; word matches add score."""
    required = _gram_query(alt.text, "grams", "chars")
    if not alt.exact:
        required = Or([required, _gram_query(alt.text, "hgrams", "hchars")])
    return AndMaybe(required, _word_boost(alt.text))


def _expanded(clause: tuple[Alternative, ...], lexicon: analysis.Lexicon) -> list[tuple[Alternative, float]]:
    """A clause's alternatives with their synonyms, and the boost of each."""
    expanded = []
    for alt in clause:
        expanded.append((alt, 1.0))
        if not alt.exact:
            expanded.extend((Alternative(s, False), SYNONYM_BOOST) for s in lexicon.synonyms_of(alt.text))
    return expanded


def clause_query(clause: tuple[Alternative, ...], lexicon: analysis.Lexicon) -> Query:
    """One AND-ed clause: its alternatives and their synonyms, OR-ed."""
    parts = [alternative_query(alt).with_boost(boost) for alt, boost in _expanded(clause, lexicon)]
    return parts[0] if len(parts) == 1 else Or(parts)


def in_text_query(clauses, lexicon: analysis.Lexicon) -> Query:
    """Some term occurs in the passage text itself: a title or heading match alone only gives context."""
    return Or([_gram_query(alt.text, "grams", "chars") for c in clauses for alt, _ in _expanded(c, lexicon)])


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
                 topics: enrich.TopicRules | None = None, lexicon: analysis.Lexicon | None = None):
        self.index_dir = Path(index_dir)
        self.gazetteer = gazetteer or enrich.Gazetteer.load()
        self.topics = topics or enrich.TopicRules.load(TOPICS_FILE)
        self.lexicon = lexicon or analysis.Lexicon.load()
        analysis.segmenter()  # load jieba now, not during the first user's query
        self._local = threading.local()

    # -- index access -------------------------------------------------
    def searcher(self):
        """This thread's searcher, reopened when the index has changed (reindex or rebuild)."""
        generation = current_generation(self.index_dir)
        state = getattr(self._local, "state", None)
        if state is None or state.generation != generation or not state.searcher.up_to_date():
            if state is not None:
                state.searcher.close()
            ix = open_index(self.index_dir)
            state = _SearcherState(generation, ix.searcher())
            self._local.state = state
        return state

    # -- search -------------------------------------------------------
    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search: hits of the requested page, totals and disjunctive facet counts."""
        started = time.perf_counter()
        _check_paging(request)
        parsed = parse_query(request.q, self.lexicon)
        filters = request.filters.merged(parsed.filters)
        state = self.searcher()
        allowed = {facet: state.filter_set(facet, getattr(filters, facet), self) for facet in FACETS}
        selected = [s for s in allowed.values() if s is not None]
        matching = self._matching(state, parsed, selected)
        hits_set = _intersect([matching.docs] + selected)
        facets = {facet: self._facet_counts(state, facet, matching.docs, allowed, filters) for facet in FACETS}
        docnums, scores = self._page(state, matching, hits_set, request)
        hits = [self._hit(state, d, s, parsed, matching.relaxed) for d, s in zip(docnums, scores)]
        return SearchResult(
            query=request.q, total=len(hits_set),
            total_reports=len({state.columns["doc_id"][d] for d in hits_set}),
            page=request.page, limit=request.limit,
            took_ms=round((time.perf_counter() - started) * 1000, 1),
            hits=hits, facets=facets, relaxed=matching.relaxed, filters=filters,
            did_you_mean=self.did_you_mean(request.q) if not hits_set and not parsed.empty else None)

    def _matching(self, state, parsed: ParsedQuery, selected: list[set[int]]) -> "_Matching":
        """What the query matches before facet filters, and how to rank it.

        Strict AND first; when that leaves fewer than RELAX_BELOW hits after the
        filters, passages holding most of the terms join, ranked by how many they hold.
        """
        if parsed.empty:
            return _Matching(state.passages)
        strict = And([clause_query(c, self.lexicon) for c in parsed.clauses]
                     + [in_text_query(parsed.clauses, self.lexicon)])
        excluded = state.docs(Or([alternative_query(a) for a in parsed.excluded])) if parsed.excluded else set()
        matches = state.docs(strict) - excluded
        units = relaxed_units(parsed, self.lexicon)
        if len(_intersect([matches] + selected)) >= RELAX_BELOW or len(units) < 2:
            return _Matching(matches, strict, excluded)
        unit_queries = [clause_query(u, self.lexicon) for u in units]
        coverage = Counter(d for q in unit_queries for d in state.docs(q))
        needed = max(1, math.ceil(len(units) * 2 / 3))
        relaxed = {d for d, n in coverage.items() if n >= needed} & state.docs(in_text_query(units, self.lexicon))
        coverage.update({d: len(units) for d in matches})  # strict hits hold every term: they rank first
        return _Matching(matches | (relaxed - excluded), Or([strict] + unit_queries), excluded, coverage)

    def _facet_counts(self, state, facet: str, matches: set[int], allowed: dict,
                      filters: Filters) -> list[Bucket]:
        """Passage counts per value, as if this facet's own selection were not applied."""
        others = [s for f, s in allowed.items() if f != facet and s is not None]
        base = _intersect([matches] + others)
        counts: Counter = Counter()
        column = state.columns[facet]
        for docnum in base:
            value = column[docnum]
            if facet == "topic":
                counts.update(value)
            elif value:
                counts[value] += 1
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], -kv[0] if facet == "year" else 0, str(kv[0])))
        selection = getattr(filters, facet)
        return [Bucket(value, count, state.parents.get(value) if facet == "city" else None,
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
        searcher = self.searcher().searcher
        original = corrected = analysis.normalize(q)
        for alt in (a for c in parsed.clauses for a in c if not a.exact and len(a.text) > 1):
            if searcher.doc_frequency("text", alt.text) == 0:
                close = searcher.suggest("text", alt.text, limit=1, maxdist=1, prefix=1)
                if close:
                    corrected = corrected.replace(alt.text, close[0])
        return corrected if corrected != original else None

    def _page(self, state, matching: "_Matching", hits_set: set[int], request: SearchRequest):
        """Docnums and scores of the requested page."""
        start = (request.page - 1) * request.limit
        end = start + request.limit
        if matching.scoring is None or request.sort == "date":
            year, doc_id, passage = (state.columns[c] for c in ("year", "doc_id", "passage"))
            if request.sort == "date":
                ordered = sorted(hits_set, key=lambda d: (-year[d], doc_id[d], passage[d]))
            else:
                ordered = sorted(hits_set, key=lambda d: (doc_id[d], passage[d]))
            page = ordered[start:end]
            return page, [0.0] * len(page)
        if not hits_set:
            return [], []
        # Whoosh's matcher replacement and block-quality skipping trust max-quality
        # estimates that phrase and AndMaybe matchers get wrong, silently dropping
        # top hits; collect without them.
        if matching.coverage:
            ranker = collectors.UnlimitedCollector()
            ranker.replace = 0
        else:
            ranker = collectors.TopCollector(limit=end, usequality=False, replace=0)
        collector = collectors.FilterCollector(ranker, allow=hits_set)
        state.searcher.search_with_collector(matching.scoring, collector)
        ranked = [(r.docnum, r.score) for r in collector.results()]
        if matching.coverage:
            ranked.sort(key=lambda ds: (-matching.coverage[ds[0]], -ds[1], ds[0]))
        page = ranked[start:end]
        return [d for d, _ in page], [round(s, 3) for _, s in page]

    def _hit(self, state, docnum: int, score: float, parsed: ParsedQuery, relaxed: bool) -> Hit:
        fields = state.searcher.stored_fields(docnum)
        marks = self.highlight_terms(parsed, relaxed)
        topics = [t for t in fields.get("topics", "").split(",") if t]
        return Hit(
            doc_id=fields["doc_id"], title=fields.get("title", ""), passage=fields["passage"],
            heading=fields.get("heading", ""), text=fields["text"],
            snippet=snippet(fields["text"], marks), score=score,
            province=fields.get("province") or None, city=fields.get("city") or None,
            county=fields.get("county") or None, topics=topics, year=fields.get("year") or None,
            url=f"/doc/{fields['doc_id']}#p{fields['passage']}")

    # -- filters --------------------------------------------------------
    def filter_queries(self, facet: str, values: tuple) -> list[Query]:
        """Whoosh term queries selecting the passages of the given facet values (OR)."""
        if facet == "year":
            return [Term("year", int(v)) for v in values]
        if facet == "topic":
            return [Term("topics", name) for v in values for name in self.topics.expand(str(v))]
        level = "province" if facet == "province" else "city"
        return [Term("areas", div.code) for v in values for div in self.gazetteer.resolve(str(v), level)]


@dataclass(frozen=True)
class _Matching:
    """Docnums a query matches, the Whoosh query that scores them, and, when
    relaxed, how many of the query's terms each passage holds."""

    docs: set[int]
    scoring: Query | None = None
    excluded: set[int] = field(default_factory=set)
    coverage: Counter | None = None

    @property
    def relaxed(self) -> bool:
        return self.coverage is not None


@dataclass
class _SearcherState:
    generation: Path | None
    searcher: object
    _cache: dict = field(default_factory=dict)

    @property
    def passages(self) -> set[int]:
        if "passages" not in self._cache:
            self._cache["passages"] = set(self.searcher.docs_for_query(Term("kind", "passage")))
        return self._cache["passages"]

    @property
    def columns(self) -> dict[str, list]:
        """Per-docnum facet values read from the index columns, loaded once per index version."""
        if "columns" not in self._cache:
            reader = self.searcher.reader()
            columns = {name: list(reader.column_reader(name))
                       for name in ("doc_id", "passage", "province", "city", "year")}
            columns["topic"] = [tuple(t for t in v.split(",") if t)
                                for v in reader.column_reader("topic_set")]
            self._cache["columns"] = columns
        return self._cache["columns"]

    @property
    def parents(self) -> dict[str, str]:
        """The province of every city in the index."""
        if "parents" not in self._cache:
            columns = self.columns
            self._cache["parents"] = {c: p for c, p in zip(columns["city"], columns["province"]) if c}
        return self._cache["parents"]

    def docs(self, query: Query) -> set[int]:
        """Passage docnums matching a query."""
        return set(self.searcher.docs_for_query(query)) & self.passages

    def filter_set(self, facet: str, values: tuple, engine: Engine) -> set[int] | None:
        """Docnums allowed by one facet's selection, or None when nothing is selected."""
        if not values:
            return None
        key = ("filter", facet, values)
        if key not in self._cache:
            queries = engine.filter_queries(facet, values)
            self._cache[key] = self.docs(Or(queries)) if queries else set()
        return self._cache[key]


def _intersect(sets: list[set[int]]) -> set[int]:
    result = sets[0]
    for other in sorted(sets[1:], key=len):
        result = result & other
    return result


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


SNIPPET_FRAGMENTER = highlight.SentenceFragmenter(maxchars=SNIPPET_CHARS, sentencechars="。！？!?；;")
CONTEXT_FRAGMENTER = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=40)
SNIPPET_FORMATTER = _MarkFormatter(between="…")


def match_spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Character spans of `text` where any needle occurs (normalized, whitespace-insensitive), merged."""
    norm = analysis.normalize(text)
    positions = [i for i, c in enumerate(norm) if not c.isspace()]
    compact = "".join(norm[i] for i in positions)
    spans = []
    for needle in set(filter(None, needles)):
        start = compact.find(needle)
        while start != -1:
            spans.append((positions[start], positions[start + len(needle) - 1] + 1))
            start = compact.find(needle, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _tokens(text: str, spans: list[tuple[int, int]]):
    """Whoosh tokens covering the text: each matched span one token, other characters one each."""
    token = Token(positions=False, chars=True)
    cursor = 0
    for start, end in spans + [(len(text), len(text))]:
        for i in range(cursor, start):
            token.text, token.startchar, token.endchar, token.matched = text[i], i, i + 1, False
            yield token
        if end > start:
            token.text, token.startchar, token.endchar, token.matched = text[start:end], start, end, True
            yield token
        cursor = end


def snippet(text: str, needles: list[str]) -> str:
    """HTML-safe excerpt around the best-matching sentences, matched characters in <mark>."""
    spans = match_spans(text, needles)
    if spans:
        fragments = (list(SNIPPET_FRAGMENTER.fragment_tokens(text, _tokens(text, spans)))
                     # A sentence longer than a snippet: a window around the matches instead.
                     or list(CONTEXT_FRAGMENTER.fragment_tokens(text, _tokens(text, spans))))
        best = highlight.top_fragments(fragments, 1, highlight.BasicFragmentScorer(), highlight.SCORE)
        if best:
            prefix = "…" if best[0].startchar > 0 else ""
            suffix = "…" if best[0].endchar < len(text) else ""
            # The fragmenter starts a fragment at the previous sentence's closing mark.
            return prefix + SNIPPET_FORMATTER.format(best).lstrip("。！？!?；;") + suffix
    head = text[:SNIPPET_CHARS]
    return html.escape(head, quote=False) + ("…" if len(text) > SNIPPET_CHARS else "")


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
    passages: list[dict]


DOC_ID = re.compile(r"^[\w.\-]{1,200}$")


def overview(engine: Engine) -> Overview:
    """Reports and passages per province, city, topic and year."""
    state = engine.searcher()
    columns = state.columns
    passages: dict[str, Counter] = {facet: Counter() for facet in FACETS}
    reports: dict[str, dict] = {facet: {} for facet in FACETS}
    for docnum in state.passages:
        for facet in FACETS:
            values = columns[facet][docnum]
            for value in (values if facet == "topic" else (values,) if values else ()):
                passages[facet][value] += 1
                reports[facet].setdefault(value, set()).add(columns["doc_id"][docnum])
    facets = {facet: [FacetRow(v, len(reports[facet][v]), n) for v, n in
                      sorted(passages[facet].items(), key=lambda kv: (-kv[1], str(kv[0])))]
              for facet in FACETS}
    built = [f.get("indexed_at") for f in state.searcher.documents(kind="doc")]
    return Overview(len({columns["doc_id"][d] for d in state.passages}), len(state.passages), facets,
                    max(filter(None, built), default=None))


def document(engine: Engine, doc_id: str) -> DocumentView | None:
    """A report by id, or None when there is no such report (ids never touch the filesystem)."""
    if not DOC_ID.match(doc_id):
        return None
    state = engine.searcher()
    record = state.searcher.document(key=doc_id, kind="doc")
    if record is None:
        return None
    passages = sorted((f for f in state.searcher.documents(doc_id=doc_id, kind="passage")),
                      key=lambda f: f["passage"])
    return DocumentView(
        doc_id=doc_id, title=record.get("title", doc_id), format=record.get("format", "txt"),
        source=record.get("source", ""), province=record.get("province") or None,
        city=record.get("city") or None, county=record.get("county") or None,
        year=record.get("year") or None,
        passages=[{"passage": p["passage"], "role": p.get("role", "paragraph"),
                   "heading": p.get("heading", ""), "text": p["text"],
                   "topics": [t for t in p.get("topics", "").split(",") if t],
                   "province": p.get("province") or None, "city": p.get("city") or None,
                   "county": p.get("county") or None} for p in passages])


def suggestions(engine: Engine, prefix: str, limit: int = 8) -> list[str]:
    """Indexed words starting with what the user has typed, most frequent first."""
    norm = "".join(analysis.normalize(prefix).split())
    if not norm or len(norm) > 50:
        return []
    reader = engine.searcher().searcher.reader()
    words = [(reader.doc_frequency("text", w), w.decode() if isinstance(w, bytes) else w)
             for w in reader.expand_prefix("text", norm)]
    return [w for _, w in sorted(words, key=lambda fw: (-fw[0], fw[1])) if w != norm][:limit]
