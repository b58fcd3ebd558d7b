"""Images: decoding request bytes within a memory budget, converting to RGB, and encoding, with Pillow.

Memory: before any pixel is decoded, the header gives the size and mode, and `decode_image` refuses
an image whose decoding and conversion by `to_rgb` would need more than `max_image_bytes` at their
peak: Pillow's own storage (4 bytes per pixel for RGB, 2 for 16-bit grey, 1 for L or P), what the
format's decoder holds besides (progressive JPEG coefficients, WebP and JPEG 2000 buffers, TIFF
strips) and what `to_rgb` allocates. With a `target_size`, JPEG images decode at 1/2, 1/4 or 1/8
of their size when that is still at least the target (libjpeg's DCT scaling), at a fraction of
the memory. Only the first frame of an animated image is decoded, and the image returned is
detached from the file: no other frame can be decoded from it later. PNG text chunks are held to
`PNG_TEXT_MEMORY` per image (Pillow's own limit is lowered once, at import).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageFile, PngImagePlugin, UnidentifiedImageError

from .formats import DEFAULT_MAX_PIXELS, IMAGE_FORMATS, MediaError, describe
from .memory import decoded_nbytes

# Raster formats Pillow may open. Leaves out EPS (runs Ghostscript in a subprocess), WMF, the
# data-science stubs (FITS, GRIB, HDF5, BUFR), and ICO/ICNS: an icon may embed a PNG or JPEG 2000
# image of any size that its header does not tell.
_IMAGE_INPUT_FORMATS: tuple[str, ...] = (
    "PNG",
    "JPEG",
    "MPO",
    "WEBP",
    "GIF",
    "BMP",
    "DIB",
    "TIFF",
    "PPM",
    "TGA",
    "QOI",
    "PCX",
    "SGI",
    "PSD",
    "DDS",
    "JPEG2000",
    "AVIF",
)

# The default budget: an RGB image at the pixel limit (Pillow holds RGB as 4 bytes per pixel).
BYTES_PER_PIXEL_BUDGET = 4
# Decompressed PNG text (tEXt, zTXt, iTXt) Pillow may hold for one image; its own default is 64 MiB.
PNG_TEXT_MEMORY = 8 * 1024 * 1024

# Decoders that write straight into Pillow's image, row by row: no buffer of the image's size
# (JPEG and TIFF too, but for the buffers `_decoder_bytes` counts).
_STREAMING_FORMATS = frozenset({"PNG", "GIF", "BMP", "DIB", "PPM", "TGA", "PCX"})
_WEBP_BYTES_PER_PIXEL = 12  # libwebp's canvas and previous frame, and the frame's bytes (measured: 16 in all)
_AVIF_BYTES_PER_PIXEL = 14  # libavif's YUV planes (up to 16-bit 4:4:4) and its 16-bit RGBA buffer
_JPEG2000_BYTES_PER_BAND = 4  # OpenJPEG's 32-bit samples, one plane per band plus one (measured)
_JPEG_MAX_SEGMENTS = 4096  # marker segments walked before a JPEG's first scan

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
# Modes PNG stores as they are; anything else is converted before saving.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"})
# to_rgb converts high-depth images in stripes of about this many pixels (float64 temporaries).
_STRIPE_PIXELS = 1 << 20
_STRIPE_BYTES_PER_PIXEL = 16  # a cropped stripe and its float64 copy

_DATA_URL = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def _bound_png_text() -> None:
    """Lower (never raise) Pillow's process-wide cap on a PNG's decompressed text chunks."""
    PngImagePlugin.MAX_TEXT_MEMORY = min(PngImagePlugin.MAX_TEXT_MEMORY, PNG_TEXT_MEMORY)


_bound_png_text()


def decode_image(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    max_image_bytes: Optional[int] = None,
    target_size: Optional[Tuple[int, int]] = None,
) -> Image.Image:
    """Decode image bytes into a loaded Pillow image (mode preserved, first frame only).

    Refused with a MediaError, from the header and before any pixel is decoded: more than
    `max_pixels` pixels (as the header declares them), or a decoding whose peak (with `to_rgb`)
    needs more than `max_image_bytes` (default: `max_pixels` x 4, an RGB image at the pixel
    limit). `target_size` (width, height) is the smallest size the caller needs: JPEG images
    larger than twice that decode downscaled (never below it), so huge photos cost far less.
    """
    image, declared = _open_for_decoding(data, max_pixels, target_size)
    budget = BYTES_PER_PIXEL_BUDGET * max_pixels if max_image_bytes is None else max_image_bytes
    needed = _peak_bytes(image, data, declared)
    if needed > budget:
        width, height = image.size
        raise MediaError(
            f"Invalid image: too large to decode ({width}x{height} pixels of mode {image.mode} need "
            f"{_amount(needed)}, the limit is {_amount(budget)})"
        )
    return _load(image)


def estimate_decoding_bytes(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, *, target_size: Optional[Tuple[int, int]] = None
) -> int:
    """The peak memory `decode_image` then `to_rgb` need for `data`, from its header alone."""
    image, declared = _open_for_decoding(data, max_pixels, target_size)
    return _peak_bytes(image, data, declared)


def decode_base64_image(
    data: str | bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    max_image_bytes: Optional[int] = None,
    target_size: Optional[Tuple[int, int]] = None,
) -> Image.Image:
    """Decode a base64 string (plain or ``data:`` URL, standard or urlsafe) image."""
    if isinstance(data, bytes):
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise MediaError("Invalid base64 image: non-ASCII characters") from exc
    text = _WHITESPACE.sub("", data)
    text = _DATA_URL.sub("", text, count=1)
    if not text:
        raise MediaError("Invalid base64 image: empty data")
    text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MediaError(f"Invalid base64 image: {exc}") from exc
    return decode_image(raw, max_pixels=max_pixels, max_image_bytes=max_image_bytes, target_size=target_size)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert an image of any mode to RGB.

    Transparency is composited on white; 16-bit, 32-bit integer and float images
    are scaled to 0..255 rather than clipped. RGB images are returned unchanged.
    Memory beside the source: 4 bytes per pixel (the RGB image), 8 for palette or
    premultiplied images with transparency, 5 for high-depth images.
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _HIGH_DEPTH_MODES:
        return _high_depth_to_rgb(image)
    if _has_alpha(image):
        # Pillow pastes RGBA and LA onto RGB directly, the alpha band as the mask.
        source = image.convert("LA") if mode == "La" else image
        if source.mode not in ("RGBA", "LA"):
            source = source.convert("RGBA")
        rgb = Image.new("RGB", image.size, (255, 255, 255))
        rgb.paste(source, mask=source)
        return rgb
    return image.convert("RGB")


def encode_image(image: Image.Image, fmt: str) -> bytes:
    """Encode an image as ``"png"``, ``"jpeg"`` (always RGB) or ``"webp"``."""
    key = fmt.strip().lower()
    if key == "jpg":
        key = "jpeg"
    if key not in IMAGE_FORMATS:
        raise ValueError(f"Unknown image format {fmt!r}; expected one of {', '.join(IMAGE_FORMATS)}")
    buffer = io.BytesIO()
    if key == "jpeg":
        to_rgb(image).save(buffer, format="JPEG", quality=90)
    elif key == "png":
        if image.mode not in _PNG_MODES:
            image = _to_rgb_or_rgba(image)
        image.save(buffer, format="PNG")
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = _to_rgb_or_rgba(image)
        image.save(buffer, format="WEBP", quality=90)
    return buffer.getvalue()


# ---------------------------------------------------------------- decoding steps


def _open(data: bytes) -> ImageFile.ImageFile:
    """Pillow's image of `data`, header read, no pixel decoded."""
    if not data:
        raise MediaError("Invalid image: empty data")
    Image.init()
    formats = [name for name in _IMAGE_INPUT_FORMATS if name in Image.OPEN]
    try:
        image = Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"Invalid image: too large ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise MediaError("Invalid image: cannot identify image file") from exc
    except MemoryError:
        raise
    except Exception as exc:  # Pillow's parsers raise many exception types.
        raise MediaError(f"Invalid image: {describe(exc)}") from exc
    if not isinstance(image, ImageFile.ImageFile):  # pragma: no cover - every plugin's class is one
        raise MediaError("Invalid image: cannot identify image file")
    return image


