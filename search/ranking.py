"""Ranking: how the passages a query matches are ordered, every weight in one place.

A passage scores BM25F (Robertson & Zaragoza, "The Probabilistic Relevance Framework:
BM25 and Beyond", 2009; Whoosh's `idf` and `bm25` formulas, B=0.75, K1=1.2) over the
jieba words of its own text and of the heading and report title it shares, statistics
taken over passages, the unit of retrieval. A title or heading is indexed once, on its
report or section record, but counts and scores for every passage that shares it.

Matching is decided elsewhere (search/matching.py: every term must occur as a substring);
ranking only orders what matched, in tiers first (Meilisearch's exactness: the typed words
themselves before what matched them less exactly), then by BM25F within a tier:

- EXACT: every term as it was searched (typed, or the correction searched in its place: it
  is the same for every hit, so it sorts nothing) in the passage's own text; a place term
  by the passage being of that place (its region, as the filter selects it);
- WORDS: every term's words in the passage's own text (a long term not found whole);
- CONTEXT: some term (or its words) only in the heading or report title, or a place only
  named, by a passage of another place;
- DERIVED: some term only through a synonym;
- RELAXED: some unit of the query missing (a relaxed search), by how many it holds.

Within a tier:

- word matches score WORD_BOOST; strings jieba finds no word in score through their
  bigrams at GRAM_BOOST; a passage found only through bigrams scores 0 and comes last;
- a synonym of a typed term counts SYNONYM_BOOST of it;
- a heading counts HEADING_FIELD_BOOST, a report title TITLE_FIELD_BOOST, per word;
- title lines and heading passages are short, so BM25 would put them above the
  paragraphs that report something: their score is damped by SHORT_PASSAGE_BOOST
  (an index-time document boost);
- a relaxed query (fewer than RELAX_BELOW strict hits) admits passages holding
  RELAXED_SHARE of its units and ranks them by how many they hold, then by BM25F.

Every hit is scored, and equal scores go in docnum order: one total order (tier, units held,
score, docnum), of which each page, however deep, and an export are slices.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from whoosh.query import Or, Query, Term

from search import analysis, cache_keys, docsets, postings

WORD_BOOST = 3.0
GRAM_BOOST = 0.3
SYNONYM_BOOST = 0.6
TITLE_FIELD_BOOST = 1.5
HEADING_FIELD_BOOST = 2.0
SHORT_PASSAGE_BOOST = 0.5
RELAX_BELOW = 3
RELAXED_SHARE = 2 / 3
# The tiers, best first (see above).
EXACT, WORDS, CONTEXT, DERIVED, RELAXED = range(5)
TIER_NAMES = ("EXACT", "WORDS", "CONTEXT", "DERIVED", "RELAXED")


def scoring_query(text: str) -> Query:
    """How a term scores: jieba word matches in the text and in the heading and report title
    the passage shares (field boosts apply); bigrams add a little for strings jieba does not
    know. An Or of Terms: the form bm25f_scores computes in arrays."""
    if len(text) == 1:
        return Or([Term(f, text, boost=WORD_BOOST) for f in ("text", "heading_words")])
    words = [text] if analysis.is_dictionary_word(text) else [w for w in analysis.cut(text) if len(w) > 1]
    # Bigram terms are long posting lists: only for strings jieba finds no word in.
    grams = [] if words else [Term("grams", g, boost=GRAM_BOOST) for g in analysis.query_grams(text)]
    return Or([Term(f, w, boost=WORD_BOOST) for w in words for f in ("text", "heading_words", "title_words")]
              + grams)


def scoring(terms: list[tuple[str, float]]) -> Query:
    """The query that scores a search: each (term, boost) — typed terms 1.0, synonyms
    SYNONYM_BOOST — as scoring_query scores it."""
    return Or([scoring_query(text).with_boost(boost) for text, boost in terms])


@dataclass(frozen=True)
class WeightedTerm:
    field: str
    text: str
    boost: float


def weighted_terms(query: Query, boost: float = 1.0) -> list[WeightedTerm]:
    """The terms of an Or-of-Terms query, each with the product of the boosts above it
    (Whoosh scores such a query as the sum of its matching terms' boosted scores)."""
    if isinstance(query, Term):
        return [WeightedTerm(query.fieldname, query.text, boost * query.boost)]
    if isinstance(query, Or):
        return [t for sub in query.subqueries for t in weighted_terms(sub, boost * query.boost)]
    raise TypeError(f"only Or and Term queries are scored here, not {type(query).__name__}")


@dataclass(frozen=True)
class Coverage:
    """Which of a relaxed query's units (named as typed) the passages it matches hold: the
    passages holding each unit, and those holding every one (its strict hits). Looked up
    for the hits a page or an export ranks, never built over every matched passage (a
    common query's fallbacks match most of the collection)."""

    units: tuple[str, ...]
    unit_docs: tuple[np.ndarray, ...]
    complete: np.ndarray = field(default_factory=lambda: docsets.EMPTY)

    def at(self, docs: np.ndarray) -> np.ndarray:
        """The units held by each of `docs` (some of the matched passages), a row each."""
        held = np.zeros((len(docs), len(self.units)), dtype=bool)
        for column, unit in enumerate(self.unit_docs):
            held[:, column] = docsets.members(docs, unit)
        held[docsets.members(docs, self.complete)] = True
        return held

    def missing(self, docnum: int) -> list[str]:
        """The units one matched passage does not hold."""
        row = self.at(np.array([docnum], dtype=np.int32))[0]
        return [unit for unit, held in zip(self.units, row.tolist()) if not held]

    def held_by_none(self, docs: np.ndarray) -> list[str]:
        """The units none of `docs` holds."""
        held = self.at(docs).any(axis=0)
        return [unit for unit, any_ in zip(self.units, held.tolist()) if not any_]

    @property
    def nbytes(self) -> int:
        return sum(docs.nbytes for docs in self.unit_docs) + self.complete.nbytes


def counts(unit_docs: list[np.ndarray], size: int) -> np.ndarray:
    """How many of the units each of `size` docnums holds."""
    held = np.zeros(size, dtype=np.int32)
    for unit in unit_docs:
        held[unit] += 1
    return held


@dataclass(frozen=True)
class TierSets:
    """The passages that match a query's terms at least as exactly as each tier asks (EXACT ⊆
    WORDS ⊆ CONTEXT); a passage in none matched some term only through a synonym."""

    exact: np.ndarray
    words: np.ndarray
    context: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.exact.nbytes + self.words.nbytes + self.context.nbytes


def tiers(hits: docsets.Located, sets: TierSets | None, held: Coverage | None = None) -> np.ndarray:
    """Each hit's tier: by the sets it is in, RELAXED when it lacks a unit of the query."""
    tier = np.full(len(hits.docs), DERIVED if sets is not None else EXACT, dtype=np.int8)
    if sets is not None:
        for level, docs in ((CONTEXT, sets.context), (WORDS, sets.words), (EXACT, sets.exact)):
            tier[hits.find(docs)[1]] = level
    if held is not None:
        tier[~held.at(hits.docs).all(axis=1)] = RELAXED
    return tier


def units_needed(units: int) -> int:
    """How many of a relaxed query's units a passage must hold."""
    return max(1, math.ceil(units * RELAXED_SHARE))


def rank(view, searcher, scoring_query_: Query, hits: np.ndarray, end: int,
         held: Coverage | None = None, sets: TierSets | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The `end` best hits and their scores, best first: by tier, then (a relaxed query) by
    units held, then by score, ties in docnum order. Every hit is scored, so the first `end`
    are the first `end` of one order whatever `end` is. Arrays: an export ranks every hit."""
    located = docsets.Located(hits, view.doc_count)
    scores = bm25f_scores(view, searcher, scoring_query_, hits, located)
    units = held.at(hits).sum(axis=1) if held is not None else np.zeros(len(hits), dtype=np.int64)
    # Groups of one tier and number of units held, best first: the best `end` of a group each.
    group = tiers(located, sets, held).astype(np.int64) * (int(units.max(initial=0)) + 1) - units
    low = int(group.min(initial=0))
    order = []
    for best in (np.flatnonzero(np.bincount(group - low)) + low).tolist():
        members = np.flatnonzero(group == best)
        order.append(members[_top(scores[members], hits[members], end - sum(map(len, order)))])
        if sum(map(len, order)) >= end:
            break
    order = np.concatenate(order) if order else np.zeros(0, dtype=np.int64)
    return hits[order], scores[order]


def _top(scores: np.ndarray, docs: np.ndarray, end: int) -> np.ndarray:
    """Indexes of the `end` highest scores, best first, equal scores in docnum order."""
    if len(scores) > end:
        threshold = np.partition(scores, len(scores) - end)[len(scores) - end]
        chosen = np.flatnonzero(scores >= threshold)
    else:
        chosen = np.arange(len(scores))
    return chosen[np.lexsort((docs[chosen], -scores[chosen]))][:end]


def bm25f_scores(view, searcher, query: Query, docs: np.ndarray,
                 located: docsets.Located | None = None) -> np.ndarray:
    """BM25F scores of the (sorted) passages for an Or-of-Terms query, with statistics over
    passages: a title or heading match counts, and scores, for every passage sharing it.
    `located`: the passages located (docsets.Located), when the caller has them."""
    weighting = searcher.weighting
    if located is None:
        located = docsets.Located(docs, view.doc_count)
    scores = np.zeros(len(docs))
    for term in weighted_terms(query):
        found = view.postings(searcher, term.field, term.text)
        if not len(found.docs):
            continue
        found_scores = term.boost * bm25f(
            found.weights, view.lengths(searcher, term.field), found.docs,
            doc_frequency=float(passages_per_record(view, term.field, found.docs).sum()), doc_count=len(view.passages),
            avg_length=average_length(view, searcher, term.field), B=weighting.B, K1=weighting.K1)
        context = docsets.CONTEXT_OF.get(term.field)
        if context:
            links = view.links(context)
            by_record = np.zeros(len(view.passages_per_record(context)))
            by_record[docsets.positions(links.take(found.docs))] = found_scores
            scores += by_record.take(links.take(docs))
        else:
            theirs, mine = located.find(found.docs)
            scores[mine] += found_scores[theirs]
    return scores


def passages_per_record(view, field: str, records: np.ndarray) -> np.ndarray:
    """Per record given, how many passages it stands for in `field`: one (its own text), or
    for a title or heading, the passages that share it."""
    context = docsets.CONTEXT_OF.get(field)
    if context is None:
        return np.ones(len(records), dtype=np.int32)
    return view.passages_per_record(context).take(view.links(context).take(records))


def average_length(view, searcher, field: str) -> float:
    """The field's average length over passages (a title or heading counted once per
    passage that shares it)."""
    def compute() -> float:
        context = docsets.CONTEXT_OF.get(field)
        records = view.term_docs(searcher, "kind", context.kind) if context else view.passages
        total = (view.lengths(searcher, field)[records] * passages_per_record(view, field, records)).sum()
        return float(total / max(1, len(view.passages))) or 1.0
    return view.cached(cache_keys.AverageLength(field), compute)


def bm25f(weights: np.ndarray, lengths: postings.Lengths, docs: np.ndarray, doc_frequency: float,
          doc_count: int, avg_length: float, B: float = 0.75, K1: float = 1.2) -> np.ndarray:
    """One term's BM25F scores for its postings (their weights, and the docs whose field
    lengths count), with Whoosh's idf and bm25 formulas."""
    idf = math.log(doc_count / (doc_frequency + 1)) + 1
    # Whoosh's bm25, its length normalisation worked out per stored length: the same
    # arithmetic, element by element, without four passes over a common term's postings.
    norms = lengths.mapped(lambda length: K1 * ((1 - B) + B * length / avg_length), docs)
    tf = weights.astype(np.float64)
    return idf * ((tf * (K1 + 1)) / (tf + norms))
