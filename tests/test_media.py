"""Tests for api_inference_community.media (all media is generated here)."""

from __future__ import annotations

import base64
import io
import warnings

import av
import numpy as np
import pytest
from media_samples import SR, gradient, image_bytes, pcm_wav, png_header, sine
from PIL import Image

from api_inference_community.http.negotiation import NotAcceptable, negotiate
from api_inference_community.media import (
    AUDIO_FORMATS,
    AUDIO_MIME,
    IMAGE_FORMATS,
    IMAGE_MIME,
    MediaError,
    audio_duration_seconds,
    decode_audio,
    decode_base64_image,
    decode_image,
    encode_audio,
    encode_image,
    to_rgb,
)

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def peak_frequency(waveform: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    return float(np.argmax(spectrum)) * rate / len(waveform)


@pytest.fixture(scope="module")
def flac_two_seconds() -> bytes:
    return encode_audio(sine(440, 2.0, SR), SR, "flac")


# --------------------------------------------------------------------------
# Image decoding
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "lossless"),
    [("PNG", True), ("JPEG", False), ("WEBP", False), ("BMP", True), ("TIFF", True)],
)
def test_decode_image_formats(fmt: str, lossless: bool) -> None:
    source = gradient()
    image = decode_image(image_bytes(source, fmt))
    assert image.format == fmt
    assert image.size == source.size
    assert image.mode == "RGB"
    error = np.abs(np.asarray(image, dtype=int) - np.asarray(source, dtype=int))
    assert error.max() == 0 if lossless else error.mean() < 8


def test_decode_gif_returns_first_frame_only() -> None:
    red = Image.new("RGB", (16, 16), (255, 0, 0))
    blue = Image.new("RGB", (16, 16), (0, 0, 255))
    data = image_bytes(red, "GIF", save_all=True, append_images=[blue], duration=50)
    image = decode_image(data)
    assert image.format == "GIF"
    assert to_rgb(image).getpixel((8, 8)) == (255, 0, 0)
    # Detached from the file: no other frame can be decoded from it later.
    assert getattr(image, "n_frames", 1) == 1 and not getattr(image, "is_animated", False)
    with pytest.raises(EOFError):
        image.seek(1)


@pytest.mark.parametrize("mode", ["RGBA", "L", "LA", "P", "1", "I;16"])
def test_decode_image_preserves_mode(mode: str) -> None:
    image = gradient().convert("RGBA" if mode == "LA" else mode)
    if mode == "LA":
        image = image.convert("LA")
    assert decode_image(image_bytes(image, "PNG")).mode == mode


