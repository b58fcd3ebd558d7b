"""What decoded inputs cost in memory: bytes per pixel as Pillow holds them, and `decoded_nbytes`."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from PIL import Image

# Bytes per pixel of Pillow's own storage (measured: Pillow pads 2- and 3-band modes to 4 bytes).
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
_TWO_BYTE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
PALETTE_BYTES = 1024  # a palette image's palette, at most 256 RGBA entries


def pixel_bytes(mode: str) -> int:
    """Bytes Pillow stores per pixel of an image of `mode` ("RGB" is 4, "I;16" is 2, "L" is 1)."""
    if mode in _ONE_BYTE_MODES:
        return 1
    if mode in _TWO_BYTE_MODES:
        return 2
    return 4  # every other mode Pillow decodes to: RGB, RGBA, LA, PA, CMYK, YCbCr, LAB, HSV, I, F...


def image_nbytes(mode: str, size: tuple[int, int]) -> int:
    """Bytes of the pixels of an image of `mode` and `size` (width, height), as Pillow holds them."""
    width, height = size
    return max(width, 0) * max(height, 0) * pixel_bytes(mode)


def decoded_nbytes(value: Any) -> int:
    """Bytes a decoded input holds in memory: images, arrays, and the lists, tuples and dicts around them.

    A Pillow image counts its pixels (whether loaded yet or not), its palette and its metadata; a
    numpy array (or any object with an integer `nbytes`, e.g. a tensor) counts the buffer it keeps
    alive, once even when several views share it; strings and bytes count their size. Cheap: no
    pixel is read.
    """
    total = 0
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Image.Image):
            total += image_nbytes(item.mode, item.size) + _info_nbytes(item.info)
            if item.mode in ("P", "PA"):
                total += PALETTE_BYTES
        elif isinstance(item, np.ndarray):
            owner, size = _array_owner(item)
            if id(owner) not in seen:
                seen.add(id(owner))
                total += size
        elif isinstance(item, (str, bytes, bytearray, memoryview)):
            total += item.nbytes if isinstance(item, memoryview) else sys.getsizeof(item)
        elif isinstance(item, dict):
            total += sys.getsizeof(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += sys.getsizeof(item)
            stack.extend(item)
        else:
            nbytes = getattr(item, "nbytes", None)
            total += nbytes if isinstance(nbytes, int) else sys.getsizeof(item)
    return total


def _array_owner(array: np.ndarray) -> tuple[Any, int]:
    """The object that owns an array's memory (a view keeps its whole base alive), and its size."""
    owner: Any = array
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    if isinstance(owner, np.ndarray):
        return owner, owner.nbytes
    if isinstance(owner, (bytes, bytearray)):
        return owner, max(sys.getsizeof(owner), array.nbytes)
    try:
        return owner, max(memoryview(owner).nbytes, array.nbytes)
    except TypeError:  # an owner without the buffer protocol (e.g. a Pillow image core)
        return owner, array.nbytes


def _info_nbytes(info: dict[Any, Any]) -> int:
    """Bytes of an image's metadata values (ICC profile, EXIF, text chunks) that are bytes or text."""
    return sum(len(v) for v in info.values() if isinstance(v, (bytes, bytearray, str)))
