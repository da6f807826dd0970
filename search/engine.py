"""The engine: one index directory, searched; the calls that start from a request.

`Engine` holds what a search needs state for: the watched data files (topics.toml,
synonyms and stopwords, reloaded when they change), this thread's searcher and the
shared view of the index version it reads, and `select(request)`, which runs a
request through the rooms below it: parse (querylang), respell (corrections), read the
places its words name (terms, the index's own in matching), resolve and check filters and
match (matching), and the per-search terms (terms).
`search` answers one page from a selection (facet_counts, ordering, snippets, offers),
`export` every hit of it, `facet_counts` every bucket of it. Everything that needs no
engine state lives in those rooms, as functions with explicit arguments.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import numpy as np

from search import (analysis, cache_keys, columns, corrections, docsets, enrich, facet_counts, facets, offers,
                    ordering, snippets)
from search.docsets import IndexView
from search.facets import FACETS, Filters
from search.index import CURRENT, TOPICS_FILE, open_index
from search.matching import (Matches, Matching, check_filters, filter_docs, held_places, match_query,
                             selected_values)
from search.querylang import (MAX_EXPORT_ROWS, UNSEARCHABLE, ParsedQuery, QueryError, SearchRequest, check_paging,
                              parse_query, query_text)
from search.results import (Bucket, Export, Hit, SearchResult, Understood, document_url, metadata,
                            passage_permalink)
from search.terms import Places, SearchTerms, places_named, search_terms
from search.topics import TopicRules

# Docnums an export takes from its order at a time; each hit is read only when it is written.
EXPORT_CHUNK = 500


class Watched:
    """A value loaded from data files, loaded again when one of them changes: users edit
    synonyms.txt or topics.toml while a server runs."""

    def __init__(self, load, *paths: Path):
        self._load, self._paths = load, paths
        self._loaded: tuple = (None, None)  # (value, stamp), swapped as one
        self._lock = threading.Lock()

    def get(self):
        """The value as of the files' current contents."""
        return self.current()[0]

    def current(self) -> tuple:
        """The value as of the files' current contents, and which version of the files it was
        loaded from (their modification times: a cache key part for what depends on it)."""
        stamp = tuple(analysis.mtime_ns(path) for path in self._paths)
        loaded = self._loaded
        if stamp != loaded[1]:
            with self._lock:
                loaded = self._loaded
                if stamp != loaded[1]:
                    loaded = self._loaded = (self._load(), stamp)
        return loaded


class Selection(NamedTuple):
    """What a search selects before paging: its query, its filters and the passages each facet's
    selection allows, what the query matches, the passages it returns and the terms it looked for."""

    parsed: ParsedQuery  # as searched: corrections made
    filters: Filters
    names: facets.Names  # what the filters were resolved with
    selected: dict  # per selected facet, the stored values its filter values select
    lexicon_stamp: tuple  # the version of the synonyms and stopwords it was matched with
    searcher: object
    view: IndexView
    allowed: dict
    matches: Matches
    matching: Matching
    hits: np.ndarray
    respelled: corrections.Respelled
    terms: SearchTerms
    places: Places  # the places its words name and the index holds: read, or only offered

    @property
    def key(self) -> cache_keys.Selected:
        """What its hits and their order depend on, for the view's cache."""
        return cache_keys.Selected(self.parsed, tuple(self.selected.items()), self.lexicon_stamp, self.places.read)