def test_decode_cmyk_jpeg() -> None:
    image = decode_image(image_bytes(Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG"))
    assert image.mode == "CMYK"
    assert all(c > 245 for c in to_rgb(image).getpixel((4, 4)))


def test_decode_sixteen_bit_png_is_mid_grey() -> None:
    source = Image.fromarray(np.full((6, 7), 32768, dtype=np.uint16))
    image = decode_image(image_bytes(source, "PNG"))
    assert image.mode == "I;16"
    assert to_rgb(image).getpixel((3, 3)) == (128, 128, 128)


def test_decode_truncated_jpeg() -> None:
    noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = image_bytes(Image.fromarray(noisy), "JPEG")
    with pytest.raises(MediaError, match="Invalid image"):
        decode_image(data[: len(data) // 2])


def test_decode_truncated_png() -> None:
    noisy = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = image_bytes(Image.fromarray(noisy), "PNG")
    with pytest.raises(MediaError, match="truncated"):
        decode_image(data[: len(data) // 2])


@pytest.mark.parametrize(
    "data",
    [b"not an image at all", np.random.default_rng(2).bytes(2048), b"\x89PNG\r\n"],
)
def test_decode_garbage_image(data: bytes) -> None:
    with pytest.raises(MediaError, match="Invalid image: cannot identify image file"):
        decode_image(data)


def test_decode_empty_image() -> None:
    with pytest.raises(MediaError, match="empty"):
        decode_image(b"")


def test_decode_rejects_eps() -> None:
    # EPS would run Ghostscript in a subprocess; it is not an accepted format.
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(MediaError, match="cannot identify"):
        decode_image(eps)


def test_decode_zero_size_image() -> None:
    with pytest.raises(MediaError, match="Invalid image"):
        decode_image(png_header(0, 5))


def test_pixel_limit_small_image() -> None:
    data = image_bytes(gradient((20, 10)), "PNG")
    assert decode_image(data, max_pixels=200).size == (20, 10)
    with pytest.raises(MediaError, match="too large"):
        decode_image(data, max_pixels=199)


@pytest.mark.parametrize("size", [(10_000, 10_000), (100_000, 100_000)])
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_limit_crafted_header(size: tuple[int, int]) -> None:
    with pytest.raises(MediaError, match="too large"):
        decode_image(png_header(*size))


def test_pixel_limit_crafted_header_below_pillow_limit() -> None:
    # Pillow itself accepts 5000x5000; our own limit rejects it before decoding.
    with pytest.raises(MediaError, match="5000x5000"):
        decode_image(png_header(5000, 5000), max_pixels=1_000_000)


def test_pixel_limit_with_warnings_as_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MediaError, match="too large"):
            decode_image(png_header(10_000, 10_000))


# --------------------------------------------------------------------------
# Base64
# --------------------------------------------------------------------------


def test_decode_base64_image_variants() -> None:
    data = image_bytes(gradient((5, 3)), "PNG")
    standard = base64.b64encode(data).decode()
    urlsafe = base64.urlsafe_b64encode(data).decode().rstrip("=")
    wrapped = "\n".join(standard[i : i + 60] for i in range(0, len(standard), 60))
    for text in (
        standard,
        f"data:image/png;base64,{standard}",
        urlsafe,
        wrapped,
        standard.encode(),
    ):
        assert decode_base64_image(text).size == (5, 3)


@pytest.mark.parametrize("text", ["!!!not base64!!!", "abcde", "", "data:image/png;base64,"])
def test_decode_base64_invalid(text: str) -> None:
    with pytest.raises(MediaError, match="Invalid base64 image"):
        decode_base64_image(text)


def test_decode_base64_valid_but_not_image() -> None:
    with pytest.raises(MediaError, match="Invalid image"):
        decode_base64_image(base64.b64encode(b"hello world").decode())


def test_decode_base64_pixel_limit() -> None:
    text = base64.b64encode(image_bytes(gradient((20, 10)), "PNG")).decode()
    with pytest.raises(MediaError, match="too large"):
        decode_base64_image(text, max_pixels=100)


# --------------------------------------------------------------------------
# to_rgb
# --------------------------------------------------------------------------


def test_to_rgb_rgb_unchanged() -> None:
    image = gradient()
    assert to_rgb(image) is image


def test_to_rgb_rgba_composited_on_white() -> None:
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    image.putpixel((1, 1), (255, 0, 0, 255))
    image.putpixel((2, 2), (0, 0, 0, 128))
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((1, 1)) == (255, 0, 0)
    assert all(abs(c - 127) <= 2 for c in rgb.getpixel((2, 2)))


def test_to_rgb_la_and_l() -> None:
    assert to_rgb(Image.new("L", (2, 2), 100)).getpixel((0, 0)) == (100, 100, 100)
    assert to_rgb(Image.new("LA", (2, 2), (0, 0))).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("LA", (2, 2), (40, 255))).getpixel((0, 0)) == (40, 40, 40)


def test_to_rgb_palette_with_transparency() -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    assert to_rgb(image).getpixel((0, 0)) == (10, 20, 30)
    image.info["transparency"] = 0
    rgb = to_rgb(decode_image(image_bytes(image, "PNG")))
    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((1, 0)) == (200, 100, 50)


def test_to_rgb_cmyk() -> None:
    image = Image.new("CMYK", (2, 1), (0, 0, 0, 0))
    image.putpixel((1, 0), (0, 0, 0, 255))
    rgb = to_rgb(image)
    assert rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((1, 0)) == (0, 0, 0)


def test_to_rgb_one_bit() -> None:
    image = Image.new("1", (2, 1), 0)
    image.putpixel((1, 0), 1)
    rgb = to_rgb(image)
    assert rgb.getpixel((0, 0)) == (0, 0, 0)
    assert rgb.getpixel((1, 0)) == (255, 255, 255)


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (32768, 128), (65535, 255), (1000, 4)])
def test_to_rgb_sixteen_bit(value: int, expected: int) -> None:
    image = Image.fromarray(np.full((3, 3), value, dtype=np.uint16))
    assert image.mode == "I;16"
    assert to_rgb(image).getpixel((1, 1)) == (expected,) * 3


def test_to_rgb_int32_and_float() -> None:
    ramp16 = np.array([[0, 32768, 65535]], dtype=np.int32)
    assert [to_rgb(Image.fromarray(ramp16)).getpixel((i, 0))[0] for i in range(3)] == [
        0,
        128,
        255,
    ]
    unit = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    assert [to_rgb(Image.fromarray(unit)).getpixel((i, 0))[0] for i in range(3)] == [
        0,
        128,
        255,
    ]
    wide = np.array([[-1000.0, 0.0, 1000.0]], dtype=np.float32)
    assert [to_rgb(Image.fromarray(wide)).getpixel((i, 0))[0] for i in range(3)] == [
        0,
        128,
        255,
    ]


# --------------------------------------------------------------------------
# Image encoding
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_encode_image_roundtrip(fmt: str) -> None:
    data = encode_image(gradient(), fmt)
    image = decode_image(data)
    assert image.format == fmt.upper()
    assert image.size == (32, 24)


def test_encode_image_jpeg_from_rgba_and_sixteen_bit() -> None:
    image = decode_image(encode_image(Image.new("RGBA", (4, 4), (0, 0, 0, 0)), "jpeg"))
    assert image.mode == "RGB"
    assert all(c > 245 for c in image.getpixel((2, 2)))
    grey = Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16))
    assert decode_image(encode_image(grey, "png")).mode == "I;16"
    assert decode_image(encode_image(grey, "webp")).mode == "RGB"
    assert decode_image(encode_image(Image.new("LA", (2, 2)), "webp")).mode == "RGBA"


