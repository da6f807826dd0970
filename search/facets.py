"""Facets: the ways a search is narrowed (province, city, topic, year, level), each defined once.

A Facet says how a passage's values are derived at index time, in which stored column they
are counted and filtered, how a filter value (short or full name, alias) resolves to stored
values, how its buckets are ordered and nested (city under province), and how it is shown
(its Chinese label and the names its inline filter answers to). The engine, the API and its
OpenAPI document, the CLI (`--<facet>` options, `stats`) and the templates all work from
FACETS, so adding a facet is adding a definition here (and its tests).

Modelled on Datasette's facets (datasette/facets.py): one definition per facet, buckets of
one shape everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from search import enrich
from search.topics import TopicRules

# The most specific level of a passage's region: what kind of organisation did the work.
NATIONAL, PROVINCIAL, MUNICIPAL, COUNTY = "全国", "省级", "市级", "县级"
LEVELS = (NATIONAL, PROVINCIAL, MUNICIPAL, COUNTY)


@dataclass(frozen=True)
class PassageFacts:
    """What a passage's facet values are derived from."""

    region: enrich.Region
    topics: tuple[str, ...]
    year: int | None


@dataclass(frozen=True)
class Names:
    """The names filter values may use: the gazetteer's places and the taxonomy's topics."""

    gazetteer: enrich.Gazetteer
    topics: TopicRules


def level_of(region: enrich.Region) -> str:
    """全国 without a region, else the level of its most specific part (a municipality, its
    own province and city at once, is 省级)."""
    if region.county:
        return COUNTY
    if region.city and region.city != region.province:
        return MUNICIPAL
    return PROVINCIAL if region.province else NATIONAL


@dataclass(frozen=True)
class Column:
    """Values stored per passage (a comma-joined string; several for a multi-valued column)."""

    name: str
    values: Callable[[PassageFacts], tuple[str, ...]]
    multi: bool = False

    @property
    def field(self) -> str:
        """The Whoosh column field that holds it."""
        return f"facet_{self.name}"


COLUMNS = {column.name: column for column in (
    Column("province", lambda f: (f.region.province,) if f.region.province else ()),
    Column("city", lambda f: (f.region.city,) if f.region.city else ()),
    Column("county", lambda f: (f.region.county,) if f.region.county else ()),
    Column("topic", lambda f: f.topics, multi=True),
    Column("year", lambda f: (str(f.year),) if f.year else ()),
    Column("level", lambda f: (level_of(f.region),)),
)}


@dataclass(frozen=True)
class Facet:
    """One facet: how it is stored, filtered, resolved, ordered and shown."""

    name: str                        # API parameter, CLI option, inline filter name
    label: str                       # 城市: chips, error messages, CLI and overview headings
    aliases: tuple[str, ...]         # other names of its inline filter (城市:石家庄)
    resolve: Callable[[str, Names], set[str]]  # stored values a filter value selects; empty: unknown
    known: Callable[[Names], list[str]]        # the names it accepts (to suggest the nearest)
    description: str                 # API and CLI help
    column: str = ""                 # the column its buckets count (default: its name)
    also_matches: tuple[str, ...] = ()  # further columns a filter value may be found in
    parent: str | None = None        # the facet its buckets nest under (a city's province)
    kind: type = str                 # its values' type in the API (year: int)
    order: tuple[str, ...] = ()      # a fixed order of its values; else by count, most first
    heading: str = ""                # the sidebar's heading for it (and what nests under it)
    unit: str = ""                   # shown after a value (2021年)

    @property
    def metavar(self) -> str:
        """How the CLI names its option's value (--city C)."""
        return self.name[0].upper()

    @property
    def counted(self) -> str:
        return self.column or self.name

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns a filter value is looked up in."""
        return (self.counted, *self.also_matches)

    def parse(self, value: str):
        """A filter value as typed, in the facet's type; ValueError when it is not one."""
        return self.kind(value)

    def sort_key(self, value, count: int):
        """Buckets order: the fixed order, else most passages first (newest year first on ties)."""
        if self.order:
            return (self.order.index(value) if value in self.order else len(self.order), 0, "")
        return (0, -count, -value if self.kind is int else 0, str(value))


def _places(level: str) -> Callable[[str, Names], set[str]]:
    return lambda value, names: {d.name for d in names.gazetteer.resolve(value, level)}


def _topics(value: str, names: Names) -> set[str]:
    return set(names.topics.expand(value))


def _year(value: str, names: Names) -> set[str]:
    return {str(int(value))}


def _level(value: str, names: Names) -> set[str]:
    name = value.strip()
    return {name} if name in LEVELS else {f"{name}级"} if f"{name}级" in LEVELS else set()


FACETS: tuple[Facet, ...] = (
    Facet("province", "省份", ("省份",), _places("province"), lambda v: v.gazetteer.names("province"),
          "Province, short or full name (浙江 = 浙江省)", heading="地区"),
    Facet("city", "城市", ("城市",), _places("city"), lambda v: v.gazetteer.names("city"),
          "City or county-level division, short or full name (石家庄; 东阳 and 金华 both find 东阳)",
          also_matches=("county",), parent="province"),
    Facet("topic", "主题", ("主题",), _topics, lambda v: [*v.topics.names, *v.topics.aliases],
          "Topic name, or the alias 三献 for the three donation topics"),
    Facet("year", "年份", ("年份",), _year, lambda v: [], "Report year", kind=int, unit="年"),
    Facet("level", "机构层级", ("层级", "机构层级"), _level, lambda v: list(LEVELS),
          "Level of the organisation whose work a passage reports: 全国, 省级, 市级 or 县级", order=LEVELS),
)
BY_NAME = {facet.name: facet for facet in FACETS}
# Inline filter names (city:, 城市:) to facet names.
FILTER_NAMES = {alias: facet.name for facet in FACETS for alias in (facet.name, *facet.aliases)}


def facet_values(facts: PassageFacts) -> dict[str, str]:
    """A passage's stored value of every column, by Whoosh field name."""
    return {column.field: ",".join(column.values(facts)) for column in COLUMNS.values()}


class Filters:
    """Selected facet values: OR within a facet, AND across facets. `Filters(city=("石家庄",))`."""

    __slots__ = ("_values",)

    def __init__(self, **values):
        unknown = set(values) - set(BY_NAME)
        if unknown:
            raise TypeError(f"no such facet: {', '.join(sorted(unknown))}")
        self._values = tuple((f.name, tuple(values[f.name])) for f in FACETS if values.get(f.name))

    def get(self, name: str) -> tuple:
        """The values selected for one facet (empty when none)."""
        return dict(self._values).get(name, ())

    def items(self) -> tuple[tuple[str, tuple], ...]:
        """(facet name, values) of every facet with a selection."""
        return self._values

    def merged(self, other: "Filters") -> "Filters":
        """Both selections together (values of the same facet are ORed)."""
        return Filters(**{f.name: tuple(dict.fromkeys(self.get(f.name) + other.get(f.name))) for f in FACETS})

    def any(self) -> bool:
        return bool(self._values)

    def __eq__(self, other) -> bool:
        return isinstance(other, Filters) and self._values == other._values

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:
        return f"Filters({', '.join(f'{name}={values!r}' for name, values in self._values)})"


FACET_SIZE = 100  # buckets an answer shows per facet; how many more there are is said beside them
