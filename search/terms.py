"""Terms: what each of a query's terms is searched as, and how each was derived.

A term typed plain is searched as itself and as its synonyms (a "phrase" only as itself);
a plain term that finds nothing as typed is searched as its correction (corrections.py
decides which); a relaxed search counts units, the words of a long plain term; a plain
term that names a place is searched as that place too (PLACE: the passages whose region
the province or city filter of that name selects). Every term a search looks for records
its derivation and the term it derives from, as Meilisearch's matching words do, so the
ranking (a synonym's boost), the snippets (a sentence holding a term as typed is
preferred), the document page (the same terms marked as in the snippets) and the page's
"understood" line read one list: SearchTerms, made once per search.

Nothing here reads the index: the lexicon (synonyms, stopwords) and the gazetteer are
passed in, and which places the index holds is decided in matching.py.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from search import analysis, enrich, ranking
from search.querylang import Alternative, ParsedQuery
from search.results import Correction

# How a term came to be searched: as typed; as a synonym of a term; as the correction of a
# typed term that found nothing; as a word of a long typed term, when a search is relaxed;
# as the place a typed term names (its text the stored name the filter selects: 石家庄市).
TYPED, SYNONYM, CORRECTION, SUBWORD, PLACE = "typed", "synonym", "correction", "subword", "place"
# The filters a typed place is read as.
PLACE_FACETS = ("province", "city")
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
    facet: str | None = None  # PLACE: the facet whose filter selects the place named `text`

    @property
    def boost(self) -> float:
        """What it scores, as a share of what the term it derives from would score."""
        return ranking.SYNONYM_BOOST if self.derivation == SYNONYM else 1.0


@dataclass(frozen=True)
class Places:
    """The places a query's plain terms name and the index holds: those read as places
    (matched by their region too) and those only offered as a filter (an everyday word such
    as 和平, or every place while the reading is switched off). PLACE terms, each naming one
    stored value of one facet."""

    read: tuple[Term, ...] = ()
    offered: tuple[Term, ...] = ()

    def of(self, text: str) -> tuple[Term, ...]:
        """The places a typed term is read as (none when it is not read as a place)."""
        return tuple(term for term in self.read if term.of == text)


def derived(alt: Alternative, lexicon: analysis.Lexicon, derivation: str = TYPED, of: str | None = None,
            places: Places = Places()) -> list[Term]:
    """An alternative as the term it is searched as, followed by its synonyms and the places
    it is read as (a phrase has neither)."""
    term = Term(alt.text, derivation, of or alt.text, alt.exact)
    if alt.exact:
        return [term]
    return [term, *(Term(synonym, SYNONYM, alt.text) for synonym in lexicon.synonyms_of(alt.text)),
            *places.of(alt.text)]


def expanded(clause: tuple[Alternative, ...], lexicon: analysis.Lexicon, places: Places = Places()) -> list[Term]:
    """A clause's alternatives with their synonyms and places: what a passage must hold one of."""
    return [term for alt in clause for term in derived(alt, lexicon, places=places)]


def named_places(text: str, gazetteer: enrich.Gazetteer) -> list[Term]:
    """Every place a plain term names, as the province and city filters resolve that name
    (short or full; 朝阳 is 朝阳市 in 辽宁 and 朝阳区 in 北京 and 长春), as PLACE terms: one per
    stored value, a city left out when a province of the same name holds it (吉林)."""
    provinces = gazetteer.resolve(text, "province")
    held = {gazetteer.path(d)[0] for d in provinces}
    cities = [d for d in gazetteer.resolve(text, "city") if gazetteer.path(d)[0] not in held]
    return list(dict.fromkeys([*(Term(d.name, PLACE, text, facet="province") for d in provinces),
                               *(Term(d.name, PLACE, text, facet="city") for d in cities)]))


