"""Offers: other searches that find something, said beside a search.

A word naming a place that is not read as one (an everyday word such as 和平, or any place
while the reading is switched off) is offered as that place's filter; a search that finds
nothing offers, besides, each of its filter values taken off and each place it read as a
filter. Each offer is counted, and only those that find something are made. What a request
finds is counted by the function passed in (the engine's), so this room knows no index.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from search.facets import Filters
from search.querylang import Alternative, ParsedQuery, SearchRequest, query_text
from search.results import Offer
from search.terms import Places, Term


def without(parsed: ParsedQuery, word: str) -> str | None:
    """The query without a word that is a clause of its own (to search it as a filter
    instead); None when the word is not one (an alternative joined by OR)."""
    alone = (Alternative(word, False),)
    if alone not in parsed.clauses:
        return None
    return query_text(replace(parsed, clauses=tuple(c for c in parsed.clauses if c != alone)))


def offered(request: SearchRequest, parsed: ParsedQuery, places: Places, found: int,
            count: Callable[[SearchRequest], int]) -> list[Offer]:
    """What to offer beside a search of `request` (`parsed` as searched) that found `found`
    passages: the places its words name but were not read as and, when it found nothing, the
    places they were read as and its filter values taken off; each with what it finds."""
    offers = [_place(request, parsed, place, count) for place in places.offered + (places.read if not found else ())]
    if not found:
        offers += [Offer(name, value, count(replace(request, filters=_without_value(request.filters, name, value))),
                         query=request.q)
                   for name, values in request.filters.items() for value in values]
    return [offer for offer in offers if offer is not None and offer.total]


def _place(request: SearchRequest, parsed: ParsedQuery, place: Term, count) -> Offer | None:
    query = without(parsed, place.of)
    if query is None:
        return None
    filters = request.filters.merged(Filters(**{place.facet: (place.text,)}))
    return Offer(place.facet, place.text, count(replace(request, q=query, filters=filters, page=1)), place.of, query)


def _without_value(filters: Filters, name: str, value) -> Filters:
    return Filters(**{**dict(filters.items()), name: tuple(v for v in filters.get(name) if v != value)})
