"""Hostile requests, one small generator per kind: huge, deep, malformed, truncated, slow, abandoned,
and for image tasks images that are small on the wire and huge once decoded.

Each generator returns a `HostileBody`: the body, its content type and how it is delivered
(`oneshot.Delivery`). `hostile_bodies` picks the kinds that apply to the served task.
"""

from __future__ import annotations

import functools
import json
import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from .oneshot import Delivery, request_bytes

SENTENCE = "The quick brown fox jumps over the lazy dog."


@dataclass(frozen=True)
class HostileBody:
    """One hostile request of `kind`, sent as `copies` concurrent connections."""

    kind: str
    body: bytes
    content_type: str = "application/json"
    delivery: Delivery = field(default_factory=Delivery)
    content_length: Optional[int] = None  # announced instead of len(body)
    copies: int = 1

    def request(self, port: int, path: str) -> bytes:
        return request_bytes(port, "POST", path, self.body, self.content_type, self.content_length)


@dataclass(frozen=True)
class ServedTask:
    """What the generators need to know of the server: the task's input kind and the server's limits."""

    input_kind: str  # "text", "image", "audio"... (the core's InputKind values)
    max_inputs: int
    max_image_pixels: int
    legit_body: str = json.dumps({"inputs": SENTENCE})


def int_list(_: ServedTask) -> HostileBody:
    """A 2 MB JSON list of integers: `{"inputs": [1, 1, ...]}`."""
    return HostileBody("int list 2 MB", b'{"inputs": [' + b",".join([b"1"] * 1_000_000) + b"]}")


def many_parameters(served: ServedTask) -> HostileBody:
    """50,000 unknown parameters."""
    parameters = {f"p{i}": i for i in range(50_000)}
    return HostileBody("50k parameters", json.dumps({"inputs": SENTENCE, "parameters": parameters}).encode())


def invalid_json(_: ServedTask) -> HostileBody:
    """Invalid JSON that starts like a list, sent as application/json."""
    return HostileBody("invalid JSON [", b'["an unterminated list", {"inputs": ')


def deep_nesting(_: ServedTask) -> HostileBody:
    """A list nested 100,000 deep."""
    depth = 100_000
    return HostileBody("nested 100k", b'{"inputs": ' + b"[" * depth + b"]" * depth + b"}")


def huge_string(_: ServedTask) -> HostileBody:
    """One 10 MB string of words."""
    text = (SENTENCE + " ") * (10 * 2**20 // (len(SENTENCE) + 1))
    return HostileBody("string 10 MB", json.dumps({"inputs": text}).encode())


def truncated_json(_: ServedTask) -> HostileBody:
    """A complete HTTP request whose JSON body stops in the middle of a string."""
    return HostileBody("truncated JSON", json.dumps({"inputs": SENTENCE}).encode()[:20])


def short_body(_: ServedTask) -> HostileBody:
    """A body that announces 1 MB, sends 1 kB and closes the sending side."""
    body = b'{"inputs": "' + b"a" * 1024
    return HostileBody("short body", body, content_length=2**20, delivery=Delivery(half_close=True))


def slow_sender(_: ServedTask) -> HostileBody:
    """A valid request, headers and body, trickled one byte every 20 ms (about 4 s)."""
    body = json.dumps({"inputs": "A slow client sends this sentence byte by byte."}).encode()
    return HostileBody("slow sender", body, delivery=Delivery(trickle_bytes=1, trickle_interval=0.02))


def abandoned(served: ServedTask) -> HostileBody:
    """8 clients that send the heaviest legal request and give up after 50 ms."""
    if served.input_kind == "image":
        body, content_type = legal_png(served.max_image_pixels), "image/png"
    elif served.input_kind == "text":
        body, content_type = json.dumps({"inputs": [SENTENCE] * served.max_inputs}).encode(), "application/json"
    else:
        body, content_type = served.legit_body.encode(), "application/json"
    return HostileBody("abandoned 50 ms", body, content_type, Delivery(give_up_after=0.05), copies=8)


def png_16bit(_: ServedTask) -> HostileBody:
    """A 9400 x 9400 16-bit greyscale PNG (about 200 kB on the wire, 177 MB decoded)."""
    return HostileBody("PNG 16-bit 9400^2", uniform_png(9400, 9400, GREY, 16), "image/png")


def large_rgb_png(served: ServedTask) -> HostileBody:
    """The largest RGB PNG the server's pixel limit allows."""
    return HostileBody("PNG RGB max", legal_png(served.max_image_pixels), "image/png")


def legal_png(max_pixels: int) -> bytes:
    """A square 8-bit RGB PNG of at most `max_pixels` pixels."""
    side = math.isqrt(max_pixels)
    return uniform_png(side, side, RGB, 8)


GREY, RGB = 0, 2  # PNG colour types
ROWS_PER_BLOCK = 64


@functools.lru_cache(maxsize=4)
def uniform_png(width: int, height: int, colour_type: int, bit_depth: int, value: int = 0x80) -> bytes:
    """A PNG whose every sample byte is `value`: small on the wire, full size once decoded.

    Written directly, in milliseconds even at 90 megapixels: after a full flush, deflate encodes
    identical blocks of rows identically, so one block is compressed and its output repeated; the
    zlib checksum is computed over the rows, and an empty final block ends the stream."""
    row = b"\x00" + bytes([value]) * (width * (3 if colour_type == RGB else 1) * bit_depth // 8)  # filter 0
    blocks, rest = divmod(height, ROWS_PER_BLOCK)
    block = row * ROWS_PER_BLOCK
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)] if blocks else []
    if blocks > 1:
        parts.append((compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)) * (blocks - 1))
    parts.append(compressor.compress(row * rest) + compressor.flush(zlib.Z_FULL_FLUSH))
    checksum = 1
    for _ in range(blocks):
        checksum = zlib.adler32(block, checksum)
    checksum = zlib.adler32(row * rest, checksum)
    deflated = b"".join(parts) + b"\x03\x00" + checksum.to_bytes(4, "big")  # b"\x03\x00": empty final block
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", deflated) + _chunk(b"IEND", b"")


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


GENERATORS: Dict[str, Callable[[ServedTask], HostileBody]] = {
    "int-list": int_list,
    "parameters": many_parameters,
    "invalid-json": invalid_json,
    "nesting": deep_nesting,
    "huge-string": huge_string,
    "truncated": truncated_json,
    "short-body": short_body,
    "abandon": abandoned,
    "png16": png_16bit,
    "large-png": large_rgb_png,
    "slow": slow_sender,
}
IMAGE_ONLY = frozenset({"png16", "large-png"})


def hostile_bodies(served: ServedTask, kinds: Optional[Sequence[str]] = None) -> List[HostileBody]:
    """The hostile requests of `kinds` (default: every kind that applies to the served task's input)."""
    if kinds is None:
        kinds = [k for k in GENERATORS if k not in IMAGE_ONLY or served.input_kind == "image"]
    unknown = [k for k in kinds if k not in GENERATORS]
    if unknown:
        raise SystemExit(f"unknown hostile kinds {unknown}; known: {', '.join(GENERATORS)}")
    return [GENERATORS[k](served) for k in kinds]
