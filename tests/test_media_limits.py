"""Memory limits of media decoding: the per-image byte budget, early downscaling, bombs, audio limits,
`decoded_nbytes`, and the peak RSS that decoding really reaches (measured in a fresh process)."""

from __future__ import annotations

import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from media_samples import (
    SR,
    can_measure_peaks,
    flac_declaring,
    gif_many_frames,
    image_bytes,
    measure_peaks,
    png_chunk,
    png_header,
    sine,
    small_png,
    solid,
    wav_with_rate,
)
from PIL import Image, ImageFile

from api_inference_community.media import (
    DEFAULT_MAX_PIXELS,
    MediaError,
    decode_audio,
    decode_image,
    decoded_nbytes,
    encode_audio,
    estimate_decoding_bytes,
    image_nbytes,
    pixel_bytes,
    to_rgb,
)

MB = 1_000_000
needs_proc = pytest.mark.skipif(not can_measure_peaks(), reason="needs Linux /proc/self/clear_refs")


# ---------------------------------------------------------------- the byte budget


@pytest.mark.parametrize(
    ("mode", "per_pixel"),
    [("1", 1), ("L", 1), ("P", 1), ("I;16", 2), ("I;16B", 2), ("RGB", 4), ("RGBA", 4), ("LA", 4), ("CMYK", 4)],
)
def test_pixel_bytes_as_pillow_stores_them(mode: str, per_pixel: int) -> None:
    assert pixel_bytes(mode) == per_pixel
    assert image_nbytes(mode, (30, 20)) == 600 * per_pixel


def test_an_rgb_image_needs_four_bytes_per_pixel() -> None:
    data = image_bytes(solid("RGB", (20, 10)), "PNG")
    assert estimate_decoding_bytes(data) == 800
    assert decode_image(data, max_image_bytes=800).size == (20, 10)
    with pytest.raises(MediaError, match=r"too large to decode \(20x10 pixels of mode RGB need 800 bytes"):
        decode_image(data, max_image_bytes=799)


@pytest.mark.parametrize(
    ("mode", "per_pixel"),
    [
        ("L", 1 + 4),  # the image, then its RGB conversion
        ("RGBA", 4 + 4),  # composited onto a new RGB image
        ("LA", 4 + 4),
        ("I;16", 2 + 5),  # 16-bit grey, scaled to 8-bit grey, then RGB
    ],
)
def test_the_budget_counts_what_to_rgb_adds(mode: str, per_pixel: int) -> None:
    size = (64, 64)
    image = solid(mode, size)
    data = image_bytes(image, "PNG")
    extra = 16 * 64 * 64 if mode == "I;16" else 0  # the stripes of the high-depth conversion
    assert estimate_decoding_bytes(data) == per_pixel * 64 * 64 + extra


def test_the_default_budget_takes_an_rgb_image_at_the_pixel_limit() -> None:
    side = int(DEFAULT_MAX_PIXELS**0.5)
    # Refused or not from the header alone: the pixel data is missing, so an accepted one is "truncated".
    with pytest.raises(MediaError, match="truncated"):
        decode_image(png_header(side, side))
    with pytest.raises(MediaError, match="too large to decode"):
        decode_image(png_header(side, side, bit_depth=16, color_type=0))


def test_the_budget_follows_max_pixels_by_default() -> None:
    data = image_bytes(solid("L", (40, 40)), "PNG")  # 1600 pixels: 8000 bytes with its RGB conversion
    assert decode_image(data, max_pixels=2000).size == (40, 40)  # budget 8000
    with pytest.raises(MediaError, match="too large to decode"):
        decode_image(data, max_pixels=1999)
    assert decode_image(data, max_pixels=1600, max_image_bytes=8000).mode == "L"


def test_the_issue_sixteen_bit_png_is_refused_before_decoding() -> None:
    # 9400x9400 16-bit grey: a few hundred kB on the wire, 2.8 GB of peak RSS before the budget.
    started = time.perf_counter()
    with pytest.raises(MediaError, match=r"9400x9400 pixels of mode I;16 need 635 MB, the limit is 358 MB"):
        decode_image(png_header(9400, 9400, bit_depth=16, color_type=0))
    assert time.perf_counter() - started < 0.5


def test_png_metadata_counts_in_the_budget() -> None:
    text = b"comment\x00" + b"x" * 100_000
    data = small_png(png_chunk(b"tEXt", text))
    needed = estimate_decoding_bytes(data)
    assert needed >= 100_000
    assert decoded_nbytes(decode_image(data)) >= 100_000
    with pytest.raises(MediaError, match="too large to decode"):
        decode_image(data, max_image_bytes=needed - 1)


