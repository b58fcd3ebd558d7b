"""Decoding and encoding of images and audio for inference.

Everything runs in-process with Pillow and PyAV (no ffmpeg binary). Inputs that
cannot be decoded raise :class:`MediaError` (a ``ValueError``) with a message that
is safe to show to clients; callers turn it into an HTTP 400.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from collections.abc import Mapping
from types import MappingProxyType

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "AUDIO_FORMATS",
    "AUDIO_MIME",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_FORMATS",
    "IMAGE_MIME",
    "MediaError",
    "NotAcceptable",
    "audio_duration_seconds",
    "decode_audio",
    "decode_base64_image",
    "decode_image",
    "encode_audio",
    "encode_image",
    "negotiate",
    "to_rgb",
]

# Same value as Pillow's default ``Image.MAX_IMAGE_PIXELS`` (about 0.25 GB of RGBA).
DEFAULT_MAX_PIXELS = 89_478_485

AUDIO_FORMATS: tuple[str, ...] = ("flac", "wav", "ogg", "mp3", "webm")
AUDIO_MIME: Mapping[str, str] = MappingProxyType(
    {
        "flac": "audio/flac",
        "wav": "audio/wav",
        "ogg": "audio/ogg",
        "mp3": "audio/mpeg",
        "webm": "audio/webm",
    }
)

IMAGE_FORMATS: tuple[str, ...] = ("png", "jpeg", "webp")
IMAGE_MIME: Mapping[str, str] = MappingProxyType({"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"})

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

# Other names clients use for the types we produce.
_MIME_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "audio/x-wav": "audio/wav",
        "audio/wave": "audio/wav",
        "audio/vnd.wave": "audio/wav",
        "audio/x-pn-wav": "audio/wav",
        "audio/mp3": "audio/mpeg",
        "audio/x-mp3": "audio/mpeg",
        "audio/mpeg3": "audio/mpeg",
        "audio/x-mpeg": "audio/mpeg",
        "audio/x-mpeg-3": "audio/mpeg",
        "audio/mpg": "audio/mpeg",
        "audio/x-flac": "audio/flac",
        "audio/x-ogg": "audio/ogg",
        "application/ogg": "audio/ogg",
        "image/jpg": "image/jpeg",
        "image/pjpeg": "image/jpeg",
        "image/x-png": "image/png",
    }
)

# Encoders to try for each output format, best first: (container, codecs).
_AUDIO_ENCODERS: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "flac": ("flac", ("flac",)),
        "wav": ("wav", ("pcm_s16le",)),
        "ogg": ("ogg", ("libvorbis", "libopus", "opus", "vorbis")),
        "mp3": ("mp3", ("libmp3lame", "libshine", "mp3")),
        "webm": ("webm", ("libopus", "opus")),
    }
)

_DATA_URL = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


class MediaError(ValueError):
    """The media cannot be decoded; the message is safe to show to clients."""


class NotAcceptable(ValueError):
    """The Accept header names no media type that can be produced (HTTP 406)."""


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


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
        raise MediaError(f"Invalid image: {_describe(exc)}") from exc

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
        raise MediaError(f"Invalid image: truncated or corrupt data ({_describe(exc)})") from exc
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


# --------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------


def decode_audio(data: bytes, sampling_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Decode audio bytes of any container/codec PyAV knows.

    Returns a mono (channel average) float32 array resampled to ``sampling_rate``.
    With ``max_seconds``, decoding stops and fails as soon as the audio is longer.
    """
    if sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be positive, got {sampling_rate}")
    if not data:
        raise MediaError("Invalid audio: empty data")
    try:
        # No nested I/O: playlist/concat demuxers must not read other files.
        container = av.open(
            io.BytesIO(data),
            mode="r",
            options={"protocol_whitelist": "none"},
            metadata_errors="replace",
        )
    except MemoryError:
        raise
    except Exception as exc:
        raise MediaError(f"Invalid audio: {_describe(exc)}") from exc

    with container:
        if not container.streams.audio:
            raise MediaError("Invalid audio: no audio stream found")
        stream = container.streams.audio[0]
        chunks: list[np.ndarray] = []
        resampler: av.AudioResampler | None = None
        input_rate = 0
        seconds = 0.0
        error: Exception | None = None
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError as exc:  # A corrupt packet: skip it.
                    error = exc
                    continue
                for frame in frames:
                    if frame.samples == 0 or frame.sample_rate <= 0:
                        continue
                    seconds += frame.samples / frame.sample_rate
                    if max_seconds is not None and seconds > max_seconds:
                        raise MediaError(f"Invalid audio: longer than the maximum of {max_seconds:g} seconds")
                    if resampler is None or frame.sample_rate != input_rate:
                        if resampler is not None:
                            _collect(chunks, resampler.resample(None))
                        resampler = av.AudioResampler(format="flt", layout="mono", rate=sampling_rate)
                        input_rate = frame.sample_rate
                    _collect(chunks, resampler.resample(_mono_frame(frame)))
        except MediaError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # Demuxing stopped early (e.g. truncated file).
            error = exc
        if resampler is not None:
            _collect(chunks, resampler.resample(None))

    waveform = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if waveform.size == 0:
        detail = f" ({_describe(error)})" if error is not None else ""
        raise MediaError(f"Invalid audio: no audio samples could be decoded{detail}")
    return np.nan_to_num(waveform, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)


