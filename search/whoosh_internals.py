"""Everything rcsearch takes from below Whoosh's public API, in one place.

Written for whoosh-reloaded 2.7.x (pinned `>=2.7.5,<2.8` in pyproject.toml): the W3 codec's
block layout and length columns, the Frequency format's encoding of indexed terms, the
writer's posting pool, the multiprocessing writer's task class, the writer's last step of a
commit (writing the table of contents), FileIndex's generation look-up, reader and TOC clean-up, the stored-fields column, and the highlighter's text escaping.
An upgrade of Whoosh should only ever touch this module. The tests that guard it compare
what is built here with Whoosh's own answers:

- tests/test_ranking.py: posting arrays and field lengths read here equal Whoosh's matchers
  and `doc_field_length` (segment_postings, segment_lengths), across blocks written raw,
  compressed, pickled at protocol 2 or by Whoosh's own codec (Codec, _write_block), and
  every score equals a one-at-a-time recomputation from Whoosh's postings;
- tests/test_analysis.py: SegmentedText indexes the terms and weights of Whoosh's own
  token-by-token path;
- tests/test_indexing.py: an index built through TermPool runs (tiny memory, parallel
  ParallelWriter processes) answers exactly like one sorted in memory;
- tests/test_reliability.py: killed writers leave nothing that remove_unreferenced_files
  and LiveIndex do not cope with; readers follow a swapped generation; a writer killed just
  before or after its table of contents leaves no committed version unprepared
  (prepared_before_visible);
- tests/test_search.py, tests/test_hostile.py: snippets escape exactly what MarkFormatter
  does not mark;
- tests/test_search.py: hits read through SharedStoredFields carry the stored fields
  Whoosh's `stored_fields` gives, from many threads at once;
- tests/test_cli.py: an index whose table of contents names classes this version lacks is
  reported as outdated (ForeignIndexError), never a traceback.
"""
from __future__ import annotations

import bisect
import errno
import functools
import heapq
import html
import marshal
import pickle
import struct
import threading
import weakref
import zlib
from array import array
from collections import Counter
from itertools import chain, groupby
from operator import itemgetter
from pickle import loads
from typing import Callable

import numpy as np
from whoosh import highlight
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import (LENGTHS_COLUMN, STORED_COLUMN, WHOOSH3_HEADER_MAGIC, W3Codec, W3FieldWriter,
                                  W3LeafMatcher, W3PostingsWriter, _lenfield)
from whoosh.fields import TEXT
from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Frequency
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.system import pack_uint
from whoosh.util.numeric import length_to_byte
from whoosh.util.numlists import delta_decode
from whoosh.writing import PostingPool

# The byte length written before each marshalled chunk of a posting pool run.
_CHUNK_SIZE = struct.Struct("<Q")
# How many times a reader re-resolves the live generation when its files vanish under it.
READ_RETRIES = 5