# ---------------------------------------------------------------- decoders


def test_a_jpeg_decodes_downscaled_to_the_target_size() -> None:
    data = image_bytes(solid("RGB", (4000, 3000)), "JPEG", quality=80)
    full = estimate_decoding_bytes(data)
    image = decode_image(data, target_size=(256, 256))
    assert image.size == (500, 375)  # 1/8: the smallest scale still at least the target
    assert estimate_decoding_bytes(data, target_size=(256, 256)) * 60 < full
    assert decode_image(data, target_size=(1000, 1000)).size == (2000, 1500)
    assert decode_image(data, target_size=(4000, 3000)).size == (4000, 3000)
    # Within the budget once downscaled, refused at full size.
    budget = full // 2
    with pytest.raises(MediaError, match="too large to decode"):
        decode_image(data, max_image_bytes=budget)
    assert decode_image(data, max_image_bytes=budget, target_size=(256, 256)).size == (500, 375)


def test_target_size_leaves_other_formats_alone() -> None:
    data = image_bytes(solid("RGB", (400, 300)), "PNG")
    assert decode_image(data, target_size=(10, 10)).size == (400, 300)
    with pytest.raises(ValueError):
        decode_image(data, target_size=(0, 10))


def test_progressive_jpeg_counts_its_coefficients_at_full_size() -> None:
    image = solid("RGB", (800, 600))
    baseline = image_bytes(image, "JPEG")
    progressive = image_bytes(image, "JPEG", progressive=True)
    # 4:2:0: 1.5 coefficients of 2 bytes per pixel (rows padded to 16), kept even when decoding at 1/8.
    assert estimate_decoding_bytes(progressive) - estimate_decoding_bytes(baseline) == 3 * 800 * 608
    assert estimate_decoding_bytes(progressive, target_size=(100, 75)) >= 3 * 800 * 608


def test_a_thumbnail_in_the_metadata_is_not_taken_for_a_second_scan() -> None:
    image = solid("RGB", (400, 300))
    thumbnail = image_bytes(solid("RGB", (40, 30)), "JPEG", progressive=True)  # holds its own scans
    plain = image_bytes(image, "JPEG")
    with_thumbnail = image_bytes(image, "JPEG", exif=b"Exif\x00\x00" + thumbnail)
    assert estimate_decoding_bytes(with_thumbnail) - estimate_decoding_bytes(plain) < 2 * len(thumbnail)


def test_a_compressed_tiff_counts_its_strip() -> None:
    image = solid("RGB", (300, 200))
    small_strips = image_bytes(image, "TIFF", compression="tiff_adobe_deflate")
    one_strip = image_bytes(image, "TIFF", compression="tiff_adobe_deflate", tiffinfo={278: 200})
    assert estimate_decoding_bytes(one_strip) >= 2 * 4 * 300 * 200  # the image, and its strip at 4 bytes a pixel
    assert estimate_decoding_bytes(small_strips) < estimate_decoding_bytes(one_strip)
    assert decode_image(one_strip).size == (300, 200)


def test_a_gif_of_many_frames_decodes_its_first_frame_at_once() -> None:
    data = gif_many_frames(100_000)
    started = time.perf_counter()
    image = decode_image(data)
    assert time.perf_counter() - started < 1.0
    assert image.size == (64, 64) and getattr(image, "n_frames", 1) == 1


def test_png_text_bombs_are_bounded() -> None:
    kilobytes = zlib.compress(b"a" * (1 << 20), 9)  # 1 MiB of text in 1 kB
    bomb = small_png(b"".join(png_chunk(b"zTXt", b"k%d\x00\x00" % i + kilobytes) for i in range(16)))
    assert len(bomb) < 30_000
    with pytest.raises(MediaError, match="text chunks"):
        decode_image(bomb)
    profile = small_png(png_chunk(b"iCCP", b"p\x00\x00" + zlib.compress(bytes(20 << 20), 9)))
    with pytest.raises(MediaError, match="too large"):
        decode_image(profile)


def test_truncated_images_stay_refused() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    noisy = np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = image_bytes(Image.fromarray(noisy), "PNG")
    with pytest.raises(MediaError, match="truncated"):
        decode_image(data[:-200])