def encode_audio(waveform: np.ndarray, sampling_rate: int, fmt: str) -> bytes:
    """Encode a mono ``(samples,)`` or ``(channels, samples)`` waveform.

    ``fmt`` is one of :data:`AUDIO_FORMATS`. Float samples are expected in
    [-1, 1] (values outside are clipped); integer arrays are scaled from their
    full range. Rates a codec cannot take are resampled (48000 Hz for Opus).
    """
    key = fmt.strip().lower()
    if key not in AUDIO_FORMATS:
        raise ValueError(f"Unknown audio format {fmt!r}; expected one of {', '.join(AUDIO_FORMATS)}")
    if sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be positive, got {sampling_rate}")
    samples = _as_float_channels(waveform)
    channels = samples.shape[0]
    layout = {1: "mono", 2: "stereo"}.get(channels) or av.AudioLayout(channels).name

    container_format, codec_names = _AUDIO_ENCODERS[key]
    codec = _find_encoder(codec_names)
    if codec is None:
        raise RuntimeError(f"No {key} audio encoder is available in this PyAV build")
    rate = _encoder_rate(codec, sampling_rate)
    options = {"strict": "experimental"} if codec.experimental else {}

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream = container.add_stream(codec.name, rate=rate, layout=layout, options=options)
        formats = {f.name for f in codec.audio_formats or ()}
        if "flt" in formats and codec.name in ("libopus", "opus"):
            stream.format = "flt"
        container.start_encoding()  # Writes the header even for empty audio.
        if samples.shape[1]:
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
            frame.sample_rate = sampling_rate
            frame.pts = 0
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def audio_duration_seconds(waveform: np.ndarray, sampling_rate: int) -> float:
    """Duration of a ``(samples,)`` or ``(channels, samples)`` waveform."""
    if sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be positive, got {sampling_rate}")
    shape = np.shape(waveform)
    if not shape:
        raise ValueError("waveform must have at least one dimension")
    return shape[-1] / float(sampling_rate)


def _mono_frame(frame: av.AudioFrame) -> av.AudioFrame:
    """Average the channels of a decoded frame into a mono float frame."""
    channels = frame.layout.nb_channels or 1
    array = frame.to_ndarray()
    if not frame.format.is_planar:
        array = array.reshape(-1, channels).T
    array = _pcm_to_float(array)
    mono = array.mean(axis=0, dtype=np.float32) if channels > 1 else array[0]
    out = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(mono, dtype=np.float32)[None, :],
        format="flt",
        layout="mono",
    )
    out.sample_rate = frame.sample_rate
    return out


def _pcm_to_float(array: np.ndarray) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float32, copy=False)
    if kind == "i":
        return (array / float(2 ** (8 * array.dtype.itemsize - 1))).astype(np.float32)
    if kind == "u":
        middle = float(2 ** (8 * array.dtype.itemsize - 1))
        return ((array - middle) / middle).astype(np.float32)
    raise MediaError(f"Invalid audio: unsupported sample type {array.dtype}")


def _collect(chunks: list[np.ndarray], frames: list[av.AudioFrame]) -> None:
    for frame in frames:
        if frame is not None and frame.samples:
            chunks.append(frame.to_ndarray().reshape(-1).astype(np.float32))


