"""What the engine answers: the result types, and how a stored record becomes one.

Hits, facet buckets, a page of results, an export, the document view, the overview and
completions are frozen dataclasses (or a TypedDict) that `search.serialize` turns into the
JSON the API sends and the OpenAPI document describes. A passage's region and metadata are
read from its stored fields in one place (METADATA), whichever result shows them; its URLs
and its permalink anchor are made here too.
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from typing import Callable, Iterator, Literal, TypedDict
from urllib.parse import quote

from search import analysis, facets, topics
from search.facets import FACETS, Filters
from search.querylang import MAX_RESULT_DEPTH
from search.serialize import INTERNAL, OPTIONAL, exact_keys, to_json

# A passage's region and metadata (a report record's too) from its stored fields, in the order
# a Hit lists them: a region part or year not stored is None, a passage without a region is
# 全国, topics are stored comma-joined. Every result that shows them reads them through
# `metadata`, and the export writes a column for each.
METADATA: dict[str, Callable[[dict], object]] = {
    "province": lambda fields: fields.get("province") or None,
    "city": lambda fields: fields.get("city") or None,
    "county": lambda fields: fields.get("county") or None,
    "level": lambda fields: fields.get("level") or facets.NATIONAL,
    "topics": lambda fields: [t for t in fields.get("topics", "").split(",") if t],
    "year": lambda fields: fields.get("year") or None,
}


def metadata(fields: dict, result: type) -> dict:
    """The region and metadata a result type (Hit, DocumentPassage, DocumentView) declares,
    read from a record's stored fields, in the order the type declares them."""
    return {name: METADATA[name](fields) for name in _declared_metadata(result)}


@functools.cache
def _declared_metadata(result: type) -> tuple[str, ...]:
    return tuple(name for name in result.__annotations__ if name in METADATA)


@dataclass(frozen=True)
class Hit:
    """One passage found: its text, the snippet with the matches marked, and its report's facets."""

    doc_id: str
    title: str
    passage: int
    heading: str
    text: str
    snippet: str
    score: float
    province: str | None
    city: str | None
    county: str | None
    level: str
    topics: list[str]
    year: int | None
    url: str
    permalink: str
    # A relaxed search's hit: the words of the query it does not hold (Google's 缺少).
    missing: list[str] = field(default_factory=list, metadata=OPTIONAL)


def document_url(doc_id: str, passage: int) -> str:
    """A passage on its report's page: the id percent-encoded (its folders stay readable)."""
    return f"/doc/{quote(doc_id, safe='/')}#p{passage}"


def passage_anchor(text: str) -> str:
    """A passage's name that survives a reindex: a hash of its normalized text, so white space,
    width, case and traditional characters do not change it and any other edit does."""
    return hashlib.blake2b(analysis.compact(text).encode("utf-8"), digest_size=6).hexdigest()


def passage_permalink(doc_id: str, text: str) -> str:
    """A passage's permalink: it finds the passage by its text, wherever a reindex numbered it."""
    return f"/p/{quote(doc_id, safe='/')}/{passage_anchor(text)}"


@dataclass(frozen=True)
class Correction:
    """A term searched as another: a homophone typo (造血肝细胞 → 造血干细胞) or pinyin
    (wuchangxianxue → 无偿献血)."""

    from_: str = field(metadata={"json_name": "from"})
    to: str


@dataclass(frozen=True)
class Understood:
    """A word of the query read as a place: the word, the facet whose filter selects that
    place and the stored value it selects (one per place a name can mean: 朝阳 is 朝阳市 and
    朝阳区)."""

    term: str
    facet: str
    value: str
    # The query without the word, for the page's link making the place a filter ("" when the
    # word is one of several joined by OR, which no filter can stand for).
    query: str | None = field(default=None, metadata=INTERNAL)


@dataclass(frozen=True)
class Offer:
    """Another search that finds something, offered beside this one: with `term`, that word
    searched as a filter on the place it names instead of as text; without, this search with
    one of its filter values taken off. `total` is what it finds."""

    facet: str
    value: str | int
    total: int
    term: str | None = field(default=None, metadata=OPTIONAL)
    # The query the offer searches (without `term`), for the page's link.
    query: str = field(default="", metadata=INTERNAL)


@dataclass(frozen=True)
class Bucket:
    """One facet value: how many passages selecting it returns, the value it nests under (a
    city's province; None for facets that do not nest), and whether it is selected."""

    value: str | int
    count: int
    parent: str | None = None
    # Raw filter values (short or full names) that select this value: what a link removes.
    selected_by: tuple = field(default=(), metadata=INTERNAL)
    selected: bool = field(init=False, default=False)

    def __post_init__(self):
        object.__setattr__(self, "selected", bool(self.selected_by))


