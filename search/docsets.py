"""Doc sets: which passages contain a string, hold a facet value, or pass a filter.

A doc set is a sorted numpy array of Whoosh document numbers, so intersecting
the query's matches with filters, counting facet values and counting reports
run in C instead of Python loops over tens of thousands of passages. Sets are
cached per index version (docnums are only stable within one version) and
shared by every thread that searches that version.
"""
from __future__ import annotations

import array
import functools
import hashlib
import json
import marshal
import mmap
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search import analysis, cache_keys, facets, figure_table, postings, spelling, whoosh_internals


@dataclass(frozen=True)
class Context:
    """Text passages share, indexed once on the record that holds it."""

    kind: str   # the holding records' kind
    link: str   # the Columns array linking a passage to its record (same code on both)
    words: str  # jieba words field
    grams: str  # bigram field


CONTEXTS = (Context("doc", "doc_ids", "title_words", "title_grams"),            # the report's title
            Context("section", "sections", "heading_words", "heading_grams"))   # a heading
CONTEXT_OF = {field: c for c in CONTEXTS for field in (c.words, c.grams)}

# Cached doc sets and rankings per index version; a common word's set at 100k passages is ~0.3 MB.
# Per document, what the server can spend within 500 MB at 10^6 passages beside what it keeps.
CACHE_BYTES = 48 * 2**20
CACHE_BYTES_PER_DOC = 48
RAREST_GRAMS = 2
EMPTY = np.zeros(0, dtype=np.int32)


# Past this many docs on both sides, membership is looked up in a mark per docnum (linear)
# rather than by a binary search per doc (two common words' sets at 10^6 passages: 30 ms).
MARKS_FROM = 20_000


def members(docs: np.ndarray, of: np.ndarray) -> np.ndarray:
    """Which of `docs` are in the sorted set `of`: a binary search each when `docs` is small,
    a mark per docnum when both are large."""
    if not len(of) or not len(docs):
        return np.zeros(len(docs), dtype=bool)
    if min(len(docs), len(of)) >= MARKS_FROM:
        marks = np.zeros(max(int(of[-1]), int(docs.max())) + 1, dtype=bool)
        marks[of] = True
        return marks[docs]
    at = np.searchsorted(of, docs).clip(0, len(of) - 1)
    return of[at] == docs


def intersect(sets: list[np.ndarray]) -> np.ndarray:
    """Docs in every set (smallest first, so the work shrinks fast)."""
    ordered = sorted(sets, key=len)
    result = ordered[0]
    for other in ordered[1:]:
        if not len(result):
            break
        result = result[members(result, other)]
    return result


