"""Matching: which passages a query and its filters select, as doc sets.

Plain words are ANDed and must each occur in the passage (or its heading or title) as an
exact substring, found through the bigram fields (docsets.IndexView.substring_docs);
jieba word matches only add score (ranking.py), so word matches outrank bigram-only
ones. For a query of two or more units a relaxed match ("most units must match") is
made too; which one a selection gets depends on how many strict hits it leaves
(Matches.for_selection), the same way for the results and every facet bucket.

Filters resolve a filter value to the stored values it selects (石家庄 → 石家庄市, 三献 →
three topics) with the names passed in; an unknown value is a QueryError naming the
nearest known ones.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
from whoosh.query import Query

from search import analysis, cache_keys, docsets, facets, ranking
from search.docsets import IndexView
from search.facets import BY_NAME, FACETS, Facet, Filters
from search.querylang import Alternative, ParsedQuery, QueryError
from search.terms import Term, expanded, relaxed_units


@dataclass(frozen=True)
class Matching:
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
class Matches:
    """A query's strict match (every term) and, for two or more terms, its relaxed match
    (most terms). Which one a selection of facet values gets depends on the selection, the
    same way for the results and for each facet bucket, so every count is what selecting
    its value returns."""

    strict: Matching
    relaxed: Matching | None = None

    def for_selection(self, selected: list[np.ndarray]) -> Matching:
        """Strict, unless the selection leaves fewer than ranking.RELAX_BELOW strict hits."""
        if self.relaxed is None or len(docsets.intersect([self.strict.docs] + selected)) >= ranking.RELAX_BELOW:
            return self.strict
        return self.relaxed


def match_query(searcher, view: IndexView, parsed: ParsedQuery, lexicon: analysis.Lexicon,
                lexicon_stamp: tuple | None) -> Matches:
    """What the query matches before facet filters, strictly (every term) and, for a query
    of two or more terms, relaxed (most terms, ranked by how many a passage holds)."""
    if parsed.unsearchable:
        return Matches(Matching(docsets.EMPTY))
    excluded = docsets.union([alternative_docs(searcher, view, a) for a in parsed.excluded])
    if parsed.empty:
        return Matches(Matching(docsets.difference(view.passages, excluded)))
    strict = docsets.intersect([clause_docs(searcher, view, c, lexicon) for c in parsed.clauses]
                               + [_in_text(searcher, view, parsed.clauses, lexicon), view.passages])
    strict = Matching(docsets.difference(strict, excluded), _scoring(parsed.clauses, lexicon))
    units = relaxed_units(parsed, lexicon)
    if len(units) < 2:
        return Matches(strict)
    relaxed = view.cached(cache_keys.Relaxed(parsed.clauses, parsed.excluded, lexicon_stamp),
                          lambda: _relaxed(searcher, view, units, strict.docs, excluded, lexicon))
    return Matches(strict, relaxed)


def _relaxed(searcher, view: IndexView, units, strict: np.ndarray, excluded: np.ndarray,
             lexicon: analysis.Lexicon) -> Matching:
    """Passages holding enough of the units (ranking.units_needed), strict hits included."""
    unit_docs = [clause_docs(searcher, view, u, lexicon) for u in units]
    held = ranking.coverage(unit_docs, len(view.columns.passages), strict)
    covered = np.flatnonzero(held >= ranking.units_needed(len(units))).astype(np.int32)
    relaxed = docsets.intersect([covered, _in_text(searcher, view, units, lexicon), view.passages])
    docs = docsets.union([strict, docsets.difference(relaxed, excluded)])
    return Matching(docs, _scoring(units, lexicon), ranking.Coverage(docs, held[docs]))


def alternative_docs(searcher, view: IndexView, alt: Alternative | Term) -> np.ndarray:
    """Passages containing the term: in the text, or (unquoted) in the heading or title."""
    docs = view.substring_docs(searcher, alt.text, "text")
    if alt.exact:
        return docs
    return docsets.union([docs, view.substring_docs(searcher, alt.text, "heading")])


def clause_docs(searcher, view: IndexView, clause: tuple[Alternative, ...], lexicon: analysis.Lexicon) -> np.ndarray:
    """Passages containing one of the clause's alternatives or their synonyms."""
    return docsets.union([alternative_docs(searcher, view, term) for term in expanded(clause, lexicon)])


def _in_text(searcher, view: IndexView, clauses, lexicon: analysis.Lexicon) -> np.ndarray:
    """Passages where some term occurs in the text itself: a title or heading match
    alone only gives context."""
    return docsets.union([view.substring_docs(searcher, term.text, "text")
                          for c in clauses for term in expanded(c, lexicon)])


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
    return view.cached(cache_keys.FilterDocs(facet.name, wanted), lambda: docsets.intersect([docsets.union(
        [view.columns.values[column].holding(wanted) for column in facet.columns]), view.passages]))
