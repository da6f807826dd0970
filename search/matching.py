"""Matching: which passages a query and its filters select, as doc sets.

Plain words are ANDed and must each occur in the passage (or its heading or title) as an
exact substring, found through the bigram fields (docsets.IndexView.substring_docs);
jieba word matches only add score (ranking.py), so word matches outrank bigram-only
ones. A plain word that names a place (terms.places_named) matches, besides, every passage
whose region the filter of that place selects (filter_docs: one code path, so the typed
and the filter form select alike); a passage must still hold some term in its own text.
For a query of two or more units a relaxed match ("most units must match") is made too,
and for when nothing matches, fallbacks down to what exists: without the commonest terms
first (Meilisearch's `frequency` matching strategy), lastly any term, in the passage's own
text or not. Which one a selection gets depends on how many hits each leaves it
(Matches.choose), the same way for the results and every facet bucket.

Filters resolve a filter value to the stored values it selects (石家庄 → 石家庄市, 三献 →
three topics) with the names passed in; an unknown value is a QueryError naming the
nearest known ones.
"""
from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
from whoosh.query import Query

from search import analysis, cache_keys, docsets, facets, ranking
from search.docsets import IndexView
from search.facets import BY_NAME, FACETS, Facet, Filters
from search.querylang import Alternative, ParsedQuery, QueryError, query_text
from search.terms import PLACE, Places, Term, expanded, relaxed_units, words_of


@dataclass(frozen=True)
class Matching:
    """Passages a query matches, the Whoosh query that scores them, how exactly each matched
    (its tier sets), and, when relaxed, which of the query's units each passage holds."""

    docs: np.ndarray
    scoring: Query | None = None
    coverage: ranking.Coverage | None = None
    tiers: ranking.TierSets | None = None

    @property
    def relaxed(self) -> bool:
        return self.coverage is not None

    @property
    def nbytes(self) -> int:
        """Memory held, for the view's cache (the tier sets are cached on their own)."""
        return self.docs.nbytes + (self.coverage.nbytes if self.coverage else 0)


@dataclass(frozen=True)
class Fallbacks:
    """What a query matches when no passage holds all of it, broadest last, and of each level
    the passages the strict and relaxed matches do not hold (the only ones a facet value counts
    a fallback for: see Matches.choose)."""

    levels: tuple[Matching, ...] = ()
    beyond: tuple[np.ndarray, ...] = ()

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self.levels) + sum(docs.nbytes for docs in self.beyond)


@dataclass(frozen=True)
class Matches:
    """A query's strict match (every term), for two or more units its relaxed match (most
    units), and its fallbacks. Which one a selection of facet values gets depends on the
    selection, the same way for the results and for each facet bucket, so every count is
    what selecting its value returns."""

    strict: Matching
    relaxed: Matching | None = None
    broader: Callable[[], Fallbacks] = Fallbacks

    @functools.cached_property
    def fallbacks(self) -> Fallbacks:
        """The fallbacks, computed the first time a selection needs them: one that the strict or
        relaxed match leaves hits never does (at 10^6 passages a common query's cost tens of
        milliseconds and megabytes)."""
        return self.broader()

    def choose(self, size: Callable[[Matching], int]) -> Matching:
        """The matching a selection gets, `size` counting what each leaves it: strict, unless
        it leaves fewer than ranking.RELAX_BELOW hits and a relaxed match leaves more; when
        neither leaves any, the first fallback that does (none: strict, and nothing)."""
        strict = size(self.strict)
        if self.enough(strict):
            return self.strict
        if self.relaxed is not None and size(self.relaxed) > strict:
            return self.relaxed
        if strict:
            return self.strict
        return next((level for level in self.fallbacks.levels if size(level)), self.strict)

    @staticmethod
    def enough(strict: int) -> bool:
        """Whether this many strict hits are enough: the selection gets the strict match."""
        return strict >= ranking.RELAX_BELOW

    def for_selection(self, selected: list[np.ndarray]) -> Matching:
        """The matching a selection (the doc sets its facets allow) gets."""
        return self.choose(lambda matching: len(docsets.intersect([matching.docs] + selected)))