def test_icons_are_refused() -> None:
    # An icon may embed a PNG of any size that its own header does not tell.
    with pytest.raises(MediaError, match="cannot identify"):
        decode_image(image_bytes(solid("RGBA", (32, 32)), "ICO", sizes=[(32, 32)]))


@pytest.mark.parametrize(
    "mode",
    ["1", "L", "P", "LA", "PA", "La", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "F", "I;16", "I;16B"],
)
def test_to_rgb_of_every_mode_pillow_decodes_to(mode: str) -> None:
    rgb = to_rgb(Image.new(mode, (33, 17)))
    assert rgb.mode == "RGB" and rgb.size == (33, 17)


def test_to_rgb_of_premultiplied_grey_and_alpha() -> None:
    # La (100, 128) is LA (199, 128): composited on white, 199 * 128/255 + 255 * 127/255.
    assert to_rgb(Image.new("La", (2, 2), (100, 128))).getpixel((0, 0)) == (227, 227, 227)


def test_high_depth_conversion_in_stripes_matches_the_whole_image(monkeypatch) -> None:
    from api_inference_community.media import images

    values = np.random.default_rng(6).normal(0, 5000, (50, 40)).astype(np.float32)
    values[3, 3] = np.nan
    values[4, 4] = np.inf
    whole = np.asarray(to_rgb(Image.fromarray(values)))
    monkeypatch.setattr(images, "_STRIPE_PIXELS", 7 * 40)  # stripes of 7 rows, the last shorter
    striped = np.asarray(to_rgb(Image.fromarray(values)))
    np.testing.assert_array_equal(whole, striped)


# ---------------------------------------------------------------- decoded_nbytes


def test_decoded_nbytes_of_images_and_arrays() -> None:
    assert decoded_nbytes(Image.new("RGB", (10, 10))) == 400
    assert decoded_nbytes(Image.new("I;16", (10, 10))) == 200
    assert decoded_nbytes(Image.new("P", (10, 10))) == 100 + 1024
    array = np.zeros((100, 10), dtype=np.float32)
    assert decoded_nbytes(array) == 4000
    assert decoded_nbytes(array[:10]) == 4000  # a view keeps its whole base alive
    assert decoded_nbytes([array[:10], array[10:20]]) == 4000 + sys.getsizeof([None, None])  # counted once
    nested = {"image": Image.new("RGB", (10, 10)), "question": "what?", "more": [array]}
    assert decoded_nbytes(nested) >= 4400


def test_decoded_nbytes_of_a_decoded_image_matches_its_mode() -> None:
    image = decode_image(image_bytes(solid("I;16", (30, 20)), "PNG"))
    assert decoded_nbytes(image) == 2 * 600 + sum(len(v) for v in image.info.values() if isinstance(v, (bytes, str)))


def test_decoded_nbytes_of_decoded_audio() -> None:
    waveform = decode_audio(encode_audio(sine(440, 1.0, SR), SR, "flac"), SR)
    assert decoded_nbytes(waveform) == 4 * SR == waveform.nbytes  # trimmed to its samples, no spare room
    undeclared = decode_audio(flac_declaring(encode_audio(sine(440, 3.0, SR), SR, "flac"), 0), SR)
    assert decoded_nbytes(undeclared) == 4 * 3 * SR  # grown while decoding, then trimmed


# ---------------------------------------------------------------- audio limits


@pytest.fixture(scope="module")
def flac_three_seconds() -> bytes:
    return encode_audio(sine(440, 3.0, SR), SR, "flac")


def test_a_declared_huge_duration_is_refused_before_decoding(flac_three_seconds: bytes) -> None:
    lying = flac_declaring(flac_three_seconds, (1 << 36) - 1)  # 49 days at 16 kHz
    with pytest.raises(MediaError, match="longer than the maximum of 600 seconds \\(the file declares"):
        decode_audio(lying, SR, max_seconds=600)
    with pytest.raises(MediaError, match="too long to decode \\(the file declares"):
        decode_audio(lying, SR)


def test_a_declared_duration_just_over_the_limit_is_decoded_then_held_to_it(flac_three_seconds: bytes) -> None:
    assert len(decode_audio(flac_three_seconds, SR, max_seconds=3.0)) == 3 * SR
    with pytest.raises(MediaError, match="longer than the maximum of 2.9 seconds$"):
        decode_audio(flac_three_seconds, SR, max_seconds=2.9)  # within the margin: stopped while decoding