@dataclass(frozen=True)
class SearchResult:
    """One page of results with facet counts; `to_json()` is the /api/search answer."""

    query: str
    total: int
    total_reports: int
    page: int
    limit: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[Bucket]] = field(metadata=exact_keys(tuple(f.name for f in FACETS)))
    # Per facet with more values than `facets` shows (FACET_SIZE), how many more.
    facets_more: dict[str, int] = field(default_factory=dict, metadata=OPTIONAL)
    relaxed: bool = False
    filters: Filters = field(default_factory=Filters, metadata=INTERNAL)
    did_you_mean: str | None = field(default=None, metadata=OPTIONAL)
    notice: str | None = field(default=None, metadata=OPTIONAL)
    # Terms that found nothing as typed, searched as what they sound like; the query searched.
    corrected: list[Correction] = field(default_factory=list, metadata=OPTIONAL)
    corrected_query: str | None = field(default=None, metadata=OPTIONAL)
    # The places words of the query were read as (matched by their region too).
    understood: list[Understood] = field(default_factory=list, metadata=OPTIONAL)
    # A relaxed search: the words of the query none of its results holds (以下结果不含「救灾」).
    missing: list[str] = field(default_factory=list, metadata=OPTIONAL)
    # Other searches that find something: a place named by a word not read as one (and, when
    # nothing is found, each filter value taken off), with what each finds.
    offers: list[Offer] = field(default_factory=list, metadata=OPTIONAL)

    def to_json(self) -> dict:
        return to_json(self)

    @property
    def last_page(self) -> int:
        """The last page there is: where the results end, or where paging stops (MAX_RESULT_DEPTH)."""
        return min(math.ceil(self.total / self.limit), MAX_RESULT_DEPTH // self.limit)


@dataclass(frozen=True)
class Export:
    """Every passage a search returns: how many, and the hits in the order its pages show them,
    read as they are consumed."""

    total: int
    hits: Iterator[Hit]
    # As in SearchResult: terms searched as what they sound like, and the query searched.
    corrected: list[Correction] = field(default_factory=list)
    corrected_query: str | None = None
    # As in SearchResult: the places the search read its words as.
    understood: list[Understood] = field(default_factory=list)


@dataclass(frozen=True)
class FacetRow:
    value: str | int
    reports: int
    passages: int


@dataclass(frozen=True)
class Overview:
    """The collection at a glance: reports and passages per facet value."""

    reports: int
    passages: int
    facets: dict[str, list[FacetRow]]
    built_at: float | None

    def to_json(self) -> dict:
        return {"reports": self.reports, "passages": self.passages, "built_at": self.built_at,
                "facets": {name: [row.__dict__ for row in rows] for name, rows in self.facets.items()}}


@dataclass(frozen=True)
class TopicWord:
    """A word of topics.toml that gave a passage a topic, and where the word stood.

    `where` is "text" (the passage itself), "heading" (its section heading), "title" (the
    report's title) or "neighbours" (the passages beside it).
    """

    word: str
    where: Literal[topics.TEXT, topics.HEADING, topics.TITLE, topics.NEIGHBOURS]


def topic_evidence(fields: dict) -> dict[str, list[TopicWord]]:
    """Per topic of a stored passage, the words that gave it (the index's `topic_evidence`),
    in the order of its topics."""
    stored = topics.PassageTopics.from_json(fields.get("topic_evidence", ""))
    return {topic: [TopicWord(e.word, e.where) for e in evidence] for topic, evidence in stored.evidence.items()}


class DocumentPassage(TypedDict):
    """One passage of a report in the document view."""

    passage: int
    anchor: str  # what its permalink names it by (passage_anchor)
    role: str
    heading: str
    text: str
    topics: list[str]
    # Per topic, the words that gave it: what a keeper who disagrees edits in topics.toml.
    topic_evidence: dict[str, list[TopicWord]]
    province: str | None
    city: str | None
    county: str | None
    level: str


@dataclass(frozen=True)
class DocumentView:
    """A whole report as stored in the index."""

    doc_id: str
    title: str
    format: str
    source: str
    province: str | None
    city: str | None
    county: str | None
    year: int | None
    passages: list[DocumentPassage]
    title_source: str = "headline"  # or "first sentence": the report has no headline
    date: str | None = None         # YYYY-MM-DD the page or file gave
    original: str | None = None     # the original file's name, while it is still there unchanged


@dataclass(frozen=True)
class Suggestion:
    """A completion of what was typed: the word, the part the typing matched marked (HTML-safe),
    and how many passages hold the word."""

    text: str
    marked: str
    passages: int


@dataclass(frozen=True)
class FigureHit:
    """One figure a passage states, and the passage it stands in with its region and year.

    `value` has 万/亿/千 applied (a range's lower end), `unit` is what it counts in without the
    multiplier, `text` the span as written, `subject` what it counts, `approx` whether a
    qualifier (近, 约, 余, 多, 超过 …) makes it inexact."""

    value: float
    unit: str
    text: str
    subject: str
    approx: bool
    doc_id: str
    passage: int
    title: str
    province: str | None
    city: str | None
    county: str | None
    level: str
    year: int | None
    url: str
    # Which characters of the passage it is (figure_mark), and a link to it that survives a reindex.
    mark: str = field(default="", metadata=INTERNAL)
    permalink: str = field(default="", metadata=INTERNAL)


@dataclass(frozen=True)
class UnitCount:
    """A unit, and how many of a search's figures count in it."""

    value: str
    count: int


@dataclass(frozen=True)
class FigureResult:
    """One page of the figures of a search's passages, with unit counts; `to_json()` is the /api/figures answer.

    `total` counts the figures that pass every filter; `units`, per unit, those that pass every
    filter but the unit's (most first)."""

    total: int
    figures: list[FigureHit]
    units: list[UnitCount]

    def to_json(self) -> dict:
        return to_json(self)


def figure_mark(start: int, end: int, passage: int | None = None) -> str:
    """Characters start..end of a passage as a link names them for the document page to mark:
    `P:S-E` with the passage's number, `S-E` where the link names the passage already."""
    return f"{start}-{end}" if passage is None else f"{passage}:{start}-{end}"


def figure_url(doc_id: str, passage: int, start: int, end: int) -> str:
    """A figure on its report's page: its passage, with its characters marked."""
    return f"/doc/{quote(doc_id, safe='/')}?mark={figure_mark(start, end, passage)}#p{passage}"
