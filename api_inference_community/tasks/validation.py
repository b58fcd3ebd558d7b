"""Turn a request body into validated inputs and parameters for a task.

Accepted shapes (as the upstream and the Hub API accept them):
- `{"inputs": ..., "parameters": {...}, "options": {...}}`; other top-level keys beside `inputs`
  are taken as parameters (older Hub clients sent them there);
- a bare JSON value (the inputs themselves) or, for text tasks, raw text;
- for image and audio tasks, raw bytes, or JSON whose `inputs` (or `image`) is base64;
- for tabular tasks `{"data": {column: [values]}}` (bare or under `inputs`);
- for tensor tasks `{"inputs": "<base64>", "shape": [...], "dtype": "..."}` or the same under `inputs`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from .. import media
from ..errors import InvalidInput
from ..runtime.settings import Settings
from .registry import InputKind, TaskSpec, get_task

RESERVED_KEYS = ("inputs", "parameters", "options")


class Options(BaseModel):
    """Request options of the Hub API; unknown ones are ignored, as the Hub does."""

    model_config = ConfigDict(extra="ignore")

    wait_for_model: StrictBool = False
    use_cache: StrictBool = True


@dataclass(frozen=True)
class Limits:
    """Bounds applied while normalizing one request."""

    max_inputs: int = 256
    max_image_pixels: int = 89_478_485
    max_audio_seconds: Optional[float] = 600.0
    sampling_rate: Optional[int] = None

    @classmethod
    def from_settings(cls, settings: Settings, sampling_rate: Optional[int] = None) -> Limits:
        return cls(settings.max_inputs, settings.max_image_pixels, settings.max_audio_seconds, sampling_rate)


@dataclass
class Payload:
    """A request, validated: what the pipeline receives."""

    inputs: Any
    parameters: Dict[str, Any] = field(default_factory=dict)
    options: Options = field(default_factory=Options)


# ------------------------------------------------------------- messages


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in {"str", "constrained-str", "int", "float", "bool"})


def _union_position(loc: Tuple[Any, ...]) -> Optional[int]:
    return next((i for i, part in enumerate(loc) if _is_union_tag(part)), None)


def _keep_matching_branches(errors: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Of a union's alternatives, keep the errors of the one that matched the value best.

    The branch whose errors go deepest matched the value's shape (e.g. a list with one bad
    item); on a tie, a constraint error (too short...) beats a plain type mismatch.
    """
    branches: Dict[Tuple[Any, ...], Dict[Any, List[Dict[str, Any]]]] = {}
    kept = []
    for e in errors:
        at = _union_position(e["loc"])
        if at is None:
            kept.append(e)
        else:
            branches.setdefault(e["loc"][:at], {}).setdefault(e["loc"][at], []).append(e)

    def score(group: Sequence[Dict[str, Any]]) -> Tuple[int, int]:
        return max(len(e["loc"]) for e in group), int(any(not e["type"].endswith("_type") for e in group))

    for alternatives in branches.values():
        groups = list(alternatives.values())
        best = groups[0]
        for group in groups[1:]:
            if score(group) > score(best):  # the first of the best-scored, as max() would
                best = group
        kept.extend(best)
    return kept


def readable_errors(error: ValidationError, where: str) -> List[str]:
    """Pydantic errors as short sentences naming the offending field."""
    errors = _keep_matching_branches([dict(e) for e in error.errors(include_url=False)])
    messages = []
    for e in errors:
        path = where
        for part in e["loc"]:
            if _is_union_tag(part):
                continue
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        message = e["msg"]
        if e["type"] == "extra_forbidden":
            message = "unknown parameter" if where == "parameters" else "unknown field"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if e["type"] != "missing" and e["type"] != "extra_forbidden" and "input" in e:
            shown = json.dumps(e["input"], default=str)
            message += f" (received {shown[:60] + '...' if len(shown) > 60 else shown})"
        messages.append(f"`{path}`: {message}")
    return messages