def match_query(searcher, view: IndexView, parsed: ParsedQuery, lexicon: analysis.Lexicon,
                lexicon_stamp: tuple | None, places: Places = Places()) -> Matches:
    """What the query matches before facet filters: strictly (every term, a place also by its
    region), relaxed (most units, for two or more), and the fallbacks for when neither finds
    anything."""
    if parsed.unsearchable:
        return Matches(Matching(docsets.EMPTY))
    excluded = docsets.union([alternative_docs(searcher, view, a) for a in parsed.excluded])
    if parsed.empty:
        return Matches(Matching(docsets.difference(view.passages, excluded)))
    clause_sets = lambda: [clause_docs(searcher, view, c, lexicon, places) for c in parsed.clauses]
    sets = view.cached(cache_keys.Tiers(parsed.clauses, places, lexicon_stamp),
                       lambda: tier_sets(searcher, view, parsed.clauses, lexicon, places))
    scoring = _scoring(parsed.clauses, lexicon)
    strict = view.cached(cache_keys.Strict(parsed.clauses, parsed.excluded, places, lexicon_stamp),
                         lambda: docsets.difference(view.passages_in(clause_sets() + [
                             _in_text(searcher, view, parsed.clauses, lexicon, places)]), excluded))
    strict = Matching(strict, scoring, tiers=sets)
    units = relaxed_units(parsed, lexicon)
    relaxed = None
    # Two clauses of one unit each: "most" of them is both, the strict match again.
    if len(units) >= 2 and not (ranking.units_needed(len(units)) == len(units) and units == list(parsed.clauses)):
        relaxed = view.cached(cache_keys.Relaxed(parsed.clauses, parsed.excluded, places, lexicon_stamp),
                              lambda: _relaxed(searcher, view, units, strict.docs, excluded, lexicon, places, sets))
    found = (relaxed or strict).docs
    fallbacks = lambda: view.cached(cache_keys.Fallbacks(parsed.clauses, parsed.excluded, places, lexicon_stamp),
                                    lambda: _fallbacks(searcher, view, parsed.clauses, clause_sets(), excluded, lexicon,
                                                       places, scoring, sets, found))
    return Matches(strict, relaxed, fallbacks)


def _relaxed(searcher, view: IndexView, units, strict: np.ndarray, excluded: np.ndarray,
             lexicon: analysis.Lexicon, places: Places, sets: ranking.TierSets) -> Matching:
    """Passages holding enough of the units (ranking.units_needed), strict hits included."""
    unit_docs = [clause_docs(searcher, view, u, lexicon, places) for u in units]
    held = ranking.counts(unit_docs, len(view.columns.passages))
    held[strict] = len(units)
    covered = np.flatnonzero(held >= ranking.units_needed(len(units))).astype(np.int32)
    relaxed = view.passages_in([covered, _in_text(searcher, view, units, lexicon, places)])
    docs = docsets.union([strict, docsets.difference(relaxed, excluded)])
    return Matching(docs, _scoring(units, lexicon), ranking.Coverage(_labels(units), tuple(unit_docs), strict), sets)


def _fallbacks(searcher, view: IndexView, clauses, clause_sets: list[np.ndarray], excluded: np.ndarray,
               lexicon: analysis.Lexicon, places: Places, scoring: Query, sets: ranking.TierSets,
               found: np.ndarray) -> Fallbacks:
    """What a query matches when nothing holds every term: the passages holding the terms left
    when the commonest are dropped, one more at a time (those found nowhere first), each term
    left in the passage's own text or context as usual; lastly the passages holding any term
    at all, in their own text or only in their heading, title or region. Each level ranks by
    the terms a passage holds, then as the strict match does; the empty ones are left out."""
    dropped = sorted(range(len(clauses)), key=lambda i: (len(clause_sets[i]) > 0, -len(clause_sets[i]), -i))
    levels = []
    for k in range(1, len(clauses)):
        kept = sorted(dropped[k:])
        levels.append(view.passages_in([clause_sets[i] for i in kept] + [
            _in_text(searcher, view, [clauses[i] for i in kept], lexicon, places)]))
    levels.append(view.passages_in([docsets.union(clause_sets)]))
    labels = _labels(clauses)
    kept = [docs for docs in (docsets.difference(level, excluded) for level in levels) if len(docs)]
    return Fallbacks(tuple(Matching(docs, scoring, ranking.Coverage(labels, tuple(clause_sets)), sets)
                           for docs in kept),
                     tuple(docsets.difference(docs, found) for docs in kept))


def _labels(clauses) -> tuple[str, ...]:
    """Clauses (or units) as the query language writes them: what a hit is said to lack."""
    return tuple(query_text(ParsedQuery((clause,))) for clause in clauses)


def tier_sets(searcher, view: IndexView, clauses, lexicon: analysis.Lexicon, places: Places) -> ranking.TierSets:
    """The passages matching every clause as exactly as each tier asks (ranking.TierSets): a
    term as searched in the passage's own text (a place: the passage is of it), its words
    there, it or its words anywhere in the passage's text, heading or title (a place: named)."""
    def alternative(alt: Alternative) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        read = () if alt.exact else places.of(alt.text)
        if read:
            region = docsets.union([region_docs(view, place) for place in read])
            return region, region, docsets.union([alternative_docs(searcher, view, alt), region]
                                                 + [alternative_docs(searcher, view, place) for place in read])
        text, anywhere = view.substring_docs(searcher, alt.text, "text"), alternative_docs(searcher, view, alt)
        words = [w for w in words_of(alt, lexicon) if w != alt.text]
        if not words:
            return text, text, anywhere
        # A long term: its words apart count too, a tier below it whole.
        words_in_text = docsets.intersect([view.substring_docs(searcher, w, "text") for w in words])
        words_anywhere = docsets.intersect([alternative_docs(searcher, view, Alternative(w, False)) for w in words])
        return text, docsets.union([text, words_in_text]), docsets.union([anywhere, words_anywhere])

    per_clause = [[alternative(alt) for alt in clause] for clause in clauses]
    exact, words, context = ([docsets.union([found[level] for found in clause]) for clause in per_clause]
                             for level in range(3))
    return ranking.TierSets(*(view.passages_in(sets) for sets in (exact, words, context)))