def _open_for_decoding(
    data: bytes, max_pixels: int, target_size: Optional[Tuple[int, int]]
) -> Tuple[ImageFile.ImageFile, Tuple[int, int]]:
    """The opened image, within `max_pixels`, set to decode at `target_size`; and its declared size."""
    image = _open(data)
    declared = _check_size(image, max_pixels)
    if target_size is not None:
        _shrink_on_load(image, target_size)
    return image, declared


def _check_size(image: Image.Image, max_pixels: int) -> Tuple[int, int]:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise MediaError(f"Invalid image: empty image ({width}x{height} pixels)")
    if width * height > max_pixels:
        raise MediaError(
            f"Invalid image: too large ({width}x{height} = {width * height} pixels, the limit is {max_pixels} pixels)"
        )
    return width, height


def _shrink_on_load(image: ImageFile.ImageFile, target_size: Tuple[int, int]) -> None:
    """Ask the decoder for a smaller image, never smaller than `target_size` (JPEG DCT scaling)."""
    width, height = (int(side) for side in target_size)
    if width <= 0 or height <= 0:
        raise ValueError(f"target_size must be positive, got {target_size}")
    if image.format in ("JPEG", "MPO"):
        try:
            image.draft(None, (width, height))
        except Exception as exc:
            raise MediaError(f"Invalid image: {describe(exc)}") from exc


