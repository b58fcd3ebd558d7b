"""Upstream import path: `from api_inference_community.validation import normalize_payload, ...`.

A thin compatibility module for apps written for the upstream package; the core's own
validation is `api_inference_community.tasks.validation`.
"""

from .compat.answers import AUDIO, IMAGE, parse_accept
from .compat.checks import INPUTS_MAPPING, PARAMS_MAPPING, check_inputs, check_params
from .compat.normalize import (
    AUDIO_INPUTS,
    AUDIO_OUTPUTS,
    IMAGE_INPUTS,
    IMAGE_OUTPUTS,
    KNOWN_TASKS,
    TENSOR_INPUTS,
    TEXT_INPUTS,
    ffmpeg_convert,
    ffmpeg_read,
    normalize_payload,
    normalize_payload_audio,
    normalize_payload_image,
    normalize_payload_nlp,
    normalize_payload_tensor,
)

__all__ = [
    "AUDIO",
    "AUDIO_INPUTS",
    "AUDIO_OUTPUTS",
    "IMAGE",
    "IMAGE_INPUTS",
    "IMAGE_OUTPUTS",
    "INPUTS_MAPPING",
    "KNOWN_TASKS",
    "PARAMS_MAPPING",
    "TENSOR_INPUTS",
    "TEXT_INPUTS",
    "check_inputs",
    "check_params",
    "ffmpeg_convert",
    "ffmpeg_read",
    "normalize_payload",
    "normalize_payload_audio",
    "normalize_payload_image",
    "normalize_payload_nlp",
    "normalize_payload_tensor",
    "parse_accept",
]