def reads_as_place(text: str, gazetteer: enrich.Gazetteer) -> bool:
    """Whether a plain term that names places is read as one. A full name (长兴县, 和平区), a
    province or a prefecture-level city (and a county-level city directly under its province,
    仙桃) always is; a county-level short name unless it is an everyday word (enrich.COMMON_WORDS,
    the list region detection keeps: 和平, 新华, 城关, 长安, 合作). jieba's dictionary does not
    tell them apart: 石首 (30,746) and 天门 (4,627) are more frequent than 新华 (549), and it tags
    仙桃 and 石首 as common nouns."""
    if text in gazetteer.full_names:
        return True
    divisions = [d for facet in PLACE_FACETS for d in gazetteer.resolve(text, facet)]
    return any(d.level != "county" or d.city == d.name for d in divisions) or text not in enrich.COMMON_WORDS


def places_named(parsed: ParsedQuery, lexicon: analysis.Lexicon, gazetteer: enrich.Gazetteer,
                 read: bool = True) -> Places:
    """The places the plain terms of a query (and of its relaxed units) name, read as places
    (reads_as_place, unless `read` is False) or only offered; the index is not asked here."""
    texts = dict.fromkeys(alt.text for clause in [*parsed.clauses, *relaxed_units(parsed, lexicon)]
                          for alt in clause if not alt.exact)
    named = {text: found for text in texts if (found := named_places(text, gazetteer))}
    is_read = {text: read and reads_as_place(text, gazetteer) for text in named}
    return Places(tuple(t for text, found in named.items() if is_read[text] for t in found),
                  tuple(t for text, found in named.items() if not is_read[text] for t in found))


def relaxed_units(parsed: ParsedQuery, lexicon: analysis.Lexicon) -> list[tuple[Alternative, ...]]:
    """The clauses a relaxed search counts: long plain terms split into words, stopwords left out."""
    return [unit for clause in parsed.clauses for unit in _units(clause, lexicon)]


def _units(clause: tuple[Alternative, ...], lexicon: analysis.Lexicon) -> list[tuple[Alternative, ...]]:
    if len(clause) > 1:
        return [clause]
    words = words_of(clause[0], lexicon)
    return [clause] if words == [clause[0].text] else [(Alternative(w, False),) for w in words]


def words_of(alt: Alternative, lexicon: analysis.Lexicon) -> list[str]:
    """The words a long plain term is counted as when relaxed (stopwords left out): itself for
    a phrase or a dictionary word."""
    if alt.exact or analysis.is_dictionary_word(alt.text):
        return [alt.text]
    # Single characters left over by the split (会, 新) match almost everything.
    return list(dict.fromkeys(w for w in analysis.cut(alt.text) if w not in lexicon.stopwords and len(w) > 1))


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
    def places(self) -> list[Term]:
        """The places typed terms were read as (what the page says it understood)."""
        return [term for term in self.terms if term.derivation == PLACE]

    @functools.cached_property
    def weights(self) -> dict[str, float]:
        """What a snippet prefers: a sentence with a term as typed (or as corrected) to one with
        only synonyms or sub-words."""
        return {term.text: TERM_WEIGHT for term in self.terms if term.derivation in (TYPED, CORRECTION)}


def search_terms(parsed: ParsedQuery, corrected: list[Correction], lexicon: analysis.Lexicon,
                 relaxed: bool, places: Places = Places()) -> SearchTerms:
    """The terms a search looked for: `parsed` as searched (corrections made) with the places
    its terms were read as, and its relaxed units' when the search was relaxed."""
    typo = {c.to: c.from_ for c in corrected}
    terms = [term for clause in parsed.clauses for alt in clause
             for term in (derived(alt, lexicon, CORRECTION, typo[alt.text], places)
                          if not alt.exact and alt.text in typo else derived(alt, lexicon, places=places))]
    if relaxed:
        terms += [term for clause in parsed.clauses for unit in _units(clause, lexicon) if unit != clause
                  for term in derived(unit[0], lexicon, SUBWORD, clause[0].text, places)]
    return SearchTerms(tuple(dict.fromkeys(terms)))
