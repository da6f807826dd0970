"""How the long-running server, and the indexer, give memory back: glibc malloc settings.

A search at 10^6 passages makes and frees numpy arrays of 4–8 MB (doc sets, scores,
facet counts). glibc serves the first from mmap and frees it to the kernel, but then
raises its mmap threshold to that size (the dynamic threshold), so every later array
comes from the heap or a thread's arena, and freed heap memory stays resident: over the
benchmark's query mix the server grew from 360 to 790 MB. A fixed threshold keeps large
arrays in their own mappings, returned on free, at the cost of a page fault per page
the next array touches. One arena: the threads take turns under Python's lock anyway, and
a second arena kept another 45 MB of leftovers. The indexer's posting pool holds a term's
postings in growing arrays, all freed when it spills a run: the same settings hand them
back before the next run fills up.

The server's threshold is higher (SERVER_MMAP_THRESHOLD): a search at 10^6 passages makes
arrays of 1–5 MB by the dozen (a mark per docnum is 1.3 MB, a common word's doc set 2–5 MB),
and each in its own mapping cost a page fault per page it touched, every time: 40k faults,
about 50 ms, in a common word's first search. From the heap they are reused; larger arrays
still get mappings of their own. Measured at 10^6 passages: a common word's first search
in-process 105–114 ms instead of 160–170 (faults 13k instead of 42k); over the benchmark's
query mix the server's peak 441–458 MB instead of 427–433 (at 10^5 passages 244 MB either
way), and p95 moved less than it varies between runs (±15 ms).
"""
from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
SERVER_MMAP_THRESHOLD = 8 << 20


def return_freed_memory(mmap_threshold: int = 1 << 20, trim_threshold: int = 4 << 20, arenas: int = 1) -> bool:
    """Set glibc's malloc to hand large freed blocks back to the kernel; False where the C
    library is not glibc (nothing changed there)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    return all(mallopt(param, value) == 1 for param, value in
               ((M_MMAP_THRESHOLD, mmap_threshold), (M_TRIM_THRESHOLD, trim_threshold), (M_ARENA_MAX, arenas)))