def _load(image: ImageFile.ImageFile) -> Image.Image:
    """Decode the pixels of the current (first) frame, and detach them from the file and its decoder."""
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"Invalid image: too large ({exc})") from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise MediaError(f"Invalid image: truncated or corrupt data ({describe(exc)})") from exc
    if image.im is None or image.size != image.im.size:  # a plugin that changed its mind about the size
        raise MediaError("Invalid image: truncated or corrupt data (the decoded size differs from the header)")
    # A plain image sharing the decoded pixels: the file, the decoder's buffers and the other frames go.
    single = image._new(image.im)
    single.format = image.format
    image.close()
    return single


# ---------------------------------------------------------------- memory


def _peak_bytes(image: ImageFile.ImageFile, data: bytes, declared: Tuple[int, int]) -> int:
    """Bytes decoding `image` then `to_rgb` hold at their peak: the image, plus the larger of
    what the decoder holds besides (freed once decoded) and what `to_rgb` allocates."""
    return decoded_nbytes(image) + max(_decoder_bytes(image, data, declared), _to_rgb_bytes(image))


def _decoder_bytes(image: ImageFile.ImageFile, data: bytes, declared: Tuple[int, int]) -> int:
    """Memory the format's decoder needs besides the image it fills (measured per format)."""
    fmt = image.format or ""
    width, height = image.size
    pixels = width * height
    if fmt in ("JPEG", "MPO"):
        return _jpeg_coefficient_bytes(image, data, declared)
    if fmt == "TIFF":
        return _tiff_buffer_bytes(image, data)
    if fmt == "WEBP":
        return _WEBP_BYTES_PER_PIXEL * pixels
    if fmt == "AVIF":
        return _AVIF_BYTES_PER_PIXEL * pixels
    if fmt == "JPEG2000":
        return _JPEG2000_BYTES_PER_BAND * (len(image.getbands()) + 1) * pixels
    if fmt in _STREAMING_FORMATS:
        return 0
    return decoded_nbytes(image)  # other decoders: assume one more copy of the image


def _to_rgb_bytes(image: Image.Image) -> int:
    """Memory `to_rgb` allocates beside its source (see `to_rgb`)."""
    width, height = image.size
    pixels = width * height
    mode = image.mode
    if mode == "RGB":
        return 0
    if mode in _HIGH_DEPTH_MODES:
        return 5 * pixels + _STRIPE_BYTES_PER_PIXEL * min(pixels, _STRIPE_PIXELS)
    if mode in ("RGBA", "LA"):
        return 4 * pixels
    if _has_alpha(image):
        return 8 * pixels
    return 4 * pixels