class Engine:
    """The search engine over one index directory; safe to share between threads."""

    def __init__(self, index_dir: Path, gazetteer: enrich.Gazetteer | None = None,
                 topics_file: Path = TOPICS_FILE, synonyms_file: Path = analysis.SYNONYMS,
                 stopwords_file: Path = analysis.STOPWORDS, clock: Callable[[], float] = time.perf_counter):
        self.index_dir = Path(index_dir)
        self.gazetteer = gazetteer or enrich.Gazetteer.load()
        self._topics = Watched(lambda: TopicRules.load(topics_file), topics_file)
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
    def topics(self) -> TopicRules:
        """The topic taxonomy (names and aliases filters accept), as topics.toml says now."""
        return self._topics.get()

    @property
    def names(self) -> facets.Names:
        """What facets resolve filter values with (the gazetteer, the topics as topics.toml says now)."""
        return facets.Names(self.gazetteer, self.topics)

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
                view = IndexView(key, searcher, columns.prepared_folder(self.index_dir / link, key[1]) if link else None)
                # Keep the previous version too: other threads may still be reading it.
                self._views = {k: v for k, v in list(self._views.items())[-1:]}
                self._views[key] = view
        return searcher, view

    # -- the calls that start from a request ----------------------------
    def select(self, request: SearchRequest) -> Selection:
        """What a request selects, whatever page it asks for (with its terms respelled where
        they find nothing as typed, unless the request says not to, and its words that name
        places read as those places too, unless it says not to), and the terms it looked
        for: what its snippets, and the document page it links to, mark."""
        lexicon, lexicon_stamp = self._lexicon.current()
        names = self.names
        parsed = parse_query(request.q, lexicon)
        filters = request.filters.merged(parsed.filters)
        searcher, view = self.view()
        respelled = (corrections.respelled(searcher, view, parsed, lexicon, names) if request.correct
                     else corrections.Respelled(parsed))
        parsed = respelled.parsed
        check_filters(filters, names)
        values = selected_values(filters, names)
        allowed = {facet.name: filter_docs(view, facet, values.get(facet.name)) for facet in FACETS}
        selected = [docs for docs in allowed.values() if docs is not None]
        places = held_places(view, places_named(parsed, lexicon, self.gazetteer, request.places))
        matches = match_query(searcher, view, parsed, lexicon, lexicon_stamp, places)
        matching = matches.for_selection(selected)
        return Selection(parsed, filters, names, values, lexicon_stamp, searcher, view, allowed, matches, matching,
                         docsets.intersect([matching.docs] + selected), respelled,
                         search_terms(parsed, respelled.corrected, lexicon, matching.relaxed, places), places)

    def search(self, request: SearchRequest) -> SearchResult:
        """Run a search: hits of the requested page, totals and disjunctive facet counts;
        took_ms covers all of it, snippets and did-you-mean included."""
        started = self.clock()
        result = self._results(request)
        return replace(result, took_ms=round((self.clock() - started) * 1000, 1))

    def _results(self, request: SearchRequest) -> SearchResult:
        check_paging(request)
        chosen = self.select(request)
        parsed, view, hits, respelled = chosen.parsed, chosen.view, chosen.hits, chosen.respelled
        buckets = {facet.name: facet_counts.buckets(view, facet, chosen.matches, chosen.allowed, chosen.filters,
                                                    chosen.names, chosen.key) for facet in FACETS}
        docnums, scores = ordering.page(chosen.searcher, view, chosen.matching, hits, request, chosen.key)
        coverage = chosen.matching.coverage
        return SearchResult(
            query=request.q, total=len(hits), total_reports=int(np.count_nonzero(np.bincount(view.columns.doc_ids[hits]))),
            page=request.page, limit=request.limit, took_ms=0.0,
            hits=[_hit(chosen, d, s) for d, s in zip(docnums, scores)],
            facets={name: shown for name, (shown, _) in buckets.items()},
            facets_more={name: more for name, (_, more) in buckets.items() if more},
            relaxed=chosen.matching.relaxed, filters=chosen.filters,
            did_you_mean=respelled.suggestion or (
                self.did_you_mean(request.q) if not len(hits) and not parsed.empty and not respelled.corrected
                else None),
            corrected=respelled.corrected, corrected_query=query_text(parsed) if respelled.corrected else None,
            notice=UNSEARCHABLE if parsed.unsearchable else None,
            understood=_understood(chosen),
            missing=coverage.held_by_none(hits) if coverage else [],
            offers=offers.offered(request, parsed, chosen.places, len(hits), self.count))

    def export(self, request: SearchRequest, max_rows: int = MAX_EXPORT_ROWS) -> Export:
        """Every passage a search returns (its query, filters and sort; not its page), in the
        order its pages show them. The order is computed now, the hits are read a chunk at a time
        as they are consumed, so memory stays flat however many there are. QueryError, before
        anything is read, when there are more than max_rows."""
        check_paging(replace(request, page=1, limit=1))  # only its sort applies
        selection = self.select(request)
        total = len(selection.hits)
        if total > max_rows:
            raise QueryError(f"共 {total} 条结果，超过导出上限 {max_rows} 条：请加关键词或筛选条件缩小检索范围后再导出 "
                             f"({total} results, more than the export limit of {max_rows}: narrow the search)")
        ordered = ordering.order(selection.searcher, selection.view, selection.matching, selection.hits,
                                 request.sort, total)
        corrected = selection.respelled.corrected
        return Export(total, _exported(selection, ordered), corrected,
                      query_text(selection.parsed) if corrected else None, _understood(selection))

    def facet_counts(self, request: SearchRequest) -> dict[str, list[Bucket]]:
        """Every value of every facet with its count for a search, counted as its answer's facets
        are (which show at most FACET_SIZE values of each)."""
        check_paging(replace(request, page=1, limit=1))  # only its sort is checked: a bad one is an error
        selection = self.select(request)
        return {facet.name: facet_counts.buckets(selection.view, facet, selection.matches, selection.allowed,
                                                 selection.filters, selection.names, selection.key, every=True)[0]
                for facet in FACETS}

    def count(self, request: SearchRequest) -> int:
        """How many passages a request selects."""
        return len(self.select(request).hits)

    def load(self) -> None:
        """Read now what searches need, not in the first user's request: the dictionaries, the
        gazetteer, the index's columns and its words (a tenth of a second at 10^6 passages;
        read beside the first searches instead, they held them back)."""
        searcher, view = self.view()
        view.vocabulary(searcher)

    def did_you_mean(self, q: str) -> str | None:
        """The query with unknown words replaced by close indexed words (edit distance 1), if any."""
        searcher, _ = self.view()
        return corrections.did_you_mean(searcher, q, self.names)