class Codec(W3Codec):
    """Whoosh's codec, with postings laid out for reading whole lists into arrays
    (search/postings.py) rather than skipping through them: blocks of 4,096 postings, not
    compressed (a common gram's list at 10^6 passages spans hundreds of blocks, and
    decompressing and unpickling each was half of a cold query's time; the index is about
    1.5 times larger), no per-block length bounds (they serve only Whoosh's block-max
    skipping and cost a field-length lookup per posting at commit), and a block's ids and
    weights pickled as the bytes of an array rather than as tuples of Python numbers
    (unpickling a tuple made two objects per posting), at pickle protocol 4 (Whoosh's 2
    writes bytes as latin-1 text, half as large again, and decoding it was 40% of reading a
    common gram's postings). Blocks written compressed or at protocol 2 by an earlier
    version are still read."""

    length_stats = False

    def __init__(self, blocklimit: int = 4096, compression: int = 0, inlinelimit: int = 1):
        super().__init__(blocklimit, compression, inlinelimit)

    def field_writer(self, storage, segment):
        return _ArrayFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        return _ArrayPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                    compression=self._compression, inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        if terminfo.is_inlined():
            return super().postings_reader(dbfile, terminfo, format_, term=term, scorer=scorer)
        offset, length = terminfo.extent()
        return _ArrayLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class _ArrayPostingsWriter(W3PostingsWriter):
    """Writes a block's id deltas as uint32 bytes and its weights as float32 bytes."""

    def add_postings(self, docnums, weights, values):
        """Add a term's postings (sorted docnums as array("I"), weights, value bytes) as whole blocks."""
        for start in range(0, len(docnums), self._blocklimit):
            if self._ids:
                self._write_block()
            end = start + self._blocklimit
            self._ids = docnums[start:end]
            self._weights = array("f", weights[start:end])
            self._values = list(filter(None, values[start:end]))
            self._maxweight = max(0, max(weights[start:end]))

    def _write_block(self, last=False):
        # Whoosh's _write_block (whoosh-reloaded 2.7.x): the same block, its data pickled at
        # protocol 4 (see Codec). Readers unpickle either protocol.
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        data = pickle.dumps((self._mini_ids(), self._mini_weights(), self._mini_values()), 4)
        if self._compression:
            data = zlib.compress(data, self._compression)
        info = pickle.dumps((len(self._ids), self._ids[-1], self._maxweight, self._compression,
                             length_to_byte(self._minlength), length_to_byte(self._maxlength)), 2)
        self._postfile.write_int((len(info) + len(data)) * (-1 if last else 1))
        self._postfile.write(info)
        self._postfile.write(data)
        self._blockcount += 1
        self._new_block()

    def _mini_ids(self):
        if self._byteids:
            return super()._mini_ids()
        deltas = np.diff(np.frombuffer(self._ids, dtype=np.uint32).astype(np.int64), prepend=0)
        if len(deltas) > 1 and deltas[1:].min() <= 0:  # TermPool's premise, checked where it is cheap
            raise ValueError("postings out of document order")
        return deltas.astype(np.uint32).tobytes()

    def _mini_weights(self):
        weights = super()._mini_weights()
        return self._weights.tobytes() if isinstance(weights, tuple) else weights


class _ArrayFieldWriter(W3FieldWriter):
    """Writes each term's postings, from a TermPool, a block at a time: Whoosh's loop made half
    a dozen Python calls per posting (the largest single cost of a build). The blocks are
    those Whoosh writes, without length bounds (Codec.length_stats is off)."""

    def add_postings(self, schema, lengths, items):
        """Write the terms of a TermPool, (fieldname, term bytes, docnums, weights, values);
        postings from Whoosh's own pool, one by one, are written Whoosh's way."""
        items = iter(items)
        first = next(items, None)
        if first is None:
            return
        items = chain([first], items)
        if lengths is not None or not isinstance(first[2], array):
            return super().add_postings(schema, lengths, items)
        for fieldname, btext, docnums, weights, values in items:
            if fieldname != self._fieldname:
                if self._infield:
                    self.finish_field()
                self.start_field(fieldname, schema[fieldname])
            self.start_term(btext)
            self._postwriter.add_postings(docnums, weights, values)
            self.finish_term()
        if self._infield:
            self.finish_field()


class _ArrayLeafMatcher(W3LeafMatcher):
    """Whoosh's matcher, reading blocks written either way (bytes here, tuples by Whoosh)."""

    def _read_ids(self):
        if self._data is None:
            self._read_data()
        ids = self._data[0]
        if isinstance(ids, bytes):
            self._ids = tuple(delta_decode(array("I", ids)))
        else:
            super()._read_ids()

    def _read_weights(self):
        if self._data is None:
            self._read_data()
        weights = self._data[1]
        if isinstance(weights, bytes):
            self._weights = array("f", weights)
        else:
            super()._read_weights()


