"""Hypothesis strategies of hostile request material: JSON documents, envelopes, and media, whole or damaged."""

from __future__ import annotations

import base64
import io
import json
import os
from typing import Any, Callable, Tuple

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image

from api_inference_community import media


def fuzz_settings(count: int) -> settings:
    """Hypothesis settings of a fuzz test: `count` examples, scaled by AIC_FUZZ_SCALE (e.g. 10 for a
    longer run by hand); derandomized (the same examples every run) unless AIC_FUZZ_RANDOM=1."""
    return settings(
        max_examples=max(1, round(count * float(os.environ.get("AIC_FUZZ_SCALE", "1")))),
        derandomize=os.environ.get("AIC_FUZZ_RANDOM") != "1",
        deadline=None,  # the first example pays for imports and warm-up
        database=None,  # nothing kept between runs
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        print_blob=True,
    )


# ------------------------------------------------------------------ JSON

# Keys the request path looks for, so that documents reach past the first checks.
KEYS = (
    "inputs",
    "parameters",
    "options",
    "image",
    "data",
    "shape",
    "dtype",
    "source_sentence",
    "sentences",
    "question",
    "context",
    "text",
    "query",
    "table",
    "top_k",
    "candidate_labels",
    "wait_for_model",
    "use_cache",
    "normalize",
    "truncate",
    "prompt_name",
    "function_to_apply",
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["float32", "bfloat16", "AAAA", "data:image/png;base64,AAAA", "[MASK]", "-", " "])
)
keys = st.sampled_from(KEYS) | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(keys, children, max_size=6),
    max_leaves=30,
)
envelopes = st.fixed_dictionaries(
    {"inputs": json_values},
    optional={"parameters": json_values, "options": json_values, "top_k": json_values, "image": json_values},
)


def dump(value: Any) -> bytes:
    """JSON text of `value`; NaN and Infinity stay in (not JSON, but some clients send them)."""
    return json.dumps(value).encode("utf-8", "surrogatepass")


@st.composite
def json_bodies(draw: Callable) -> bytes:
    """A JSON document, bare or as an envelope, as bytes (sometimes truncated)."""
    value = draw(st.one_of(json_values, envelopes))
    body = dump(value)
    if draw(st.integers(0, 9)) == 0:
        body = body[: draw(st.integers(0, len(body)))]
    return body


# ----------------------------------------------------------------- media

IMAGE_MODES = ("RGB", "RGBA", "L", "LA", "P", "1", "I;16", "I", "F", "CMYK")
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")


def encode_image(image: Image.Image, fmt: str) -> bytes:
    """`image` in `fmt`, converted to RGB first when the format cannot hold its mode."""
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt)
    except (OSError, ValueError, KeyError):
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format=fmt)
    return buffer.getvalue()


@st.composite
def damage(draw: Callable, data: bytes) -> bytes:
    """`data` whole, truncated, with bytes flipped, or with its header kept and the rest noise."""
    how = draw(st.sampled_from(("whole", "whole", "truncate", "flip", "noise")))
    if how == "truncate" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip" and data:
        mutable = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            mutable[draw(st.integers(0, len(mutable) - 1))] = draw(st.integers(0, 255))
        return bytes(mutable)
    if how == "noise":
        return data[: draw(st.integers(0, 64))] + draw(st.binary(max_size=256))
    return data


@st.composite
def image_files(draw: Callable, max_side: int = 48) -> bytes:
    """A small generated image in one of many modes and formats, possibly damaged."""
    size = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB").convert(draw(st.sampled_from(IMAGE_MODES)))
    return draw(damage(encode_image(image, draw(st.sampled_from(IMAGE_FORMATS)))))


@st.composite
def audio_files(draw: Callable) -> bytes:
    """A short generated sound in one of the encoder's formats, possibly damaged."""
    rate = draw(st.sampled_from((8000, 16000, 22050, 44100)))
    samples = draw(st.integers(1, rate // 4))
    seed = draw(st.integers(0, 2**32 - 1))
    wave = np.random.default_rng(seed).uniform(-1, 1, samples).astype(np.float32)
    return draw(damage(media.encode_audio(wave, rate, draw(st.sampled_from(media.AUDIO_FORMATS)))))


def media_bodies(kind: str) -> st.SearchStrategy[bytes]:
    """Raw bodies for an image or audio task: files, damaged files, and noise."""
    files = image_files() if kind == "image" else audio_files()
    return st.one_of(files, st.binary(max_size=512))


@st.composite
def base64_media_bodies(draw: Callable, kind: str) -> bytes:
    """A JSON envelope carrying a (possibly damaged) file as base64, plus arbitrary parameters."""
    data = draw(image_files() if kind == "image" else audio_files())
    text = base64.b64encode(data).decode("ascii")
    if draw(st.booleans()):
        text = f"data:{kind}/x;base64,{text}"
    document: dict = {draw(st.sampled_from(("inputs", "image"))): text}
    if draw(st.booleans()):
        document["parameters"] = draw(json_values)
    return dump(document)


def any_bytes() -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, and text that nearly is JSON."""
    near_json: st.SearchStrategy[Tuple[str, str]] = st.tuples(
        st.sampled_from(("{", "[", '"', "")), st.text(max_size=60)
    )
    return st.one_of(
        st.binary(max_size=512), near_json.map(lambda pair: (pair[0] + pair[1]).encode("utf-8", "surrogatepass"))
    )
