"""GET /openapi.json: the served task's contract as a valid OpenAPI 3.1 document that matches the server."""

from __future__ import annotations

import base64
import functools
import io
import json
from typing import Any, Dict, Tuple

import jsonschema
import numpy as np
import pytest
from fakes import Classifier, Features, ImageLabels, Painter, Speaker, serving
from openapi_spec_validator import validate
from PIL import Image

from api_inference_community import media
from api_inference_community.errors import InvalidInput, ModelLoading, Overloaded
from api_inference_community.http import openapi
from api_inference_community.runtime.settings import Settings
from api_inference_community.tasks.registry import TASKS, InputKind, OutputKind, TaskSpec
from api_inference_community.tasks.validation import Limits, parse_payload
from api_inference_community.testing.examples import BUILDERS, Example, image_bytes, picture, valid_examples
from api_inference_community.testing.output_checks import CHECKS

APP_TASKS = {
    "feature-extraction": Features,
    "text-classification": Classifier,
    "image-classification": ImageLabels,
    "text-to-speech": Speaker,
    "text-to-image": Painter,
}


def document_of(spec: TaskSpec) -> Dict[str, Any]:
    return built_document(spec.name)


@functools.cache
def built_document(task: str) -> Dict[str, Any]:
    return openapi.openapi_document(TASKS[task], Settings(model_id="org/model", task=task))


