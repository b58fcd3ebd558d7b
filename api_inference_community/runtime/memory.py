"""The process's resident memory: measured (to size loaded models) and given back (after unloading one).

A server that loads and unloads models fixes glibc's mmap threshold (`configure_allocator`): by
default glibc raises it each time a large mmapped block is freed (up to 32 MiB), after which the
weights of the next models come from the heap, which fragments and is never given back: hundreds
of MB beside the loaded models after a few hundred loads. With the threshold fixed, each block of
`MMAP_THRESHOLD` bytes or more is mapped on its own and returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from typing import Optional

MMAP_THRESHOLD = 1 << 20
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """Resident set size of this process, now (Linux /proc; 0 where unknown)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def settled_resident_bytes() -> int:
    """Resident set size once the heap's free pages are handed back: what is really held (the
    transient allocations of a load, freed but still resident, are not counted)."""
    trim()
    return resident_bytes()


def trim() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim; nothing elsewhere)."""
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def _libc() -> Optional[ctypes.CDLL]:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBC = _libc()


def release_memory() -> None:
    """Collect what an unloaded model left (cycles included), and hand freed heap pages back to the system.

    Loaded objects are frozen out of the collector's sight (`engine.freeze_loaded_objects`): they
    are unfrozen for one full collection, then what is still alive is frozen again.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    trim()


def configure_allocator(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold (unless `MALLOC_MMAP_THRESHOLD_` already sets it); True if set."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or _LIBC is None or not hasattr(_LIBC, "mallopt"):
        return False
    return bool(_LIBC.mallopt(M_MMAP_THRESHOLD, threshold))