def test_a_container_that_understates_its_duration_is_stopped_while_decoding(flac_three_seconds: bytes) -> None:
    lying = flac_declaring(flac_three_seconds, SR // 2)  # says half a second, holds three
    with pytest.raises(MediaError, match="longer than the maximum of 1 seconds$"):
        decode_audio(lying, SR, max_seconds=1)


def test_a_huge_sample_rate_is_refused(flac_three_seconds: bytes) -> None:
    wav = encode_audio(sine(440, 0.5, SR), SR, "wav")
    with pytest.raises(MediaError, match="sample rate 2000000000 Hz is above the maximum of 768000 Hz"):
        decode_audio(wav_with_rate(wav, 2_000_000_000), SR)
    with pytest.raises(MediaError, match="sample rate 16000 Hz is above the maximum of 8000 Hz"):
        decode_audio(wav, SR, max_sample_rate=8000)


def test_the_decoded_sample_count_is_bounded(flac_three_seconds: bytes) -> None:
    with pytest.raises(MediaError, match="too long to decode"):  # declared: refused early
        decode_audio(flac_three_seconds, SR, max_samples=SR)
    unknown = flac_declaring(flac_three_seconds, 0)  # 0: no duration declared
    with pytest.raises(MediaError, match=f"more than {2 * SR} samples"):  # counted while decoding
        decode_audio(unknown, SR, max_samples=2 * SR)
    assert len(decode_audio(unknown, SR, max_samples=3 * SR)) == 3 * SR
    # Upsampling counts the samples produced, not those read.
    with pytest.raises(MediaError, match="too long to decode"):
        decode_audio(unknown, 4 * SR, max_samples=4 * SR)


# ---------------------------------------------------------------- peak RSS, measured


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@needs_proc
@pytest.mark.slow
def test_measured_peaks_stay_within_the_estimates(tmp_path: Path) -> None:
    """Decode + to_rgb in a fresh process: the peak RSS growth never exceeds what the budget counted."""
    size = (1200, 800)
    samples = {
        "rgb.png": image_bytes(solid("RGB", size), "PNG"),
        "i16.png": image_bytes(solid("I;16", size), "PNG"),
        "rgba.png": image_bytes(solid("RGBA", size), "PNG"),
        "p.png": image_bytes(solid("P", size), "PNG", transparency=0),
        "f.tif": image_bytes(solid("F", size), "TIFF", compression="tiff_adobe_deflate"),
        "strip.tif": image_bytes(solid("RGB", size), "TIFF", compression="tiff_lzw", tiffinfo={278: size[1]}),
        "progressive.jpg": image_bytes(solid("RGB", size), "JPEG", progressive=True),
        "cmyk.jpg": image_bytes(solid("CMYK", size), "JPEG"),
        "rgb.webp": image_bytes(solid("RGB", size), "WEBP"),
        "rgb.jp2": image_bytes(solid("RGB", size), "JPEG2000"),
        "rgba.qoi": image_bytes(solid("RGBA", size), "QOI"),
    }
    cases = [(_write(tmp_path, name, data), {}) for name, data in samples.items()]
    for result, (path, _) in zip(measure_peaks(cases), cases):
        assert isinstance(result["outcome"], list), (path.name, result)
        assert result["growth"] <= result["estimate"] * 1.05 + 4 * MB, (path.name, result)


@needs_proc
@pytest.mark.slow
def test_measured_peak_of_a_sixteen_bit_png_and_of_a_downscaled_jpeg(tmp_path: Path) -> None:
    sixteen = _write(tmp_path, "i16.png", image_bytes(solid("I;16", (3000, 2000)), "PNG"))
    jpeg = _write(tmp_path, "big.jpg", image_bytes(solid("RGB", (3000, 2000)), "JPEG"))
    refused = _write(tmp_path, "huge16.png", png_header(9400, 9400, bit_depth=16, color_type=0))
    grey, full, small, header = measure_peaks(
        [(sixteen, {}), (jpeg, {}), (jpeg, {"target_size": [224, 224]}), (refused, {})]
    )
    pixels = 3000 * 2000
    assert grey["growth"] < 8 * pixels  # was about 32 bytes per pixel (float64 copies of the whole image)
    assert full["growth"] > 4 * pixels * 0.9
    assert small["outcome"] == ["RGB", [375, 250]] and small["growth"] < full["growth"] / 20
    assert "too large to decode" in header["outcome"] and header["growth"] < 8 * MB


if __name__ == "__main__":  # python tests/test_media_limits.py FILE...: peak RSS growth of each, default limits
    import json

    print(json.dumps(measure_peaks([(Path(name), {}) for name in sys.argv[1:]]), indent=1))
