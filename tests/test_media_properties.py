"""Property tests: the image and audio decoders on arbitrary and mutated bytes.

Every outcome is a decoded value within the limits or a MediaError: never another exception, never
a hang. The seeds are real files made here (PNG, JPEG, GIF, WebP, TIFF, BMP; FLAC, WAV, Ogg, MP3),
then truncated, bit-flipped, overwritten or spliced. Examples are bounded and derandomized (the
same ones on every run); a watchdog ends the process with a traceback if a decoder ever hangs.
"""

from __future__ import annotations

import faulthandler
from typing import Dict, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from media_samples import SR, gif_many_frames, image_bytes, sine, solid
from PIL import Image

from api_inference_community.media import MediaError, decode_audio, decode_image, decoded_nbytes, encode_audio, to_rgb

MAX_PIXELS = 4096
MAX_IMAGE_BYTES = 64 * 1024
MAX_SECONDS = 2.0
MAX_SAMPLES = 3 * SR
WATCHDOG_S = 25  # one test of this file never takes this long; a hang does

FUZZ = settings(
    max_examples=120,
    deadline=2000,  # ms per example
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _image_seeds() -> Dict[str, bytes]:
    picture = solid("RGB", (24, 16))
    return {
        "png": image_bytes(picture, "PNG"),
        "png16": image_bytes(solid("I;16", (24, 16)), "PNG"),
        "png_palette": image_bytes(solid("P", (24, 16)), "PNG", transparency=0),
        "jpeg": image_bytes(picture, "JPEG"),
        "jpeg_progressive": image_bytes(picture, "JPEG", progressive=True),
        "gif": image_bytes(picture, "GIF", save_all=True, append_images=[solid("L", (24, 16))]),
        "gif_frames": gif_many_frames(50, (24, 16)),
        "webp": image_bytes(picture, "WEBP"),
        "tiff": image_bytes(picture, "TIFF", compression="tiff_adobe_deflate"),
        "bmp": image_bytes(solid("RGBA", (24, 16)), "BMP"),
    }


def _audio_seeds() -> Dict[str, bytes]:
    tone = sine(440, 0.2, SR)
    return {fmt: encode_audio(tone, SR, fmt) for fmt in ("flac", "wav", "ogg", "mp3")}


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")  # Pillow's notes on the corrupt files

IMAGE_SEEDS = _image_seeds()
AUDIO_SEEDS = _audio_seeds()


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@st.composite
def mutated(draw: st.DrawFn, seeds: Dict[str, bytes]) -> bytes:
    """A seed file, then a few of: truncation, bit flips, overwritten bytes, a spliced range."""
    data = bytearray(seeds[draw(st.sampled_from(sorted(seeds)))])
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "splice", "extend"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[at : at + len(chunk)] = chunk
        elif kind == "splice":
            end = draw(st.integers(at, min(len(data), at + 64)))
            data[at:at] = data[at:end]
        else:
            data[at:at] = draw(st.sampled_from([b"\xff" * 4, b"\x00" * 4, b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff"]))
    return bytes(data)


def check_image(data: bytes) -> None:
    try:
        image = decode_image(data, max_pixels=MAX_PIXELS, max_image_bytes=MAX_IMAGE_BYTES)
    except MediaError:
        return
    assert isinstance(image, Image.Image)
    width, height = image.size
    assert 0 < width * height <= MAX_PIXELS
    assert decoded_nbytes(image) <= MAX_IMAGE_BYTES
    rgb = to_rgb(image)
    assert rgb.mode == "RGB" and rgb.size == image.size


def check_audio(data: bytes) -> None:
    try:
        waveform = decode_audio(data, SR, max_seconds=MAX_SECONDS, max_samples=MAX_SAMPLES)
    except MediaError:
        return
    assert isinstance(waveform, np.ndarray) and waveform.dtype == np.float32 and waveform.ndim == 1
    assert 0 < waveform.size <= MAX_SAMPLES
    assert np.isfinite(waveform).all()


def test_the_seeds_decode() -> None:
    for name, data in IMAGE_SEEDS.items():
        assert decode_image(data, max_pixels=MAX_PIXELS, max_image_bytes=MAX_IMAGE_BYTES).size == (24, 16), name
    for name, data in AUDIO_SEEDS.items():
        assert 0.15 * SR < len(decode_audio(data, SR)) < 0.3 * SR, name


@FUZZ
@given(mutated(IMAGE_SEEDS))
def test_mutated_images_decode_within_limits_or_fail_cleanly(data: bytes) -> None:
    check_image(data)


@FUZZ
@given(
    st.binary(max_size=512)
    | st.builds(
        lambda head, tail: head + tail,
        st.sampled_from(
            [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBPVP8", b"II*\x00", b"BM"]
        ),
        st.binary(max_size=256),
    )
)
def test_arbitrary_bytes_as_an_image_fail_cleanly(data: bytes) -> None:
    check_image(data)


@FUZZ
@given(mutated(AUDIO_SEEDS))
def test_mutated_audio_decodes_within_limits_or_fails_cleanly(data: bytes) -> None:
    check_audio(data)


@FUZZ
@given(
    st.binary(max_size=512)
    | st.builds(
        lambda head, tail: head + tail,
        st.sampled_from(
            [b"fLaC", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"OggS\x00\x02", b"ID3\x03\x00", b"\xff\xfb\x90\x00"]
        ),
        st.binary(max_size=256),
    )
)
def test_arbitrary_bytes_as_audio_fail_cleanly(data: bytes) -> None:
    check_audio(data)
