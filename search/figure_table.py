"""The figures of an index version as a table: join a search's hits with their figures, filter
by unit, value and exactness, count units, sort by value and page, in numpy.

Each passage stores its figures twice: in full as JSON beside its text (figures.to_json, read
only for the rows of the page shown), and as rows of numbers in the `figure_rows` column
(figures.to_rows: value, unit, approximate or not), which the indexer prepares with the other columns into
one array per attribute, ordered by document number (docsets.prepare). At 10^6 passages and
a few million figures a table is a few tens of megabytes, memory-mapped.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search import figures as figure_module

FIELD = "figure_rows"
MAX_LIMIT = 500
SORTS = (None, "value", "-value")
UNITS_FILE = "figure-units.json"
ARRAYS = ("docs", "values", "units", "approx")


@dataclass(frozen=True)
class FigureColumns:
    """Every figure of some consecutive documents, one row each, ordered by document number
    and, within a document, as its passage writes them."""

    docs: np.ndarray    # int32 document number
    values: np.ndarray  # float64 value (the lower end of a range)
    units: np.ndarray   # int32 code into unit_names
    approx: np.ndarray  # uint8: 1 when a qualifier makes it inexact
    unit_names: list[str]
    doc_count: int      # documents covered (rows index into 0..doc_count-1)

    @functools.cached_property
    def starts(self) -> np.ndarray:
        """Per document number, its first row; one more entry than documents (CSR offsets)."""
        counts = np.bincount(self.docs, minlength=self.doc_count)
        return np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts, dtype=np.int64)])

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
                   np.array([code[u] for u in units], dtype=np.int32), np.array(approx, dtype=np.uint8),
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
        recoded = [np.array([code[n] for n in part.unit_names] or [0], dtype=np.int32)[part.units] for part in parts]
        empty = lambda dtype: [np.zeros(0, dtype=dtype)]
        return cls(np.concatenate(empty(np.int32) + [p.docs + np.int32(o) for p, o in zip(parts, offsets)]),
                   np.concatenate(empty(np.float64) + [p.values for p in parts]),
                   np.concatenate(empty(np.int32) + recoded),
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
    limit: int = 50

    def __post_init__(self):
        if self.sort not in SORTS:
            raise ValueError(f"sort must be value or -value, not {self.sort!r}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {self.limit}")
        if self.page < 1:
            raise ValueError(f"page must be 1 or more, not {self.page}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is above max ({self.max:g})")


def figure_page(view, searcher, hits: np.ndarray, query: FigureQuery = FigureQuery()) -> FigurePage:
    """The figures of `hits` (document numbers, in the order the search ranks them) that pass
    `query`, one page of them in full, and the unit counts.

    `view` is a docsets.IndexView of the searcher's index version: only its figure table is
    read, and the stored fields of the page's passages."""
    table = view.columns.figures
    rows = _rows_of(table, np.asarray(hits, dtype=np.int64))
    rows = rows[_passing_values(table, rows, query)]
    units = _unit_counts(table, rows)
    if query.unit is not None:
        code = table.unit_names.index(query.unit) if query.unit in table.unit_names else -1
        rows = rows[table.units[rows] == code]
    shown = _ordered(table.values[rows], query)
    page = rows[shown[(query.page - 1) * query.limit:]]
    return FigurePage(len(rows), _full_rows(view, searcher, table, page), units)


def _rows_of(table: FigureColumns, hits: np.ndarray) -> np.ndarray:
    """The rows of the hits' figures, hit after hit."""
    hits = hits[(hits >= 0) & (hits < table.doc_count)]
    first, counts = table.starts[hits], table.starts[hits + 1] - table.starts[hits]
    placed = np.cumsum(counts) - counts     # where each hit's rows start in the result
    return np.repeat(first - placed, counts) + np.arange(int(counts.sum()), dtype=np.int64)


def _passing_values(table: FigureColumns, rows: np.ndarray, query: FigureQuery) -> np.ndarray:
    keep = np.ones(len(rows), dtype=bool)
    if query.min is not None:
        keep &= table.values[rows] >= query.min
    if query.max is not None:
        keep &= table.values[rows] <= query.max
    if query.approx is not None:
        keep &= table.approx[rows] == int(query.approx)
    return keep


def _unit_counts(table: FigureColumns, rows: np.ndarray) -> list[tuple[str, int]]:
    counts = np.bincount(table.units[rows], minlength=len(table.unit_names))
    return sorted(((table.unit_names[c], int(counts[c])) for c in np.flatnonzero(counts)), key=lambda u: (-u[1], u[0]))


def _ordered(values: np.ndarray, query: FigureQuery) -> np.ndarray:
    """Positions of the rows up to the end of the page, in the order asked for: by value
    (ties as the hits rank them) or as the hits rank them. Only the rows that can reach
    the page are sorted."""
    wanted = query.page * query.limit
    if query.sort is None:
        return np.arange(min(wanted, len(values)))
    key = values if query.sort == "value" else -values
    candidates = np.arange(len(key))
    if wanted < len(key):
        cutoff = np.partition(key, wanted - 1)[wanted - 1]
        candidates = np.flatnonzero(key <= cutoff)   # every tie at the cut-off, so the order is exact
    return candidates[np.lexsort((candidates, key[candidates]))][:wanted]


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
