"""Upstream import path: `from api_inference_community.validation import normalize_payload, ...`.

A thin compatibility module for apps written for the upstream package; the core's own
validation is `api_inference_community.tasks.validation`.
"""

from .compat.normalize import (
    ffmpeg_convert,
    ffmpeg_read,
    normalize_payload,
    normalize_payload_audio,
    normalize_payload_image,
    normalize_payload_nlp,
)

__all__ = [
    "ffmpeg_convert",
    "ffmpeg_read",
    "normalize_payload",
    "normalize_payload_audio",
    "normalize_payload_image",
    "normalize_payload_nlp",
]
