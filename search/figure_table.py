"""The figures of an index version as a table: join a search's hits with their figures, filter
by unit, value and exactness, count units, sort by value and page, in numpy.

Each passage stores its figures twice: in full as JSON beside its text (figures.to_json, read
only for the rows of the page shown), and as rows of numbers in the `figure_rows` column
(figures.to_rows: value, unit, approximate or not), which the indexer prepares with the other columns into
one array per attribute, ordered by document number (search/columns.py). At 10^6 passages and
a few million figures a table is a few tens of megabytes, memory-mapped.

The search's order is asked for only where it matters: for the passages that can reach the
page shown (figure order), or for those holding the values at the page's end (value order).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from search import figures as figure_module
from search.querylang import QueryError

FIELD = "figure_rows"
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
SORTS = (None, "value", "-value")
# The orders a figure search offers: its passages' (relevance, date), or by value.
SEARCH_SORTS = ("relevance", "date", "value", "-value")
UNITS_FILE = "figure-units.json"
ARRAYS = ("docs", "values", "units", "approx")
CHUNK_ROWS = 1 << 18
ZERO_DOCS = np.zeros(0, dtype=np.int32)
# The first `depth` of some hits (sorted document numbers) in the order a search shows them.
Order = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class FigureColumns:
    """Every figure of some consecutive documents, one row each, ordered by document number
    and, within a document, as its passage writes them."""

    docs: np.ndarray    # int32 document number
    values: np.ndarray  # float64 value (the lower end of a range)
    units: np.ndarray   # uint16 code into unit_names (a few dozen units: two bytes a row)
    approx: np.ndarray  # uint8: 1 when a qualifier makes it inexact
    unit_names: list[str]
    doc_count: int      # documents covered (rows index into 0..doc_count-1)

    @functools.cached_property
    def starts(self) -> np.ndarray:
        """Per document number, its first row; one more entry than documents (CSR offsets)."""
        counts = np.bincount(self.docs, minlength=self.doc_count)
        # Kept for as long as the table is searched: 4 bytes a passage while rows fit in them.
        dtype = np.int32 if len(self.docs) < 2**31 else np.int64
        return np.concatenate([np.zeros(1, dtype=dtype), np.cumsum(counts, dtype=dtype)])

    @classmethod
    def read(cls, reader) -> FigureColumns:
        """The figures of one segment (or any Whoosh reader), from its `figure_rows` column."""
        docs, values, units, approx = [], [], [], []
        for docnum, packed in enumerate(reader.column_reader(FIELD)):
            for value, unit, inexact in figure_module.from_rows(packed):
                docs.append(docnum)
                values.append(value)
                units.append(unit)
                approx.append(inexact)
        names = sorted(set(units))
        code = {name: i for i, name in enumerate(names)}
        return cls(np.array(docs, dtype=np.int32), np.array(values, dtype=np.float64),
                   np.array([code[u] for u in units], dtype=np.uint16), np.array(approx, dtype=np.uint8),
                   names, reader.doc_count_all())

    def slice(self, start: int, count: int) -> FigureColumns:
        """The rows of documents start..start+count-1, numbered from 0."""
        lo, hi = int(self.starts[start]), int(self.starts[start + count])
        return FigureColumns(self.docs[lo:hi] - start, self.values[lo:hi], self.units[lo:hi],
                             self.approx[lo:hi], self.unit_names, count)

    @classmethod
    def joined(cls, parts: list[FigureColumns]) -> FigureColumns:
        """Consecutive documents' figures as one table (units coded anew over all of them)."""
        names = sorted({name for part in parts for name in part.unit_names})
        code = {name: i for i, name in enumerate(names)}
        offsets = np.cumsum([0] + [part.doc_count for part in parts])
        recoded = [np.array([code[n] for n in part.unit_names] or [0], dtype=np.uint16)[part.units] for part in parts]
        empty = lambda dtype: [np.zeros(0, dtype=dtype)]
        return cls(np.concatenate(empty(np.int32) + [p.docs + np.int32(o) for p, o in zip(parts, offsets)]),
                   np.concatenate(empty(np.float64) + [p.values for p in parts]),
                   np.concatenate(empty(np.uint16) + recoded),
                   np.concatenate(empty(np.uint8) + [p.approx for p in parts]),
                   names, int(offsets[-1]))

    def save(self, folder: Path) -> None:
        """Write the table into a prepared-columns folder."""
        for name in ARRAYS:
            np.save(folder / f"figure-{name}.npy", getattr(self, name))
        (folder / UNITS_FILE).write_text(json.dumps({"units": self.unit_names, "doc_count": self.doc_count},
                                                    ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> FigureColumns:
        """The table `save` wrote, memory-mapped; OSError or ValueError when it is not all there."""
        meta = json.loads((folder / UNITS_FILE).read_text(encoding="utf-8"))
        arrays = [np.load(folder / f"figure-{name}.npy", mmap_mode="r") for name in ARRAYS]
        return cls(*arrays, meta["units"], meta["doc_count"])


@dataclass(frozen=True)
class FigureRow:
    """One figure of the page: the passage it stands in (document number and stored fields)."""

    docnum: int
    figure: figure_module.Figure
    fields: dict


@dataclass(frozen=True)
class FigurePage:
    """A page of the figures of some hits, how many pass the filters, and per unit how many
    would pass without the unit filter (most first)."""

    total: int
    rows: list[FigureRow]
    units: list[tuple[str, int]]


@dataclass(frozen=True)
class FigureQuery:
    """What to take from the figures of a search's hits."""

    unit: str | None = None
    min: float | None = None
    max: float | None = None
    approx: bool | None = None   # True: only inexact figures, False: only exact ones
    sort: str | None = None      # None: as the hits are ordered; "value" or "-value"
    page: int = 1
    limit: int = DEFAULT_LIMIT

    def __post_init__(self):
        if self.sort not in SORTS:
            raise QueryError(f"按数值排序只能是 value 或 -value (sort must be value or -value, "
                             f"not {str(self.sort)[:20]!r})")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit 必须在 1 到 {MAX_LIMIT} 之间 (limit must be between 1 and {MAX_LIMIT}, "
                             f"not {self.limit})")
        if self.page < 1:
            raise QueryError(f"page 必须是正整数 (page must be 1 or more, not {self.page})")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise QueryError(f"最小值 {self.min:g} 大于最大值 {self.max:g} (min ({self.min:g}) is above max "
                             f"({self.max:g}))")


def figure_page(view, searcher, hits: np.ndarray, query: FigureQuery = FigureQuery(),
                order: Order | None = None) -> FigurePage:
    """The figures of `hits` (the document numbers a search returns, in any order) that pass
    `query`, one page of them in full, and the unit counts.

    `order(docs, depth)` gives the first `depth` of some of the hits (sorted document numbers)
    in the order the search shows them; the figures follow it, or by value with equal values
    in it. Only the passages that can reach the page are ordered. Without it, document order.
    `view` is a docsets.IndexView of the searcher's index version: only its figure table is
    read, and the stored fields of the page's passages."""
    table = view.columns.figures
    passing = _passing(table, hits, query)
    shown = _ordered_rows(table, passing, query, order or _document_order, query.page * query.limit)
    return FigurePage(passing.total, _full_rows(view, searcher, table, shown[(query.page - 1) * query.limit:]),
                      passing.units)


def every_figure(view, searcher, hits: np.ndarray, query: FigureQuery = FigureQuery(),
                 order: Order | None = None, chunk: int = MAX_LIMIT) -> tuple[int, Iterator[FigureRow]]:
    """How many figures of `hits` pass `query`, and all of them in the order figure_page
    pages them (its page and limit aside), read `chunk` at a time as they are consumed."""
    table = view.columns.figures
    passing = _passing(table, hits, query)
    shown = _ordered_rows(table, passing, query, order or _document_order, passing.total)

    def read() -> Iterator[FigureRow]:
        for start in range(0, len(shown), chunk):
            yield from _full_rows(view, searcher, table, shown[start:start + chunk])
    return len(shown), read()


@dataclass(frozen=True)
class _Passing:
    """Which rows of the table are figures of a search's hits that pass a query's filters (a
    flag per row: at 10^6 passages a list of row numbers would take eight times the memory),
    how many, and the unit counts of those that pass every filter but the unit."""

    keep: np.ndarray
    total: int
    units: list[tuple[str, int]]


def _passing(table: FigureColumns, hits: np.ndarray, query: FigureQuery) -> _Passing:
    hits = np.asarray(hits)
    if len(hits) and (hits.min() < 0 or hits.max() >= table.doc_count):
        hits = hits[(hits >= 0) & (hits < table.doc_count)]
    member = np.zeros(table.doc_count, dtype=bool)
    member[hits] = True
    keep = member[table.docs]
    if query.min is not None:
        keep &= table.values >= query.min
    if query.max is not None:
        keep &= table.values <= query.max
    if query.approx is not None:
        keep &= table.approx == int(query.approx)
    units = _unit_counts(table, keep)
    if query.unit is not None:
        keep &= table.units == (table.unit_names.index(query.unit) if query.unit in table.unit_names else -1)
    return _Passing(keep, int(np.count_nonzero(keep)), units)


def _document_order(docs: np.ndarray, depth: int) -> np.ndarray:
    return docs[:depth]


def _distinct(ascending: np.ndarray) -> np.ndarray:
    """The distinct values of an ascending array, in one pass (np.unique sorts it again)."""
    if not len(ascending):
        return ascending
    return ascending[np.concatenate(([True], ascending[1:] != ascending[:-1]))]


def _rows_of(table: FigureColumns, docs: np.ndarray) -> np.ndarray:
    """The rows of the documents' figures, document after document."""
    first, counts = table.starts[docs], table.starts[docs + 1] - table.starts[docs]
    placed = np.cumsum(counts) - counts     # where each document's rows start in the result
    return np.repeat(first - placed, counts) + np.arange(int(counts.sum()), dtype=np.int64)


def _chunks(keep: np.ndarray) -> Iterator[slice]:
    """The table's rows a chunk at a time: what is taken of every passing row is taken a chunk
    at a time, so a search over most of 10^6 passages holds a few megabytes more, not tens."""
    return (slice(start, start + CHUNK_ROWS) for start in range(0, len(keep), CHUNK_ROWS))


def _passages_holding(table: FigureColumns, keep: np.ndarray) -> np.ndarray:
    """The passages (ascending) that hold a passing row."""
    parts = [_distinct(table.docs[rows][keep[rows]]) for rows in _chunks(keep)]
    return _distinct(np.concatenate([ZERO_DOCS, *parts]))  # a passage split by two chunks, once


def _unit_counts(table: FigureColumns, keep: np.ndarray) -> list[tuple[str, int]]:
    counts = np.zeros(len(table.unit_names), dtype=np.int64)
    for rows in _chunks(keep):
        counts += np.bincount(table.units[rows][keep[rows]], minlength=len(counts))
    return sorted(((table.unit_names[c], int(counts[c])) for c in np.flatnonzero(counts)), key=lambda u: (-u[1], u[0]))


def _ordered_rows(table: FigureColumns, passing: _Passing, query: FigureQuery, order: Order,
                  wanted: int) -> np.ndarray:
    """The first `wanted` passing rows in the order asked for: as the hits are ordered, or by
    value with equal values as the hits are ordered (within a passage, as it writes them)."""
    keep = passing.keep
    if query.sort is None:
        # Every passage here holds a passing figure, so the first `wanted` hold the page.
        held = _passages_holding(table, keep)
        rows = _rows_of(table, order(held, min(wanted, len(held))))
        return rows[keep[rows]][:wanted]
    candidates = keep.copy()
    if wanted < passing.total:
        values = table.values[keep]
        at = wanted - 1 if query.sort == "value" else len(values) - wanted
        values.partition(at)
        cutoff = values[at]
        del values
        # Every tie at the cut-off, so the order is exact.
        candidates &= table.values <= cutoff if query.sort == "value" else table.values >= cutoff
    rows = np.flatnonzero(candidates)
    docs = table.docs[rows]  # ascending, as the rows are
    held = _distinct(docs)
    rank = np.empty(len(held), dtype=np.int64)
    rank[np.searchsorted(held, order(held, len(held)))] = np.arange(len(held))
    key = table.values[rows] if query.sort == "value" else -table.values[rows]
    return rows[np.lexsort((rows, rank[np.searchsorted(held, docs)], key))][:wanted]


def _full_rows(view, searcher, table: FigureColumns, rows: np.ndarray) -> list[FigureRow]:
    """The page's figures as the passages store them."""
    result, stored = [], {}
    for row in rows.tolist():
        docnum = int(table.docs[row])
        if docnum not in stored:
            fields = view.stored_fields(searcher, docnum)
            stored[docnum] = (fields, figure_module.from_json(fields.get("figures", "")))
        fields, found = stored[docnum]
        result.append(FigureRow(docnum, found[row - int(table.starts[docnum])], fields))
    return result
