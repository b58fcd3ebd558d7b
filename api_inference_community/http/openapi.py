"""The HTTP contract of the served task as an OpenAPI 3.1 document (`GET /openapi.json`).

Request bodies come from the task registry's pydantic schemas, answers from the shapes of the
Hub's task specifications (the same ones `testing.output_checks` verifies on the wire), errors
from `errors`. The document is built once per app, on its first request.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Tuple

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response

from .. import __version__, media
from ..runtime.engine import ModelState
from ..runtime.service import Service
from ..runtime.settings import Settings
from ..tasks.registry import InputKind, OutputKind, TaskSpec
from ..tasks.validation import Options
from . import headers as answer_headers
from .responses import dumps

OPENAPI_VERSION = "3.1.0"
Schema = Dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


# ----------------------------------------------------------- answers of every task

STRING: Schema = {"type": "string"}
NUMBER: Schema = {"type": "number"}
INTEGER: Schema = {"type": "integer"}
STRINGS: Schema = {"type": "array", "items": STRING}
NUMBERS: Schema = {"type": "array", "items": NUMBER}


def record(required: Dict[str, Schema], **optional: Schema) -> Schema:
    """An object with `required` fields (other keys allowed, as the output checks allow them)."""
    return {"type": "object", "required": list(required), "properties": {**required, **optional}}


def array(items: Schema, min_items: int = 0) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if min_items:
        schema["minItems"] = min_items
    return schema


def nested_numbers(depth: int) -> Schema:
    """A number, or lists of numbers nested up to `depth` levels (embeddings)."""
    schema: Schema = NUMBER
    for _ in range(depth):
        schema = {"anyOf": [NUMBER, array(schema, 1)]}
    return schema


def generated(key: str) -> Schema:
    return array(record({key: STRING}), 1)


LABEL_SCORES = array(record({"label": STRING, "score": NUMBER}), 1)
ANSWER = record({"answer": STRING, "score": NUMBER, "start": INTEGER, "end": INTEGER})
PNG_BASE64: Schema = {**STRING, "contentEncoding": "base64", "contentMediaType": "image/png"}
MASKS = array(record({"label": STRING, "score": {"anyOf": [NUMBER, {"type": "null"}]}, "mask": PNG_BASE64}))
DETECTIONS = array(
    record({"label": STRING, "score": NUMBER, "box": record(dict.fromkeys(("xmin", "ymin", "xmax", "ymax"), INTEGER))})
)
CHAT_COMPLETION = record(  # the answer to a chat-completion request (text-generation)
    {
        "object": {"const": "chat.completion"},
        "choices": array(record({"index": INTEGER, "message": record({"role": STRING})}), 1),
    }
)

JSON_OUTPUTS: Dict[str, Schema] = {
    "conversational": record(
        {
            "generated_text": STRING,
            "conversation": record({"past_user_inputs": STRINGS, "generated_responses": STRINGS}),
        }
    ),
    # one embedding per text of a list; an embedding is a vector or one vector per token
    "feature-extraction": array(nested_numbers(3), 1),
    "question-answering": {"anyOf": [ANSWER, array(ANSWER, 1)]},
    "sentence-similarity": NUMBERS,
    "fill-mask": array(record({"sequence": STRING, "score": NUMBER, "token": INTEGER, "token_str": STRING}), 1),
    "table-question-answering": record(
        {
            "answer": STRING,
            "coordinates": array({"type": "array", "items": INTEGER, "minItems": 2, "maxItems": 2}),
            "cells": STRINGS,
            "aggregator": STRING,
        }
    ),
    "tabular-classification": array({"anyOf": [STRING, INTEGER]}),
    "tabular-regression": NUMBERS,
    "summarization": generated("summary_text"),
    "text-generation": {"anyOf": [generated("generated_text"), CHAT_COMPLETION]},
    "text2text-generation": generated("generated_text"),
    "text-classification": {"anyOf": [LABEL_SCORES, array(LABEL_SCORES, 1)]},  # the Inference API nests it
    "token-classification": array(
        {
            **record({"score": NUMBER, "word": STRING, "start": INTEGER, "end": INTEGER}),
            "anyOf": [
                record({"entity_group": STRING}),
                record({"entity": STRING}),
            ],
        }
    ),
    "translation": generated("translation_text"),
    "zero-shot-classification": record({"sequence": STRING, "labels": STRINGS, "scores": NUMBERS}),
    "image-classification": LABEL_SCORES,
    "image-segmentation": MASKS,
    "image-to-text": generated("generated_text"),
    "object-detection": DETECTIONS,
    "zero-shot-image-classification": LABEL_SCORES,
    "depth-estimation": record({"depth": PNG_BASE64, "predicted_depth": array(array(NUMBER))}),
    "mask-generation": MASKS,
    "zero-shot-object-detection": DETECTIONS,
    "visual-question-answering": array(record({"answer": STRING, "score": NUMBER}), 1),
    "document-question-answering": array(record({"answer": STRING, "score": NUMBER}, start=INTEGER, end=INTEGER), 1),
    "automatic-speech-recognition": record(
        {"text": STRING}, chunks=array(record({"text": STRING, "timestamp": {"type": "array"}}))
    ),
    "audio-to-audio": array(
        record(
            {
                "label": STRING,
                "blob": {**STRING, "contentEncoding": "base64"},
                "content-type": {**STRING, "pattern": "^audio/"},
            }
        ),
        1,
    ),
    "speech-segmentation": array(record({"class": STRING, "start": NUMBER, "end": NUMBER})),
    "audio-classification": LABEL_SCORES,
}

MEDIA_OUTPUT_TYPES: Dict[OutputKind, Tuple[str, ...]] = {
    OutputKind.IMAGE: tuple(media.IMAGE_MIME.values()),  # PNG by default
    OutputKind.AUDIO: tuple(dict.fromkeys(media.AUDIO_MIME.values())),  # FLAC by default
}


def output_content(spec: TaskSpec) -> Dict[str, Any]:
    """The content of a 200 answer of `spec`: JSON of the task's shape, or the media types Accept picks from."""
    if spec.output_kind in MEDIA_OUTPUT_TYPES:
        return {mime: {} for mime in MEDIA_OUTPUT_TYPES[spec.output_kind]}
    schema = JSON_OUTPUTS.get(spec.name, {})
    return {"application/json": {"schema": schema}}


# ------------------------------------------------------------------- requests

RAW_MEDIA = {InputKind.IMAGE: "image/*", InputKind.AUDIO: "audio/*"}


def _request_schemas(spec: TaskSpec) -> Tuple[Optional[Schema], Schema, Dict[str, Schema]]:
    """The JSON schemas of the inputs (None for media) and parameters, and the definitions they refer to."""
    adapters: List[Tuple[str, TypeAdapter]] = [
        ("parameters", TypeAdapter(spec.parameters)),
        ("options", TypeAdapter(Options)),  # defines the `Options` component
    ]
    if spec.inputs is not None:
        adapters.append(("inputs", spec.inputs))
    schemas, definitions = TypeAdapter.json_schemas(
        [(key, "validation", adapter) for key, adapter in adapters], ref_template="#/components/schemas/{model}"
    )
    by_key = {key: schema for (key, _), schema in schemas.items()}
    return by_key.get("inputs"), by_key["parameters"], definitions.get("$defs", {})


def resolve(schema: Schema, definitions: Dict[str, Schema]) -> Schema:
    """The definition a `$ref` schema points to (the schema itself otherwise)."""
    return definitions.get(schema.get("$ref", "").rsplit("/", 1)[-1], schema)


def _envelope(
    open_parameters: bool, key: str, inputs: Schema, parameters: Schema, definitions: Dict[str, Schema]
) -> Schema:
    """`{key: inputs, "parameters": {...}, "options": {...}}`.

    The parameters' fields are also accepted beside `inputs` (older Hub clients send them there).
    """
    model = resolve(parameters, definitions)
    legacy = {name: {**copy.deepcopy(field), "deprecated": True} for name, field in model.get("properties", {}).items()}
    envelope: Schema = {
        "type": "object",
        "required": [key] + (["parameters"] if model.get("required") else []),
        "properties": {**legacy, key: inputs, "parameters": parameters, "options": ref("Options")},
        "additionalProperties": open_parameters,
    }
    if open_parameters:
        envelope["description"] = "Parameters beyond those named pass to the model, which may refuse them (400)."
    return envelope


def _flat_envelope(
    spec: TaskSpec, inputs: Schema, parameters: Schema, definitions: Dict[str, Schema]
) -> Optional[Schema]:
    """Inputs whose main field travels as `inputs` and the others beside it: a tensor's base64
    `data` with its `shape` and `dtype`, an image (base64) with its `question`."""
    model = resolve(inputs, definitions)
    fields = model.get("properties", {})
    main = "data" if spec.input_kind == InputKind.TENSOR else "image" if "image" in fields else None
    if main is None:
        return None
    flat = _envelope(spec.open_parameters, "inputs", fields[main], parameters, definitions)
    flat["properties"].update({name: field for name, field in fields.items() if name != main})
    flat["required"] += [name for name in model.get("required", []) if name != main]
    if main == "image":  # InferenceClient sends the image twice: as `inputs` and beside the question
        flat["properties"]["image"] = fields[main]
    return flat


def request_body(spec: TaskSpec) -> Tuple[Schema, Dict[str, Schema]]:
    """The request body of `spec`'s inference route, and the schema definitions it refers to.

    A body without parameters (raw bytes or text, bare inputs) is offered only when the task
    requires none.
    """
    inputs, parameters, definitions = _request_schemas(spec)
    bare = not resolve(parameters, definitions).get("required")
    content: Dict[str, Any] = {}
    if inputs is None:  # image or audio: raw bytes, or base64 in JSON
        encoded = {"type": "string", "minLength": 1, "contentEncoding": "base64"}
        encoded["contentMediaType"] = RAW_MEDIA[spec.input_kind]
        keys = ("inputs", "image") if spec.input_kind == InputKind.IMAGE else ("inputs",)
        envelopes = [_envelope(spec.open_parameters, key, encoded, parameters, definitions) for key in keys]
        if bare:
            content[RAW_MEDIA[spec.input_kind]] = {}
            content["application/octet-stream"] = {}
        description = f"The {spec.input_kind.value}: raw bytes in any format the server decodes, or base64 in JSON."
    else:
        envelopes = [_envelope(spec.open_parameters, "inputs", inputs, parameters, definitions)]
        flat = _flat_envelope(spec, inputs, parameters, definitions)
        if flat is not None:
            envelopes.append(flat)
        if bare:
            envelopes.append(inputs)
        description = "The inputs in a JSON envelope" + (", or bare." if bare else ".")
        if spec.input_kind == InputKind.TEXT and bare:
            content["text/plain"] = {"schema": {"type": "string", "minLength": 1}}
            description += " Text tasks also take the raw text."
    content["application/json"] = {"schema": {"anyOf": envelopes} if len(envelopes) > 1 else envelopes[0]}
    description += " At most MAX_BODY_BYTES (413 above it)."
    return {"required": True, "description": description, "content": content}, definitions


# --------------------------------------------------------------------- errors

ERROR_SCHEMAS: Dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"anyOf": [STRING, STRINGS]}},
        "description": "What went wrong, safe to show (one message, or one per problem).",
    },
    "Unavailable": {
        "allOf": [ref("Error")],
        "properties": {"estimated_time": {**NUMBER, "minimum": 0}},
        "description": "The model is loading (`estimated_time`: seconds until it is ready), the queue is full, "
        "or the server is shutting down.",
    },
}

ERRORS: Dict[str, Tuple[str, str]] = {
    "400": (
        "Error",
        "Invalid inputs, parameters or options (the message names the field), or a task this image does not serve.",
    ),
    "406": ("Error", "`Accept` names no format the answer can take (JSON, or the media types of a media answer)."),
    "413": ("Error", "The body is larger than MAX_BODY_BYTES."),
    "500": ("Error", "The model failed to load (the cause is named) or inference failed (details in the log)."),
    "503": (
        "Unavailable",
        "The model is loading, the queue is full or the server is shutting down; retry after `Retry-After`.",
    ),
    "504": ("Error", "Inference took longer than REQUEST_TIMEOUT."),
}


def header(description: str, required: bool = True) -> Schema:
    return {"description": description, "required": required, "schema": STRING}


HEADERS: Dict[str, Schema] = {  # the usage figures are sent with 200 answers only
    answer_headers.HEADER_COMPUTE_TIME: header("Seconds spent answering."),
    answer_headers.HEADER_COMPUTE_TYPE: header("COMPUTE_TYPE of the server (cpu, gpu...)."),
    answer_headers.HEADER_CHARACTERS: header("Characters of text in the inputs (text tasks)."),
    answer_headers.HEADER_IMAGES: header("Images in the inputs (image tasks)."),
    answer_headers.HEADER_AUDIO_LENGTH: header("Seconds of audio in the inputs (audio tasks)."),
    "Retry-After": header("Seconds to wait before retrying (absent while shutting down).", required=False),
}
USAGE_HEADER = {
    InputKind.IMAGE: answer_headers.HEADER_IMAGES,
    InputKind.AUDIO: answer_headers.HEADER_AUDIO_LENGTH,
    InputKind.TEXT: answer_headers.HEADER_CHARACTERS,
    InputKind.STRUCTURED: answer_headers.HEADER_CHARACTERS,
    InputKind.TABULAR: answer_headers.HEADER_CHARACTERS,
}


def header_refs(*names: str) -> Dict[str, Schema]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def error_responses() -> Dict[str, Any]:
    """The error answers of the inference route."""
    responses = {}
    for status, (schema, description) in ERRORS.items():
        headers = header_refs(answer_headers.HEADER_COMPUTE_TYPE, answer_headers.HEADER_COMPUTE_TIME)
        if status == "503":
            headers.update(header_refs("Retry-After"))
        responses[status] = {
            "description": description,
            "headers": headers,
            "content": {"application/json": {"schema": ref(schema)}},
        }
    return responses


# ----------------------------------------------------------------- operations


def json_answer(description: str, schema: Schema) -> Dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NULLABLE_STRING: Schema = {"anyOf": [STRING, {"type": "null"}]}
READINESS = record(
    {"model_id": STRING, "task": STRING, "status": {"enum": [state.value for state in ModelState]}},
    estimated_time=NUMBER,
    error=NULLABLE_STRING,
)
INFO = record(
    {
        "model_id": STRING,
        "task": STRING,
        "tasks": STRINGS,
        "state": STRING,
        "batching": {"type": "boolean"},
        "max_batch_size": INTEGER,
        "backend": STRING,
        "compute_type": STRING,
    }
)


def operations() -> Dict[str, Any]:
    """The reserved paths: liveness, readiness, metrics, info and this document."""

    def get(operation_id: str, summary: str, responses: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "get": {"operationId": operation_id, "summary": summary, "tags": ["operations"], "responses": responses}
        }

    return {
        "/health": get(
            "health",
            "Liveness: 200 while the process can serve.",
            {
                "200": json_answer("Alive.", record({"status": {"const": "alive"}})),
                "503": json_answer(
                    "The inference worker died: restart the process.",
                    record({"status": {"const": ModelState.DEAD.value}}, error=NULLABLE_STRING),
                ),
            },
        ),
        "/ready": get(
            "ready",
            "Readiness: 200 once the model is loaded.",
            {
                "200": json_answer("The model is loaded.", READINESS),
                "503": json_answer("Loading (with `estimated_time`), or failed or dead (with `error`).", READINESS),
            },
        ),
        "/metrics": get(
            "metrics",
            "Prometheus metrics.",
            {
                "200": {
                    "description": "Prometheus text exposition format.",
                    "content": {"text/plain": {"schema": STRING}},
                }
            },
        ),
        "/info": get("info", "The model, the task and how it is served.", {"200": json_answer("Served model.", INFO)}),
        "/openapi.json": get("openapi", "This document.", {"200": json_answer("OpenAPI 3.1.", {"type": "object"})}),
    }


def inference_operation(spec: Optional[TaskSpec]) -> Tuple[Dict[str, Any], Dict[str, Schema]]:
    """`POST /` (any path that is not reserved does the same), and the schema definitions it refers to."""
    operation: Dict[str, Any] = {
        "operationId": "inference",
        "tags": ["inference"],
        "parameters": [
            {
                "name": "x-wait-for-model",
                "in": "header",
                "required": False,
                "description": "`true`, `1` or `yes`: wait while the model loads instead of a 503.",
                "schema": STRING,
            }
        ],
        "responses": error_responses(),
    }
    if spec is None:
        operation["summary"] = "No task is served: every request is a 400."
        operation["requestBody"] = {"content": {"application/octet-stream": {}}}
        return operation, {}
    operation["summary"] = f"Run {spec.name}."
    operation["requestBody"], definitions = request_body(spec)
    usage = USAGE_HEADER.get(spec.input_kind)
    headers = header_refs(
        answer_headers.HEADER_COMPUTE_TYPE, answer_headers.HEADER_COMPUTE_TIME, *([usage] if usage else [])
    )
    description = "The answer, in the shape of the task's specification."
    if spec.output_kind in MEDIA_OUTPUT_TYPES:
        description = "The answer, in the format `Accept` picks (the first listed by default)."
    answer = {"description": description, "headers": headers, "content": output_content(spec)}
    operation["responses"] = {"200": answer, **operation["responses"]}
    return operation, definitions


def openapi_document(spec: Optional[TaskSpec], settings: Settings) -> Dict[str, Any]:
    """The OpenAPI 3.1 document of a server of `spec` (None: no task served): inference and the reserved paths."""
    inference, definitions = inference_operation(spec)
    task = spec.name if spec else "none"
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"api-inference-community: {task}",
            "version": __version__,
            "description": f"Model `{settings.model_id}` serving `{task}`, compatible with the Hugging Face "
            "Inference API. `POST` on any path that is not reserved runs inference; `GET` on it answers "
            f'{{"ok": "ok"}}. At most {settings.max_inputs} inputs per request (MAX_INPUTS).',
        },
        "paths": {
            "/": {
                "get": {
                    "operationId": "status",
                    "summary": "Up as soon as the process is.",
                    "tags": ["operations"],
                    "responses": {"200": json_answer("Up.", record({"ok": {"const": "ok"}}))},
                },
                "post": inference,
            },
            **operations(),
        },
        "components": {
            "schemas": {**definitions, **ERROR_SCHEMAS},
            "headers": HEADERS,
        },
    }


async def openapi_endpoint(request: Request) -> Response:
    """`GET /openapi.json`: the document of the served task, built once per app."""
    state = request.app.state
    body = getattr(state, "openapi_document", None)
    if body is None:
        service: Service = state.service
        body = dumps(openapi_document(service.spec, service.settings))
        state.openapi_document = body
    return Response(body, media_type="application/json")
