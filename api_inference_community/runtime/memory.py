"""The process's resident memory: measured (to size loaded models) and given back (after unloading one)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from typing import Optional

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int:
    """Resident set size of this process, now (Linux /proc; 0 where unknown)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


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
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):  # glibc: return free arenas' pages
        _LIBC.malloc_trim(0)