def _as_float_channels(waveform: np.ndarray) -> np.ndarray:
    """Return a C-contiguous float32 ``(channels, samples)`` array in [-1, 1]."""
    array = np.asarray(waveform)
    if array.ndim == 1:
        array = array[None, :]
    elif array.ndim != 2:
        raise ValueError(f"waveform must be (samples,) or (channels, samples), got {array.shape}")
    if not 1 <= array.shape[0] <= 8:
        raise ValueError(f"waveform must be (channels, samples) with 1 to 8 channels, got shape {array.shape}")
    kind = array.dtype.kind
    if kind == "i":
        array = array / float(2 ** (8 * array.dtype.itemsize - 1))
    elif kind == "u":
        middle = float(2 ** (8 * array.dtype.itemsize - 1))
        array = (array - middle) / middle
    elif kind != "f":
        raise ValueError(f"waveform must hold numbers, got dtype {array.dtype}")
    array = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.ascontiguousarray(np.clip(array, -1.0, 1.0))


def _find_encoder(names: tuple[str, ...]) -> av.Codec | None:
    for name in names:
        try:
            return av.Codec(name, "w")
        except Exception:  # Not built into this FFmpeg.
            continue
    return None


def _encoder_rate(codec: av.Codec, rate: int) -> int:
    """The rate to encode at: ``rate`` if the codec takes it, else a close one."""
    supported = sorted(codec.audio_rates or ())
    if not supported or rate in supported:
        return rate
    if codec.name in ("libopus", "opus") and 48000 in supported:
        return 48000
    higher = [r for r in supported if r >= rate]
    return higher[0] if higher else supported[-1]


# --------------------------------------------------------------------------
# Content negotiation
# --------------------------------------------------------------------------


def negotiate(accept: str | None, mimes: Mapping[str, str], default: str) -> str:
    """Pick the format key of ``mimes`` that best matches an HTTP Accept header.

    Honours q-values, ``type/*`` and ``*/*`` wildcards and common aliases (e.g.
    ``audio/x-wav``). Returns ``default`` when the header is absent or only
    wildcards match; raises :class:`NotAcceptable` when nothing matches.
    """
    if default not in mimes:
        raise ValueError(f"default {default!r} is not one of {list(mimes)}")
    ranges = _parse_accept(accept)
    if not ranges:
        return default

    best_key: tuple[float, int, int, int, int] | None = None
    best_fmt = default
    for position, (fmt, mime) in enumerate(mimes.items()):
        mime_type, _, mime_sub = _canonical_mime(mime).partition("/")
        specificity = -1
        quality = 0.0
        order = 0
        for index, (range_type, range_sub, q) in enumerate(ranges):
            if range_type == "*" and range_sub == "*":
                level = 0
            elif range_type == mime_type and range_sub == "*":
                level = 1
            elif range_type == mime_type and range_sub == mime_sub:
                level = 2
            else:
                continue
            if level > specificity or (level == specificity and q > quality):
                specificity, quality, order = level, q, index
        if specificity < 0 or quality <= 0:
            continue
        if specificity == 2:  # Named explicitly: earlier in the header wins ties.
            key = (quality, 1, -order, 0, -position)
        else:  # Wildcard only: prefer the default, then the order of ``mimes``.
            key = (quality, 0, 0, int(fmt == default), -position)
        if best_key is None or key > best_key:
            best_key, best_fmt = key, fmt
    if best_key is None:
        supported = ", ".join(dict.fromkeys(mimes.values()))
        raise NotAcceptable(f"Not acceptable: {accept!r}; supported media types are {supported}")
    return best_fmt


def _canonical_mime(mime: str) -> str:
    mime = mime.split(";", 1)[0].strip().lower()
    return _MIME_ALIASES.get(mime, mime)


def _parse_accept(accept: str | None) -> list[tuple[str, str, float]]:
    """Parse an Accept header into ``(type, subtype, q)``, skipping bad entries."""
    ranges: list[tuple[str, str, float]] = []
    if not accept:
        return ranges
    for item in accept.split(","):
        parts = [part.strip() for part in item.split(";")]
        mime = _canonical_mime(parts[0])
        if mime == "*":
            mime = "*/*"
        range_type, slash, range_sub = mime.partition("/")
        if not slash or not range_type or not range_sub or "/" in range_sub:
            continue
        if range_type == "*" and range_sub != "*":
            continue
        q = 1.0
        valid = True
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    valid = False
                    break
                if not math.isfinite(q):
                    valid = False
                    break
                q = min(max(q, 0.0), 1.0)
                break  # Parameters after q are accept-extensions.
        if valid:
            ranges.append((range_type, range_sub, q))
    return ranges


def _describe(exc: BaseException) -> str:
    """A short, client-safe description of a decoding exception."""
    if isinstance(exc, av.FFmpegError):
        message = exc.strerror or type(exc).__name__
    else:
        message = str(exc) or type(exc).__name__
    message = re.sub(r"<[^>]*object at 0x[0-9a-f]+>", "data", message)
    return message.strip().rstrip(".")