def _hit(selection: Selection, docnum: int, score: float) -> Hit:
    """A passage found, its snippet marking the terms the search looked for (and, relaxed, the
    words of the query it lacks)."""
    fields = selection.view.stored_fields(selection.searcher, docnum)
    terms, coverage = selection.terms, selection.matching.coverage
    return Hit(
        doc_id=fields["doc_id"], title=fields.get("title", ""), passage=fields["passage"],
        heading=fields.get("heading", ""), text=fields["text"],
        snippet=snippets.snippet(fields["text"], terms.highlights, terms.weights), score=round(score, 3),
        **metadata(fields, Hit), url=document_url(fields["doc_id"], fields["passage"]),
        permalink=passage_permalink(fields["doc_id"], fields["text"]),
        missing=coverage.missing(docnum) if coverage else [])


def _understood(selection: Selection) -> list[Understood]:
    """The places the search read its words as, each with the query without that word."""
    return [Understood(term.of, term.facet, term.text, offers.without(selection.parsed, term.of))
            for term in selection.terms.places]


def _exported(selection: Selection, ordered: ordering.Ordered) -> Iterator[Hit]:
    """The hits in their order, read EXPORT_CHUNK docnums at a time as they are consumed."""
    for start in range(0, len(ordered.docs), EXPORT_CHUNK):
        chunk = zip(ordered.docs[start:start + EXPORT_CHUNK].tolist(),
                    ordered.scores[start:start + EXPORT_CHUNK].tolist())
        yield from (_hit(selection, docnum, score) for docnum, score in chunk)


def _link_target(index_dir: Path) -> str | None:
    """Where `current` points: a cheap way to notice that a rebuild swapped generations."""
    try:
        return os.readlink(index_dir / CURRENT)
    except OSError:
        return None
