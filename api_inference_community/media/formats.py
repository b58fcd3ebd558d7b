"""Media formats the server produces, and the error every decoder raises."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

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


class MediaError(ValueError):
    """The media cannot be decoded; the message is safe to show to clients."""


def describe(exc: BaseException) -> str:
    """A short, client-safe description of a decoding exception (no object addresses)."""
    strerror = getattr(exc, "strerror", None)  # FFmpeg errors carry their message here
    message = strerror if isinstance(strerror, str) and strerror else (str(exc) or type(exc).__name__)
    message = re.sub(r"<[^>]*object at 0x[0-9a-f]+>", "data", message)
    return message.strip().rstrip(".")
