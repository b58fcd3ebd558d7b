"""Legitimate request bodies the benchmarks send: short sentences, a photo-like JPEG (a smooth gradient
with noise)."""

from __future__ import annotations

import base64
import io
import json

# one short sentence per request: the text benchmarks' default bodies
SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on the street.",
    "How do I reset my password?",
    "The weather is lovely today.",
    "Machine learning models turn text into vectors.",
    "She bought fresh bread at the bakery.",
    "This restaurant serves the best pizza in town.",
    "Can you recommend a good book about history?",
)


def photo_jpeg(width: int = 320, height: int = 240, seed: int = 0, quality: int = 85) -> bytes:
    """A `width` x `height` RGB JPEG that compresses like a photo (gradients and noise), seeded."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x + y) * 127 / (width + height)], -1)
    pixels = np.clip(base + rng.normal(0, 24, base.shape), 0, 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def base64_json(image: bytes) -> str:
    """`{"inputs": "<base64>"}`: an image as the JSON body image tasks take."""
    return json.dumps({"inputs": base64.b64encode(image).decode()})
