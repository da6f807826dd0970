"""Posting lists as numpy arrays, and BM25F scores computed over them.

Whoosh reads a posting list one document at a time in Python, which is what a
query for a word in most passages pays for: ~100k postings walked by hand. Here
a term's postings are read a block at a time into arrays (document numbers
and weights), and scored with Whoosh's BM25F formulas for all of them at once.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from whoosh.util.numeric import byte_to_length

from search import whoosh_internals

# byte_to_length for every stored length byte (0: the document has no such field).
_LENGTHS = np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.float64)


@dataclass(frozen=True)
class Postings:
    """One term's postings over the whole index: sorted live docnums and their weights."""

    docs: np.ndarray     # int32
    weights: np.ndarray  # float32 (as Whoosh stores them): term frequency times field and document boosts

    @property
    def nbytes(self) -> int:
        return self.docs.nbytes + self.weights.nbytes


EMPTY = Postings(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


def deleted_marks(reader) -> list[np.ndarray | None]:
    """Per segment, a mark per document number of those deleted (None: none is)."""
    marks = []
    for segment, _ in reader.leaf_readers():
        deleted = segment.deleted_docs_set if segment.has_deletions() else ()
        marks.append(np.zeros(segment.doc_count_all(), dtype=bool) if deleted else None)
        if deleted:
            marks[-1][np.fromiter(deleted, dtype=np.int64)] = True
    return marks


def read_postings(reader, field: str, text: str, deleted: list[np.ndarray | None] | None = None) -> Postings:
    """A term's postings in every segment, deleted documents left out (`deleted`: the
    reader's deleted_marks, kept by the caller: leaving out a reindex's 10k deleted passages
    by np.isin took 20 ms per common term at 10^6 passages)."""
    docs, weights = [], []
    for (segment, base), marks in zip(reader.leaf_readers(), deleted or deleted_marks(reader)):
        if (field, text) not in segment:
            continue
        seg_docs, seg_weights = whoosh_internals.segment_postings(segment, field, text)
        if marks is not None:
            live = ~marks.take(seg_docs)
            seg_docs, seg_weights = seg_docs[live], seg_weights[live]
        docs.append(seg_docs + base)
        weights.append(seg_weights)
    if not docs:
        return EMPTY
    return Postings(np.concatenate(docs), np.concatenate(weights))


@dataclass(frozen=True)
class Lengths:
    """Every document's length in one field, kept as Whoosh stores it (a byte each: an eighth
    of the floats it stands for, kept for the life of an index version)."""

    codes: np.ndarray  # uint8

    def __getitem__(self, docs) -> np.ndarray:
        """The lengths of `docs` as Whoosh's scorer sees them (quantized; 0 when absent)."""
        return _LENGTHS.take(self.codes.take(docs))

    def mapped(self, per_length: Callable[[np.ndarray], np.ndarray], docs: np.ndarray) -> np.ndarray:
        """`per_length` of the lengths of `docs`, worked out once per distinct stored length
        (256 of them) rather than once per doc."""
        return per_length(_LENGTHS).take(self.codes.take(docs))

    def __len__(self) -> int:
        return len(self.codes)


def read_lengths(reader, field: str) -> Lengths:
    """Every document's length in `field`."""
    parts = [whoosh_internals.segment_lengths(segment, field) for segment, _ in reader.leaf_readers()]
    return Lengths(np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8))
