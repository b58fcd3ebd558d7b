"""Media decoding and encoding: images (Pillow) and audio (PyAV), in-process, bounded."""

from .audio import audio_duration_seconds, decode_audio, encode_audio
from .formats import AUDIO_FORMATS, AUDIO_MIME, DEFAULT_MAX_PIXELS, IMAGE_FORMATS, IMAGE_MIME, MediaError
from .images import decode_base64_image, decode_image, encode_image, to_rgb

__all__ = [
    "AUDIO_FORMATS",
    "AUDIO_MIME",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_FORMATS",
    "IMAGE_MIME",
    "MediaError",
    "audio_duration_seconds",
    "decode_audio",
    "decode_base64_image",
    "decode_image",
    "encode_audio",
    "encode_image",
    "to_rgb",
]
