"""Hostile request bodies, built cheaply: huge, deep, many-keyed JSON and images that are small on the wire."""

from __future__ import annotations

import io
import struct
import zlib

import orjson
from PIL import Image

# PNG colour types and their bytes per pixel at a bit depth
GREY, RGB = 0, 2
_CHANNELS = {GREY: 1, RGB: 3}


def huge_list(size: int) -> bytes:
    """`{"inputs": [1, 1, ...]}` of about `size` bytes."""
    count = max(1, (size - len(b'{"inputs": []}')) // 3)
    return b'{"inputs": [' + b", ".join([b"1"] * count) + b"]}"


def many_parameters(count: int) -> bytes:
    """A valid request carrying `count` parameters the task does not know."""
    return orjson.dumps({"inputs": "a sentence", "parameters": {f"p{i}": i for i in range(count)}})


def nested_arrays(depth: int, closed: bool = True) -> bytes:
    """`[[[...]]]`, `depth` levels (left open when not `closed`)."""
    return b"[" * depth + (b"]" * depth if closed else b"")


def nested_parameters(depth: int) -> bytes:
    """A request whose `parameters` is an object nested `depth` levels deep."""
    return b'{"inputs": "a sentence", "parameters": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


def spaced_text(words: int) -> str:
    """A text of `words` one-letter words (each one token for a WordPiece tokenizer)."""
    return "a " * words


def png(width: int, height: int, bit_depth: int = 8, colour: int = RGB) -> bytes:
    """A black PNG of any size, a few hundred kB on the wire even at 9400x9400 16-bit (zeros compress)."""
    row = b"\x00" * (1 + width * _CHANNELS[colour] * bit_depth // 8)  # filter byte, then the pixels
    packer = zlib.compressobj(9)
    rows_per_piece = max(1, (4 * 1024 * 1024) // len(row))
    pieces = [packer.compress(row * min(rows_per_piece, height - y)) for y in range(0, height, rows_per_piece)]
    data = b"".join(pieces) + packer.flush()

    def chunk(kind: bytes, content: bytes) -> bytes:
        return struct.pack(">I", len(content)) + kind + content + struct.pack(">I", zlib.crc32(kind + content))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def picture() -> bytes:
    """A small ordinary PNG: what a normal client sends."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    image.paste((20, 90, 220), (16, 12, 48, 36))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
