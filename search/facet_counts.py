"""Facet counts: each facet value's bucket for a search, counted as selecting it would return.

A bucket's count is the total that selecting its value instead of this facet's current
selection returns: the other facets' selections apply, this facet's own does not, and the
count is relaxed, or falls back, exactly where that search would (Matches.choose, applied
per value). The results' facets, the facet export and the CLI all count here.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from search import cache_keys, docsets, facets
from search.docsets import IndexView
from search.facets import BY_NAME, Facet, Filters
from search.matching import Matches, selects
from search.results import Bucket


def buckets(view: IndexView, facet: Facet, matches: Matches, allowed: dict, filters: Filters,
            names: facets.Names, selected: cache_keys.Selected, every: bool = False) -> tuple[list[Bucket], int]:
    """The facet's buckets (FACET_SIZE and the selected ones, or every one), and how many more
    values it has than they show. Each count is as if this facet's own selection were not
    applied: the total that selecting the value instead returns, relaxed where that is.
    `selected` is the selection's cache key: the counts are kept for the next page and the
    next click (at 10^6 passages a common word's take tens of milliseconds)."""
    others = [d for f, d in allowed.items() if f != facet.name and d is not None]
    without = replace(selected, values=tuple(v for v in selected.values if v[0] != facet.name))
    column = view.columns.values[facet.counted]
    held = lambda: view.cached(cache_keys.FacetValues(without.values, facet.name),
                               lambda: frozenset(column.counts(view.passages_in(others))))
    counts = view.cached(cache_keys.FacetCounts(without, facet.name), lambda: _counts(column, matches, others, held))
    selection = filters.get(facet.name)
    parents = _parents(view, facet)
    ordered = sorted((Bucket(facet.kind(value), count, parents.get(value),
                             tuple(v for v in selection if value in selects(facet, v, names)))
                      for value, count in counts.items()),
                     key=lambda b: facet.sort_key(b.value, b.count))
    shown = [b for i, b in enumerate(ordered) if every or i < facets.FACET_SIZE or b.selected]
    return shown, len(ordered) - len(shown)


def _counts(column, matches: Matches, others: list, held: Callable[[], frozenset]) -> dict[str, int]:
    """Per value, what selecting it returns: each matching's count of it, chosen as a search
    selecting it chooses (values none of them holds left out). A fallback is chosen only for
    values the strict and relaxed matches hold no passage of: the fallbacks are counted only
    when such a value is `held` by some passage the other facets allow, and only over the
    passages the strict and relaxed matches do not hold (a common query's fallbacks are most
    of the collection)."""
    tallies = {id(matches.strict): column.counts(docsets.intersect([matches.strict.docs] + others))}
    found = matches.relaxed or matches.strict  # the relaxed match holds the strict one
    if found is matches.relaxed:
        tallies[id(found)] = column.counts(docsets.intersect([found.docs] + others))
    if not held().issubset(tallies[id(found)]):
        tallies.update({id(level): column.counts(docsets.intersect([beyond] + others))
                        for level, beyond in zip(matches.fallbacks.levels, matches.fallbacks.beyond)})
    strict, counts = tallies[id(matches.strict)], {}
    for value in set().union(*tallies.values()):
        if matches.enough(strict.get(value, 0)):
            counts[value] = strict[value]
            continue
        size = lambda matching: tallies[id(matching)].get(value, 0)
        counts[value] = size(matches.choose(size))
    return {value: n for value, n in counts.items() if n}


def _parents(view: IndexView, facet: Facet) -> dict[str, str]:
    """Each value's parent value (a city's province), for a facet that nests."""
    if facet.parent is None:
        return {}

    def compute() -> dict[str, str]:
        child, parent = view.columns.values[facet.counted], view.columns.values[BY_NAME[facet.parent].counted]
        pairs = set(zip(child.codes[view.passages].tolist(), parent.codes[view.passages].tolist()))
        return {child.names[c]: parent.names[p] for c, p in pairs if c}
    return view.cached(cache_keys.Parents(facet.name), compute)
