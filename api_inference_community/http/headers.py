"""The headers of every inference answer: compute time and type, and the request's usage figure."""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

from ..tasks.registry import InputKind, TaskSpec

HEADER_COMPUTE_TIME = "x-compute-time"
HEADER_COMPUTE_TYPE = "x-compute-type"
HEADER_CHARACTERS = "x-compute-characters"
HEADER_IMAGES = "x-compute-images"
HEADER_AUDIO_LENGTH = "x-compute-audio-length"
EXPOSED_HEADERS = ", ".join(
    (HEADER_COMPUTE_TYPE, HEADER_COMPUTE_TIME, HEADER_CHARACTERS, HEADER_IMAGES, HEADER_AUDIO_LENGTH)
)


def base_headers(compute_type: str) -> Dict[str, str]:
    """Headers of every inference answer, error or not (compute time is added at the end)."""
    return {HEADER_COMPUTE_TYPE: compute_type, "access-control-expose-headers": EXPOSED_HEADERS}


def stamp_compute_time(response: Any, started: float) -> None:
    """Set `x-compute-time`: seconds since `started` (a `time.perf_counter()` reading)."""
    response.headers[HEADER_COMPUTE_TIME] = f"{time.perf_counter() - started:.3f}"


def count_characters(inputs: Any) -> int:
    """Characters of every string in the inputs (the usage figure of text tasks)."""
    if isinstance(inputs, str):
        return len(inputs)
    if isinstance(inputs, dict):
        return sum(count_characters(v) for v in inputs.values())
    if isinstance(inputs, (list, tuple)):
        return sum(count_characters(v) for v in inputs)
    return 0


def count_images(inputs: Any) -> int:
    """Images among structured inputs (an image with its question, say)."""
    if isinstance(inputs, dict):
        return sum(count_images(value) for value in inputs.values())
    if isinstance(inputs, (list, tuple)):
        return sum(count_images(value) for value in inputs)
    return 1 if hasattr(inputs, "getbands") else 0  # a PIL image, without importing Pillow here


def usage_headers(spec: TaskSpec, inputs: Any, sampling_rate: Optional[int]) -> Dict[str, str]:
    """The usage figure of one request: characters, images or seconds of audio."""
    if spec.input_kind == InputKind.IMAGE:
        return {HEADER_IMAGES: "1"}
    images = count_images(inputs) if spec.input_kind == InputKind.STRUCTURED else 0
    if images:
        return {HEADER_IMAGES: str(images)}
    if spec.input_kind == InputKind.AUDIO:
        seconds = len(inputs) / sampling_rate if sampling_rate else 0.0
        return {HEADER_AUDIO_LENGTH: f"{seconds:.3f}"}
    if spec.input_kind == InputKind.TENSOR:
        return {}
    return {HEADER_CHARACTERS: str(count_characters(inputs))}