def alternative_docs(searcher, view: IndexView, alt: Alternative | Term) -> np.ndarray:
    """Passages containing the term: in the text, or (unquoted) in the heading or title."""
    return view.substring_docs(searcher, alt.text, "text" if alt.exact else "anywhere")


def term_docs(searcher, view: IndexView, term: Term) -> np.ndarray:
    """Passages a term matches: containing it (alternative_docs), and for a place, of it."""
    docs = alternative_docs(searcher, view, term)
    if term.derivation == PLACE:
        return docsets.union([docs, region_docs(view, term)])
    return docs


def region_docs(view: IndexView, place: Term) -> np.ndarray:
    """The passages a place term's region selects: what the filter naming it selects."""
    return filter_docs(view, BY_NAME[place.facet], frozenset({place.text}))


def held_places(view: IndexView, places: Places) -> Places:
    """The places the index holds passages of (a place it holds none of adds nothing to
    match, and nothing to offer)."""
    held = lambda place: len(region_docs(view, place)) > 0
    return Places(tuple(filter(held, places.read)), tuple(filter(held, places.offered)))


def clause_docs(searcher, view: IndexView, clause: tuple[Alternative, ...], lexicon: analysis.Lexicon,
                places: Places = Places()) -> np.ndarray:
    """Passages containing one of the clause's alternatives or their synonyms, or of a place
    one of them is read as."""
    return docsets.union([term_docs(searcher, view, term) for term in expanded(clause, lexicon, places)])


def _in_text(searcher, view: IndexView, clauses, lexicon: analysis.Lexicon, places: Places = Places()) -> np.ndarray:
    """Passages where some term occurs in the text itself: a title, heading or region match
    alone only gives context. Beside other words a place is context too, named or not: the
    passage must hold what is asked of the place (石家庄 救灾: 救灾) in its own text, as the
    filter form (救灾 city=石家庄) asks."""
    subjects = [c for c in clauses if not any(places.of(alt.text) for alt in c if not alt.exact)]
    return docsets.union([view.substring_docs(searcher, term.text, "text")
                          for c in subjects or clauses for term in expanded(c, lexicon, places)])


def _scoring(clauses, lexicon: analysis.Lexicon) -> Query:
    return ranking.scoring([(term.text, term.boost) for c in clauses for term in expanded(c, lexicon)])


def selects(facet: Facet, value, names: facets.Names) -> set[str]:
    """The stored values a filter value selects: 石家庄 -> {石家庄市}, 三献 -> three topics;
    empty for a value the facet does not know."""
    try:
        return facet.resolve(str(value), names)
    except ValueError:
        return set()


def names_a_facet_value(text: str, names: facets.Names) -> bool:
    """Whether a term is the name of a place or topic (a word: never replaced by a correction)."""
    return any(selects(facet, text, names) for facet in FACETS if facet.kind is str)


def check_filters(filters: Filters, names: facets.Names) -> None:
    """QueryError for a filter value that names no known value of its facet, with the known
    values nearest to it: an unknown value must not look like an empty result."""
    for name, values in filters.items():
        facet = BY_NAME[name]
        for value in values:
            if not selects(facet, value, names):
                known = facet.known(names)
                near = difflib.get_close_matches(str(value), known, n=5, cutoff=0.5)
                hint = (f"相近的有：{'、'.join(near)}" if near else
                        f"可选：{'、'.join(known)}" if 0 < len(known) <= 20 else "没有相近的名称")
                raise QueryError(f"未知的{facet.label}：{str(value)[:50]}。{hint} "
                                 f"(unknown {facet.name}: {str(value)[:50]!r})")


def selected_values(filters: Filters, names: facets.Names) -> dict[str, frozenset[str]]:
    """Per facet with a selection, the stored values its filter values select, resolved with
    the names as they are now (topics.toml may change under a running server)."""
    return {name: frozenset(set().union(*(selects(BY_NAME[name], value, names) for value in values)))
            for name, values in filters.items()}


def filter_docs(view: IndexView, facet: Facet, wanted: frozenset[str] | None) -> np.ndarray | None:
    """Passages holding any of the stored values one facet's selection resolved to, or None
    when nothing is selected."""
    if wanted is None:
        return None
    return view.cached(cache_keys.FilterDocs(facet.name, wanted), lambda: view.passages_in([docsets.union(
        [view.columns.values[column].holding(wanted) for column in facet.columns])]))
