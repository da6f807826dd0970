"""Query: parse what a user typed, run it with filters and facet counts, cut snippets.

Plain words are ANDed and must each occur in the passage (or its heading or
title) as an exact substring, found through the bigram fields; jieba word
matches only add score, so word matches outrank bigram-only ones. When AND
finds almost nothing the query is relaxed to "most terms must match".
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, NamedTuple


import numpy as np

from search import analysis, corrections, docsets, enrich, facet_counts, facets, ordering, snippets
from search.docsets import IndexView
from search.facets import FACETS, Filters
from search.index import CURRENT, TOPICS_FILE, open_index
from search.matching import Matches, Matching, check_filters, filter_docs, match_query, selected_values
from search.querylang import (MAX_EXPORT_ROWS, MAX_LIMIT, MAX_QUERY_CHARS, MAX_RESULT_DEPTH, MAX_TERMS,
                              UNSEARCHABLE, Alternative, ParsedQuery, QueryError, SearchRequest,
                              check_paging as _check_paging, parse_query, query_text)
from search.snippets import highlighted, snippet
from search.terms import SearchTerms, relaxed_units, search_terms
from search.results import (Bucket, Correction, DocumentPassage, DocumentView, Export, FacetRow, Hit, Overview,
                            SearchResult, Suggestion, document_url, metadata, passage_anchor, passage_permalink)

# Docnums an export takes from its order at a time; each hit is read only when it is written.
EXPORT_CHUNK = 500


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
        buckets = {facet.name: facet_counts.buckets(view, facet, chosen.matches, chosen.allowed, chosen.filters,
                                                    chosen.names) for facet in FACETS}
        docnums, scores = ordering.page(chosen.searcher, view, chosen.matching, hits, request,
                                        key=(parsed, tuple(chosen.selected.items()), self._lexicon.stamp))
        return SearchResult(
            query=request.q, total=len(hits), total_reports=int(np.count_nonzero(np.bincount(view.columns.doc_ids[hits]))),
            page=request.page, limit=request.limit, took_ms=0.0,
            hits=[self._hit(chosen.searcher, view, d, s, chosen.terms) for d, s in zip(docnums, scores)],
            facets={name: shown for name, (shown, _) in buckets.items()},
            facets_more={name: more for name, (_, more) in buckets.items() if more},
            relaxed=chosen.matching.relaxed, filters=chosen.filters,
            did_you_mean=respelled.suggestion or (
                self.did_you_mean(request.q) if not len(hits) and not parsed.empty and not respelled.corrected
                else None),
            corrected=respelled.corrected, corrected_query=query_text(parsed) if respelled.corrected else None,
            notice=UNSEARCHABLE if parsed.unsearchable else None)

    def read_words(self) -> None:
        """Read the index's words now (a server does it at start, beside its first answers)."""
        corrections.index_words(*self.view())

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
        ordered = ordering.order(selection.searcher, selection.view, selection.matching, selection.hits,
                                 request.sort, total)
        return Export(total, self._exported(selection, ordered))

    def _exported(self, selection: "_Selection", ordered: ordering.Ordered) -> Iterator[Hit]:
        for start in range(0, len(ordered.docs), EXPORT_CHUNK):
            chunk = zip(ordered.docs[start:start + EXPORT_CHUNK].tolist(),
                        ordered.scores[start:start + EXPORT_CHUNK].tolist())
            yield from (self._hit(selection.searcher, selection.view, docnum, score, selection.terms)
                        for docnum, score in chunk)

    def facet_counts(self, request: SearchRequest) -> dict[str, list[Bucket]]:
        """Every value of every facet with its count for a search, counted as its answer's facets
        are (which show at most FACET_SIZE values of each)."""
        _check_paging(replace(request, page=1, limit=1))  # only its sort is checked: a bad one is an error
        selection = self._selection(request)
        return {facet.name: facet_counts.buckets(selection.view, facet, selection.matches, selection.allowed,
                                                 selection.filters, selection.names, every=True)[0]
                for facet in FACETS}

    def _selection(self, request: SearchRequest) -> "_Selection":
        """What a request selects, whatever page it asks for (with its terms respelled where
        they find nothing as typed, unless the request says not to)."""
        parsed = parse_query(request.q, self.lexicon)
        filters = request.filters.merged(parsed.filters)
        searcher, view = self.view()
        respelled = (corrections.respelled(searcher, view, parsed, self.lexicon, self.names) if request.correct
                     else corrections.Respelled(parsed))
        parsed = respelled.parsed
        names = self.names
        check_filters(filters, names)
        values = selected_values(filters, names)
        allowed = {facet.name: filter_docs(view, facet, values.get(facet.name)) for facet in FACETS}
        selected = [docs for docs in allowed.values() if docs is not None]
        matches = match_query(searcher, view, parsed, self.lexicon, self._lexicon.stamp)
        matching = matches.for_selection(selected)
        return _Selection(parsed, filters, names, values, searcher, view, allowed, matches, matching,
                          docsets.intersect([matching.docs] + selected), respelled,
                          search_terms(parsed, respelled.corrected, self.lexicon, matching.relaxed))

    @property
    def names(self) -> facets.Names:
        """What facets resolve filter values with (the gazetteer, the topics as topics.toml says now)."""
        return facets.Names(self.gazetteer, self.topics)

    def did_you_mean(self, q: str) -> str | None:
        """The query with unknown words replaced by close indexed words (edit distance 1), if any."""
        searcher, _ = self.view()
        return corrections.did_you_mean(searcher, q, self.names)

    @staticmethod
    def _hit(searcher, view: IndexView, docnum: int, score: float, terms: SearchTerms) -> Hit:
        fields = view.stored_fields(searcher, docnum)
        return Hit(
            doc_id=fields["doc_id"], title=fields.get("title", ""), passage=fields["passage"],
            heading=fields.get("heading", ""), text=fields["text"],
            snippet=snippets.snippet(fields["text"], terms.highlights, terms.weights), score=round(score, 3),
            **metadata(fields, Hit), url=document_url(fields["doc_id"], fields["passage"]),
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
    names: facets.Names
    selected: dict  # per selected facet, the stored values its filter values select
    searcher: object
    view: IndexView
    allowed: dict
    matches: Matches
    matching: Matching
    hits: np.ndarray
    respelled: corrections.Respelled
    terms: SearchTerms


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
        source=record.get("source", ""), **metadata(record, DocumentView),
        title_source=record.get("title_source") or "headline",
        date=record.get("date") or None, original=original.name if original else None,
        passages=[DocumentPassage(passage=p["passage"], anchor=passage_anchor(p["text"]),
                                  role=p.get("role", "paragraph"), heading=p.get("heading", ""), text=p["text"],
                                  **metadata(p, DocumentPassage))
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


MAX_SUGGEST_CHARS = 50


def suggestions(engine: Engine, prefix: str, limit: int = 8) -> list[Suggestion]:
    """Index words completing what was typed, by its characters, its pinyin or its initials
    (zaox, zxg → 造血干细胞), most passages first."""
    typed = "".join(analysis.normalize(prefix).split())
    if not typed or len(typed) > MAX_SUGGEST_CHARS:
        return []
    searcher, view = engine.view()
    vocabulary = corrections.index_words(searcher, view)
    return [Suggestion(c.word, f"<mark>{html.escape(c.word[:c.matched])}</mark>{html.escape(c.word[c.matched:])}",
                       c.passages) for c in vocabulary.completions(typed, limit)]