"""Ordering: the order a search's hits are shown in, and one page of it.

Best first (ranking.rank: by tier, a relaxed search by how many of its units a passage holds,
then BM25F);
by date, newest report first; with nothing to rank (filters only), in report and passage
order. Every page a request can reach (MAX_RESULT_DEPTH hits) is ordered at once and kept with
the index version, under a key naming the query, selection and lexicon they come from, so any
other page reuses them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search import cache_keys, ranking
from search.docsets import IndexView
from search.matching import Matching
from search.querylang import MAX_RESULT_DEPTH, SearchRequest


@dataclass(frozen=True)
class Ordered:
    """Hits in the order a search shows them, and their scores."""

    docs: np.ndarray
    scores: np.ndarray

    @property
    def nbytes(self) -> int:
        """Memory held, for the view's cache."""
        return self.docs.nbytes + self.scores.nbytes


def page(searcher, view: IndexView, matching: Matching, hits: np.ndarray,
         request: SearchRequest, selected: cache_keys.Selected) -> tuple[list[int], list[float]]:
    """Docnums and scores of the requested page (`selected`: what the hits depend on)."""
    start = (request.page - 1) * request.limit
    end = start + request.limit
    # Order every reachable page at once and keep them: the next page, a page far down, a
    # facet toggled back or the same popular query from another user reuse the order. Ranking
    # scores every hit whatever the depth; picking 10,000 of them instead of 50 costs nothing
    # measurable (a common word at 10^6 passages: 48 ms either way) and keeps 160 KB.
    ordered = view.cached(cache_keys.Ordered(selected, request.sort),
                          lambda: order(searcher, view, matching, hits, request.sort, MAX_RESULT_DEPTH))
    return ordered.docs[start:end].tolist(), ordered.scores[start:end].tolist()


def order(searcher, view: IndexView, matching: Matching, hits: np.ndarray, sort: str, depth: int) -> Ordered:
    """The first `depth` hits in the order pages show them, with their scores: best first; by
    date, newest report first; with nothing to rank, in report and passage order."""
    if not len(hits):
        return Ordered(hits, np.zeros(0))
    if matching.scoring is not None and sort != "date":
        return Ordered(*ranking.rank(view, searcher, matching.scoring, hits, depth, matching.coverage,
                                             matching.tiers))
    columns = view.columns
    keys = (columns.passages[hits], columns.doc_ids[hits])
    if sort == "date":
        keys += (-columns.years[hits],)
    docs = hits[np.lexsort(keys)][:depth]
    return Ordered(docs, np.zeros(len(docs)))
