"""Media decoding and encoding: images (Pillow) and audio (PyAV), in-process, within memory limits."""

from .audio import (
    DEFAULT_MAX_AUDIO_SAMPLES,
    DEFAULT_MAX_SAMPLE_RATE,
    audio_duration_seconds,
    decode_audio,
    encode_audio,
)
from .formats import AUDIO_FORMATS, AUDIO_MIME, DEFAULT_MAX_PIXELS, IMAGE_FORMATS, IMAGE_MIME, MediaError
from .images import decode_base64_image, decode_image, encode_image, estimate_decoding_bytes, to_rgb
from .memory import decoded_nbytes, image_nbytes, pixel_bytes

__all__ = [
    "AUDIO_FORMATS",
    "AUDIO_MIME",
    "DEFAULT_MAX_AUDIO_SAMPLES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SAMPLE_RATE",
    "IMAGE_FORMATS",
    "IMAGE_MIME",
    "MediaError",
    "audio_duration_seconds",
    "decode_audio",
    "decode_base64_image",
    "decode_image",
    "decoded_nbytes",
    "encode_audio",
    "encode_image",
    "estimate_decoding_bytes",
    "image_nbytes",
    "pixel_bytes",
    "to_rgb",
]