class TermPool(PostingPool):
    """Whoosh's posting pool, holding each term's postings together, in arrays, where Whoosh
    held one tuple per posting and sorted them all: sorting, pickling and regrouping the
    tuples were a third of a build. Postings arrive in document order (a writer numbers
    documents as it adds them, and adds merged segments after), so a term's docnums are
    sorted as they come; only the terms are sorted, when the pool spills a run to disk or
    hands its postings to the codec. Runs are in document order too: merging them is
    concatenating each term's postings, run after run.

    `iter_postings()` gives (fieldname, term bytes, docnums, weights, values) per term, for
    `_ArrayFieldWriter.add_postings`."""

    # Postings per marshalled chunk of a run (a chunk of each run is held while they merge).
    CHUNK = 65536
    # What a posting held costs (a docnum, a weight as Whoosh computed it, a value reference),
    # and what a term's entry costs besides.
    POSTING_BYTES = 20
    TERM_BYTES = 400
    # Runs merged at once (each holds a file open).
    MERGE_FILES = 64

    def __init__(self, tempstore, segment, limitmb=128, **kwargs):
        super().__init__(tempstore, segment, limitmb=limitmb, **kwargs)
        self._terms = {}
        self.currentsize = 0

    def add(self, item):
        # Called once per posting: as little work as possible.
        fieldname, tbytes, docnum, weight, value = item
        postings = self._terms.get((fieldname, tbytes))
        if postings is None:
            postings = self._terms[fieldname, tbytes] = (array("I"), array("d"), [])
            self.currentsize += self.TERM_BYTES
        postings[0].append(docnum)
        postings[1].append(weight)
        postings[2].append(value)
        self.currentsize += self.POSTING_BYTES
        if self.currentsize > self.limit:
            self.save()

    def save(self):
        if self._terms:
            path, f = self._new_run()
            self._write_run(f, self._sorted_terms())
            self._add_run(path)
        self._terms = {}
        self.currentsize = 0

    def iter_postings(self):
        if not self.runs:
            return self._sorted_terms()
        self.save()
        while len(self.runs) > self.MERGE_FILES:
            # The oldest runs first, merged into one that takes their place.
            oldest, self.runs = self.runs[:self.MERGE_FILES], self.runs[self.MERGE_FILES:]
            path, f = self._new_run()
            self._write_run(f, self._merge_runs(oldest))
            self.runs.insert(0, path)
        runs, self.runs = self.runs, []
        return self._merge_runs(runs)

    def _sorted_terms(self):
        terms = self._terms
        for key in sorted(terms):
            docnums, weights, values = terms[key]
            yield key[0], key[1], docnums, weights, values

    def _write_run(self, f, terms):
        chunk, postings = [], 0
        for fieldname, tbytes, docnums, weights, values in terms:
            chunk.append((fieldname, tbytes, docnums.tobytes(), weights.tobytes(), values))
            postings += len(docnums)
            if postings >= self.CHUNK:
                self._write_chunk(f, chunk)
                chunk, postings = [], 0
        if chunk:
            self._write_chunk(f, chunk)
        f.close()

    @staticmethod
    def _write_chunk(f, chunk):
        # Length-prefixed, to be read back whole: marshal.load on a file reads each object
        # with a call of its own (a dozen times slower than loads on the bytes).
        data = marshal.dumps(chunk)
        f.write(_CHUNK_SIZE.pack(len(data)))
        f.write(data)

    def _read_run(self, path):
        f = self._open_run(path)
        try:
            while header := f.read(_CHUNK_SIZE.size):
                for fieldname, tbytes, docnums, weights, values in marshal.loads(f.read(_CHUNK_SIZE.unpack(header)[0])):
                    yield fieldname, tbytes, array("I", docnums), array("d", weights), values
        finally:
            f.close()
            self._remove_run(path)

    def _merge_runs(self, paths):
        # heapq.merge yields equal terms in the order of the runs, which is document order.
        merged = heapq.merge(*(self._read_run(path) for path in paths), key=itemgetter(0, 1))
        for (fieldname, tbytes), parts in groupby(merged, key=itemgetter(0, 1)):
            _, _, docnums, weights, values = next(parts)
            for _, _, more_docnums, more_weights, more_values in parts:
                docnums += more_docnums
                weights += more_weights
                values += more_values
            yield fieldname, tbytes, docnums, weights, values


class SegmentedText(TEXT):
    """A TEXT field (frequencies, no positions) over an analyzer with `terms(value)`
    (analysis.SegmentTokenizer) that indexes its terms directly: the terms and weights,
    in the Frequency format's encoding, that Whoosh's token-by-token path would give, for a
    fraction of the Python calls (half a dozen per term otherwise)."""

    def __init__(self, analyzer, **kwargs):
        super().__init__(analyzer=analyzer, phrase=False, **kwargs)
        assert isinstance(self.format, Frequency)

    def index(self, value, **kwargs):
        boost = self.format.field_boost
        counts = Counter(self.analyzer.terms(value))
        return [(text.encode("utf-8"), n, n * boost, _frequency_bytes(n)) for text, n in counts.items()]


@functools.lru_cache(maxsize=256)
def _frequency_bytes(n: int) -> bytes:
    # One bytes object per frequency, shared by the postings a pool holds.
    return pack_uint(n)