def validator(document: Dict[str, Any], schema: Dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator of `schema` whose `#/components/...` references resolve in `document`."""
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def inference(document: Dict[str, Any]) -> Dict[str, Any]:
    return document["paths"]["/"]["post"]


def examples_of(task: str) -> Tuple[Example, ...]:
    if task not in BUILDERS:
        pytest.skip(f"testing.examples has no valid requests of {task} yet")
    return valid_examples(task)


def json_request_schema(document: Dict[str, Any]) -> Dict[str, Any]:
    return inference(document)["requestBody"]["content"]["application/json"]["schema"]


@pytest.mark.parametrize("task", sorted(TASKS))
def test_the_document_of_every_task_is_valid_openapi_31(task):
    document = document_of(TASKS[task])
    validate(document)  # raises on an invalid document
    assert document["openapi"].startswith("3.1")
    assert json.loads(json.dumps(document)) == document  # plain JSON, no Python objects left
    assert task in document["info"]["title"]


def test_the_document_without_a_served_task_is_valid():
    document = openapi.openapi_document(None, Settings(task="no-such-task"))
    validate(document)
    assert set(inference(document)["responses"]) >= {"400"}


@pytest.fixture(scope="module")
def features_app(tmp_path_factory):
    with serving(APP_TASKS, "feature-extraction", tmp_path_factory.mktemp("m")) as client:
        yield client


def test_the_app_serves_its_document_built_once(features_app, monkeypatch):
    calls = []
    build = openapi.openapi_document

    def counting(*args: Any) -> Dict[str, Any]:
        calls.append(args)
        return build(*args)

    monkeypatch.setattr(openapi, "openapi_document", counting)
    features_app.app.state.openapi_document = None  # as a fresh app
    first = features_app.get("/openapi.json")
    second = features_app.get("/openapi.json")
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    assert first.content == second.content
    assert len(calls) == 1
    document = first.json()
    validate(document)
    service = features_app.app.state.service
    assert document == json.loads(json.dumps(build(service.spec, service.settings)))


def test_the_reserved_paths_answer_as_documented(features_app):
    document = features_app.get("/openapi.json").json()
    assert {"/", "/health", "/ready", "/metrics", "/info", "/openapi.json"} <= set(document["paths"])
    for path in ("/", "/health", "/ready", "/info", "/openapi.json"):
        response = features_app.get(path)
        schema = document["paths"][path]["get"]["responses"][str(response.status_code)]
        validator(document, schema["content"]["application/json"]["schema"]).validate(response.json())
    metrics = features_app.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "text/plain" in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]


def test_an_answer_and_its_errors_match_the_document(features_app):
    document = features_app.get("/openapi.json").json()
    responses = inference(document)["responses"]
    ok = features_app.post("/", json={"inputs": ["a", "bb"]})
    validator(document, responses["200"]["content"]["application/json"]["schema"]).validate(ok.json())
    assert set(responses["200"]["headers"]) == {"x-compute-type", "x-compute-time", "x-compute-characters"}
    assert all(name in ok.headers for name in responses["200"]["headers"])
    bad = features_app.post("/", json={"inputs": "a", "parameters": {"top-k": 2}})
    assert bad.status_code == 400
    validator(document, responses["400"]["content"]["application/json"]["schema"]).validate(bad.json())


@pytest.mark.parametrize("task", sorted(TASKS))
def test_valid_requests_match_the_request_schema(task):
    requests = examples_of(task)
    document = document_of(TASKS[task])
    content = inference(document)["requestBody"]["content"]
    check = validator(document, json_request_schema(document))
    for example in requests:
        if example.content_type == "application/json":
            check.validate(json.loads(example.body))
        else:  # raw media: offered as e.g. image/* when the task needs no parameters
            kind = example.content_type.split("/")[0]
            assert f"{kind}/*" in content and "application/octet-stream" in content


@pytest.mark.parametrize("task", sorted(TASKS))
def test_unknown_parameters_are_refused_by_the_schema_exactly_when_the_server_refuses_them(task):
    spec = TASKS[task]
    document = document_of(spec)
    check = validator(document, json_request_schema(document))
    body = json.loads(next(e for e in examples_of(task) if e.content_type == "application/json").body)
    body["parameters"] = {**body.get("parameters", {}), "no_such_parameter": 1}
    assert check.is_valid(body) == spec.open_parameters
    parameters_schema = document["components"]["schemas"][spec.parameters.__name__]
    assert parameters_schema["additionalProperties"] is spec.open_parameters
    raw = json.dumps(body).encode()
    if spec.open_parameters:
        assert parse_payload(raw, spec, Limits(sampling_rate=16000)).parameters["no_such_parameter"] == 1
    else:
        with pytest.raises(InvalidInput, match="no_such_parameter"):
            parse_payload(raw, spec, Limits(sampling_rate=16000))


def test_required_parameters_rule_out_bodies_without_them():
    document = document_of(TASKS["zero-shot-classification"])
    check = validator(document, json_request_schema(document))
    assert not check.is_valid("a text")
    assert not check.is_valid({"inputs": "a text"})
    assert check.is_valid({"inputs": "a text", "parameters": {"candidate_labels": ["a", "b"]}})
    assert "text/plain" not in inference(document)["requestBody"]["content"]
    image_document = document_of(TASKS["zero-shot-image-classification"])
    assert list(inference(image_document)["requestBody"]["content"]) == ["application/json"]


def test_legacy_top_level_parameters_are_described():
    document = document_of(TASKS["text-classification"])
    check = validator(document, json_request_schema(document))
    assert check.is_valid({"inputs": "a text", "top_k": 1})
    assert not check.is_valid({"inputs": "a text", "top_k": 0})
    assert not check.is_valid({"inputs": "a text", "top-k": 1})
    assert parse_payload(b'{"inputs": "a text", "top_k": 1}', TASKS["text-classification"]).parameters == {"top_k": 1}


def test_media_bodies_raw_and_base64():
    document = document_of(TASKS["image-classification"])
    content = inference(document)["requestBody"]["content"]
    assert {"image/*", "application/octet-stream", "application/json"} == set(content)
    check = validator(document, content["application/json"]["schema"])
    encoded = base64.b64encode(image_bytes(picture())).decode()
    assert check.is_valid({"inputs": encoded, "parameters": {"top_k": 2}})
    assert check.is_valid({"image": encoded})
    assert not check.is_valid({"inputs": ""})
    audio = inference(document_of(TASKS["automatic-speech-recognition"]))["requestBody"]["content"]
    assert {"audio/*", "application/octet-stream", "application/json"} == set(audio)
    tensor = document_of(TASKS["latent-to-image"])
    check_tensor = validator(tensor, json_request_schema(tensor))
    assert check_tensor.is_valid({"inputs": "AAAAAA==", "shape": [1], "dtype": "float32"})
    assert check_tensor.is_valid({"inputs": {"data": "AAAAAA==", "shape": [1], "dtype": "float32"}})
    assert not check_tensor.is_valid({"inputs": "AAAAAA==", "shape": [1], "dtype": "float31"})
    vqa = document_of(TASKS["visual-question-answering"])  # InferenceClient sends the question beside the image
    check_vqa = validator(vqa, json_request_schema(vqa))
    assert check_vqa.is_valid({"inputs": encoded, "question": "How many?"})
    assert check_vqa.is_valid({"inputs": {"image": encoded, "question": "How many?"}})
    assert not check_vqa.is_valid({"inputs": encoded})


# ------------------------------------------------------------------ answers

MASK = base64.b64encode(image_bytes(picture("L"))).decode()  # of picture()'s size
ANSWERS: Dict[str, Tuple[Any, Any, Dict[str, Any]]] = {  # task: (output, inputs, parameters), each accepted by CHECKS
    "conversational": (
        {"generated_text": "Hi", "conversation": {"past_user_inputs": ["Hello"], "generated_responses": ["Hi"]}},
        {"text": "Hello"},
        {},
    ),
    "feature-extraction": ([[0.1, 0.2], [[0.3, 0.4], [0.5, 0.6]]], ["a", "b"], {}),
    "question-answering": (
        {"answer": "Sarah", "score": 0.9, "start": 11, "end": 16},
        {"question": "Who?", "context": "My name is Sarah"},
        {},
    ),
    "sentence-similarity": ([0.5, 0.1], {"source_sentence": "a", "sentences": ["b", "c"]}, {}),
    "fill-mask": ([{"sequence": "a b", "score": 0.5, "token": 3, "token_str": "b"}], "a [MASK]", {}),
    "table-question-answering": (
        {"answer": "1", "coordinates": [[0, 1]], "cells": ["1"], "aggregator": "NONE"},
        {"query": "q", "table": {"a": ["1"]}},
        {},
    ),
    "tabular-classification": (["yes", 1], {"data": {"a": [1, 2]}}, {}),
    "tabular-regression": ([1.5, 2], {"data": {"a": [1, 2]}}, {}),
    "summarization": ([{"summary_text": "short"}], "long text", {}),
    "text-generation": ([{"generated_text": "Once upon"}], "Once", {}),
    "text2text-generation": ([{"generated_text": "Hallo"}], "Hello", {}),
    "text-classification": ([{"label": "POSITIVE", "score": 0.9}, {"label": "NEGATIVE", "score": 0.1}], "Good", {}),
    "token-classification": (
        [{"entity_group": "PER", "score": 0.9, "word": "Sarah", "start": 11, "end": 16}],
        "My name is Sarah",
        {},
    ),
    "translation": ([{"translation_text": "Bonjour"}], "Hello", {}),
    "zero-shot-classification": (
        {"sequence": "text", "labels": ["a", "b"], "scores": [0.7, 0.3]},
        "text",
        {"candidate_labels": ["a", "b"]},
    ),
    "image-classification": ([{"label": "cat", "score": 0.8}], None, {}),
    "image-segmentation": ([{"label": "cat", "score": None, "mask": MASK}], picture(), {}),
    "image-to-text": ([{"generated_text": "a cat"}], None, {}),
    "object-detection": (
        [{"label": "cat", "score": 0.9, "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}}],
        None,
        {},
    ),
    "zero-shot-image-classification": (
        [{"label": "cat", "score": 0.6}, {"label": "dog", "score": 0.4}],
        None,
        {"candidate_labels": ["cat", "dog"]},
    ),
    "depth-estimation": ({"depth": MASK, "predicted_depth": [[0.5, 1.0], [2.0, 3.5]]}, None, {}),
    "mask-generation": ([{"label": "", "score": 0.9, "mask": MASK}], picture(), {}),
    "zero-shot-object-detection": (
        [{"label": "cat", "score": 0.9, "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}}],
        None,
        {"candidate_labels": ["cat"]},
    ),
    "visual-question-answering": ([{"answer": "two", "score": 0.8}], None, {}),
    "document-question-answering": ([{"answer": "42", "score": 0.8, "start": 3, "end": 3}], None, {}),
    "automatic-speech-recognition": (
        {"text": "hello", "chunks": [{"text": "hello", "timestamp": [0.0, 0.5]}]},
        None,
        {},
    ),
    "audio-to-audio": (
        [
            {
                "label": "speech",
                "blob": base64.b64encode(media.encode_audio(np.zeros(800, np.float32), 16000, "wav")).decode(),
                "content-type": "audio/wav",
            }
        ],
        None,
        {},
    ),
    "speech-segmentation": ([{"class": "speech", "start": 0.0, "end": 1.5}], None, {}),
    "audio-classification": ([{"label": "dog", "score": 1.0}], None, {}),
}
WRONG_ANSWER = {"unexpected": "shape"}


def answer_content(task: str) -> Dict[str, Any]:
    return inference(document_of(TASKS[task]))["responses"]["200"]["content"]


@pytest.mark.parametrize(
    "task", sorted(t for t, spec in TASKS.items() if spec.output_kind not in openapi.MEDIA_OUTPUT_TYPES)
)
def test_json_answer_schemas_agree_with_the_output_checks(task):
    assert task in openapi.JSON_OUTPUTS, f"describe the answer of {task} in http/openapi.py"
    output, inputs, parameters = ANSWERS[task]
    schema = answer_content(task)["application/json"]["schema"]
    jsonschema.Draft202012Validator(schema).validate(output)
    assert not jsonschema.Draft202012Validator(schema).is_valid(WRONG_ANSWER)
    if task in CHECKS:  # what the output checks accept, the document accepts, and the reverse for a wrong shape
        CHECKS[task](output, inputs, parameters)
        with pytest.raises(AssertionError):
            CHECKS[task](WRONG_ANSWER, inputs, parameters)


@pytest.mark.parametrize(
    "task", sorted(t for t, spec in TASKS.items() if spec.output_kind in openapi.MEDIA_OUTPUT_TYPES)
)
def test_media_answers_offer_what_accept_negotiates(task):
    spec = TASKS[task]
    expected = media.IMAGE_MIME if spec.output_kind == OutputKind.IMAGE else media.AUDIO_MIME
    assert list(answer_content(task)) == list(dict.fromkeys(expected.values()))


def test_a_json_answer_refuses_an_accept_without_json(features_app):
    document = features_app.get("/openapi.json").json()
    refused = features_app.post("/", json={"inputs": "a"}, headers={"accept": "image/png"})
    assert refused.status_code == 406
    schema = inference(document)["responses"]["406"]["content"]["application/json"]["schema"]
    validator(document, schema).validate(refused.json())


@pytest.mark.parametrize("task", sorted(TASKS))
def test_errors_are_documented_with_their_json_schema(task):
    document = document_of(TASKS[task])
    responses = inference(document)["responses"]
    assert {"400", "406", "413", "500", "503", "504"} <= set(responses)
    assert "Retry-After" in responses["503"]["headers"]

    def check(status: str, body: Dict[str, Any]) -> None:
        validator(document, responses[status]["content"]["application/json"]["schema"]).validate(body)

    check("400", InvalidInput("`inputs`: bad").body())
    check("400", InvalidInput(["`inputs[0]`: bad", "`inputs[1]`: bad"]).body())
    check("503", ModelLoading("org/model", 12.5).body())
    check("503", Overloaded("queue full").body())
    with pytest.raises(jsonschema.ValidationError):
        check("400", {"detail": "not our shape"})
    with pytest.raises(jsonschema.ValidationError):
        check("503", {"error": "loading", "estimated_time": "soon"})


def test_usage_header_per_input_kind():
    for task, spec in TASKS.items():
        headers = inference(document_of(spec))["responses"]["200"]["headers"]
        usage = {name for name in headers if name not in ("x-compute-type", "x-compute-time")}
        expected = {InputKind.IMAGE: {"x-compute-images"}, InputKind.AUDIO: {"x-compute-audio-length"}}.get(
            spec.input_kind, set() if spec.input_kind == InputKind.TENSOR else {"x-compute-characters"}
        )
        assert usage == expected, task


def test_a_media_answer_is_negotiated_as_documented(tmp_path):
    with serving(APP_TASKS, "text-to-image", tmp_path) as client:
        document = client.get("/openapi.json").json()
        answers = inference(document)["responses"]
        jpeg = client.post("/", json={"inputs": "red"}, headers={"accept": "image/jpeg"})
        assert jpeg.headers["content-type"] in answers["200"]["content"]
        assert Image.open(io.BytesIO(jpeg.content)).format == "JPEG"
        refused = client.post("/", json={"inputs": "red"}, headers={"accept": "text/html"})
        assert refused.status_code == 406
        validator(document, answers["406"]["content"]["application/json"]["schema"]).validate(refused.json())
