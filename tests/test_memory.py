"""The server's malloc settings give freed large arrays back to the kernel."""
import subprocess
import sys

import pytest


# A 30 MB array freed raises glibc's dynamic mmap threshold; a 20 MB array made next comes
# from the heap, and a small allocation after it keeps the heap from shrinking when it is freed.
SCRIPT = """
import re, sys
from pathlib import Path
import numpy as np
from search import memory
if sys.argv[1] == "set":
    assert memory.return_freed_memory(memory.SERVER_MMAP_THRESHOLD)
def anon():
    return int(re.search(r"RssAnon:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024
first = np.ones(30 << 17); del first
before = anon()
second = np.ones(20 << 17)
pin = [bytearray(1000) for _ in range(100)]
del second
print(anon() - before)
"""


def resident_after_free(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout)


@pytest.mark.skipif(sys.platform != "linux", reason="glibc malloc settings")
def test_freed_arrays_leave_the_server_resident_set():
    assert resident_after_free("default") >= 20  # what the server kept before
    assert resident_after_free("set") <= 4
