"""Columns: what an index version holds per document number, as numpy arrays, and the
folder the indexer prepares them in.

Report, passage number and section of every record, its facet values, its compact text
(what confirms a substring) and its figures. Read through Whoosh they take seconds at 10^6
passages; the indexer writes them into the version's prepared folder before it commits the
version (with its words and their readings, spelling.Vocabulary), and a server memory-maps
them. A version's new segments are read again; what an earlier version prepared is reused.
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search import facets, figure_table, spelling

EMPTY = np.zeros(0, dtype=np.int32)


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
            rows = self.bits.take(docs, axis=0)
            # How many docs have each pattern of a byte's eight values, then how many each value.
            numbers = np.concatenate([np.bincount(rows[:, byte], minlength=256) @ _BYTE_BITS
                                      for byte in range(rows.shape[1])])
            return {name: int(n) for name, n in zip(self.names, numbers.tolist()) if n}
        numbers = np.bincount(self.codes.take(docs), minlength=len(self.names))
        return {self.names[c]: int(numbers[c]) for c in np.flatnonzero(numbers).tolist() if c}

    def tally(self, docs: np.ndarray, groups: np.ndarray) -> dict[str, tuple[int, int]]:
        """Per value: how many of `docs` hold it, and in how many distinct groups (reports;
        `groups` gives each docnum's group)."""
        if self.bits is not None:
            held = self.held(docs)
            return {name: (int(held[:, i].sum()), len(np.unique(groups[docs[held[:, i]]])))
                    for i, name in enumerate(self.names) if held[:, i].any()}
        codes = self.codes.take(docs)
        passages = np.bincount(codes, minlength=len(self.names))
        pairs = np.unique(codes.astype(np.int64) * (int(groups.max(initial=0)) + 1) + groups.take(docs))
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
# Beside them, for the indexer only: the segments they were read from, in docnum order, the
# names behind the report and section codes, and each segment's words. The next version
# re-reads from Whoosh only its new segments (a reindex of 1% of the reports would otherwise
# read every column and word again).
LAYOUT = "layout.marshal"
# And the version's words with their readings (spelling.Vocabulary): reading them through
# Whoosh and reading them out takes a second of CPU at 10^6 passages, which a server doing it
# beside its first searches made them wait for (every read of a posting file gave up the GIL).
WORDS = "words.pickle"
# The code that writes and reads them, and the columns it lays out: columns prepared by other
# code (before an update of rcsearch) are neither read nor reused, and are prepared again.
FORMAT = hashlib.sha256(b"".join(Path(code).read_bytes() for code in (
    __file__, facets.__file__, figure_table.__file__, spelling.__file__))).hexdigest()[:16]
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
    known = earlier.layout.get("words", {}) if earlier else {}
    words = {key: known[key] if key in known else segment_words(segment) for key, segment in segments}
    counts = word_counts(reader, words)
    readings = _Readings(earlier.layout.get("readings", {}) if earlier else {})
    spelling.Vocabulary(counts, readings).save(temp / WORDS)
    names = {"values": {name: column.names for name, column in columns.values.items()},
             "multi": [name for name, column in columns.values.items() if column.bits is not None]}
    (temp / "names.json").write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")
    layout = {"segments": [[key, len(part.columns.passages)] for (key, _), part in zip(segments, parts)],
              "doc_names": doc_names, "section_names": section_names, "words": words,
              "readings": readings.of(counts)}
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


def word_counts(reader, known: dict[str, dict[str, int]] | None = None) -> dict[str, int]:
    """The index's words with how many passages hold each, segment by segment (a multi-segment
    reader looks each term up in every segment): those `known` (segment_words by segment_key)
    taken from there."""
    counts: dict[str, int] = {}
    for segment in leaf_segments(reader):
        words = (known or {}).get(segment_key(segment))
        for word, count in (segment_words(segment) if words is None else words).items():
            counts[word] = counts.get(word, 0) + count
    return counts


def segment_words(segment) -> dict[str, int]:
    """A segment's words with how many of its records hold each (Whoosh's counts: records
    deleted since it was written are counted until a merge drops them)."""
    return {term.decode("utf-8") if isinstance(term, bytes) else term: info.doc_frequency()
            for term, info in segment.iter_field("text")}


class _Readings:
    """Words' readings (spelling.readings), those the version before read taken from it: pypinyin
    takes about 30 µs a word, 0.2 s for every version of 10^5 passages if read anew (a reindex
    of 1% of them takes 4 s)."""

    def __init__(self, known: dict[str, list[tuple[str, ...]]]):
        self._known = dict(known)

    def __call__(self, word: str) -> list[tuple[str, ...]]:
        if word not in self._known:
            self._known[word] = spelling.readings(word)
        return self._known[word]

    def of(self, words) -> dict[str, list[tuple[str, ...]]]:
        """The readings of these words that were read (for the next version)."""
        return {word: self._known[word] for word in words if word in self._known}


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


def folder_stamp(folder: Path) -> tuple[int, int] | None:
    """Which folder is there now (a new one is renamed into place), or None."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns
