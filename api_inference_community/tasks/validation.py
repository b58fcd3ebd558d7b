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


MAX_ERRORS_SHOWN = 5  # a 400 names this many problems, then counts the others
MAX_JSON_NODES = 200_000  # values in one JSON body (a walk over them stays in the milliseconds)


@dataclass(frozen=True)
class Limits:
    """Bounds applied while normalizing one request (each is a setting, see `Settings`)."""

    max_inputs: int = 256
    max_image_pixels: int = 89_478_485
    max_audio_seconds: Optional[float] = 600.0
    sampling_rate: Optional[int] = None
    max_image_bytes: Optional[int] = None  # None: the media decoder's default (4 bytes per pixel of the limit)
    image_size: Optional[Tuple[int, int]] = None  # the size the model reads: JPEGs decode no smaller
    max_input_characters: int = 1_000_000
    max_parameters: int = 64
    max_json_depth: int = 32
    max_new_tokens: int = 1024
    max_sequences: int = 10
    max_inference_steps: int = 100

    @classmethod
    def from_settings(
        cls, settings: Settings, sampling_rate: Optional[int] = None, image_size: Optional[Tuple[int, int]] = None
    ) -> Limits:
        return cls(
            max_inputs=settings.max_inputs,
            max_image_pixels=settings.max_image_pixels,
            max_audio_seconds=settings.max_audio_seconds,
            sampling_rate=sampling_rate,
            max_image_bytes=settings.max_image_bytes,
            image_size=image_size,
            max_input_characters=settings.max_input_characters,
            max_parameters=settings.max_parameters,
            max_json_depth=settings.max_json_depth,
            max_new_tokens=settings.max_new_tokens,
            max_sequences=settings.max_sequences,
            max_inference_steps=settings.max_inference_steps,
        )

    def parameter_ceilings(self) -> Dict[str, Tuple[float, str]]:
        """Parameters whose value multiplies the model's work: their ceiling and its setting."""
        tokens = (self.max_new_tokens, "MAX_NEW_TOKENS")
        sequences = (self.max_sequences, "MAX_SEQUENCES")
        return {
            "max_new_tokens": tokens,
            "max_length": tokens,
            "min_length": tokens,
            "min_new_tokens": tokens,
            "num_beams": sequences,
            "num_beam_groups": sequences,
            "num_return_sequences": sequences,
            "best_of": sequences,
            "num_inference_steps": (self.max_inference_steps, "MAX_INFERENCE_STEPS"),
        }


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


def capped(messages: List[str]) -> str:
    """The first few messages, then how many more there are (an error body stays small)."""
    shown = "; ".join(messages[:MAX_ERRORS_SHOWN])
    hidden = len(messages) - MAX_ERRORS_SHOWN
    return f"{shown}; and {hidden} more error{'s' if hidden > 1 else ''}" if hidden > 0 else shown


def _invalid(error: ValidationError, where: str) -> InvalidInput:
    return InvalidInput(capped(readable_errors(error, where)))


# ----------------------------------------------------------- cost checks