def _invalid(error: ValidationError, where: str) -> InvalidInput:
    return InvalidInput("; ".join(readable_errors(error, where)))


# ------------------------------------------------------------ splitting


def _load_json(body: bytes) -> Tuple[bool, Any]:
    try:
        return True, orjson.loads(body)
    except orjson.JSONDecodeError:
        return False, None


def _decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("Request body is not valid UTF-8 text") from None


def split_request(document: Any, spec: TaskSpec) -> Tuple[Any, Dict[str, Any], Dict[str, Any]]:
    """Separate a decoded JSON document into inputs, parameters and options."""
    key = "inputs"
    if isinstance(document, dict) and spec.input_kind == InputKind.IMAGE and "inputs" not in document:
        key = "image" if "image" in document else key
    if not (isinstance(document, dict) and key in document):
        if isinstance(document, dict) and spec.input_kind in (InputKind.IMAGE, InputKind.AUDIO):
            raise InvalidInput("JSON body must hold the media as base64 in `inputs`")
        return document, {}, {}
    parameters = document.get("parameters")
    options = document.get("options")
    if parameters is None:
        parameters = {}
    if options is None:
        options = {}
    if not isinstance(parameters, dict):
        raise InvalidInput("`parameters` must be a JSON object")
    if not isinstance(options, dict):
        raise InvalidInput("`options` must be a JSON object")
    extras = {k: v for k, v in document.items() if k not in RESERVED_KEYS and k != key}
    if spec.input_kind == InputKind.TENSOR:  # shape and dtype travel beside the data
        tensor_fields = {k: extras.pop(k) for k in ("shape", "dtype") if k in extras}
        if tensor_fields and isinstance(document[key], str):
            return {"data": document[key], **tensor_fields}, {**extras, **parameters}, options
    return document[key], {**extras, **parameters}, options


def validate_parameters(parameters: Dict[str, Any], spec: TaskSpec) -> Dict[str, Any]:
    """Check parameters against the task's schema; return them without unset values."""
    try:
        model = spec.parameters.model_validate(parameters)
    except ValidationError as error:
        raise _invalid(error, "parameters") from None
    return model.model_dump(exclude_none=True)


def validate_options(options: Dict[str, Any]) -> Options:
    try:
        return Options.model_validate(options)
    except ValidationError as error:
        raise _invalid(error, "options") from None


# --------------------------------------------------------------- inputs


def _validate_structured_inputs(inputs: Any, spec: TaskSpec, limits: Limits) -> Any:
    if spec.input_kind == InputKind.TEXT and isinstance(inputs, (int, float)) and not isinstance(inputs, bool):
        inputs = str(inputs)  # upstream compatibility: numbers are text
    if spec.inputs is None:
        raise RuntimeError(f"{spec.name} takes media inputs, decoded by `media`, not JSON")
    try:
        value = spec.inputs.validate_python(inputs)
    except ValidationError as error:
        raise _invalid(error, "inputs") from None
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if spec.count_items(value) > limits.max_inputs:
        raise InvalidInput(f"`inputs`: too many items ({spec.count_items(value)}); the maximum is {limits.max_inputs}")
    return value