def test_encode_image_unknown_format() -> None:
    with pytest.raises(ValueError, match="Unknown image format"):
        encode_image(gradient(), "gif")


def test_image_mime() -> None:
    assert set(IMAGE_FORMATS) == set(IMAGE_MIME)
    assert IMAGE_MIME["jpeg"] == "image/jpeg"


# --------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------


def test_audio_mime() -> None:
    assert AUDIO_FORMATS == ("flac", "wav", "ogg", "mp3", "webm")
    assert dict(AUDIO_MIME) == {
        "flac": "audio/flac",
        "wav": "audio/wav",
        "ogg": "audio/ogg",
        "mp3": "audio/mpeg",
        "webm": "audio/webm",
    }


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_audio_roundtrip(fmt: str) -> None:
    data = encode_audio(sine(440, 1.0, SR), SR, fmt)
    waveform = decode_audio(data, SR)
    assert waveform.dtype == np.float32
    assert waveform.ndim == 1
    assert abs(len(waveform) - SR) <= 0.03 * SR
    assert abs(peak_frequency(waveform, SR) - 440) <= 3
    assert 0.3 < np.abs(waveform).max() < 0.7


@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3", "webm"])
def test_audio_resample_44100_to_16000(fmt: str) -> None:
    data = encode_audio(sine(1000, 1.0, 44100), 44100, fmt)
    waveform = decode_audio(data, SR)
    assert abs(len(waveform) - SR) <= 0.03 * SR
    assert abs(peak_frequency(waveform, SR) - 1000) <= 3


def test_audio_upsample() -> None:
    waveform = decode_audio(encode_audio(sine(300, 1.0, 8000), 8000, "wav"), 22050)
    assert abs(len(waveform) - 22050) <= 50
    assert abs(peak_frequency(waveform, 22050) - 300) <= 3