def union(sets: list[np.ndarray]) -> np.ndarray:
    """Docs in any set."""
    sets = [s for s in sets if len(s)]
    if not sets:
        return EMPTY
    if len(sets) == 1:
        return sets[0]
    # A mark per docnum: linear, where sorting the concatenated sets is not.
    marks = np.zeros(max(int(s[-1]) for s in sets) + 1, dtype=bool)
    for docs in sets:
        marks[docs] = True
    return np.flatnonzero(marks).astype(np.int32)


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Docs in a but not in b."""
    return a[~members(a, b)] if len(a) and len(b) else a


class Located:
    """Where docnums stand in one sorted doc set (a search's hits): what scoring and tiering
    look up for every posting of a term and every doc of a tier's set. For a large set, a
    place per docnum, looked up directly (binary searches of 500k postings in 500k hits took
    10 ms a term at 10^6 passages); for a small one, binary searches of the shorter side."""

    def __init__(self, docs: np.ndarray, size: int):
        self.docs = docs
        self._at = None
        if len(docs) >= MARKS_FROM:
            self._at = np.full(size, -1, dtype=np.int32)
            self._at[docs] = np.arange(len(docs), dtype=np.int32)

    def find(self, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The docs of the sorted set `others` that are in this set: their indexes in `others`
        and their indexes here, in docnum order."""
        if not len(others) or not len(self.docs):
            return EMPTY, EMPTY
        if self._at is not None:
            at = self._at[others]
            theirs = np.flatnonzero(at >= 0)
            return theirs, at[theirs]
        if len(others) > len(self.docs):
            at = np.searchsorted(others, self.docs).clip(0, len(others) - 1)
            mine = np.flatnonzero(others[at] == self.docs)
            return at[mine], mine
        at = np.searchsorted(self.docs, others).clip(0, len(self.docs) - 1)
        theirs = np.flatnonzero(self.docs[at] == others)
        return theirs, at[theirs]


# Per byte value, which of its 8 bits are set (little bit order, as the rows are packed).
_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little").astype(np.int64)


@dataclass(frozen=True)
class ValueColumn:
    """One facet column of an index version: per docnum, which of its values a record holds.

    A single-valued column keeps a code per docnum into `names` (code 0: no value); a
    multi-valued one (topics) a row of bits per docnum, bit i for names[i] (np.packbits,
    little bit order): two bytes a record for sixteen topics, where a byte per topic kept
    20 MB resident at 10^6 passages and counting a common word's took 16 ms.
    """

    names: list[str]
    codes: np.ndarray | None = None
    bits: np.ndarray | None = None

    def held(self, docs) -> np.ndarray:
        """Of a multi-valued column, which values each of `docs` holds: a docs × values
        matrix of booleans."""
        return np.unpackbits(self.bits[docs], axis=1, count=len(self.names), bitorder="little").view(bool)

    def counts(self, docs: np.ndarray) -> dict[str, int]:
        """How many of `docs` hold each value (values held by none left out)."""
        if self.bits is not None:
            rows = self.bits[docs]
            # How many docs have each pattern of a byte's eight values, then how many each value.
            numbers = np.concatenate([np.bincount(rows[:, byte], minlength=256) @ _BYTE_BITS
                                      for byte in range(rows.shape[1])])
            return {name: int(n) for name, n in zip(self.names, numbers.tolist()) if n}
        numbers = np.bincount(self.codes[docs], minlength=len(self.names))
        return {self.names[c]: int(numbers[c]) for c in np.flatnonzero(numbers).tolist() if c}

    def tally(self, docs: np.ndarray, groups: np.ndarray) -> dict[str, tuple[int, int]]:
        """Per value: how many of `docs` hold it, and in how many distinct groups (reports;
        `groups` gives each docnum's group)."""
        if self.bits is not None:
            held = self.held(docs)
            return {name: (int(held[:, i].sum()), len(np.unique(groups[docs[held[:, i]]])))
                    for i, name in enumerate(self.names) if held[:, i].any()}
        codes = self.codes[docs]
        passages = np.bincount(codes, minlength=len(self.names))
        pairs = np.unique(codes.astype(np.int64) * (int(groups.max(initial=0)) + 1) + groups[docs])
        reports = np.bincount((pairs // (int(groups.max(initial=0)) + 1)).astype(np.int64), minlength=len(self.names))
        return {self.names[c]: (int(passages[c]), int(reports[c])) for c in np.flatnonzero(passages).tolist() if c}

    def holding(self, values: set[str]) -> np.ndarray:
        """Docnums holding any of these values."""
        wanted = [i for i, name in enumerate(self.names) if name in values and (name or self.bits is not None)]
        if not wanted:
            return EMPTY
        if self.bits is not None:
            mask = np.zeros(len(self.names), dtype=bool)
            mask[wanted] = True
            return np.flatnonzero((self.bits & np.packbits(mask, bitorder="little")).any(axis=1)).astype(np.int32)
        return np.flatnonzero(np.isin(self.codes, wanted)).astype(np.int32)

    def value_of(self, docnum: int) -> str:
        """The (first) value a record holds, "" when none."""
        if self.bits is not None:
            held = np.flatnonzero(self.held([docnum])[0])
            return self.names[held[0]] if len(held) else ""
        return self.names[self.codes[docnum]]


@dataclass(frozen=True)
class Columns:
    """Per-docnum values of one index version: report, passage number, section, and the
    facet columns (facets.COLUMNS) by name."""

    doc_ids: np.ndarray         # a code per report (the same on its passages and its record)
    passages: np.ndarray        # passage number per docnum
    sections: np.ndarray        # a code per section (the same on its passages and its record)
    values: dict[str, ValueColumn]
    compact: "CompactText | None" = None  # prepared: each record's searched text, normalized, UTF-8
    figures: figure_table.FigureColumns | None = None  # every passage's figures, a row each

    @functools.cached_property
    def years(self) -> np.ndarray:
        """Each record's year as a number, 0 when unknown (the year column's values are text)."""
        year = self.values["year"]
        return np.array([int(name) if name else 0 for name in year.names], dtype=np.int32)[year.codes]


class CompactText:
    """Every record's compact text (analysis.compact, UTF-8) in one memory-mapped file: what
    confirms that a candidate really holds a string, without Whoosh's per-value column reader.

    A common term's candidates touch most of the file (350 MB at 10^6 passages), and mapped
    pages count in the server's resident memory: a window of it at a time is read, then
    handed back (the page cache keeps it; reading it again costs a page fault, not a read)."""

    WINDOW = 8 << 20  # bytes of the file resident at a time, per search that reads it
    BATCH = 1 << 15  # candidates confirmed at a time

    def __init__(self, path: Path, offsets: np.ndarray):
        self.offsets = offsets  # int64, one more than there are records
        with open(path, "rb") as file:
            self._size = os.fstat(file.fileno()).st_size
            self._map = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if self._size else None

    def holding(self, candidates: np.ndarray, needle: bytes) -> np.ndarray:
        """The candidates whose text holds `needle` (sorted docnums in, sorted docnums out)."""
        if not len(candidates) or self._map is None:
            return EMPTY
        blob, found, low, high = self._map, [], 0, 0
        # A batch of candidates at a time: Python's numbers for all of a common word's at
        # once would cost more memory than the window.
        for batch in np.split(candidates, range(self.BATCH, len(candidates), self.BATCH)):
            starts, ends = self.offsets[batch].tolist(), self.offsets[batch + 1].tolist()
            held = array.array("i")
            for docnum, a, b in zip(batch.tolist(), starts, ends):
                if b > high:
                    self._release(low, high)
                    low = a - a % mmap.PAGESIZE
                    high = max(b, low + self.WINDOW)
                if blob.find(needle, a, b) >= 0:
                    held.append(docnum)
            found.append(np.frombuffer(held, dtype=np.int32))
        self._release(low, high)
        return np.concatenate(found)

    def _release(self, low: int, high: int) -> None:
        if high > low:
            self._map.madvise(mmap.MADV_DONTNEED, low, min(high, self._size) - low)


def _codes(values: list) -> tuple[np.ndarray, list]:
    names = [""] + sorted({v for v in values if v})
    index = {name: i for i, name in enumerate(names)}
    return np.fromiter((index.get(v, 0) for v in values), dtype=np.int32, count=len(values)), names


def _value_column(raw: list[str], multi: bool) -> ValueColumn:
    if not multi:
        codes, names = _codes(raw)
        return ValueColumn(names, codes=codes)
    lists = [tuple(v for v in value.split(",") if v) for value in raw]
    names = sorted({v for values in lists for v in values})
    position = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(lists), max(1, len(names))), dtype=np.uint8)
    for docnum, values in enumerate(lists):
        for value in values:
            matrix[docnum, position[value]] = 1
    return ValueColumn(names, bits=np.packbits(matrix, axis=1, bitorder="little"))


def load_columns(reader) -> Columns:
    """Read the sortable columns of one index version into numpy arrays."""
    if not leaf_segments(reader):  # an empty index's reader has no columns to read
        return _joined([])[0]
    return _read_part(reader).columns


@dataclass(frozen=True)
class _Part:
    """The columns of some consecutive records (a segment's), with the names their report and
    section codes stand for, and where their compact texts are: the segment's reader, or a
    span (path, start, end) of an earlier version's blob with a length per record."""

    columns: Columns
    doc_names: list
    section_names: list
    compact: object
    compact_lengths: np.ndarray | None = None

    def write_compact(self, blob) -> np.ndarray:
        """Append the compact texts to an open file (a record, or a few megabytes, at a time:
        a segment's texts are 350 MB at 10^6 passages); their lengths."""
        if self.compact_lengths is None:
            lengths = []
            for text in self.compact.column_reader("compact"):
                blob.write(text)
                lengths.append(len(text))
            return np.array(lengths, dtype=np.int64)
        path, start, end = self.compact
        with open(path, "rb") as source:
            source.seek(start)
            while start < end:
                chunk = source.read(min(end - start, 8 << 20))
                if not chunk:
                    raise OSError(f"{path} ends before byte {end}")
                blob.write(chunk)
                start += len(chunk)
        return self.compact_lengths


def _read_part(reader) -> _Part:
    doc_ids, doc_names = _codes(list(reader.column_reader("doc_id")))
    sections, section_names = _codes(list(reader.column_reader("section")))
    columns = Columns(
        doc_ids=doc_ids,
        passages=np.fromiter(reader.column_reader("passage"), dtype=np.int32),
        sections=sections,
        values={name: _value_column(list(reader.column_reader(column.field)), column.multi)
                for name, column in facets.COLUMNS.items()},
        figures=figure_table.FigureColumns.read(reader))
    return _Part(columns, doc_names, section_names, reader)


# The columns of one index version, written by the indexer before it commits the version so
# that a server memory-maps them instead of reading every value through Whoosh (seconds at
# 10^6 passages): `columns-<TOC generation>/` in the generation folder.
PREPARED = "columns-{generation}"
# Beside them, for the indexer only: the segments they were read from, in docnum order, and
# the names behind the report and section codes. The next version re-reads from Whoosh only
# its new segments (a reindex of 1% of the reports would otherwise read every column again).
LAYOUT = "layout.marshal"
# And the version's words with their readings (spelling.Vocabulary): reading them through
# Whoosh and reading them out takes a second of CPU at 10^6 passages, which a server doing it
# beside its first searches made them wait for (every read of a posting file gave up the GIL).
WORDS = "words.pickle"
# The code that writes and reads them, and the columns it lays out: columns prepared by other
# code (before an update of rcsearch) are neither read nor reused, and are prepared again.
FORMAT = hashlib.sha256(b"".join(Path(code).read_bytes()
                                 for code in (__file__, facets.__file__, spelling.__file__))).hexdigest()[:16]
FORMAT_FILE = "format"


def prepared_folder(generation_dir: Path, generation: int) -> Path:
    """Where the prepared columns of one index version live."""
    return Path(generation_dir) / PREPARED.format(generation=generation)


def prepare(reader, folder: Path, previous: Path | None = None) -> None:
    """Write the columns of the reader's index version into `folder`, atomically (a temporary
    folder renamed: a server sees all of it or none), taking the segments that the version
    prepared in `previous` already holds from there."""
    earlier = _Earlier.read(previous) if previous else None
    segments = [(segment_key(segment), segment) for segment in leaf_segments(reader)]
    parts = [earlier.part(key) if earlier and earlier.has(key) else _read_part(segment) for key, segment in segments]
    temp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    columns, doc_names, section_names = _joined(parts)
    arrays = {"doc_ids": columns.doc_ids, "passages": narrowest(columns.passages), "sections": columns.sections}
    for name, column in columns.values.items():
        arrays[f"value-{name}"] = column.bits if column.bits is not None else narrowest(column.codes)
    for name, array in arrays.items():
        np.save(temp / f"{name}.npy", array)
    with open(temp / "compact.bin", "wb") as blob:
        lengths = [part.write_compact(blob) for part in parts]
    np.save(temp / "compact-offsets.npy", np.concatenate([np.zeros(1, dtype=np.int64)] + lengths).cumsum())
    columns.figures.save(temp)
    spelling.Vocabulary(word_counts(reader)).save(temp / WORDS)
    names = {"values": {name: column.names for name, column in columns.values.items()},
             "multi": [name for name, column in columns.values.items() if column.bits is not None]}
    (temp / "names.json").write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")
    layout = {"segments": [[key, len(part.columns.passages)] for (key, _), part in zip(segments, parts)],
              "doc_names": doc_names, "section_names": section_names}
    (temp / LAYOUT).write_bytes(marshal.dumps(layout))
    (temp / FORMAT_FILE).write_text(FORMAT, encoding="ascii")
    temp.chmod(0o755)
    shutil.rmtree(folder, ignore_errors=True)  # the same version prepared again (a run that was killed)
    os.replace(temp, folder)


def narrowest(numbers: np.ndarray) -> np.ndarray:
    """Non-negative numbers in the smallest unsigned type that holds them: a server keeps the
    prepared columns' pages resident, 5 MB a column at 10^6 passages as int32, half or a
    quarter of it for the few values of a facet."""
    if int(numbers.min(initial=0)) < 0:
        return numbers
    for dtype in (np.uint8, np.uint16):
        if int(numbers.max(initial=0)) <= np.iinfo(dtype).max:
            return numbers.astype(dtype)
    return numbers


def leaf_segments(reader) -> list:
    """The segment readers of an index version; none for an empty index (Whoosh's reader of
    one counts itself as its only leaf, without a segment)."""
    return [segment for segment, _ in reader.leaf_readers() if segment.segment() is not None]


def segment_key(segment) -> str:
    """What names a segment's records across index versions: segments never change once
    written (deletions are kept beside them)."""
    return f"{segment.segment().segment_id()}:{segment.doc_count_all()}"


@dataclass(frozen=True)
class _Earlier:
    """A prepared version and where each of its segments' records start."""

    columns: Columns
    layout: dict
    starts: dict[str, tuple[int, int]]
    folder: Path

    @classmethod
    def read(cls, folder: Path) -> "_Earlier | None":
        columns = read_columns(folder)
        try:
            layout = marshal.loads((folder / LAYOUT).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if columns is None:
            return None
        ends = np.cumsum([count for _, count in layout["segments"]]).tolist()
        starts = {key: (end - count, count) for (key, count), end in zip(layout["segments"], ends)}
        return cls(columns, layout, starts, folder)

    def has(self, key: str) -> bool:
        return key in self.starts

    def part(self, key: str) -> _Part:
        start, count = self.starts[key]
        rows, c = slice(start, start + count), self.columns
        values = {name: ValueColumn(v.names, codes=None if v.codes is None else v.codes[rows],
                                    bits=None if v.bits is None else v.bits[rows])
                  for name, v in c.values.items()}
        offsets = c.compact.offsets[start:start + count + 1]
        return _Part(Columns(c.doc_ids[rows], c.passages[rows], c.sections[rows], values,
                             figures=c.figures.slice(start, count)),
                     self.layout["doc_names"], self.layout["section_names"],
                     (self.folder / "compact.bin", int(offsets[0]), int(offsets[-1])), np.diff(offsets))


def _joined(parts: list[_Part]) -> tuple[Columns, list, list]:
    """The columns of consecutive parts as one, coded as if read at once (load_columns)."""
    doc_ids, doc_names = _joined_codes([(p.columns.doc_ids, p.doc_names) for p in parts])
    sections, section_names = _joined_codes([(p.columns.sections, p.section_names) for p in parts])
    values = {}
    for name, column in facets.COLUMNS.items():
        pieces = [p.columns.values[name] for p in parts]
        if column.multi:
            values[name] = _joined_matrix(pieces)
        else:
            codes, names = _joined_codes([(v.codes, v.names) for v in pieces])
            values[name] = ValueColumn(names, codes=codes)
    passages = np.concatenate([np.zeros(0, dtype=np.int32)] + [p.columns.passages for p in parts])
    figures = figure_table.FigureColumns.joined([p.columns.figures for p in parts])
    return Columns(doc_ids, passages, sections, values, figures=figures), doc_names, section_names


def _joined_codes(pieces: list[tuple[np.ndarray, list]]) -> tuple[np.ndarray, list]:
    """Codes into each piece's names, recoded into the sorted names the pieces use (code 0:
    no value), as _codes gives them."""
    used = [(codes, names, np.unique(codes).tolist()) for codes, names in pieces]
    names = [""] + sorted({names[c] for _, names, held in used for c in held if names[c]})
    code = {name: i for i, name in enumerate(names)}
    recoded = [np.array([code.get(n, 0) for n in names], dtype=np.int32)[codes] for codes, names, _ in used]
    return np.concatenate([np.zeros(0, dtype=np.int32)] + recoded), names


def _joined_matrix(pieces: list[ValueColumn]) -> ValueColumn:
    """Multi-valued columns (a row of bits per record each) as one, over the values they hold."""
    rows = [v.held(slice(None)) for v in pieces]
    held = [np.flatnonzero(r.any(axis=0)).tolist() if len(r) else [] for r in rows]
    names = sorted({v.names[i] for v, columns in zip(pieces, held) for i in columns})
    position = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((sum(len(r) for r in rows), max(1, len(names))), dtype=bool)
    row = 0
    for v, r, columns in zip(pieces, rows, held):
        if columns:
            matrix[row:row + len(r), [position[v.names[i]] for i in columns]] = r[:, columns]
        row += len(r)
    return ValueColumn(names, bits=np.packbits(matrix, axis=1, bitorder="little"))


def word_counts(reader) -> dict[str, int]:
    """The index's words with how many passages hold each."""
    counts: dict[str, int] = {}
    # Segment by segment: a multi-segment reader looks each term up in every segment.
    for segment, _ in reader.leaf_readers():
        for term, info in segment.iter_field("text"):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            counts[word] = counts.get(word, 0) + info.doc_frequency()
    return counts


def is_prepared(folder: Path) -> bool:
    """Whether a version's columns are prepared in `folder`, by this code."""
    try:
        return (folder / FORMAT_FILE).read_text(encoding="ascii") == FORMAT
    except (OSError, UnicodeDecodeError):
        return False


def read_columns(folder: Path) -> Columns | None:
    """Prepared columns, memory-mapped; None when there are none (or not all of them, or
    prepared by other code)."""
    if not is_prepared(folder):
        return None
    try:
        names = json.loads((folder / "names.json").read_text(encoding="utf-8"))
        array = lambda name: np.load(folder / f"{name}.npy", mmap_mode="r")
        values = {name: ValueColumn(value_names, bits=array(f"value-{name}")) if name in names["multi"]
                  else ValueColumn(value_names, codes=array(f"value-{name}"))
                  for name, value_names in names["values"].items()}
        compact = CompactText(folder / "compact.bin", array("compact-offsets"))
        return Columns(doc_ids=array("doc_ids"), passages=array("passages"), sections=array("sections"),
                       values=values, compact=compact, figures=figure_table.FigureColumns.load(folder))
    except (OSError, ValueError, KeyError):
        return None


def _folder_stamp(folder: Path) -> tuple[int, int] | None:
    """Which folder is there now (a new one is renamed into place), or None."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns


@dataclass
class _Cached:
    """A cached value, its size in bytes, what it took to compute (s) and its credit (see
    IndexView.cached)."""

    value: object
    size: int
    cost: float
    credit: float


class IndexView:
    """One version of the index: its columns and cached doc sets, shared across threads."""

    def __init__(self, key, searcher, prepared: Path | None = None):
        self.key = key
        self._lock = threading.Lock()
        self._prepared = prepared
        columns = read_columns(prepared) if prepared else None
        self._columns = columns if columns is not None else load_columns(searcher.reader())
        self._unprepared = columns is None and prepared is not None
        self._looked_at = _folder_stamp(prepared) if self._unprepared else None
        self._cache: dict = {}
        self._kept: dict = {}
        self._bytes = 0
        self._inflation = 0.0  # GreedyDual-Size's L: the credit of the last value dropped
        # Room for the doc sets of a few dozen common words, however large the collection.
        self._limit = max(CACHE_BYTES, CACHE_BYTES_PER_DOC * len(self.columns.passages))
        self._stored: whoosh_internals.SharedStoredFields | None = None
        self.passages = self.term_docs(searcher, "kind", "passage")
        # A mark per docnum: keeping only the passages of a set is then one lookup per doc,
        # where intersecting with every passage marked 1.3M docnums at 10^6 passages each time.
        self._is_passage = np.zeros(searcher.reader().doc_count_all(), dtype=bool)
        self._is_passage[self.passages] = True

    @property
    def doc_count(self) -> int:
        """Docnums of this version, deleted ones included: passages and the title and heading records."""
        return len(self._is_passage)

    @property
    def columns(self) -> Columns:
        """The version's per-docnum columns: memory-mapped from its prepared folder, or, while
        it has none (committed by an older rcsearch killed before preparing them, or prepared
        by other code), read through Whoosh and replaced by the folder's as soon as an indexer
        prepares it. Both hold the same values: what was derived from either stays valid."""
        if self._unprepared:
            self._look_for_prepared()
        return self._columns

    def _look_for_prepared(self) -> None:
        # A stat per use while there are none; read again only when the folder has changed.
        stamp = _folder_stamp(self._prepared)
        with self._lock:
            if stamp is None or stamp == self._looked_at or not self._unprepared:
                return
            self._looked_at = stamp
            columns = read_columns(self._prepared)
            if columns is not None:
                self._columns, self._unprepared = columns, False

    def vocabulary(self, searcher) -> spelling.Vocabulary:
        """The version's words with how many passages hold each (what respelling picks from and
        completions offer), kept with it: read from its prepared folder (a tenth of a second at
        10^6 passages), or, while it has none, from the index (a second)."""
        def read() -> spelling.Vocabulary:
            if self._prepared is not None and is_prepared(self._prepared):
                try:
                    return spelling.Vocabulary.load(self._prepared / WORDS)
                except OSError:
                    pass
            return spelling.Vocabulary(word_counts(searcher.reader()))
        return self.kept(cache_keys.Words(), read)

    def stored_fields(self, searcher, docnum: int) -> dict:
        """A document's stored fields, read through readers this version's threads share."""
        stored = self._stored
        if stored is None:
            with self._lock:
                if self._stored is None:
                    self._stored = whoosh_internals.SharedStoredFields(searcher.reader())
                stored = self._stored
        return stored(docnum)

    def close(self) -> None:
        """Close the files this view opened (searchers are their threads' to close)."""
        with self._lock:
            if self._stored is not None:
                self._stored.close()

    def passages_in(self, sets: list[np.ndarray]) -> np.ndarray:
        """The passages in every one of these doc sets (every passage when none is given):
        the title and heading records they hold left out."""
        if not sets:
            return self.passages
        docs = intersect(sets)
        return docs[self._is_passage[docs]]

    def kept(self, key, compute):
        """A value computed once for this index version and kept with it (its vocabulary, its
        overview): never dropped for the doc sets that come and go in `cached`."""
        with self._lock:
            if key in self._kept:
                return self._kept[key]
        value = compute()
        with self._lock:
            return self._kept.setdefault(key, value)

    def cached(self, key, compute):
        """The value stored under key, computed once, and dropped beyond the view's budget
        (CACHE_BYTES, or CACHE_BYTES_PER_DOC per document) by GreedyDual-Size: first what
        costs least to compute again per byte kept, among the values least recently used.

        Plain LRU drops everything when the queries in use need a little more than the
        budget (each pushes out the next one's values); here a common term's postings, large
        and read again in milliseconds, go before the doc sets and rankings derived from them."""
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                entry.credit = self._inflation + entry.cost / entry.size
                return entry.value
        started = time.perf_counter()
        value = compute()
        cost = time.perf_counter() - started
        size = value.nbytes if hasattr(value, "nbytes") else 64 * len(value) if hasattr(value, "__len__") else 64
        with self._lock:
            if key not in self._cache:
                size = max(size, 64)
                self._cache[key] = _Cached(value, size, cost, self._inflation + cost / size)
                self._bytes += size
            while self._bytes > self._limit and len(self._cache) > 1:
                victim = min(self._cache, key=lambda k: self._cache[k].credit)
                dropped = self._cache.pop(victim)
                self._inflation = dropped.credit
                self._bytes -= dropped.size
        return value

    def postings(self, searcher, field: str, text: str) -> postings.Postings:
        """The term's postings (docs and weights) as arrays."""
        return self.cached(cache_keys.Postings(field, text), lambda: postings.read_postings(searcher.reader(), field, text))

    def lengths(self, searcher, field: str) -> postings.Lengths:
        """Every document's length in the field, as BM25F sees it (kept: every query scores with it)."""
        return self.kept(cache_keys.Lengths(field), lambda: postings.read_lengths(searcher.reader(), field))

    def term_docs(self, searcher, field: str, text) -> np.ndarray:
        """Docs whose field holds the term."""
        return self.postings(searcher, field, text).docs

    def links(self, context: Context) -> np.ndarray:
        """Per docnum, the code of the record of this context the passage shares (its report,
        its section); the record itself has the same code."""
        return getattr(self.columns, context.link)

    def substring_docs(self, searcher, text: str, where: str = "text") -> np.ndarray:
        """Passages whose text (where="text"), or report title or heading (where="heading"),
        or any of them (where="anywhere") contains `text`.

        `text` is normalized with white space removed. A word jieba knows is looked up
        in the words field; the character bigrams then only check the records where
        jieba cut the string differently, so the result is exact and usually cheap.
        """
        return self.cached(cache_keys.Substring(where, text), lambda: self._substring_docs(searcher, text, where))

    def _substring_docs(self, searcher, text: str, where: str) -> np.ndarray:
        if where == "text":
            return self._holding(searcher, text, "grams", "text")
        if where == "anywhere":
            return union([self.substring_docs(searcher, text, "text"), self.substring_docs(searcher, text, "heading")])
        return union([self.sharing(context, self._holding(searcher, text, context.grams, context.words))
                      for context in CONTEXTS])

    def _holding(self, searcher, text: str, grams_field: str, words_field: str) -> np.ndarray:
        """Records whose text analysed into these fields contains `text`."""
        if len(text) == 1:
            return self._starting_with(searcher, grams_field, text)
        grams = analysis.query_grams(text)
        if grams:
            # The rarest two grams narrow the candidates enough: the text confirms them, and
            # reading every gram's postings costs more than it saves (a common word's are long;
            # and fewer, sparser candidates read from a paged-out file measured slower).
            rarest = sorted(grams, key=lambda g: searcher.doc_frequency(grams_field, g))[:RAREST_GRAMS]
            candidates = intersect([self.term_docs(searcher, grams_field, g) for g in rarest])
        else:  # no word character with a known follower (".a"): the passages holding the first
            first = next(c for c in text if analysis.is_word_char(c))
            candidates = self._starting_with(searcher, grams_field, first)
        found = EMPTY
        if analysis.is_dictionary_word(text):
            found = self.term_docs(searcher, words_field, text)
            candidates = difference(candidates, found)
        if grams == [text] or not len(candidates):  # two word characters are their own gram
            return union([found, candidates])
        return union([found, self._containing(searcher, candidates, text)])

    def _containing(self, searcher, candidates: np.ndarray, text: str) -> np.ndarray:
        """The candidates (holding the rarest grams of `text`) where the string really occurs."""
        needle = text.encode("utf-8")
        if self.columns.compact is not None:
            return self.columns.compact.holding(candidates, needle)
        column = searcher.reader().column_reader("compact")
        return np.array([docnum for docnum in candidates.tolist() if needle in column[docnum]], dtype=np.int32)

    def _starting_with(self, searcher, grams_field: str, char: str) -> np.ndarray:
        # Every word character starts a gram (with analysis.END when no word character follows).
        grams = searcher.reader().expand_prefix(grams_field, char)
        return union([self.term_docs(searcher, grams_field, g) for g in grams])

    def sharing(self, context: Context, records: np.ndarray) -> np.ndarray:
        """The passages that share these records' title or heading."""
        if not len(records):
            return EMPTY
        links = self.links(context)
        # A mark per record code, looked up per docnum: linear, where isin sorts both sides.
        marks = np.zeros(len(self.passages_per_record(context)), dtype=bool)
        marks[links[records]] = True
        return np.flatnonzero(marks[links] & self._is_passage).astype(np.int32)

    def passages_per_record(self, context: Context) -> np.ndarray:
        """Per record code of a context, how many passages share that title or heading (kept:
        every query's scoring needs them)."""
        links = self.links(context)
        return self.kept(cache_keys.PassagesPerRecord(context), lambda: np.bincount(
            links[self.passages], minlength=int(links.max(initial=0)) + 1).astype(np.int32))
