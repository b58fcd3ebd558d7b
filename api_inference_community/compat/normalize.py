"""The payload helpers of the upstream package (`api_inference_community.validation`), with its behaviour.

- Text tasks (`normalize_payload_nlp`): a body that is not UTF-8 raises `UnicodeDecodeError`; JSON
  `{"inputs", "parameters"}`, a bare JSON value or raw text; bare numbers become text; checked by
  `compat.checks` (pydantic's `ValidationError`); parameters come back as sent.
- Images and audio are decoded by the core's `media`, within `Limits`; audio that cannot be
  decoded raises `ValueError("Malformed soundfile")`, as upstream.
- Tensors: shape and dtype in `parameters` (upstream's layout, a torch tensor when torch is
  installed) or beside the data (the core's layouts, a numpy array).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import media
from ..errors import InvalidInput
from ..tasks.registry import AUDIO_INPUTS, IMAGE_INPUTS, TASKS, TENSOR_INPUTS, TEXT_INPUTS, OutputKind, get_task
from ..tasks.schemas import AnyParameters
from ..tasks.validation import Envelope, Limits, parse_payload, validate_envelope
from .checks import check_inputs, check_params

__all__ = [
    "AUDIO_INPUTS",
    "AUDIO_OUTPUTS",
    "IMAGE_INPUTS",
    "IMAGE_OUTPUTS",
    "KNOWN_TASKS",
    "TENSOR_INPUTS",
    "TEXT_INPUTS",
    "ffmpeg_convert",
    "ffmpeg_read",
    "normalize_payload",
    "normalize_payload_audio",
    "normalize_payload_image",
    "normalize_payload_nlp",
    "normalize_payload_tensor",
]

IMAGE_OUTPUTS = frozenset(name for name, spec in TASKS.items() if spec.output_kind == OutputKind.IMAGE)
AUDIO_OUTPUTS = frozenset(
    name for name, spec in TASKS.items() if spec.output_kind in (OutputKind.AUDIO, OutputKind.AUDIO_LIST)
)
KNOWN_TASKS = frozenset(TASKS)
MALFORMED_AUDIO = "Malformed soundfile"

Normalized = Tuple[Any, Dict[str, Any]]


def normalize_payload(
    bpayload: bytes,
    task: str,
    sampling_rate: Optional[int] = None,
    limits: Optional[Limits] = None,
    declared_json: bool = False,
) -> Normalized:
    """`(inputs, parameters)` for a body of `task`; EnvironmentError for an unknown task.

    For `pipeline_route`: `limits` (the server's) also bounds the count of text inputs, media
    being always decoded within bounds (the defaults of `Limits` without it); `declared_json`
    (the request's Content-Type says JSON) refuses a text body that is not valid JSON.
    """
    if task in AUDIO_INPUTS:
        if sampling_rate is None:
            raise OSError("We cannot normalize audio file if we don't know the sampling rate")
        return normalize_payload_audio(bpayload, sampling_rate, limits or Limits())
    if task in IMAGE_INPUTS:
        return normalize_payload_image(bpayload, limits or Limits())
    if task in TEXT_INPUTS:
        return normalize_payload_nlp(bpayload, task, limits, declared_json)
    if task in TENSOR_INPUTS:
        return normalize_payload_tensor(bpayload)
    raise OSError(f"The task `{task}` is not recognized by api-inference-community")


def _document(text: str, declared_json: bool = False) -> Any:
    """The JSON value of a body, or the text itself when it is not JSON (raw text is accepted,
    unless the request declared JSON: then it is refused)."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        if declared_json:
            raise InvalidInput("Request body is not valid JSON") from None
        return text
    if isinstance(document, (int, float)):  # a bare number is text
        return str(document)
    return document


def normalize_payload_nlp(
    bpayload: bytes, task: str, limits: Optional[Limits] = None, declared_json: bool = False
) -> Normalized:
    """Inputs and parameters of a text task, checked as upstream checks them (`compat.checks`)."""
    document = _document(bpayload.decode("utf-8"), declared_json)
    if isinstance(document, dict) and "inputs" in document:
        inputs, parameters = document["inputs"], document.get("parameters", {})
    else:
        inputs, parameters = document, {}
    if limits is not None and isinstance(inputs, list) and len(inputs) > limits.max_inputs:
        raise ValueError(f"Too many inputs ({len(inputs)}); the maximum is {limits.max_inputs}")  # before pydantic
    check_params(parameters, task)
    if not isinstance(parameters, dict):
        raise ValueError("`parameters` must be a JSON object")
    check_inputs(inputs, task)
    return inputs, parameters


def normalize_payload_image(bpayload: bytes, limits: Limits = Limits()) -> Normalized:
    """An image (raw bytes, or base64 in `inputs`/`image`) and its parameters, unchecked."""
    spec = dataclasses.replace(get_task("image-classification"), parameters=AnyParameters)
    payload = parse_payload(bpayload, spec, limits)
    return payload.inputs, payload.parameters


def normalize_payload_audio(bpayload: bytes, sampling_rate: int, limits: Limits = Limits()) -> Normalized:
    """Raw audio bytes as a mono float32 waveform at `sampling_rate`, no parameters."""
    return _decode_audio(bpayload, sampling_rate, limits.max_audio_seconds), {}


def normalize_payload_tensor(bpayload: bytes) -> Normalized:
    """A tensor: base64 `inputs`, with `shape` and `dtype` in `parameters` or beside the data."""
    spec = get_task("latent-to-image")
    document = _document(bpayload.decode("utf-8"))
    parameters = document.get("parameters") if isinstance(document, dict) else None
    if not isinstance(parameters, dict) or not ({"shape", "dtype"} & parameters.keys()):
        payload = parse_payload(bpayload, spec)  # the core's layouts
        return payload.inputs, payload.parameters
    parameters = dict(parameters)
    for name in ("shape", "dtype"):
        if name not in parameters:
            raise ValueError(f"Expected `{name}` in parameters.")
    tensor = {"data": document.get("inputs"), "shape": parameters.pop("shape"), "dtype": parameters.pop("dtype")}
    payload = validate_envelope(Envelope(tensor, parameters), spec)
    return _as_torch(payload.inputs, tensor["dtype"]), payload.parameters


def _as_torch(array: np.ndarray, dtype: str) -> Any:
    """The array as a torch tensor of `dtype`, as upstream apps receive it (numpy without torch)."""
    try:
        import torch
    except ImportError:
        return array
    tensor = torch.from_numpy(np.array(array))
    return tensor.to(torch.bfloat16) if dtype == "bfloat16" else tensor


def _decode_audio(data: bytes, sampling_rate: int, max_seconds: Optional[float]) -> np.ndarray:
    try:
        return media.decode_audio(data, sampling_rate, max_seconds=max_seconds)
    except media.MediaError as error:
        if max_seconds is not None and "longer than" in str(error):
            raise InvalidInput(str(error)) from None  # the core's duration limit keeps its own message
        raise ValueError(MALFORMED_AUDIO) from error


def ffmpeg_read(bpayload: bytes, sampling_rate: int) -> np.ndarray:
    """Decode audio bytes to mono float32 at `sampling_rate` (PyAV, no subprocess)."""
    return _decode_audio(bpayload, sampling_rate, None)


def ffmpeg_convert(array: np.ndarray, sampling_rate: int, format_for_conversion: str) -> bytes:
    """Encode a waveform to `format_for_conversion` (flac, wav, ogg, mp3, webm).

    FLAC holds 32-bit samples, as the upstream package's ffmpeg writes float input.
    """
    sample_format = "s32" if format_for_conversion.strip().lower() == "flac" else None
    return media.encode_audio(array, sampling_rate, format_for_conversion, sample_format=sample_format)