def test_stereo_is_averaged_to_mono() -> None:
    left, right = sine(440, 1.0, SR, 0.5), sine(1000, 1.0, SR, 0.3)
    data = encode_audio(np.stack([left, right]), SR, "flac")
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].layout.nb_channels == 2
    waveform = decode_audio(data, SR)
    assert waveform.shape == (SR,)
    # An average, not FFmpeg's default 1/sqrt(2) downmix.
    assert np.abs(waveform - (left + right) / 2).max() < 1e-3


def test_stereo_opposite_channels_cancel() -> None:
    tone = sine(440, 0.5, SR)
    waveform = decode_audio(encode_audio(np.stack([tone, -tone]), SR, "wav"), SR)
    assert np.abs(waveform).max() < 1e-3


@pytest.mark.parametrize(
    ("codec", "fmt", "samples"),
    [
        ("pcm_u8", "u8", np.full(800, 192, dtype=np.uint8)),
        ("pcm_s32le", "s32", np.full(800, 2**30, dtype=np.int32)),
        ("pcm_f32le", "flt", np.full(800, 0.5, dtype=np.float32)),
        ("pcm_s16le", "s16", np.full(800, 16384, dtype=np.int16)),
    ],
)
def test_decode_pcm_sample_formats(codec: str, fmt: str, samples: np.ndarray) -> None:
    waveform = decode_audio(pcm_wav(samples, SR, codec, fmt), SR)
    assert waveform.shape == (800,)
    assert np.allclose(waveform, 0.5, atol=1e-2)


def test_encode_integer_waveform() -> None:
    samples = (sine(440, 0.5, SR) * 32767).astype(np.int16)
    waveform = decode_audio(encode_audio(samples, SR, "wav"), SR)
    assert np.abs(waveform - samples / 32768).max() < 1e-3


def test_encode_clips_out_of_range() -> None:
    loud = np.array([2.0, -2.0, np.nan, 0.25] * 100, dtype=np.float32)
    waveform = decode_audio(encode_audio(loud, SR, "wav"), SR)
    assert np.abs(waveform).max() <= 1.0
    assert abs(waveform[3] - 0.25) < 1e-3


def test_encode_audio_with_a_sample_format() -> None:
    tone = sine(440, 0.5, SR)
    data = encode_audio(tone, SR, "flac", sample_format="s32")
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].format.name == "s32"
    assert np.abs(decode_audio(data, SR) - tone).max() < 1e-6
    with av.open(io.BytesIO(encode_audio(tone, SR, "flac"))) as container:
        assert container.streams.audio[0].format.name == "s16"
    with pytest.raises(ValueError, match="sample formats s16, s32"):
        encode_audio(tone, SR, "flac", sample_format="flt")


def test_encode_audio_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="Unknown audio format"):
        encode_audio(sine(440, 0.1, SR), SR, "aac")
    with pytest.raises(ValueError):
        encode_audio(np.zeros((1, 2, 3)), SR, "wav")
    with pytest.raises(ValueError, match="channels"):
        encode_audio(np.zeros((SR, 2)), SR, "wav")
    with pytest.raises(ValueError):
        encode_audio(sine(440, 0.1, SR), 0, "wav")


def test_decode_audio_truncated_flac_header(flac_two_seconds: bytes) -> None:
    with pytest.raises(MediaError, match="Invalid audio"):
        decode_audio(flac_two_seconds[:1024], SR)