def _jpeg_coefficient_bytes(image: ImageFile.ImageFile, data: bytes, declared: Tuple[int, int]) -> int:
    """A progressive or multi-scan JPEG keeps every DCT coefficient (2 bytes) of the full-size image."""
    if not (image.info.get("progressive") or _jpeg_has_multiple_scans(data)):
        return 0
    components = getattr(image, "layer", None) or [("", 1, 1, 0)] * len(image.getbands())
    h_max = max(max(int(h), 1) for _, h, _, _ in components)
    v_max = max(max(int(v), 1) for _, _, v, _ in components)
    width = math.ceil(declared[0] / (8 * h_max)) * 8 * h_max
    height = math.ceil(declared[1] / (8 * v_max)) * 8 * v_max
    samples = sum(width * max(int(h), 1) // h_max * height * max(int(v), 1) // v_max for _, h, v, _ in components)
    return 2 * samples


def _jpeg_has_multiple_scans(data: bytes) -> bool:
    """Whether a JPEG's first image has a second scan (SOS marker) before its end (EOI).

    Past `_JPEG_MAX_SEGMENTS` segments before the first scan (real files have a few dozen), the
    answer is yes: the costlier case, found without walking a crafted file's millions of segments.
    """
    position = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        if position + 4 > len(data):
            return False
        if data[position] != 0xFF:
            return False  # not a marker where one should be: Pillow will judge the data
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data never holds another marker's bytes
            start = position + 2 + length
            end = data.find(b"\xff\xd9", start)
            return data.find(b"\xff\xda", start, len(data) if end < 0 else end) >= 0
        position += 2 + length
    return True


def _tiff_buffer_bytes(image: ImageFile.ImageFile, data: bytes) -> int:
    """libtiff (compressed TIFF) decodes a whole strip or tile at a time, from a copy of the file."""
    if not getattr(image, "use_load_libtiff", False):
        return 0  # uncompressed: Pillow's own decoder, row by row
    width, height = image.size
    try:
        tags = image.tag_v2  # type: ignore[attr-defined]
        bits = tags.get(258, (8,))
        bits_per_sample = max(bits) if isinstance(bits, tuple) else int(bits)
        per_pixel = max(4, math.ceil(int(tags.get(277, 1)) * bits_per_sample / 8))
        if 322 in tags and 323 in tags:
            buffer = int(tags[322]) * int(tags[323]) * per_pixel
        else:
            rows = tags.get(278, height)
            rows = max(rows) if isinstance(rows, tuple) else int(rows)
            buffer = min(max(rows, 1), height) * width * per_pixel
    except Exception:  # tags too odd to read: assume a strip of the whole image
        buffer = width * height * 8
    return buffer + len(data)


def _amount(nbytes: int) -> str:
    return f"{nbytes} bytes" if nbytes < 10_000_000 else f"{nbytes / 1e6:.0f} MB"


# ---------------------------------------------------------------- conversions


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in _ALPHA_MODES:
        return True
    try:
        return image.has_transparency_data
    except Exception:  # a palette image without its palette yet: assume the costlier path
        return True


def _to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    if _has_alpha(image) and image.mode not in _HIGH_DEPTH_MODES:
        return image.convert("RGBA")
    return to_rgb(image)


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """Scale an I;16 / I / F image to 8-bit grey, then RGB, in stripes (bounded temporaries)."""
    width, height = image.size
    rows = max(1, _STRIPE_PIXELS // max(width, 1))
    low = high = 0.0
    if not image.mode.startswith("I;16"):
        extrema = [_finite_extrema(_stripe(image, top, rows)) for top in range(0, height, rows)]
        low = min(lo for lo, _ in extrema)
        high = max(hi for _, hi in extrema)
    grey = np.empty((height, width), dtype=np.uint8)
    for top in range(0, height, rows):
        grey[top : top + rows] = _scale_to_bytes(_stripe(image, top, rows), image.mode, low, high)
    return Image.fromarray(grey).convert("RGB")


def _scale_to_bytes(values: np.ndarray, mode: str, low: float, high: float) -> np.ndarray:
    """Scale float64 `values` (in place) to 0..255 by the image's range: 16-bit, unit float, 8 or 16-bit
    integers kept as they are, anything else stretched from its minimum to its maximum."""
    if mode.startswith("I;16"):
        values /= 257.0
    elif low >= 0 and high <= 1.0 and mode == "F":
        values *= 255.0
    elif low >= 0 and high <= 255:
        pass
    elif low >= 0 and high <= 65535:
        values /= 257.0
    elif high > low:
        values -= low
        values *= 255.0 / (high - low)
    np.rint(values, out=values)
    return np.clip(values, 0, 255, out=values)


def _stripe(image: Image.Image, top: int, rows: int) -> np.ndarray:
    """Rows `top` to `top + rows` as float64, NaN and infinities as 0."""
    width, height = image.size
    values = np.asarray(image.crop((0, top, width, min(top + rows, height))), dtype=np.float64)
    return np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)


def _finite_extrema(values: np.ndarray) -> Tuple[float, float]:
    if not values.size:
        return 0.0, 0.0
    return float(values.min()), float(values.max())