class MarkFormatter(highlight.HtmlFormatter):
    """<mark> around matched text, everything else escaped; no classes or attributes (the
    escaping of unmatched text is HtmlFormatter's private `_text`)."""

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=False)}</mark>"

    def _text(self, text):
        return html.escape(text, quote=False)


def with_term_pool(writer):
    """The writer, its posting pool (still empty) replaced by a TermPool."""
    if not isinstance(writer.pool, TermPool):
        writer.pool = TermPool(writer._tempstorage, writer.newsegment, limitmb=writer.pool.limit // 2**20)
    return writer


class _SubWriter(SubWriterTask):
    """A writer process that runs `init` first (rcsearch's: die with the indexer, let go of its lock)."""

    def __init__(self, *args, init: Callable[[], None]):
        super().__init__(*args)
        self.init = init

    def run(self):
        self.init()
        super().run()

    def _process_file(self, filename, doc_count):
        with_term_pool(self.writer)
        super()._process_file(filename, doc_count)


class ParallelWriter(MpWriter):
    """Whoosh's multiprocessing writer whose processes run `init` first, every writer pooling
    postings by term."""

    def __init__(self, ix, init: Callable[[], None], **kwargs):
        super().__init__(ix, **kwargs)
        with_term_pool(self)
        self.init = init

    def _new_task(self):
        task = _SubWriter(self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs,
                          self.multisegment, init=self.init)
        self.tasks.append(task)
        task.start()
        return task


class LiveIndex(whoosh_index.FileIndex):
    """A generation opened for reading that follows the live one when its folder is deleted.

    A searcher over a deleted generation reports itself out of date (so it is
    reopened), and opening a reader asks `relocate()` for the live generation when the
    files it wanted are gone; nothing here ever writes to the index directory.
    """

    relocate: Callable[[], object]  # the live generation's folder now, or None

    def latest_generation(self):
        try:
            return super().latest_generation()
        except OSError:
            return -2  # never a reader's generation: the searcher is reopened

    def reader(self, reuse=None):
        for attempt in range(READ_RETRIES):
            try:
                return super().reader(reuse=reuse)
            except (OSError, whoosh_index.EmptyIndexError) as exc:
                if getattr(exc, "errno", None) not in (errno.ENOENT, None) or attempt == READ_RETRIES - 1:
                    raise
                generation = self.relocate()
                if generation is None:
                    raise
                self.storage = FileStorage(str(generation), readonly=True)
                reuse = None


# What unpickling a table of contents that names missing classes raises.
UNREADABLE_TOC = (AttributeError, ImportError, pickle.UnpicklingError, TypeError)


class ForeignIndexError(Exception):
    """An index whose table of contents this code cannot read: Whoosh pickles the codec and
    segment classes into it, so an index written by another version of rcsearch may name
    classes that no longer exist where it says."""


def open_storage_index(storage, indexclass=whoosh_index.FileIndex):
    """The index in a storage; ForeignIndexError when its table of contents cannot be read
    by this code."""
    try:
        return storage.open_index(indexclass=indexclass)
    except UNREADABLE_TOC as exc:
        raise ForeignIndexError(f"unreadable table of contents ({exc})") from exc


def holds_index(path: str) -> bool:
    """Whether a folder holds an index (readable or not by this code)."""
    try:
        return whoosh_index.exists_in(path)
    except UNREADABLE_TOC:
        return True


def prepared_before_visible(writer, prepare: Callable[[object, int], None]):
    """The writer, calling `prepare(reader, version)` when its commit has written every file of
    the new index version but not yet its table of contents, which is what makes the version
    visible to readers (SegmentWriter and MpWriter both write it in `_commit_toc`): a reader
    never sees the version without what `prepare` writes beside it. An exception raised there
    leaves the version uncommitted."""
    commit_toc = writer._commit_toc

    def prepare_then_commit_toc(segments):
        reader = whoosh_index.FileIndex._reader(writer.storage, writer.schema, list(segments), writer.generation)
        try:
            prepare(reader, writer.generation)
        finally:
            reader.close()
        commit_toc(segments)

    writer._commit_toc = prepare_then_commit_toc
    return writer


def committed_version(storage, indexname: str) -> int | None:
    """The generation number of the index version a storage's table of contents commits;
    None when there is none this code can read."""
    try:
        return whoosh_index.TOC.read(storage, indexname).generation
    except (OSError, whoosh_index.EmptyIndexError, *UNREADABLE_TOC):
        return None


def remove_unreferenced_files(storage, indexname: str) -> None:
    """Delete the segment files that the index's table of contents does not refer to (what a
    killed writer wrote before its commit)."""
    try:
        toc = whoosh_index.TOC.read(storage, indexname)
    except UNREADABLE_TOC:
        return  # another version's index: the next build replaces it whole
    whoosh_index.clean_files(storage, indexname, toc.generation, toc.segments)


def segment_postings(segment, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """Docnums and weights of one segment, deletions included, a block at a time when the
    postings live in the postings file (short lists are inlined and read one by one)."""
    matcher = segment._terms.matcher(field, segment._text_to_bytes(field, text), segment.schema[field].format)
    if not isinstance(matcher, W3LeafMatcher):
        return _one_by_one(matcher)
    deltas, weights, sizes = [], [], []
    while matcher.is_active():
        # A Whoosh 3 block pickles (ids as deltas from the block's start, weights or one
        # weight for all or None for 1.0, values); ids and weights as array bytes from Codec.
        data = matcher._postfile.get(matcher._dataoffset, matcher._nextoffset - matcher._dataoffset)
        block_ids, block_weights = loads(zlib.decompress(data) if matcher._compression else data)[:2]
        count = matcher._blocklength
        deltas.append(np.frombuffer(block_ids, dtype=np.uint32) if isinstance(block_ids, bytes)
                      else np.array(block_ids, dtype=np.int64))
        weights.append(np.frombuffer(block_weights, dtype=np.float32) if isinstance(block_weights, bytes)
                       else np.array(block_weights, dtype=np.float32) if isinstance(block_weights, (tuple, list, array))
                       else np.full(count, 1.0 if block_weights is None else block_weights, dtype=np.float32))
        sizes.append(count)
        matcher._next_block()
    if not deltas:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    # Summed in uint32, wrapping around: the differences below are exact all the same, as no
    # block's own sum (its last docnum) reaches 2**31; int64 took two passes more.
    running = np.cumsum(np.concatenate(deltas), dtype=np.uint32)
    block_ends = np.cumsum(sizes)
    # Each block's deltas start again from 0: subtract what the previous blocks summed to.
    before = np.concatenate([np.zeros(1, dtype=np.uint32), running[block_ends[:-1] - 1]])
    return (running - np.repeat(before, sizes)).view(np.int32), np.concatenate(weights)


def _one_by_one(matcher) -> tuple[np.ndarray, np.ndarray]:
    docs, weights = [], []
    while matcher.is_active():
        docs.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(docs, dtype=np.int32), np.array(weights, dtype=np.float32)


def segment_lengths(segment, field: str) -> np.ndarray:
    """Every document's stored length byte in `field` for one segment (0 when absent)."""
    column = segment._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    codes = np.zeros(segment.doc_count_all(), dtype=np.uint8)
    if column is not None and column._count:
        stored = np.frombuffer(column._dbfile.get(column._basepos, column._count), dtype=np.uint8)
        codes[:len(stored)] = stored
    return codes


class SharedStoredFields:
    """The stored fields of one index version, read through one set of column readers that
    every thread shares (under a lock: Whoosh's files seek, then read).

    Each Whoosh searcher loads every segment's stored-column offsets on first use (about 25 MB
    per searcher at 10^6 passages), and the server keeps a searcher per thread; sharing them
    keeps that once per index version. Segment files never change, so new file handles on
    the same segments read exactly what the searcher they came from reads."""

    def __init__(self, reader):
        self._starts, self._columns, files = [], [], []
        for segment, start in reader.leaf_readers():
            if not segment._perdoc.has_column("_stored"):
                continue
            colfile, base, length = segment._perdoc._get_column_file("_stored")
            files.append(colfile)
            self._starts.append(start)
            self._columns.append(STORED_COLUMN.reader(colfile, base, length, segment.doc_count_all()))
        self._lock = threading.Lock()
        self.close = weakref.finalize(self, _close_files, files)

    def __call__(self, docnum: int) -> dict:
        """The stored fields of one document, as `searcher.stored_fields` gives them."""
        segment = bisect.bisect_right(self._starts, docnum) - 1
        if segment < 0:
            return {}
        with self._lock:
            return self._columns[segment][docnum - self._starts[segment]] or {}


def _close_files(files) -> None:
    for file in files:
        file.close()
