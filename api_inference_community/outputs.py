"""Pipeline outputs to HTTP bodies, and the usage headers of a request."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any, Dict, Optional, Tuple

from . import media
from .errors import InferenceFailed, NotAcceptable
from .responses import dumps
from .tasks import InputKind, OutputKind, TaskSpec

logger = logging.getLogger(__name__)

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


def usage_headers(spec: TaskSpec, inputs: Any, sampling_rate: Optional[int]) -> Dict[str, str]:
    if spec.input_kind == InputKind.IMAGE:
        return {HEADER_IMAGES: "1"}
    if spec.input_kind == InputKind.AUDIO:
        seconds = len(inputs) / sampling_rate if sampling_rate else 0.0
        return {HEADER_AUDIO_LENGTH: f"{seconds:.3f}"}
    if spec.input_kind == InputKind.TENSOR:
        return {}
    return {HEADER_CHARACTERS: str(count_characters(inputs))}


def check_acceptable(spec: TaskSpec, accept: Optional[str]) -> None:
    """Fail early (406) when the client accepts no format this task can produce."""
    try:
        if spec.output_kind == OutputKind.IMAGE:
            media.negotiate(accept, media.IMAGE_MIME, "png")
        elif spec.output_kind in (OutputKind.AUDIO, OutputKind.AUDIO_LIST):
            media.negotiate(accept, media.AUDIO_MIME, "flac")
    except media.NotAcceptable as error:
        raise NotAcceptable(str(error)) from None


def encode_output(spec: TaskSpec, outputs: Any, accept: Optional[str]) -> Tuple[bytes, str]:
    """The response body and its content type for a pipeline's outputs."""
    try:
        if spec.output_kind == OutputKind.IMAGE:
            fmt = media.negotiate(accept, media.IMAGE_MIME, "png")
            return media.encode_image(outputs, fmt), media.IMAGE_MIME[fmt]
        if spec.output_kind == OutputKind.AUDIO:
            waveform, sampling_rate = outputs
            fmt = media.negotiate(accept, media.AUDIO_MIME, "flac")
            return media.encode_audio(waveform, sampling_rate, fmt), media.AUDIO_MIME[fmt]
        if spec.output_kind == OutputKind.AUDIO_LIST:
            waveforms, sampling_rate, labels = outputs
            fmt = media.negotiate(accept, media.AUDIO_MIME, "flac")
            items = [
                {
                    "label": label,
                    "blob": base64.b64encode(media.encode_audio(w, sampling_rate, fmt)).decode("ascii"),
                    "content-type": media.AUDIO_MIME[fmt],
                }
                for w, label in zip(waveforms, labels)
            ]
            return dumps(items), "application/json"
        return dumps(outputs), "application/json"
    except media.NotAcceptable as error:
        raise NotAcceptable(str(error)) from None
    except (TypeError, ValueError) as error:
        logger.exception("Cannot encode the pipeline's output for %s", spec.name)
        raise InferenceFailed("The pipeline returned an output that cannot be encoded") from error
