"""Keep freed (T, N) arrays in the process heap instead of returning them to the OS (glibc only).

Every kernel allocates fresh ~5 MB (T, N) float64 arrays. With glibc's default dynamic thresholds the
freed blocks are trimmed back to the OS and the next allocation page-faults every 4 KB page again,
which costs more than the arithmetic itself (measured: ``multiply`` 5.8 ms -> 1.3 ms, ``ts_delta``
5.4 ms -> 1.2 ms on 1259 x 505). ``tune_allocator`` raises ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` once per process so large blocks are served from, and returned to, the heap.
Peak memory is unchanged (freed blocks are reused, not added); up to ``TRIM_BYTES`` of free heap may be
retained. Set ``ALPHA_SIM_TUNE_MALLOC=0`` to leave the allocator alone. No effect off glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_BYTES = 256 * 1024 * 1024   # blocks below this come from the heap (a 2520 x 3000 float64 is 60 MB)
TRIM_BYTES = 512 * 1024 * 1024   # free heap kept before trimming

_DONE: list[bool] = []


def tune_allocator() -> bool:
    """Apply the glibc malloc thresholds once; True when they are in effect. Never raises."""
    if _DONE:
        return _DONE[0]
    ok = False
    if sys.platform.startswith("linux") and os.environ.get("ALPHA_SIM_TUNE_MALLOC", "1") != "0":
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            ok = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                                        TRIM_BYTES))
        except (OSError, AttributeError):
            ok = False
    _DONE.append(ok)
    return ok