def check_document_cost(document: Any, limits: Limits) -> None:
    """Refuse a JSON document too deep, too large or with too much text, before any per-item validation.

    One iterative walk, stopping at the first bound passed: cheap whatever the document.
    """
    stack: List[Tuple[Any, int]] = [(document, 1)]
    nodes = characters = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_JSON_NODES:
            raise InvalidInput(f"Request body holds too many JSON values (more than {MAX_JSON_NODES})")
        if isinstance(value, str):
            characters += len(value)
            if characters > limits.max_input_characters:
                raise InvalidInput(
                    f"Request body holds more than {limits.max_input_characters} characters of text "
                    "(MAX_INPUT_CHARACTERS)"
                )
        elif isinstance(value, (list, dict)):
            if depth >= limits.max_json_depth:
                raise InvalidInput(f"Request body is nested deeper than {limits.max_json_depth} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
            if isinstance(value, dict):
                characters += sum(len(key) for key in value)


def check_envelope_cost(inputs: Any, parameters: Dict[str, Any], limits: Limits) -> None:
    """Counts that need no validation: list items and parameters (before pydantic sees them)."""
    if isinstance(inputs, list) and len(inputs) > limits.max_inputs:
        raise InvalidInput(f"`inputs`: too many items ({len(inputs)}); the maximum is {limits.max_inputs}")
    if len(parameters) > limits.max_parameters:
        raise InvalidInput(
            f"`parameters`: too many parameters ({len(parameters)}); the maximum is {limits.max_parameters}"
        )


def check_parameter_ceilings(parameters: Dict[str, Any], limits: Limits) -> None:
    """Refuse parameters that would multiply the model's work beyond their ceiling (named, with its setting)."""
    for name, (ceiling, setting) in limits.parameter_ceilings().items():
        value = parameters.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > ceiling:
            raise InvalidInput(f"`parameters.{name}`: at most {ceiling:g} on this server ({setting}), received {value}")


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
    if isinstance(document[key], str) and spec.input_kind == InputKind.STRUCTURED:
        inputs, extras = fold_image_fields(document[key], extras, spec)
        return inputs, {**extras, **parameters}, options
    if spec.input_kind == InputKind.TENSOR:  # shape and dtype travel beside the data
        tensor_fields = {k: extras.pop(k) for k in ("shape", "dtype") if k in extras}
        if tensor_fields and isinstance(document[key], str):
            return {"data": document[key], **tensor_fields}, {**extras, **parameters}, options
    return document[key], {**extras, **parameters}, options


def fold_image_fields(image: str, extras: Dict[str, Any], spec: TaskSpec) -> Tuple[Any, Dict[str, Any]]:
    """`{"inputs": <base64 image>, "question": ...}` as inputs `{"image": ..., "question": ...}` for a
    task whose inputs are an image with named fields (InferenceClient.visual_question_answering
    sends the fields beside `inputs`, and the image again as `image`); returns the inputs and the
    remaining top-level keys. Other tasks keep `inputs` and the keys unchanged."""
    fields = spec.inputs.json_schema().get("properties", {}) if spec.inputs is not None else {}
    if "image" not in fields:
        return image, extras
    folded = {name: extras[name] for name in fields if name in extras and name != "image"}
    remaining = {name: value for name, value in extras.items() if name not in fields}
    return {**folded, "image": image}, remaining


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
        value = spec.inputs.validate_python(inputs, context={"limits": limits})
    except ValidationError as error:
        raise _invalid(error, "inputs") from None
    if isinstance(value, BaseModel):
        value = value.model_dump()
    elif isinstance(value, list) and any(isinstance(item, BaseModel) for item in value):  # e.g. chat messages
        value = [item.model_dump() if isinstance(item, BaseModel) else item for item in value]
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
            return media.decode_image(
                data,
                max_pixels=limits.max_image_pixels,
                max_image_bytes=limits.max_image_bytes,
                target_size=limits.image_size,
            )
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


def is_json_content_type(content_type: Optional[str]) -> bool:
    """Whether a Content-Type header declares JSON (`application/json`, `application/*+json`)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def open_envelope(body: bytes, spec: TaskSpec, limits: Limits = Limits(), declared_json: bool = False) -> Envelope:
    """Step 1 of 2: parse the body's JSON (or take it as text or bytes), bound its cost, split it.

    `declared_json`: the request said its body is JSON, so a body that does not parse is a 400,
    never raw text. Raises InvalidInput.
    """
    if spec.input_kind in (InputKind.IMAGE, InputKind.AUDIO):
        return _open_media_envelope(body, spec, limits)
    text = _decode_text(body)
    is_json, document = _load_json(body)
    if not is_json:
        if spec.input_kind != InputKind.TEXT:
            raise InvalidInput("Request body must be JSON")
        if declared_json or text.lstrip().startswith("{"):  # meant as JSON: do not embed it as text
            raise InvalidInput("Request body is not valid JSON")
        document = text  # upstream compatibility: raw text is the input
    inputs, parameters, options = split_request(document, spec)
    check_envelope_cost(inputs, parameters, limits)  # counts first: O(1)
    if is_json:
        check_document_cost(document, limits)
    return Envelope(inputs, parameters, validate_options(options))


def _open_media_envelope(body: bytes, spec: TaskSpec, limits: Limits) -> Envelope:
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
    if not isinstance(inputs, str):
        check_document_cost(inputs, limits)
    check_document_cost(parameters, limits)
    check_envelope_cost(None, parameters, limits)
    return Envelope(_decode_base64(inputs, spec.input_kind.value), parameters, validate_options(options))


def validate_envelope(envelope: Envelope, spec: TaskSpec, limits: Limits = Limits()) -> Payload:
    """Step 2 of 2: validate the inputs (decoding media) and the parameters. Raises InvalidInput."""
    if spec.input_kind in (InputKind.IMAGE, InputKind.AUDIO):
        inputs = _decode_media(envelope.inputs, spec, limits)
    elif spec.input_kind == InputKind.TENSOR:
        inputs = decode_tensor(_validate_structured_inputs(envelope.inputs, spec, limits))
    else:
        inputs = _validate_structured_inputs(envelope.inputs, spec, limits)
    parameters = validate_parameters(envelope.parameters, spec)
    check_parameter_ceilings(parameters, limits)
    items = spec.count_items(inputs, parameters)
    if items > limits.max_inputs:
        raise InvalidInput(f"`inputs`: too many items ({items}); the maximum is {limits.max_inputs}")
    return Payload(inputs, parameters, envelope.options)


def parse_payload(body: bytes, spec: TaskSpec, limits: Limits = Limits(), declared_json: bool = False) -> Payload:
    """Validate and normalize one request body for `spec` (both steps). Raises InvalidInput."""
    return validate_envelope(open_envelope(body, spec, limits, declared_json), spec, limits)


def normalize(body: bytes, task: str, limits: Limits = Limits()) -> Payload:
    """`parse_payload` by task name."""
    return parse_payload(body, get_task(task), limits)