def test_decode_audio_truncated_keeps_decoded_part(flac_two_seconds: bytes) -> None:
    data = flac_two_seconds
    waveform = decode_audio(data[: len(data) * 3 // 4], SR)
    assert 0 < len(waveform) < 2 * SR


@pytest.mark.parametrize(
    "data",
    [
        np.random.default_rng(3).bytes(4096),
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        b"hello, this is not audio",
    ],
)
def test_decode_audio_garbage(data: bytes) -> None:
    with pytest.raises(MediaError, match="Invalid audio"):
        decode_audio(data, SR)


def test_decode_audio_empty() -> None:
    with pytest.raises(MediaError, match="empty"):
        decode_audio(b"", SR)


def test_decode_audio_without_audio_stream() -> None:
    with pytest.raises(MediaError, match="no audio stream"):
        decode_audio(image_bytes(gradient(), "PNG"), SR)


def test_decode_audio_does_not_open_other_files(tmp_path, monkeypatch) -> None:
    (tmp_path / "secret.wav").write_bytes(encode_audio(sine(440, 0.5, SR), SR, "wav"))
    monkeypatch.chdir(tmp_path)
    playlist = b"ffconcat version 1.0\nfile secret.wav\n"
    with pytest.raises(MediaError):
        decode_audio(playlist, SR)


def test_decode_audio_max_seconds(flac_two_seconds: bytes) -> None:
    assert len(decode_audio(flac_two_seconds, SR, max_seconds=2.5)) == 2 * SR
    with pytest.raises(MediaError, match="longer than the maximum of 1 seconds"):
        decode_audio(flac_two_seconds, SR, max_seconds=1)


def test_decode_audio_bad_rate(flac_two_seconds: bytes) -> None:
    with pytest.raises(ValueError):
        decode_audio(flac_two_seconds, 0)


def test_encode_empty_waveform_gives_header_only_wav() -> None:
    data = encode_audio(np.zeros(0, dtype=np.float32), SR, "wav")
    assert data.startswith(b"RIFF")
    with pytest.raises(MediaError, match="no audio samples"):
        decode_audio(data, SR)


def test_audio_duration_seconds() -> None:
    assert audio_duration_seconds(np.zeros(24000), SR) == 1.5
    assert audio_duration_seconds(np.zeros((2, 8000)), SR) == 0.5
    with pytest.raises(ValueError):
        audio_duration_seconds(np.zeros(10), 0)


# --------------------------------------------------------------------------
# Content negotiation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "flac"),
        ("", "flac"),
        ("*/*", "flac"),
        ("audio/*", "flac"),
        ("*", "flac"),
        ("nonsense", "flac"),
        ("audio/wav", "wav"),
        ("Audio/WAV", "wav"),
        ("audio/x-wav", "wav"),
        ("audio/wave", "wav"),
        ("audio/mp3", "mp3"),
        ("audio/mpeg", "mp3"),
        ("audio/ogg; codecs=opus", "ogg"),
        ("audio/webm", "webm"),
        ("text/html, */*;q=0.1", "flac"),
        ("audio/flac;q=0.5, audio/mpeg;q=0.9", "mp3"),
        ("audio/wav;q=0.2, audio/*;q=0.8", "flac"),
        ("audio/*;q=0.8, audio/wav", "wav"),
        ("audio/flac;q=0, audio/*", "wav"),
        ("audio/mpeg, audio/wav", "mp3"),
        ("audio/wav, audio/mpeg", "wav"),
        ("audio/wav;q=abc, audio/mpeg", "mp3"),
        ("audio/wav;q=0.5;level=1, audio/ogg;q=0.4", "wav"),
        ("application/json, audio/ogg;q=0.1", "ogg"),
    ],
)
def test_negotiate_audio(accept: str | None, expected: str) -> None:
    assert negotiate(accept, AUDIO_MIME, "flac") == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("image/jpg", "jpeg"),
        ("image/webp,image/*;q=0.8", "webp"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "png"),
        ("image/avif, image/jpeg;q=0.5", "jpeg"),
    ],
)
def test_negotiate_image(accept: str, expected: str) -> None:
    assert negotiate(accept, IMAGE_MIME, "png") == expected


@pytest.mark.parametrize("accept", ["text/html", "video/*", "audio/aac, application/json", "*/*;q=0"])
def test_negotiate_not_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable, match="audio/flac") as info:
        negotiate(accept, AUDIO_MIME, "flac")
    assert isinstance(info.value, ValueError)


def test_negotiate_unknown_default() -> None:
    with pytest.raises(ValueError):
        negotiate("audio/wav", AUDIO_MIME, "aac")


def test_error_types() -> None:
    assert issubclass(MediaError, ValueError)
    assert issubclass(NotAcceptable, ValueError)
