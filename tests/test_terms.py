"""What a query's terms are searched as and how each was derived: no index needed."""
from __future__ import annotations

from search.analysis import Lexicon
from search.querylang import parse_query
from search.results import Correction
from search.terms import (CORRECTION, PLACE, SUBWORD, SYNONYM, TERM_WEIGHT, TYPED, Places, Term, relaxed_units,
                          search_terms)

LEXICON = Lexicon({"急救": ("救护",), "救护": ("急救",), "培训": ("训练",), "训练": ("培训",)},
                  frozenset({"进行"}))


def derivations(terms):
    return [(t.text, t.derivation, t.of) for t in terms.terms]


def test_a_plain_term_is_searched_with_its_synonyms_a_phrase_alone():
    terms = search_terms(parse_query('急救 "培训"'), [], LEXICON, relaxed=False)
    assert derivations(terms) == [("急救", TYPED, "急救"), ("救护", SYNONYM, "急救"),
                                  ("培训", TYPED, "培训")]
    assert terms.highlights == ["急救", "救护", "培训"]
    assert terms.weights == {"急救": TERM_WEIGHT, "培训": TERM_WEIGHT}


def test_a_correction_is_searched_with_its_synonyms_and_weighs_as_typed():
    # 救户 found nothing as typed: the search searched 救护 in its place.
    terms = search_terms(parse_query("救护 培训"), [Correction("救户", "救护")], LEXICON, relaxed=False)
    assert derivations(terms) == [("救护", CORRECTION, "救户"), ("急救", SYNONYM, "救护"),
                                  ("培训", TYPED, "培训"), ("训练", SYNONYM, "培训")]
    assert terms.weights == {"救护": TERM_WEIGHT, "培训": TERM_WEIGHT}


def test_a_relaxed_search_adds_the_words_of_its_long_terms_stopwords_and_single_characters_left_out():
    parsed = parse_query("急救培训进行会 监事会")
    units = relaxed_units(parsed, LEXICON)
    assert [[a.text for a in unit] for unit in units] == [["急救"], ["培训"], ["监事会"]]
    strict = search_terms(parsed, [], LEXICON, relaxed=False)
    relaxed = search_terms(parsed, [], LEXICON, relaxed=True)
    assert derivations(strict) == [("急救培训进行会", TYPED, "急救培训进行会"),
                                   ("监事会", TYPED, "监事会")]
    assert derivations(relaxed) == derivations(strict) + [
        ("急救", SUBWORD, "急救培训进行会"), ("救护", SYNONYM, "急救"),
        ("培训", SUBWORD, "急救培训进行会"), ("训练", SYNONYM, "培训")]
    # The snippet still prefers a sentence holding the terms as typed.
    assert relaxed.weights == strict.weights == {"急救培训进行会": TERM_WEIGHT, "监事会": TERM_WEIGHT}
    assert relaxed.highlights == ["急救培训进行会", "监事会", "急救", "救护", "培训", "训练"]


def test_excluded_terms_and_filters_are_never_marked():
    terms = search_terms(parse_query("急救 -培训 city:石家庄"), [], LEXICON, relaxed=True)
    assert terms.highlights == ["急救", "救护"]


def test_a_place_a_word_was_read_as_is_searched_and_marked_but_weighs_as_no_typed_term():
    places = Places(read=(Term("石家庄市", PLACE, "石家庄", facet="city"),))
    terms = search_terms(parse_query("石家庄 急救"), [], LEXICON, relaxed=False, places=places)
    assert derivations(terms) == [("石家庄", TYPED, "石家庄"), ("石家庄市", PLACE, "石家庄"),
                                  ("急救", TYPED, "急救"), ("救护", SYNONYM, "急救")]
    assert terms.places == [Term("石家庄市", PLACE, "石家庄", facet="city")]
    assert terms.highlights == ["石家庄", "石家庄市", "急救", "救护"]
    assert terms.weights == {"石家庄": TERM_WEIGHT, "急救": TERM_WEIGHT}
    # Only the word read as the place: a phrase, or a word read as none, gets no place term.
    assert search_terms(parse_query('"石家庄" 急救'), [], LEXICON, relaxed=False, places=places).places == []
