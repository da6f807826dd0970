"""Doc sets: which passages contain a string, hold a facet value, or pass a filter.

A doc set is a sorted numpy array of Whoosh document numbers, so intersecting
the query's matches with filters, counting facet values and counting reports
run in C instead of Python loops over tens of thousands of passages. Sets are
cached per index version (docnums are only stable within one version) and
shared by every thread that searches that version.
"""
from __future__ import annotations

import heapq
import itertools
import pickle
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search import analysis, cache_keys, postings, spelling, whoosh_internals
from search.columns import EMPTY, WORDS, Columns, folder_stamp, is_prepared, load_columns, read_columns, word_counts


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


# Past this many docs on both sides, membership is looked up in a mark per docnum (linear)
# rather than by a binary search per doc (two common words' sets at 10^6 passages: 30 ms).
MARKS_FROM = 20_000


def positions(docs: np.ndarray) -> np.ndarray:
    """Doc numbers as numpy's own index type, for writing through them: numpy converts an
    int32 index array on a slow path (marking 500k docnums: 1.4 ms, 0.6 ms as intp).
    Reading through them, `take` is as fast without the copy."""
    return docs.astype(np.intp, copy=False)


def members(docs: np.ndarray, of: np.ndarray) -> np.ndarray:
    """Which of `docs` are in the sorted set `of`: a binary search each when `docs` is small,
    a mark per docnum when both are large."""
    if not len(of) or not len(docs):
        return np.zeros(len(docs), dtype=bool)
    if min(len(docs), len(of)) >= MARKS_FROM:
        marks = np.zeros(max(int(of[-1]), int(docs.max())) + 1, dtype=bool)
        marks[positions(of)] = True
        return marks.take(docs)
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
        marks[positions(docs)] = True
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
            self._at[positions(docs)] = np.arange(len(docs), dtype=np.int32)

    def find(self, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The docs of the sorted set `others` that are in this set: their indexes in `others`
        and their indexes here, in docnum order."""
        if not len(others) or not len(self.docs):
            return EMPTY, EMPTY
        if self._at is not None:
            at = self._at.take(others)
            theirs = np.flatnonzero(at >= 0)
            return theirs, at[theirs]
        if len(others) > len(self.docs):
            at = np.searchsorted(others, self.docs).clip(0, len(others) - 1)
            mine = np.flatnonzero(others[at] == self.docs)
            return at[mine], mine
        at = np.searchsorted(self.docs, others).clip(0, len(self.docs) - 1)
        theirs = np.flatnonzero(self.docs[at] == others)
        return theirs, at[theirs]


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
        self._looked_at = folder_stamp(prepared) if self._unprepared else None
        self._cache: dict = {}
        self._kept: dict = {}
        self._bytes = 0
        self._inflation = 0.0  # GreedyDual-Size's L: the credit of the last value dropped
        # (credit, order, key) per credit given: the least first. A credit given again leaves its
        # old one behind, skipped when it comes up (finding the least by a walk over a full
        # cache's entries took 20 ms a search at 10^6 passages, where every new value evicts).
        self._credits: list = []
        self._given = itertools.count()
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
        stamp = folder_stamp(self._prepared)
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
                except (OSError, EOFError, pickle.UnpicklingError):
                    pass  # unreadable: read from the index, as an unprepared version's are
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
        return docs[self._is_passage.take(docs)]

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
                self._credit(key, entry, self._inflation + entry.cost / entry.size)
                return entry.value
        started = time.perf_counter()
        value = compute()
        cost = time.perf_counter() - started
        size = value.nbytes if hasattr(value, "nbytes") else 64 * len(value) if hasattr(value, "__len__") else 64
        with self._lock:
            if key not in self._cache:
                size = max(size, 64)
                self._cache[key] = _Cached(value, size, cost, 0.0)
                self._credit(key, self._cache[key], self._inflation + cost / size)
                self._bytes += size
            while self._bytes > self._limit and len(self._cache) > 1:
                credit, _, victim = heapq.heappop(self._credits)
                dropped = self._cache.get(victim)
                if dropped is None or dropped.credit != credit:
                    continue  # dropped already, or given a credit since
                del self._cache[victim]
                self._inflation = dropped.credit
                self._bytes -= dropped.size
        return value

    def _credit(self, key, entry: _Cached, credit: float) -> None:
        """Give a cached value its credit (under the lock)."""
        entry.credit = credit
        if len(self._credits) > 4 * len(self._cache) + 64:  # mostly credits given since: renewed
            self._credits = [(e.credit, next(self._given), k) for k, e in self._cache.items()]
            heapq.heapify(self._credits)
        heapq.heappush(self._credits, (credit, next(self._given), key))

    def postings(self, searcher, field: str, text: str) -> postings.Postings:
        """The term's postings (docs and weights) as arrays."""
        return self.cached(cache_keys.Postings(field, text), lambda: postings.read_postings(
            searcher.reader(), field, text, self.kept(cache_keys.Deleted(), lambda: postings.deleted_marks(searcher.reader()))))

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
        marks[positions(links.take(records))] = True
        return np.flatnonzero(marks.take(links) & self._is_passage).astype(np.int32)

    def passages_per_record(self, context: Context) -> np.ndarray:
        """Per record code of a context, how many passages share that title or heading (kept:
        every query's scoring needs them)."""
        links = self.links(context)
        return self.kept(cache_keys.PassagesPerRecord(context), lambda: np.bincount(
            links[self.passages], minlength=int(links.max(initial=0)) + 1).astype(np.int32))
