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
"""
from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


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