def _decode_base64(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or not text:
        raise InvalidInput(f"`inputs`: expected {what} as a base64 string")
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    text = "".join(text.split())
    try:
        return base64.b64decode(
            text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None, validate=True
        )
    except (binascii.Error, ValueError):
        raise InvalidInput(f"`inputs`: invalid base64 {what}") from None


def decode_tensor(tensor: Dict[str, Any]) -> np.ndarray:
    """A `{data, shape, dtype}` mapping as a numpy array; the byte count must match."""
    raw = _decode_base64(tensor["data"], "tensor")
    dtype_name = tensor["dtype"]
    dtype = np.dtype("uint16") if dtype_name == "bfloat16" else np.dtype(dtype_name)
    count = math.prod(tensor["shape"])  # Python ints: a huge shape must not wrap around
    if count * dtype.itemsize != len(raw):
        raise InvalidInput(
            f"`inputs`: tensor of shape {tensor['shape']} and dtype {dtype_name} needs "
            f"{count * dtype.itemsize} bytes, received {len(raw)}"
        )
    array = np.frombuffer(raw, dtype=dtype).reshape(tensor["shape"])
    if dtype_name == "bfloat16":  # widen bfloat16 bit patterns to float32
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


def _decode_media(data: bytes, spec: TaskSpec, limits: Limits) -> Any:
    try:
        if spec.input_kind == InputKind.IMAGE:
            return media.decode_image(data, max_pixels=limits.max_image_pixels)
        if limits.sampling_rate is None:
            raise RuntimeError("an audio pipeline must declare its `sampling_rate`")
        return media.decode_audio(data, limits.sampling_rate, max_seconds=limits.max_audio_seconds)
    except media.MediaError as error:
        raise InvalidInput(str(error)) from None


# ----------------------------------------------------------------- entry


@dataclass
class Envelope:
    """A request body opened but not yet validated: what the request carries, and its options.

    `inputs` is the raw JSON value or text, or, for image and audio tasks, the media bytes
    (already taken out of base64). Options are validated here: they decide whether the request
    waits for the model before its inputs are decoded.
    """

    inputs: Any
    parameters: Dict[str, Any] = field(default_factory=dict)
    options: Options = field(default_factory=Options)


def open_envelope(body: bytes, spec: TaskSpec) -> Envelope:
    """Step 1 of 2: parse the body's JSON (or take it as text or bytes) and split it. Raises InvalidInput."""
    if spec.input_kind in (InputKind.IMAGE, InputKind.AUDIO):
        return _open_media_envelope(body, spec)
    text = _decode_text(body)
    is_json, document = _load_json(body)
    if not is_json:
        if spec.input_kind != InputKind.TEXT:
            raise InvalidInput("Request body must be JSON")
        if text.lstrip().startswith("{"):  # meant as a JSON object: do not embed it as text
            raise InvalidInput("Request body is not valid JSON")
        document = text  # upstream compatibility: raw text is the input
    inputs, parameters, options = split_request(document, spec)
    return Envelope(inputs, parameters, validate_options(options))


def _open_media_envelope(body: bytes, spec: TaskSpec) -> Envelope:
    if not body:
        raise InvalidInput(f"Empty request body: send {spec.input_kind.value} bytes")
    document = None
    if body.lstrip()[:1] == b"{":
        is_json, document = _load_json(body)
        if not is_json:
            document = None
    if document is None:
        return Envelope(body)
    inputs, parameters, options = split_request(document, spec)
    return Envelope(_decode_base64(inputs, spec.input_kind.value), parameters, validate_options(options))


def validate_envelope(envelope: Envelope, spec: TaskSpec, limits: Limits = Limits()) -> Payload:
    """Step 2 of 2: validate the inputs (decoding media) and the parameters. Raises InvalidInput."""
    if spec.input_kind in (InputKind.IMAGE, InputKind.AUDIO):
        inputs = _decode_media(envelope.inputs, spec, limits)
    elif spec.input_kind == InputKind.TENSOR:
        inputs = decode_tensor(_validate_structured_inputs(envelope.inputs, spec, limits))
    else:
        inputs = _validate_structured_inputs(envelope.inputs, spec, limits)
    return Payload(inputs, validate_parameters(envelope.parameters, spec), envelope.options)


def parse_payload(body: bytes, spec: TaskSpec, limits: Limits = Limits()) -> Payload:
    """Validate and normalize one request body for `spec` (both steps). Raises InvalidInput."""
    return validate_envelope(open_envelope(body, spec), spec, limits)


def normalize(body: bytes, task: str, limits: Limits = Limits()) -> Payload:
    """`parse_payload` by task name."""
    return parse_payload(body, get_task(task), limits)
