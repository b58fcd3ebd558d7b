"""Upstream parity: text payloads through `validation.normalize_payload_nlp`, as upstream apps see them.

What it accepts comes back exactly as sent; what upstream's checks refuse raises pydantic's own
ValidationError; a body that is not UTF-8 raises UnicodeDecodeError; a task without text inputs
raises ValueError.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import pytest
from pydantic import ValidationError

from api_inference_community.validation import (
    check_inputs,
    check_params,
    normalize_payload,
    normalize_payload_nlp,
)

TABLE = {"City": ["Paris", "Rome", "Oslo"], "Population": ["2100000", "2800000", "700000"]}
RAGGED = {"City": ["Paris", "Rome", "Oslo"], "Population": ["2100000", "2800000"]}


def body(inputs: Any, parameters: Dict[str, Any] | None = None) -> bytes:
    document: Dict[str, Any] = {"inputs": inputs}
    if parameters is not None:
        document["parameters"] = parameters
    return json.dumps(document).encode()


ACCEPTED = [
    ("question-answering", {"question": "Where?", "context": "Here."}, None),
    ("sentence-similarity", {"source_sentence": "a cat", "sentences": ["a dog", "a car"]}, None),
    ("conversational", {"text": "And then?", "past_user_inputs": ["Hi"], "generated_responses": ["Hello"]}, None),
    ("table-question-answering", {"query": "Largest city?", "table": TABLE}, None),
    ("tabular-classification", {"data": TABLE}, None),
    ("tabular-regression", {"data": TABLE}, None),
    ("summarization", "a long text", None),
    ("summarization", "a long text", {"min_length": 10}),
    ("summarization", "a long text", {"max_length": 10}),
    ("zero-shot-classification", "I love it", {"candidate_labels": "happy"}),
    ("zero-shot-classification", "I love it", {"candidate_labels": ["happy", "sad"]}),
    ("zero-shot-classification", "I love it", {"candidate_labels": "happy", "multi_label": True}),
    ("fill-mask", "Paris is the [MASK] of France.", None),
    ("fill-mask", "Paris is the [MASK] of France.", {"top_k": 10}),
    ("feature-extraction", "one sentence", None),
    ("feature-extraction", ["two", "sentences"], None),
    ("text-classification", "great film", None),
    ("token-classification", "Ada lives in London", None),
    ("translation", "good morning", None),
    ("text-to-image", "a red bicycle", None),
    ("text-to-image", "", None),  # an empty prompt is a prompt
    ("text-to-speech", "hello", None),
]

GENERATION_ACCEPTED = [
    {"max_new_tokens": 10},
    {"top_k": 5},
    {"top_p": 0.5},
    {"max_time": 20.0},
    {"repetition_penalty": 50.0},
    {"temperature": 10.0},
    {"return_full_text": True},
    {"num_return_sequences": 2},
    {"min_length": 1, "max_length": 500},
    {"custom_knob": "passed through"},  # parameters outside the checks go to the pipeline
]

GENERATION_REFUSED = [
    {"min_length": 1000},
    {"min_length": 0},
    {"min_length": "invalid"},
    {"min_length": 2.0},  # integers only, no coercion
    {"max_length": 1000},
    {"max_length": 0},
    {"max_length": "invalid"},
    {"min_length": 20, "max_length": 10},
    {"top_k": 0},
    {"top_k": "invalid"},
    {"top_p": -0.1},
    {"top_p": 2.1},
    {"top_p": "invalid"},
    {"max_time": -0.1},
    {"max_time": 120.1},
    {"max_time": "invalid"},
    {"repetition_penalty": -0.1},
    {"repetition_penalty": 200.1},
    {"repetition_penalty": "invalid"},
    {"temperature": -0.1},
    {"temperature": 200.1},
    {"temperature": "invalid"},
    {"return_full_text": "invalid"},
    {"num_return_sequences": -1},
    {"num_return_sequences": 100},
]

REFUSED = [
    ("question-answering", {"question": "Where?"}, None),
    ("sentence-similarity", {"source_sentence": "a cat"}, None),
    ("table-question-answering", {"query": "Largest city?", "table": RAGGED}, None),
    ("table-question-answering", {"query": "Largest city?", "table": "not a table"}, None),
    ("table-question-answering", {"query": {"not": "a query"}, "table": TABLE}, None),
    ("table-question-answering", {"query": "Largest city?"}, None),
    ("table-question-answering", {"table": TABLE}, None),
    ("tabular-classification", {"data": RAGGED}, None),
    ("tabular-regression", {"data": "not a table"}, None),
    ("summarization", "a long text", {"min_length": -1}),
    ("summarization", "a long text", {"min_length": 1000}),
    ("summarization", "a long text", {"min_length": "invalid"}),
    ("summarization", "a long text", {"max_length": -1}),
    ("summarization", "a long text", {"max_length": 1000}),
    ("summarization", "a long text", {"max_length": "invalid"}),
    ("summarization", "a long text", {"min_length": 20, "max_length": 10}),
    ("zero-shot-classification", "I love it", {"candidate_labels": []}),
    ("zero-shot-classification", "I love it", None),
    ("zero-shot-classification", "I love it", {"candidate_labels": "happy", "multi_label": "wrong type"}),
    ("fill-mask", "Paris is the [MASK] of France.", {"top_k": 0}),
    ("fill-mask", "Paris is the [MASK] of France.", {"top_k": "wrong type"}),
    ("text-classification", {"not": "text"}, None),
]


@pytest.mark.parametrize("task, inputs, parameters", ACCEPTED)
def test_accepted_payloads_come_back_as_sent(task, inputs, parameters):
    assert normalize_payload_nlp(body(inputs, parameters), task) == (inputs, parameters or {})


@pytest.mark.parametrize("task", ["text-generation", "text2text-generation"])
@pytest.mark.parametrize("parameters", GENERATION_ACCEPTED, ids=str)
def test_generation_parameters_accepted(task, parameters):
    assert normalize_payload_nlp(body("Once upon a time", parameters), task) == ("Once upon a time", parameters)


@pytest.mark.parametrize("task", ["text-generation", "text2text-generation"])
@pytest.mark.parametrize("parameters", GENERATION_REFUSED, ids=str)
def test_generation_parameters_refused_with_a_validation_error(task, parameters):
    with pytest.raises(ValidationError):
        normalize_payload_nlp(body("Once upon a time", parameters), task)


@pytest.mark.parametrize("task, inputs, parameters", REFUSED)
def test_refused_payloads_raise_a_validation_error(task, inputs, parameters):
    with pytest.raises(ValidationError):
        normalize_payload_nlp(body(inputs, parameters), task)


def test_min_length_above_max_length_names_the_rule():
    with pytest.raises(ValidationError, match="min_length cannot be larger than max_length"):
        normalize_payload_nlp(body("text", {"min_length": 20, "max_length": 10}), "summarization")


@pytest.mark.parametrize("inputs", [["fine", [1, 2, 3]], []], ids=["nested-list", "empty-list"])
def test_feature_extraction_refuses_bad_lists_with_a_value_error(inputs):
    with pytest.raises(ValueError):
        normalize_payload_nlp(body(inputs), "feature-extraction")


def test_raw_text_is_the_input():
    assert normalize_payload_nlp(b"funny cats", "translation") == ("funny cats", {})
    assert normalize_payload_nlp(b"", "text-to-image") == ("", {})


def test_numbers_become_text():
    assert normalize_payload_nlp(b"12", "text-classification") == ("12", {})
    assert normalize_payload_nlp(b"1.5", "fill-mask") == ("1.5", {})
    with pytest.raises(ValidationError):  # only a bare number is text; under `inputs` it is refused
        normalize_payload_nlp(body(12), "text-classification")


def test_a_body_that_is_not_utf8_raises_unicode_decode_error():
    with pytest.raises(UnicodeDecodeError):
        normalize_payload_nlp(b"\xc3\x28", "question-answering")


def test_a_task_without_text_inputs_is_a_value_error():
    with pytest.raises(ValueError, match="invalid-tag is not a valid pipeline"):
        normalize_payload_nlp(b"funny cats", "invalid-tag")
    with pytest.raises(OSError, match="not recognized"):  # the dispatcher says it differently
        normalize_payload(b"funny cats", "invalid-tag")


def test_parameters_must_be_an_object_for_unchecked_tasks():
    with pytest.raises(ValueError, match="`parameters` must be a JSON object"):
        normalize_payload_nlp(b'{"inputs": "x", "parameters": [1]}', "text-classification")
    with pytest.raises(ValidationError):  # checked tasks refuse it through their checks
        normalize_payload_nlp(b'{"inputs": "x", "parameters": [1]}', "fill-mask")


def test_check_helpers():
    assert check_params({"anything": 1}, "text-classification") is True
    assert check_inputs("text", "translation") is True
    with pytest.raises(ValidationError):
        check_params({"top_k": 0}, "fill-mask")
    with pytest.raises(ValueError):
        check_inputs("text", "image-classification")
