"""Terms: what each of a query's terms is searched as, and how each was derived.

A term typed plain is searched as itself and as its synonyms (a "phrase" only as itself);
a plain term that finds nothing as typed is searched as its correction (corrections.py
decides which); a relaxed search counts units, the words of a long plain term. Every
term a search looks for records its derivation and the term it derives from, as
Meilisearch's matching words do, so the ranking (a synonym's boost), the snippets (a
sentence holding a term as typed is preferred) and the document page (the same terms
marked as in the snippets) read one list: SearchTerms, made once per search.

Nothing here reads the index: the lexicon (synonyms, stopwords) is passed in.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from search import analysis, ranking
from search.querylang import Alternative, ParsedQuery
from search.results import Correction

# How a term came to be searched: as typed; as a synonym of a term; as the correction of a
# typed term that found nothing; as a word of a long typed term, when a search is relaxed.
# (A place typed in the query, matched against a report's region, will be one more.)
TYPED, SYNONYM, CORRECTION, SUBWORD = "typed", "synonym", "correction", "subword"
# How much more a sentence holding a term as typed counts than one holding a synonym or sub-word.
TERM_WEIGHT = 10.0


@dataclass(frozen=True)
class Term:
    """One string a search looks for, how it was derived and the term it derives from (itself
    when typed; the typo a correction replaced; the term a synonym or sub-word belongs to)."""

    text: str
    derivation: str
    of: str
    exact: bool = False  # a "phrase": found in the text only, never expanded

    @property
    def boost(self) -> float:
        """What it scores, as a share of what the term it derives from would score."""
        return ranking.SYNONYM_BOOST if self.derivation == SYNONYM else 1.0


def derived(alt: Alternative, lexicon: analysis.Lexicon, derivation: str = TYPED, of: str | None = None) -> list[Term]:
    """An alternative as the term it is searched as, followed by its synonyms (a phrase has none)."""
    term = Term(alt.text, derivation, of or alt.text, alt.exact)
    if alt.exact:
        return [term]
    return [term, *(Term(synonym, SYNONYM, alt.text) for synonym in lexicon.synonyms_of(alt.text))]


def expanded(clause: tuple[Alternative, ...], lexicon: analysis.Lexicon) -> list[Term]:
    """A clause's alternatives with their synonyms: what a passage must hold one of."""
    return [term for alt in clause for term in derived(alt, lexicon)]


def relaxed_units(parsed: ParsedQuery, lexicon: analysis.Lexicon) -> list[tuple[Alternative, ...]]:
    """The clauses a relaxed search counts: long plain terms split into words, stopwords left out."""
    return [unit for clause in parsed.clauses for unit in _units(clause, lexicon)]


def _units(clause: tuple[Alternative, ...], lexicon: analysis.Lexicon) -> list[tuple[Alternative, ...]]:
    if len(clause) > 1 or clause[0].exact or analysis.is_dictionary_word(clause[0].text):
        return [clause]
    # Single characters left over by the split (会, 新) match almost everything.
    words = [w for w in analysis.cut(clause[0].text) if w not in lexicon.stopwords and len(w) > 1]
    return [(Alternative(w, False),) for w in dict.fromkeys(words)]


@dataclass(frozen=True)
class SearchTerms:
    """Every term one search looked for, in query order: its clauses' (as typed or corrected,
    each followed by its synonyms) and, when it was relaxed, its units' (sub-words and theirs)."""

    terms: tuple[Term, ...] = ()

    @functools.cached_property
    def highlights(self) -> list[str]:
        """The strings a hit's snippet and the document view mark, each once."""
        return list(dict.fromkeys(term.text for term in self.terms))

    @functools.cached_property
    def weights(self) -> dict[str, float]:
        """What a snippet prefers: a sentence with a term as typed (or as corrected) to one with
        only synonyms or sub-words."""
        return {term.text: TERM_WEIGHT for term in self.terms if term.derivation in (TYPED, CORRECTION)}


def search_terms(parsed: ParsedQuery, corrected: list[Correction], lexicon: analysis.Lexicon,
                 relaxed: bool) -> SearchTerms:
    """The terms a search looked for: `parsed` as searched (corrections made), and its
    relaxed units' when the search was relaxed."""
    typo = {c.to: c.from_ for c in corrected}
    terms = [term for clause in parsed.clauses for alt in clause
             for term in (derived(alt, lexicon, CORRECTION, typo[alt.text]) if not alt.exact and alt.text in typo
                          else derived(alt, lexicon))]
    if relaxed:
        terms += [term for clause in parsed.clauses for unit in _units(clause, lexicon) if unit != clause
                  for term in derived(unit[0], lexicon, SUBWORD, clause[0].text)]
    return SearchTerms(tuple(terms))
