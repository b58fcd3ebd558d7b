"""The payload helpers of the upstream package (`api_inference_community.validation`), on our validation.

Upstream apps call `normalize_payload(bpayload, task, sampling_rate)` and friends; these give
the same `(inputs, parameters)` through the core's validation and media decoding.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import media
from ..tasks.registry import InputKind, TaskSpec, get_task
from ..tasks.schemas import AnyParameters
from ..tasks.validation import Limits, parse_payload


def normalize_payload(bpayload: bytes, task: str, sampling_rate: Optional[int] = None) -> Tuple[Any, Dict[str, Any]]:
    """Upstream's entry point: `(inputs, parameters)` for a body of `task`."""
    spec = get_task_or_environment_error(task)
    if spec.input_kind == InputKind.AUDIO and sampling_rate is None:
        raise OSError("We cannot normalize audio file if we don't know the sampling rate")
    payload = parse_payload(bpayload, spec, Limits(sampling_rate=sampling_rate))
    return payload.inputs, payload.parameters


def get_task_or_environment_error(task: str) -> TaskSpec:
    try:
        return get_task(task)
    except KeyError:
        raise OSError(f"The task `{task}` is not recognized by api-inference-community") from None


def normalize_payload_nlp(bpayload: bytes, task: str) -> Tuple[Any, Dict[str, Any]]:
    return normalize_payload(bpayload, task)


def normalize_payload_image(bpayload: bytes) -> Tuple[Any, Dict[str, Any]]:
    """An image and its parameters, unchecked (any image task)."""
    spec = dataclasses.replace(get_task("image-classification"), parameters=AnyParameters)
    payload = parse_payload(bpayload, spec, Limits())
    return payload.inputs, payload.parameters


def normalize_payload_audio(bpayload: bytes, sampling_rate: int) -> Tuple[Any, Dict[str, Any]]:
    return ffmpeg_read(bpayload, sampling_rate), {}


def ffmpeg_read(bpayload: bytes, sampling_rate: int) -> np.ndarray:
    """Decode audio bytes to mono float32 at `sampling_rate` (PyAV, no subprocess)."""
    try:
        return media.decode_audio(bpayload, sampling_rate)
    except media.MediaError as error:
        raise ValueError(str(error)) from None


def ffmpeg_convert(array: np.ndarray, sampling_rate: int, format_for_conversion: str) -> bytes:
    """Encode a waveform to `format_for_conversion` (flac, wav, ogg, mp3, webm)."""
    return media.encode_audio(array, sampling_rate, format_for_conversion)
