"""Images: decoding request bytes (bounded) and encoding output images, with Pillow."""

from __future__ import annotations

import base64
import binascii
import io
import re

import numpy as np
from PIL import Image, UnidentifiedImageError

from .formats import DEFAULT_MAX_PIXELS, IMAGE_FORMATS, MediaError, describe

# Raster formats Pillow may open. Leaves out EPS (runs Ghostscript in a
# subprocess), WMF and the data-science stubs (FITS, GRIB, HDF5, BUFR).
_IMAGE_INPUT_FORMATS: tuple[str, ...] = (
    "PNG",
    "JPEG",
    "MPO",
    "WEBP",
    "GIF",
    "BMP",
    "DIB",
    "TIFF",
    "ICO",
    "ICNS",
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

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
# Modes PNG stores as they are; anything else is converted before saving.
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"})

_DATA_URL = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode image bytes into a fully loaded Pillow image (mode preserved).

    The pixel count is checked against ``max_pixels`` from the header, before any
    pixel data is decoded. Animated images give their first frame.
    """
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

    width, height = image.size
    if width <= 0 or height <= 0:
        raise MediaError(f"Invalid image: empty image ({width}x{height} pixels)")
    if width * height > max_pixels:
        raise MediaError(
            f"Invalid image: too large ({width}x{height} = {width * height} pixels, the limit is {max_pixels} pixels)"
        )
    try:
        image.load()  # A freshly opened animated image is at its first frame.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(f"Invalid image: too large ({exc})") from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise MediaError(f"Invalid image: truncated or corrupt data ({describe(exc)})") from exc
    return image


def decode_base64_image(data: str | bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
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
    return decode_image(raw, max_pixels=max_pixels)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert an image of any mode to RGB.

    Transparency is composited on white; 16-bit, 32-bit integer and float images
    are scaled to 0..255 rather than clipped. RGB images are returned unchanged.
    """
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _HIGH_DEPTH_MODES:
        return _high_depth_to_rgb(image)
    if _has_alpha(image):
        source = image.convert("LA") if mode == "La" else image
        rgba = source.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
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


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in _ALPHA_MODES or image.has_transparency_data


def _to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    if _has_alpha(image) and image.mode not in _HIGH_DEPTH_MODES:
        return image.convert("RGBA")
    return to_rgb(image)


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """Scale an I;16 / I / F image to 8-bit grey, then RGB."""
    values = np.asarray(image).astype(np.float64)
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    low = float(values.min()) if values.size else 0.0
    high = float(values.max()) if values.size else 0.0
    if image.mode.startswith("I;16"):
        scaled = values / 257.0
    elif low >= 0 and high <= 1.0 and image.mode == "F":
        scaled = values * 255.0
    elif low >= 0 and high <= 255:
        scaled = values
    elif low >= 0 and high <= 65535:
        scaled = values / 257.0
    elif high > low:
        scaled = (values - low) * (255.0 / (high - low))
    else:
        scaled = values
    grey = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")
