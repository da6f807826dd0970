"""Cache keys: what every value an index version keeps is stored under, in one place.

IndexView.cached and IndexView.kept hold values for as long as their index version is
searched, so a value's key must name everything else it depends on, or a change to that
would be answered from the cache. Two things change under a running server besides the
index: the lexicon (synonyms and stopwords, reloaded when their files change) and the
topic taxonomy (topics.toml). So a value computed through synonyms or relaxation units
names the lexicon's stamp, and a value computed through filters names the stored values
the filters resolved to, never the names typed; one computed through the places a query's
words were read as names those places (a request may switch the reading off).

Each key is a frozen dataclass of its own, its fields what its value depends on besides
the index version; keys of two kinds never compare equal. Every call to IndexView.cached
or .kept in search/ passes one of these (tests/test_layout.py checks), so a new cached
value starts with a key here, saying what it depends on.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """A key of a value kept with one index version (only its subclasses are used)."""


# -- depend on the index version only ---------------------------------------------------

@dataclass(frozen=True)
class Postings(Key):
    """A term's postings, as arrays."""

    field: str
    text: str


@dataclass(frozen=True)
class Lengths(Key):
    """Every record's length in a field."""

    field: str


@dataclass(frozen=True)
class AverageLength(Key):
    """A field's average length over passages."""

    field: str


@dataclass(frozen=True)
class PassagesPerRecord(Key):
    """How many passages share each title or heading of a context (per record code)."""

    context: object


@dataclass(frozen=True)
class Substring(Key):
    """The passages whose text (or title or heading) holds a string."""

    where: str
    text: str


@dataclass(frozen=True)
class Parents(Key):
    """Each value of a nesting facet with the value it nests under."""

    facet: str


@dataclass(frozen=True)
class Deleted(Key):
    """Per segment, which of its documents are deleted."""


@dataclass(frozen=True)
class Words(Key):
    """The index's words and how many passages hold each."""


@dataclass(frozen=True)
class Overview(Key):
    """Reports and passages per facet value."""


# -- depend on what changes under a running server too ------------------------------------

@dataclass(frozen=True)
class FilterDocs(Key):
    """The passages a facet's selection allows: keyed by the stored values its filter values
    resolved to (as topics.toml says now), not by the values typed."""

    facet: str
    values: frozenset


@dataclass(frozen=True)
class Strict(Key):
    """The passages a query matches strictly: every clause, through its synonyms (from the
    lexicon) and the places its words were read as."""

    clauses: tuple
    excluded: tuple
    places: object
    lexicon: tuple | None


@dataclass(frozen=True)
class Relaxed(Key):
    """A query's relaxed match: its units and what each matches come from the lexicon, and
    from the places its words were read as."""

    clauses: tuple
    excluded: tuple
    places: object
    lexicon: tuple | None


@dataclass(frozen=True)
class Fallbacks(Key):
    """What a query matches when nothing holds all of it: as Relaxed, by its clauses."""

    clauses: tuple
    excluded: tuple
    places: object
    lexicon: tuple | None


@dataclass(frozen=True)
class Tiers(Key):
    """How exactly the passages match a query's clauses: through its synonyms' absence, its
    long terms' words (stopwords from the lexicon) and the places its words were read as."""

    clauses: tuple
    places: object
    lexicon: tuple | None


@dataclass(frozen=True)
class Selected:
    """What a selection's hits and their scores depend on: the query as searched (corrections
    made; an unsearchable query is not an empty one), the stored values each selected facet's
    filters resolved to, the lexicon (synonyms match and score; stopwords shape units) and the
    places the query's words were read as."""

    query: object
    values: tuple
    lexicon: tuple | None
    places: object = None


@dataclass(frozen=True)
class Ordered(Key):
    """The hits of a selection every page can reach, in the order `sort` shows them."""

    selected: Selected
    sort: str


@dataclass(frozen=True)
class FacetCounts(Key):
    """One facet's count per value for a selection, as selecting each value instead of the
    facet's own selection returns: `others` is the selection without this facet's values (a
    facet's counts do not depend on what is selected in it, so clicking one of its values
    finds them counted)."""

    others: Selected
    facet: str


@dataclass(frozen=True)
class FacetValues(Key):
    """The values of a facet that some passage the other facets' selections allow holds (with
    `others` the stored values they resolved to)."""

    others: tuple
    facet: str
