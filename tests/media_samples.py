"""Media the media tests make themselves (images, audio, crafted headers), and peak-memory measurement."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import av
import numpy as np
from PIL import Image

SR = 16000


# ---------------------------------------------------------------- images


def image_bytes(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def gradient(size: Tuple[int, int] = (32, 24)) -> Image.Image:
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, axis=0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, axis=1)
    return Image.fromarray(np.stack([x, y, np.full_like(x, 128)], axis=-1))


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header(width: int, height: int, bit_depth: int = 8, color_type: int = 2, extra: bytes = b"") -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` (no real pixel data), `extra` chunks before IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + extra
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


def small_png(extra: bytes = b"") -> bytes:
    """A valid 8x8 RGB PNG with `extra` chunks before its pixels."""
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + bytes(24) for _ in range(8)))
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")
    )


def gif_many_frames(frames: int, screen: Tuple[int, int] = (64, 64)) -> bytes:
    """A GIF of `frames` 1x1 frames on a `screen`-sized canvas (tiny file, many frames)."""
    width, height = screen
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = b"!\xf9\x04\x00\x01\x00\x00\x00," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + loop + frame * frames + b";"


def solid(mode: str, size: Tuple[int, int]) -> Image.Image:
    """An image of `mode` with some structure (so that codecs do real work), cheap to make."""
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, axis=0)
    if mode.startswith("I;16"):
        return Image.fromarray(ramp.astype(np.uint16) * 257)
    if mode == "F":
        return Image.fromarray(ramp.astype(np.float32) / 255)
    if mode == "I":
        return Image.fromarray(ramp.astype(np.int32) * 1000)
    rgb = Image.fromarray(np.stack([ramp, ramp[::-1], np.full_like(ramp, 90)], axis=-1))
    if mode == "P":
        return rgb.convert("P", palette=Image.Palette.ADAPTIVE)
    return rgb.convert(mode)


# ---------------------------------------------------------------- audio


def sine(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def pcm_wav(samples: np.ndarray, rate: int, codec: str, fmt: str) -> bytes:
    """Encode a mono int/float array as WAV with a given PCM codec (via PyAV)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="wav") as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format=fmt, layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def flac_declaring(data: bytes, total_samples: int) -> bytes:
    """A FLAC file whose STREAMINFO declares `total_samples` (36 bits), whatever it holds."""
    assert data[:4] == b"fLaC"
    offset = 8 + 10  # marker, block header, then min/max block and frame sizes
    fields = int.from_bytes(data[offset : offset + 8], "big")
    fields = (fields & ~((1 << 36) - 1)) | (total_samples & ((1 << 36) - 1))
    return data[:offset] + fields.to_bytes(8, "big") + data[offset + 8 :]


def wav_with_rate(data: bytes, rate: int) -> bytes:
    """A WAV file whose `fmt ` chunk declares `rate` samples per second."""
    start = data.index(b"fmt ") + 12
    return data[:start] + struct.pack("<I", rate) + data[start + 4 :]


# ---------------------------------------------------------------- peak memory

_MEASURE = r"""
import gc, json, sys, warnings
from api_inference_community.media import MediaError, decode_image, estimate_decoding_bytes, to_rgb
warnings.simplefilter("ignore")

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

results = []
for path, kwargs in json.loads(sys.stdin.read()):
    data = open(path, "rb").read()
    try:
        estimate = estimate_decoding_bytes(data, **{k: v for k, v in kwargs.items() if k != "max_image_bytes"})
    except MediaError:
        estimate = None
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    try:
        image = decode_image(data, **kwargs)
        rgb = to_rgb(image)
        outcome = [image.mode, list(image.size)]
        del image, rgb
    except MediaError as error:
        outcome = str(error)
    results.append({"growth": status("VmHWM") - before, "estimate": estimate, "outcome": outcome})
print(json.dumps(results))
"""


def can_measure_peaks() -> bool:
    """Whether this system lets a process reset its peak RSS (Linux /proc/self/clear_refs)."""
    return sys.platform.startswith("linux") and os.access("/proc/self/clear_refs", os.W_OK)


def measure_peaks(cases: Sequence[Tuple[Path, Dict[str, Any]]]) -> List[Dict[str, Any]]:
    """Peak RSS growth (bytes) of `decode_image(data, **kwargs)` then `to_rgb`, per case, in a fresh process.

    The peak is reset before each case (/proc/self/clear_refs) and read as VmHWM, the counter
    behind `ru_maxrss`; `ru_maxrss` itself also holds the parent's size at exec. glibc's mmap
    threshold is fixed so that what one case frees goes back to the system instead of being
    reused, unseen, by the next. Each result also has `estimate` (`estimate_decoding_bytes`) and
    `outcome` ([mode, size] or the MediaError).
    """
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURE],
        input=json.dumps([(str(path), kwargs) for path, kwargs in cases]),
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(completed.stdout)
