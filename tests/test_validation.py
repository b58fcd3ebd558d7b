"""Tests for api_inference_community.validation: request bodies -> validated payloads."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from api_inference_community import media
from api_inference_community.errors import InvalidInput
from api_inference_community.tasks.registry import TASKS, get_task
from api_inference_community.tasks.validation import Limits, Options, Payload, decode_tensor, normalize, parse_payload
from api_inference_community.validation import (
    ffmpeg_convert,
    ffmpeg_read,
    normalize_payload,
    normalize_payload_audio,
    normalize_payload_image,
    normalize_payload_nlp,
)

SR = 16000


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def encode(document: Any) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document).encode()


def parse(document: Any, task: str, **limits: Any) -> Payload:
    return parse_payload(encode(document), get_task(task), Limits(**limits))


def rejects(document: Any, task: str, *fragments: str, **limits: Any) -> str:
    """Assert the body is a 400 whose message holds every fragment; return the message."""
    with pytest.raises(InvalidInput) as info:
        parse(document, task, **limits)
    error = info.value
    assert error.status_code == 400
    assert isinstance(error, ValueError)
    message = str(error)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def image_bytes(fmt: str = "PNG", size=(8, 6), mode: str = "RGB") -> bytes:
    color = (10, 200, 30) if mode == "RGB" else 128
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def sine(seconds: float = 0.5, rate: int = SR, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def png() -> bytes:
    return image_bytes("PNG")


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return image_bytes("JPEG", size=(16, 12))


@pytest.fixture(scope="module")
def wav() -> bytes:
    return media.encode_audio(sine(0.5), SR, "wav")


@pytest.fixture(scope="module")
def flac() -> bytes:
    return media.encode_audio(sine(0.25), SR, "flac")


DEFAULT_OPTIONS = Options()
TEXT_TASKS = [name for name, spec in TASKS.items() if spec.input_kind.value == "text"]


# --------------------------------------------------------------------------
# Body shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", TEXT_TASKS)
def test_full_shape_every_text_task(task):
    parameters = {"candidate_labels": ["a", "b"]} if task == "zero-shot-classification" else {}
    payload = parse({"inputs": "Hello", "parameters": parameters, "options": {"wait_for_model": True}}, task)
    assert payload.inputs == "Hello"
    assert payload.parameters == parameters
    assert payload.options.wait_for_model is True
    assert payload.options.use_cache is True


@pytest.mark.parametrize(
    "body, expected",
    [
        (b'"Hello"', "Hello"),
        (b"Hello world", "Hello world"),  # raw text, not JSON
        (b"  spaced \n", "  spaced \n"),
        ("Grüße €".encode(), "Grüße €"),
        (b'["x", "y"', '["x", "y"'),  # malformed JSON that is not an object is raw text
        (b"42", "42"),  # numbers are text (upstream)
        (b"-4.5", "-4.5"),
        (b'{"inputs": 7}', "7"),
        (b'{"inputs": 0.25}', "0.25"),
    ],
)
def test_text_body_forms(body, expected):
    payload = parse(body, "text-classification")
    assert payload.inputs == expected
    assert payload.parameters == {}
    assert payload.options == DEFAULT_OPTIONS


def test_bare_json_list_for_batch_task():
    assert parse(b'["a", "b"]', "feature-extraction").inputs == ["a", "b"]


@pytest.mark.parametrize(
    "body, fragments",
    [
        (b"true", ["`inputs`", "valid string"]),  # booleans are not numbers
        (b"null", ["`inputs`", "valid string"]),
        (b"", ["`inputs`", "at least 1 character"]),
        (b'""', ["`inputs`", "at least 1 character"]),
        (b"{}", ["`inputs`", "valid string"]),
        (b'{"inputs": null}', ["`inputs`", "valid string"]),
        (b'{"inputs": ["a"]}', ["`inputs`", "valid string"]),
        (b'{"inputs": {"text": "a"}}', ["`inputs`", "valid string"]),
        (b'{"parameters": {"top_k": 1}}', ["`inputs`"]),  # no inputs at all
    ],
)
def test_text_body_rejected(body, fragments):
    rejects(body, "text-classification", *fragments)


def test_none_parameters_and_options_are_empty():
    payload = parse({"inputs": "x", "parameters": None, "options": None}, "text-classification")
    assert payload.parameters == {}
    assert payload.options == DEFAULT_OPTIONS


@pytest.mark.parametrize("value", [[1], "top_k=2", 3, True])
def test_parameters_not_an_object(value):
    rejects({"inputs": "x", "parameters": value}, "text-classification", "`parameters` must be a JSON object")


@pytest.mark.parametrize("value", [[1], "wait", 3])
def test_options_not_an_object(value):
    rejects({"inputs": "x", "options": value}, "text-classification", "`options` must be a JSON object")


def test_top_level_keys_are_parameters():
    payload = parse({"inputs": "x", "normalize": True}, "feature-extraction")
    assert payload.parameters == {"normalize": True}


def test_parameters_win_over_top_level_keys():
    body = {"inputs": "x", "normalize": True, "truncate": True, "parameters": {"normalize": False}}
    assert parse(body, "feature-extraction").parameters == {"normalize": False, "truncate": True}


def test_top_level_keys_are_validated_like_parameters():
    rejects({"inputs": "x", "bogus": 1}, "feature-extraction", "`parameters.bogus`", "unknown parameter")
    rejects({"inputs": "x", "normalize": "yes"}, "feature-extraction", "`parameters.normalize`")


def test_options_are_not_parameters():
    payload = parse({"inputs": "x", "options": {"use_cache": False}}, "text-classification")
    assert payload.parameters == {}
    assert payload.options.use_cache is False


def test_none_parameters_are_dropped():
    assert parse({"inputs": "x", "parameters": {"top_k": None}}, "text-classification").parameters == {}
    assert parse({"inputs": "x", "parameters": {"foo": None}}, "text-generation").parameters == {}


def test_normalize_by_task_name():
    assert normalize(b'{"inputs": "x"}', "fill-mask").inputs == "x"
    with pytest.raises(KeyError):
        normalize(b'{"inputs": "x"}', "no-such-task")


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, wait, cache",
    [
        ({}, False, True),
        ({"wait_for_model": True}, True, True),
        ({"wait_for_model": False, "use_cache": False}, False, False),
        ({"use_cache": False, "unknown_option": 1}, False, False),  # unknown options are ignored
    ],
)
def test_options_parsing(options, wait, cache):
    payload = parse({"inputs": "x", "options": options}, "text-classification")
    assert payload.options.wait_for_model is wait
    assert payload.options.use_cache is cache


@pytest.mark.parametrize("field", ["wait_for_model", "use_cache"])
@pytest.mark.parametrize("value", ["true", "yes", 1, 0, None, [True]])
def test_options_must_be_booleans(field, value):
    rejects({"inputs": "x", "options": {field: value}}, "text-classification", f"`options.{field}`")


# --------------------------------------------------------------------------
# Valid bodies, every text-family task
# --------------------------------------------------------------------------

VALID = [
    # (task, body, expected inputs, expected parameters)
    (
        "conversational",
        {"inputs": {"text": "Hi"}},
        {"text": "Hi", "past_user_inputs": [], "generated_responses": []},
        {},
    ),
    (
        "conversational",
        {
            "inputs": {"text": "And?", "past_user_inputs": ["Hi"], "generated_responses": ["Hello"]},
            "parameters": {"max_length": 20, "temperature": 0.5, "custom": "kept"},
        },
        {"text": "And?", "past_user_inputs": ["Hi"], "generated_responses": ["Hello"]},
        {"max_length": 20, "temperature": 0.5, "custom": "kept"},
    ),
    ("feature-extraction", {"inputs": "a"}, "a", {}),
    (
        "feature-extraction",
        {"inputs": ["a", "b"], "parameters": {"normalize": True, "truncation_direction": "Left", "dimensions": 8}},
        ["a", "b"],
        {"normalize": True, "truncation_direction": "Left", "dimensions": 8},
    ),
    (
        "question-answering",
        {"inputs": {"question": "Who?", "context": "Me."}, "parameters": {"top_k": 2, "align_to_words": False}},
        {"question": "Who?", "context": "Me."},
        {"top_k": 2, "align_to_words": False},
    ),
    ("question-answering", {"question": "Who?", "context": "Me."}, {"question": "Who?", "context": "Me."}, {}),
    (
        "sentence-similarity",
        {"inputs": {"source_sentence": "s", "sentences": ["a", "b"]}, "parameters": {"anything": [1]}},
        {"source_sentence": "s", "sentences": ["a", "b"]},
        {"anything": [1]},
    ),
    (
        "fill-mask",
        {"inputs": "Paris is the [MASK].", "parameters": {"top_k": 3, "targets": ["capital"]}},
        "Paris is the [MASK].",
        {"top_k": 3, "targets": ["capital"]},
    ),
    ("fill-mask", {"inputs": "x [MASK]", "parameters": {"targets": "one"}}, "x [MASK]", {"targets": "one"}),
    (
        "table-question-answering",
        {
            "inputs": {"query": "How many?", "table": {"Repo": ["a", "b"], "Stars": ["1", "2"]}},
            "parameters": {"padding": "longest", "sequential": True},
        },
        {"query": "How many?", "table": {"Repo": ["a", "b"], "Stars": ["1", "2"]}},
        {"padding": "longest", "sequential": True},
    ),
    (
        "summarization",
        {"inputs": "long text", "parameters": {"min_length": 3, "max_length": 3}},
        "long text",
        {
            "min_length": 3,
            "max_length": 3,
        },
    ),
    (
        "text-generation",
        {"inputs": "Once", "parameters": {"max_new_tokens": 5, "return_full_text": False, "stop": ["\n"]}},
        "Once",
        {"max_new_tokens": 5, "return_full_text": False, "stop": ["\n"]},
    ),
    (
        "text-generation",
        {"inputs": "Once", "parameters": {"watermark": {"gamma": 0.5}, "top_p": 1, "top_k": 50, "do_sample": True}},
        "Once",
        {"watermark": {"gamma": 0.5}, "top_p": 1.0, "top_k": 50, "do_sample": True},
    ),
    (
        "text2text-generation",
        {"inputs": "x", "parameters": {"num_return_sequences": 10}},
        "x",
        {"num_return_sequences": 10},
    ),
    (
        "text-classification",
        {"inputs": "I like you", "parameters": {"top_k": 1, "function_to_apply": "sigmoid"}},
        "I like you",
        {"top_k": 1, "function_to_apply": "sigmoid"},
    ),
    (
        "text-to-image",
        {"inputs": "a cat", "parameters": {"num_inference_steps": 2}},
        "a cat",
        {"num_inference_steps": 2},
    ),
    ("text-to-speech", {"inputs": "hello"}, "hello", {}),
    (
        "token-classification",
        {"inputs": "My name is Sarah", "parameters": {"aggregation_strategy": "simple", "ignore_labels": ["O"]}},
        "My name is Sarah",
        {"aggregation_strategy": "simple", "ignore_labels": ["O"]},
    ),
    (
        "translation",
        {"inputs": "Hello", "parameters": {"src_lang": "en", "tgt_lang": "fr"}},
        "Hello",
        {
            "src_lang": "en",
            "tgt_lang": "fr",
        },
    ),
    (
        "zero-shot-classification",
        {"inputs": "I want a refund", "parameters": {"candidate_labels": ["billing", "tech"], "multi_label": True}},
        "I want a refund",
        {"candidate_labels": ["billing", "tech"], "multi_label": True},
    ),
    (
        "zero-shot-classification",
        {"inputs": "x", "candidate_labels": "a, b", "hypothesis_template": "It is {}."},
        "x",
        {"candidate_labels": "a, b", "hypothesis_template": "It is {}."},
    ),
    (
        "tabular-classification",
        {"data": {"a": [1, 2], "b": ["x", None]}},
        {"data": {"a": [1, 2], "b": ["x", None]}},
        {},
    ),
    (
        "tabular-regression",
        {"inputs": {"data": {"a": [1.5]}}, "parameters": {"k": 1}},
        {"data": {"a": [1.5]}},
        {"k": 1},
    ),
    (
        "text-generation",
        {"inputs": [{"role": "user", "content": "Hi"}], "parameters": {"max_new_tokens": 3}},
        [{"role": "user", "content": "Hi", "name": None, "tool_calls": None}],
        {"max_new_tokens": 3},
    ),
    (
        "text-generation",
        {"inputs": "Once", "parameters": {"details": False, "truncate": 8, "typical_p": 0.9}, "stream": False},
        "Once",
        {"details": False, "truncate": 8, "typical_p": 0.9, "stream": False},
    ),
    (
        "translation",
        {"inputs": "x", "parameters": {"src_lang": "en", "tgt_lang": "de", "generate_parameters": {"num_beams": 2}}},
        "x",
        {"src_lang": "en", "tgt_lang": "de", "generate_parameters": {"num_beams": 2}},
    ),
    (
        "visual-question-answering",
        {"inputs": {"image": "<png>", "question": "What is it?"}, "parameters": {"top_k": 2}},
        "an image of 8x6 and the question `What is it?`",
        {"top_k": 2},
    ),
    (  # what InferenceClient.visual_question_answering sends: the question beside the base64 image
        "visual-question-answering",
        {"inputs": "<png>", "question": "What is it?", "image": "<png>", "parameters": {}},
        "an image of 8x6 and the question `What is it?`",
        {},
    ),
    (
        "document-question-answering",
        {"inputs": {"image": "<png>", "question": "Total?"}, "parameters": {"word_boxes": [["42", [0, 0, 9, 9]]]}},
        "an image of 8x6 and the question `Total?`",
        {"word_boxes": [("42", [0.0, 0.0, 9.0, 9.0])]},
    ),
]


class ImageQuestion:
    """Equal to validated image-question inputs: a PIL image of `size` and `question`."""

    def __init__(self, description: str) -> None:
        self.size = (8, 6)
        self.question = description.split("`")[1]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, dict)
            and isinstance(other.get("image"), Image.Image)
            and other["image"].size == self.size
            and other.get("question") == self.question
        )


def with_png(document: Any) -> Any:
    """The body with every "<png>" placeholder replaced by a base64 PNG of 8x6 pixels."""
    if isinstance(document, bytes):
        return document
    text = json.dumps(document).replace('"<png>"', json.dumps(base64.b64encode(image_bytes("PNG")).decode()))
    return json.loads(text)


@pytest.mark.parametrize("task, body, inputs, parameters", VALID, ids=[f"{c[0]}-{i}" for i, c in enumerate(VALID)])
def test_valid_bodies(task, body, inputs, parameters):
    payload = parse(with_png(body), task)
    if isinstance(inputs, str) and inputs.startswith("an image of"):
        inputs = ImageQuestion(inputs)
    assert inputs == payload.inputs
    assert payload.parameters == parameters
    assert payload.options == DEFAULT_OPTIONS


# --------------------------------------------------------------------------
# Invalid bodies, every text-family task
# --------------------------------------------------------------------------

INVALID = [
    # (task, body, fragments of the message)
    ("conversational", {"inputs": "hi"}, ["`inputs`", "valid dictionary"]),
    ("conversational", {"inputs": {"past_user_inputs": []}}, ["`inputs.text`", "Field required"]),
    ("conversational", {"inputs": {"text": "a", "generated_responses": [1]}}, ["`inputs.generated_responses[0]`"]),
    ("conversational", {"inputs": {"text": "a", "extra": 1}}, ["`inputs.extra`", "unknown field"]),
    ("conversational", {"inputs": {"text": "a"}, "parameters": {"top_k": 0}}, ["`parameters.top_k`"]),
    ("feature-extraction", {"inputs": ["a", 3]}, ["`inputs[1]`", "valid string"]),
    ("feature-extraction", {"inputs": ["a", ""]}, ["`inputs[1]`", "at least 1 character"]),
    ("feature-extraction", {"inputs": []}, ["`inputs`", "at least 1 item"]),
    ("feature-extraction", {"inputs": "x", "parameters": {"dimensions": 0}}, ["`parameters.dimensions`"]),
    (
        "feature-extraction",
        {"inputs": "x", "parameters": {"truncation_direction": "up"}},
        ["`parameters.truncation_direction`"],
    ),
    (
        "feature-extraction",
        {"inputs": "x", "parameters": {"pooling": "mean"}},
        [
            "`parameters.pooling`",
            "unknown parameter",
        ],
    ),
    ("question-answering", {"inputs": {"question": "q"}}, ["`inputs.context`", "Field required"]),
    ("question-answering", {"inputs": {"context": "c"}}, ["`inputs.question`", "Field required"]),
    ("question-answering", {"inputs": {"question": "q", "context": ""}}, ["`inputs.context`"]),
    ("question-answering", {"inputs": "q"}, ["`inputs`"]),
    ("question-answering", b"raw question", ["must be JSON"]),
    (
        "question-answering",
        {"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": "2"}},
        ["`parameters.top_k`"],
    ),
    ("sentence-similarity", {"inputs": {"source_sentence": "s"}}, ["`inputs.sentences`", "Field required"]),
    ("sentence-similarity", {"inputs": {"source_sentence": "s", "sentences": []}}, ["`inputs.sentences`"]),
    ("sentence-similarity", {"inputs": {"source_sentence": "s", "sentences": ["a", 1]}}, ["`inputs.sentences[1]`"]),
    (
        "sentence-similarity",
        {"inputs": {"source_sentence": "s", "sentences": "a"}},
        [
            "`inputs.sentences`",
            "valid list",
        ],
    ),
    ("sentence-similarity", {"inputs": "s"}, ["`inputs`"]),
    ("fill-mask", {"inputs": ["a [MASK]"]}, ["`inputs`", "valid string"]),
    ("fill-mask", {"inputs": "x", "parameters": {"top_k": 0}}, ["`parameters.top_k`", "greater than or equal to 1"]),
    ("fill-mask", {"inputs": "x", "parameters": {"targets": []}}, ["`parameters.targets`"]),
    ("fill-mask", {"inputs": "x", "parameters": {"targets": ["a", 2]}}, ["`parameters.targets[1]`"]),
    (
        "table-question-answering",
        {"inputs": {"query": "q", "table": {"a": ["1", "2"], "b": ["1"]}}},
        [
            "`inputs`",
            "same length",
        ],
    ),
    ("table-question-answering", {"inputs": {"query": "q", "table": {}}}, ["`inputs`", "at least one column"]),
    (
        "table-question-answering",
        {"inputs": {"query": "q", "table": {"a": [1]}}},
        [
            "`inputs.table.a[0]`",
            "valid string",
        ],
    ),
    ("table-question-answering", {"inputs": {"table": {"a": ["1"]}}}, ["`inputs.query`", "Field required"]),
    (
        "table-question-answering",
        {"inputs": {"query": "q", "table": {"a": ["1"]}}, "parameters": {"padding": "x"}},
        ["`parameters.padding`"],
    ),
    ("tabular-classification", {"data": {}}, ["`inputs`", "at least one column"]),
    ("tabular-classification", {"inputs": {"data": {}}}, ["`inputs`", "at least one column"]),
    ("tabular-classification", {"data": {"a": [1], "b": [1, 2]}}, ["`inputs`", "same length"]),
    ("tabular-regression", {"inputs": {"data": {"a": [1, 2, 3], "b": [1]}}}, ["`inputs`", "same length"]),
    ("tabular-regression", {"inputs": {"data": {"a": 1}}}, ["`inputs.data.a`", "valid list"]),
    ("tabular-regression", {"inputs": {"rows": [[1]]}}, ["`inputs"]),
    ("tabular-regression", {"inputs": [[1, 2]]}, ["`inputs`"]),
    ("tabular-regression", b"a,b\n1,2", ["must be JSON"]),
    ("summarization", {"inputs": ["a", "b"]}, ["`inputs`", "valid string"]),
    ("summarization", {"inputs": "x", "parameters": {"max_time": 121}}, ["`parameters.max_time`"]),
    ("text-generation", {"inputs": "x", "parameters": {"stop": "a"}}, ["`parameters.stop`", "valid list"]),
    ("text-generation", {"inputs": "x", "parameters": {"return_full_text": "no"}}, ["`parameters.return_full_text`"]),
    ("text2text-generation", {"inputs": "", "parameters": {}}, ["`inputs`", "at least 1 character"]),
    ("text-classification", {"inputs": "x", "parameters": {"top_k": 0}}, ["`parameters.top_k`"]),
    (
        "text-classification",
        {"inputs": "x", "parameters": {"function_to_apply": "relu"}},
        [
            "`parameters.function_to_apply`",
            "'sigmoid', 'softmax' or 'none'",
        ],
    ),
    (
        "text-classification",
        {"inputs": "x", "parameters": {"temperature": 1.0}},
        [
            "`parameters.temperature`",
            "unknown parameter",
        ],
    ),
    ("text-to-image", {"inputs": ["a cat"]}, ["`inputs`"]),
    ("text-to-speech", {"inputs": None}, ["`inputs`"]),
    (
        "token-classification",
        {"inputs": "x", "parameters": {"aggregation_strategy": "bogus"}},
        ["`parameters.aggregation_strategy`"],
    ),
    ("token-classification", {"inputs": "x", "parameters": {"stride": -1}}, ["`parameters.stride`"]),
    ("token-classification", {"inputs": "x", "parameters": {"ignore_labels": "O"}}, ["`parameters.ignore_labels`"]),
    ("translation", {"inputs": {"text": "x"}}, ["`inputs`"]),
    ("translation", {"inputs": "x", "parameters": {"repetition_penalty": -1}}, ["`parameters.repetition_penalty`"]),
    ("zero-shot-classification", {"inputs": "x"}, ["`parameters.candidate_labels`", "Field required"]),
    ("zero-shot-classification", {"inputs": ["x"], "parameters": {"candidate_labels": "a"}}, ["`inputs`"]),
    ("text-generation", {"inputs": {"messages": []}}, ["`inputs.messages`", "at least 1 item"]),
    ("text-generation", {"messages": [{"role": "user", "content": "x"}], "user": "me"}, ["`inputs.user`"]),
    ("text-generation", {"inputs": [{"content": "x"}]}, ["`inputs[0].role`", "Field required"]),
    ("text-generation", {"inputs": "x", "parameters": {"truncate": 0}}, ["`parameters.truncate`"]),
    ("translation", {"inputs": "x", "parameters": {"truncation": "sometimes"}}, ["`parameters.truncation`"]),
    ("visual-question-answering", {"inputs": {"image": "<png>"}}, ["`inputs.question`", "Field required"]),
    ("visual-question-answering", {"inputs": {"image": "!!", "question": "q"}}, ["`inputs.image`", "Invalid"]),
    ("visual-question-answering", {"inputs": "<png>"}, ["`inputs.question`", "Field required"]),
    ("visual-question-answering", {"inputs": {"image": "<png>", "question": "q"}, "top_k": 0}, ["`parameters.top_k`"]),
    ("document-question-answering", {"inputs": {"image": 3, "question": "q"}}, ["`inputs.image`", "base64"]),
    (
        "document-question-answering",
        {"inputs": {"image": "<png>", "question": "q"}, "parameters": {"word_boxes": [["a", [1, 2, 3]]]}},
        ["`parameters.word_boxes[0]"],
    ),
]


@pytest.mark.parametrize("task, body, fragments", INVALID, ids=[f"{c[0]}-{i}" for i, c in enumerate(INVALID)])
def test_invalid_bodies(task, body, fragments):
    rejects(with_png(body), task, *fragments)


def test_every_non_media_task_has_valid_and_invalid_cases():
    covered_valid = {case[0] for case in VALID}
    covered_invalid = {case[0] for case in INVALID}
    families = {name for name, spec in TASKS.items() if spec.input_kind.value in ("text", "structured", "tabular")}
    assert families <= covered_valid
    assert families <= covered_invalid


def test_messages_show_the_received_value_truncated():
    message = rejects({"inputs": "x", "parameters": {"top_k": "a" * 100}}, "text-classification", "`parameters.top_k`")
    assert "(received " in message
    assert "a" * 100 not in message
    assert "..." in message


def test_missing_field_message_shows_no_received_value():
    message = rejects({"inputs": {"question": "q"}}, "question-answering", "`inputs.context`")
    assert "received" not in message


def test_several_errors_are_all_reported():
    message = rejects({"inputs": "x", "parameters": {"top_k": 0, "function_to_apply": "x"}}, "text-classification")
    assert "`parameters.top_k`" in message
    assert "`parameters.function_to_apply`" in message


def test_string_list_union_reports_the_list_branch_only():
    message = rejects({"inputs": ["a", 3]}, "feature-extraction", "`inputs[1]`")
    assert "`inputs`:" not in message


# --------------------------------------------------------------------------
# Strict and open parameters
# --------------------------------------------------------------------------

STRICT = [
    "feature-extraction",
    "fill-mask",
    "text-classification",
    "token-classification",
]
OPEN = ["text-generation", "text2text-generation", "summarization", "translation", "text-to-image", "text-to-speech"]


@pytest.mark.parametrize("task", STRICT)
def test_unknown_parameters_rejected_for_strict_tasks(task):
    rejects({"inputs": "x", "parameters": {"mystery": 1}}, task, "`parameters.mystery`", "unknown parameter")


@pytest.mark.parametrize("task", OPEN)
def test_unknown_parameters_pass_for_open_tasks(task):
    params = {"mystery": 1, "nested": {"a": [1, 2]}, "text": "kept"}
    assert parse({"inputs": "x", "parameters": params}, task).parameters == params


def test_unknown_parameters_rejected_for_strict_structured_tasks():
    rejects(
        {"inputs": {"question": "q", "context": "c"}, "parameters": {"mystery": 1}},
        "question-answering",
        "`parameters.mystery`",
        "unknown parameter",
    )
    rejects(
        {"inputs": {"query": "q", "table": {"a": ["1"]}}, "parameters": {"mystery": 1}},
        "table-question-answering",
        "`parameters.mystery`",
    )
    rejects(
        {"inputs": "x", "parameters": {"candidate_labels": "a", "mystery": 1}},
        "zero-shot-classification",
        "`parameters.mystery`",
    )


# --------------------------------------------------------------------------
# Generation checks (upstream's)
# --------------------------------------------------------------------------

GENERATION_OK = [
    {"top_p": 0.0},
    {"top_p": 1.0},
    {"top_p": 0.9},
    {"temperature": 0.0},
    {"temperature": 100.0},
    {"temperature": 1},
    {"max_length": 10, "min_length": 10},
    {"max_length": 10, "min_length": 1},
    {"min_length": 50},
    {"max_length": 1},
    {"num_return_sequences": 1},
    {"num_return_sequences": 10},
    {"top_k": 1},
    {"top_k": 10_000},
    {"max_new_tokens": 1},
    {"max_time": 0.0},
    {"max_time": 120},
    {"repetition_penalty": 1.2},
    {"do_sample": False},
    {"seed": 0},
]

GENERATION_BAD = [
    ({"top_p": 1.01}, "`parameters.top_p`"),
    ({"top_p": -0.1}, "`parameters.top_p`"),
    ({"temperature": -0.1}, "`parameters.temperature`"),
    ({"temperature": 100.5}, "`parameters.temperature`"),
    ({"max_length": 3, "min_length": 5}, "`min_length` must not be greater than `max_length`"),
    ({"num_return_sequences": 0}, "`parameters.num_return_sequences`"),
    ({"num_return_sequences": 11}, "`parameters.num_return_sequences`"),
    ({"num_return_sequences": "2"}, "`parameters.num_return_sequences`"),
    ({"num_return_sequences": 2.0}, "`parameters.num_return_sequences`"),
    ({"top_k": 0}, "`parameters.top_k`"),
    ({"top_k": -1}, "`parameters.top_k`"),
    ({"top_k": "3"}, "`parameters.top_k`"),  # strict int
    ({"top_k": 3.0}, "`parameters.top_k`"),
    ({"top_k": True}, "`parameters.top_k`"),
    ({"max_length": "20"}, "`parameters.max_length`"),
    ({"min_length": 0}, "`parameters.min_length`"),
    ({"max_new_tokens": 0}, "`parameters.max_new_tokens`"),
    ({"max_time": 120.5}, "`parameters.max_time`"),
    ({"max_time": -1}, "`parameters.max_time`"),
    ({"repetition_penalty": 100.1}, "`parameters.repetition_penalty`"),
    ({"do_sample": "true"}, "`parameters.do_sample`"),
    ({"do_sample": 1}, "`parameters.do_sample`"),
]


@pytest.mark.parametrize("task", ["text-generation", "text2text-generation", "summarization", "translation"])
@pytest.mark.parametrize("parameters", GENERATION_OK, ids=[json.dumps(p) for p in GENERATION_OK])
def test_generation_parameters_accepted(task, parameters):
    payload = parse({"inputs": "x", "parameters": parameters}, task)
    assert payload.parameters == parameters


@pytest.mark.parametrize("task", ["text-generation", "text2text-generation", "summarization", "translation"])
@pytest.mark.parametrize("parameters, fragment", GENERATION_BAD, ids=[json.dumps(c[0]) for c in GENERATION_BAD])
def test_generation_parameters_rejected(task, parameters, fragment):
    rejects({"inputs": "x", "parameters": parameters}, task, fragment)


def test_generation_checks_apply_to_conversational():
    rejects({"inputs": {"text": "x"}, "parameters": {"top_p": 2}}, "conversational", "`parameters.top_p`")


# --------------------------------------------------------------------------
# Zero-shot
# --------------------------------------------------------------------------


@pytest.mark.parametrize("labels", ["a", "a,b", ["a"], ["a", "b", "c"]])
def test_zero_shot_candidate_labels_str_or_list(labels):
    payload = parse({"inputs": "x", "parameters": {"candidate_labels": labels}}, "zero-shot-classification")
    assert payload.parameters == {"candidate_labels": labels}


@pytest.mark.parametrize(
    "parameters, fragment",
    [
        ({}, "`parameters.candidate_labels`: Field required"),
        ({"multi_label": True}, "`parameters.candidate_labels`: Field required"),
        ({"candidate_labels": ""}, "`parameters.candidate_labels`"),
        ({"candidate_labels": []}, "`parameters.candidate_labels`"),
        ({"candidate_labels": 3}, "`parameters.candidate_labels`"),
        ({"candidate_labels": ["a", 2]}, "`parameters.candidate_labels[1]`"),
        ({"candidate_labels": "a", "multi_label": "yes"}, "`parameters.multi_label`"),
        ({"candidate_labels": "a", "hypothesis_template": ""}, "`parameters.hypothesis_template`"),
    ],
)
def test_zero_shot_rejected(parameters, fragment):
    rejects({"inputs": "x", "parameters": parameters}, "zero-shot-classification", fragment)


def test_zero_shot_labels_at_top_level():
    payload = parse({"inputs": "x", "candidate_labels": ["a"]}, "zero-shot-classification")
    assert payload.parameters == {"candidate_labels": ["a"]}


def test_zero_shot_raw_text_lacks_labels():
    rejects(b"plain text", "zero-shot-classification", "`parameters.candidate_labels`")


# --------------------------------------------------------------------------
# max_inputs
# --------------------------------------------------------------------------


@pytest.mark.parametrize("count, ok", [(1, True), (3, True), (4, False), (50, False)])
def test_max_inputs_lists(count, ok):
    body = {"inputs": [f"s{i}" for i in range(count)]}
    if ok:
        assert len(parse(body, "feature-extraction", max_inputs=3).inputs) == count
    else:
        rejects(body, "feature-extraction", "`inputs`", f"too many items ({count})", "maximum is 3", max_inputs=3)


@pytest.mark.parametrize("sentences, ok", [(1, True), (2, True), (3, False)])
def test_max_inputs_sentence_similarity(sentences, ok):
    body = {"inputs": {"source_sentence": "s", "sentences": ["x"] * sentences}}
    if ok:
        parse(body, "sentence-similarity", max_inputs=3)
    else:
        rejects(body, "sentence-similarity", f"too many items ({sentences + 1})", max_inputs=3)


def test_max_inputs_default_is_256():
    parse({"inputs": ["x"] * 256}, "feature-extraction")
    rejects({"inputs": ["x"] * 257}, "feature-extraction", "too many items (257)")


# --------------------------------------------------------------------------
# UTF-8
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["text-classification", "question-answering", "tabular-regression", "latent-to-image"])
@pytest.mark.parametrize("body", [b"\xff\xfe\xfd", b'{"inputs": "caf\xe9"}', b"abc\x80"])
def test_invalid_utf8(task, body):
    rejects(body, task, "not valid UTF-8")


# --------------------------------------------------------------------------
# Tensors
# --------------------------------------------------------------------------

ARRAY = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5


def tensor_body(array: np.ndarray = ARRAY, layout: str = "flat", **extra: Any) -> dict:
    data = b64(array.tobytes())
    fields = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if layout == "flat":
        return {"inputs": data, **fields, **extra}
    return {"inputs": {"data": data, **fields}, **extra}


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_tensor_layouts(layout):
    payload = parse(tensor_body(layout=layout), "latent-to-image")
    assert isinstance(payload.inputs, np.ndarray)
    assert payload.inputs.dtype == np.float32
    assert payload.inputs.shape == (2, 3)
    np.testing.assert_array_equal(payload.inputs, ARRAY)
    assert payload.parameters == {}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8"])
def test_tensor_dtypes(dtype):
    array = np.arange(24).reshape(2, 3, 4).astype(dtype)
    payload = parse(tensor_body(array), "latent-to-image")
    assert payload.inputs.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(payload.inputs, array)


def test_tensor_parameters_and_options():
    body = tensor_body(layout="flat", guidance=2, parameters={"steps": 3}, options={"wait_for_model": True})
    payload = parse(body, "latent-to-image")
    assert payload.parameters == {"guidance": 2, "steps": 3}
    assert "shape" not in payload.parameters and "dtype" not in payload.parameters
    assert payload.options.wait_for_model is True


def test_tensor_parameters_win_over_top_level_keys():
    for layout in ("flat", "nested"):
        body = tensor_body(layout=layout, guidance=2, steps=1, parameters={"guidance": 7})
        assert parse(body, "latent-to-image").parameters == {"guidance": 7, "steps": 1}


def test_image_parameters_win_over_top_level_keys(png):
    body = {"inputs": b64(png), "top_k": 1, "parameters": {"top_k": 3}}
    assert parse(body, "image-classification").parameters == {"top_k": 3}


def test_tensor_bfloat16_widened_to_float32():
    values = np.array([[1.0, -2.5, 0.15625], [3.0, 0.0, -0.0078125]], dtype=np.float32)
    bits = (values.view(np.uint32) >> 16).astype(np.uint16)
    body = {"inputs": b64(bits.tobytes()), "shape": [2, 3], "dtype": "bfloat16"}
    payload = parse(body, "latent-to-image")
    assert payload.inputs.dtype == np.float32
    np.testing.assert_array_equal(payload.inputs, values)


def test_tensor_urlsafe_base64_unpadded():
    array = np.array([251, 255, 254, 63, 62], dtype=np.uint8)  # bytes that give '-' and '_'
    data = base64.urlsafe_b64encode(array.tobytes()).decode().rstrip("=")
    assert "-" in data or "_" in data
    payload = parse({"inputs": data, "shape": [5], "dtype": "uint8"}, "latent-to-image")
    np.testing.assert_array_equal(payload.inputs, array)


@pytest.mark.parametrize(
    "body, fragments",
    [
        ({"inputs": b64(ARRAY.tobytes()), "shape": [2, 4], "dtype": "float32"}, ["needs 32 bytes, received 24"]),
        ({"inputs": b64(ARRAY.tobytes()), "shape": [2, 3], "dtype": "float64"}, ["needs 48 bytes, received 24"]),
        ({"inputs": b64(ARRAY.tobytes()), "shape": [2, 3], "dtype": "bfloat16"}, ["needs 12 bytes, received 24"]),
        ({"inputs": "!!!not base64!!!", "shape": [2, 3], "dtype": "float32"}, ["`inputs`", "invalid base64 tensor"]),
        ({"inputs": "AAAAA", "shape": [3], "dtype": "uint8"}, ["invalid base64 tensor"]),  # impossible length
        ({"inputs": "", "shape": [1], "dtype": "uint8"}, ["`inputs`", "base64"]),
        ({"inputs": b64(b"ab"), "shape": [2], "dtype": "complex64"}, ["`inputs.dtype`"]),
        ({"inputs": b64(b"ab"), "shape": [], "dtype": "uint8"}, ["`inputs.shape`"]),
        ({"inputs": b64(b"ab"), "shape": [-2], "dtype": "uint8"}, ["`inputs.shape[0]`"]),
        ({"inputs": b64(b"ab"), "shape": ["2"], "dtype": "uint8"}, ["`inputs.shape[0]`"]),
        ({"inputs": b64(b"ab"), "shape": [1] * 9, "dtype": "uint8"}, ["`inputs.shape`"]),
        ({"inputs": b64(b"ab"), "dtype": "uint8"}, ["`inputs.shape`", "Field required"]),
        ({"inputs": b64(b"ab")}, ["`inputs`", "valid dictionary"]),  # a bare string
        ({"inputs": {"data": b64(b"ab"), "shape": [2]}}, ["`inputs.dtype`", "Field required"]),
        ({"inputs": {"data": b64(b"ab"), "shape": [2], "dtype": "uint8", "extra": 1}}, ["`inputs.extra`"]),
        ({"inputs": [1, 2], "shape": [2], "dtype": "uint8"}, ["`inputs`"]),
        ({"inputs": b64(b"a"), "shape": [2**63 - 1, 2**63 - 1], "dtype": "uint8"}, ["needs"]),  # no wrap-around
        ({"inputs": b64(b"a"), "shape": [2**32, 2**32], "dtype": "uint8"}, ["needs"]),
        (b"not json at all", ["must be JSON"]),
    ],
)
def test_tensor_rejected(body, fragments):
    rejects(body, "latent-to-image", *fragments)


def test_decode_tensor_directly():
    array = decode_tensor({"data": b64(np.ones(4, dtype=np.int16).tobytes()), "shape": [2, 2], "dtype": "int16"})
    np.testing.assert_array_equal(array, np.ones((2, 2), dtype=np.int16))
    with pytest.raises(InvalidInput):
        decode_tensor({"data": b64(b"abc"), "shape": [2, 2], "dtype": "int16"})


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------

IMAGE_TASKS = [name for name, spec in TASKS.items() if spec.input_kind.value == "image"]


NEEDS_LABELS = {"zero-shot-image-classification", "zero-shot-object-detection"}


def image_parameters(task: str) -> dict:
    return {"candidate_labels": ["cat", "dog"]} if task in NEEDS_LABELS else {}


@pytest.mark.parametrize("task", sorted(set(IMAGE_TASKS) - NEEDS_LABELS))
def test_raw_png_every_image_task(task, png):
    payload = parse(png, task)
    assert isinstance(payload.inputs, Image.Image)
    assert payload.inputs.size == (8, 6)
    assert payload.inputs.mode == "RGB"
    assert payload.parameters == {}
    assert payload.options == DEFAULT_OPTIONS


@pytest.mark.parametrize("task", IMAGE_TASKS)
def test_base64_json_every_image_task(task, png):
    params = image_parameters(task)
    payload = parse({"inputs": b64(png), "parameters": params, "options": {"use_cache": False}}, task)
    assert payload.inputs.size == (8, 6)
    assert payload.parameters == params
    assert payload.options.use_cache is False


def test_raw_jpeg(jpeg):
    image = parse(jpeg, "image-classification").inputs
    assert image.format == "JPEG"
    assert image.size == (16, 12)
    assert image.getpixel((4, 4))[1] > 150  # decoded, roughly the green we drew


def test_grayscale_mode_is_preserved():
    image = parse(image_bytes("PNG", mode="L"), "image-to-image").inputs
    assert image.mode == "L"


@pytest.mark.parametrize(
    "make",
    [
        lambda data: b64(data),
        lambda data: "data:image/png;base64," + b64(data),
        lambda data: base64.urlsafe_b64encode(data).decode().rstrip("="),
        lambda data: base64.encodebytes(data).decode(),  # newlines every 76 characters
    ],
    ids=["standard", "data-url", "urlsafe-unpadded", "with-newlines"],
)
def test_base64_forms(make, png):
    assert parse({"inputs": make(png)}, "image-classification").inputs.size == (8, 6)


def test_image_key_instead_of_inputs(png):
    payload = parse({"image": b64(png), "parameters": {"top_k": 2}}, "image-classification")
    assert payload.inputs.size == (8, 6)
    assert payload.parameters == {"top_k": 2}


def test_image_top_level_parameters(png):
    payload = parse({"inputs": b64(png), "threshold": 0.5}, "object-detection")
    assert payload.parameters == {"threshold": 0.5}


def test_image_parameters_validated(png):
    payload = parse({"inputs": b64(png), "parameters": {"threshold": 0.9}}, "object-detection")
    assert payload.parameters == {"threshold": 0.9}
    rejects({"inputs": b64(png), "parameters": {"threshold": 1.5}}, "object-detection", "`parameters.threshold`")
    rejects({"inputs": b64(png), "parameters": {"top_k": 0}}, "image-classification", "`parameters.top_k`")
    rejects({"inputs": b64(png), "parameters": {"x": 0}}, "image-classification", "`parameters.x`", "unknown")
    rejects({"inputs": b64(png), "parameters": {"subtask": "everything"}}, "image-segmentation", "`parameters.subtask`")
    payload = parse({"inputs": b64(png), "parameters": {"max_new_tokens": 5}}, "image-to-text")  # open
    assert payload.parameters == {"max_new_tokens": 5}


def test_zero_shot_image_needs_labels(png):
    rejects(png, "zero-shot-image-classification", "`parameters.candidate_labels`")
    rejects({"inputs": b64(png)}, "zero-shot-image-classification", "`parameters.candidate_labels`")
    payload = parse({"inputs": b64(png), "candidate_labels": "cat"}, "zero-shot-image-classification")
    assert payload.parameters == {"candidate_labels": "cat"}


@pytest.mark.parametrize(
    "body, fragments",
    [
        (b"", ["Empty request body", "image"]),
        (b"garbage bytes, not an image", ["Invalid image"]),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, ["Invalid image"]),
        (b"{not json", ["Invalid image"]),  # looks like JSON, is not: decoded as bytes
        ({"inputs": "@@@@"}, ["`inputs`", "invalid base64 image"]),
        ({"inputs": "a"}, ["invalid base64 image"]),  # impossible length
        ({"inputs": "abc"}, ["Invalid image"]),  # unpadded base64 of two bytes
        ({"inputs": b64(b"garbage bytes")}, ["Invalid image"]),
        ({"inputs": ""}, ["`inputs`", "base64 string"]),
        ({"inputs": 42}, ["`inputs`", "base64 string"]),
        ({"inputs": None}, ["`inputs`", "base64 string"]),
        ({"parameters": {"top_k": 1}}, ["base64 in `inputs`"]),  # JSON without inputs
        ({}, ["base64 in `inputs`"]),
        ({"inputs": "x", "parameters": [1]}, ["`parameters` must be a JSON object"]),
    ],
)
def test_image_rejected(body, fragments):
    rejects(body, "image-classification", *fragments)


def test_image_options_validated(png):
    rejects({"inputs": b64(png), "options": {"wait_for_model": 1}}, "image-classification", "`options.wait_for_model`")
    assert parse({"inputs": b64(png), "options": {"wait_for_model": True}}, "image-to-text").options.wait_for_model


def test_image_pixel_limit(png):
    assert parse(png, "image-classification", max_image_pixels=48).inputs.size == (8, 6)
    rejects(png, "image-classification", "too large", max_image_pixels=47)


# --------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------

AUDIO_TASKS = [name for name, spec in TASKS.items() if spec.input_kind.value == "audio"]


@pytest.mark.parametrize("task", AUDIO_TASKS)
def test_raw_wav_every_audio_task(task, wav):
    payload = parse(wav, task, sampling_rate=SR)
    assert isinstance(payload.inputs, np.ndarray)
    assert payload.inputs.dtype == np.float32
    assert payload.inputs.ndim == 1
    assert abs(payload.inputs.shape[0] - SR // 2) <= 64
    np.testing.assert_allclose(payload.inputs[:1000], sine(0.5)[:1000], atol=1e-3)
    assert payload.parameters == {}


def test_raw_flac(flac):
    waveform = parse(flac, "automatic-speech-recognition", sampling_rate=SR).inputs
    assert waveform.dtype == np.float32
    assert abs(waveform.shape[0] - SR // 4) <= 64


def test_audio_resampled_to_pipeline_rate(wav):
    waveform = parse(wav, "automatic-speech-recognition", sampling_rate=8000).inputs
    assert abs(waveform.shape[0] - 4000) <= 64


def test_stereo_audio_becomes_mono():
    stereo = np.stack([sine(0.25), sine(0.25)])
    waveform = parse(media.encode_audio(stereo, SR, "wav"), "audio-classification", sampling_rate=SR).inputs
    assert waveform.ndim == 1
    np.testing.assert_allclose(waveform[:500], sine(0.25)[:500], atol=1e-3)


def test_base64_audio_in_json(wav):
    body = {"inputs": b64(wav), "parameters": {"chunk_length_s": 30}, "options": {"wait_for_model": True}}
    payload = parse(body, "automatic-speech-recognition", sampling_rate=SR)
    assert payload.inputs.shape[0] == parse(wav, "automatic-speech-recognition", sampling_rate=SR).inputs.shape[0]
    assert payload.parameters == {"chunk_length_s": 30}
    assert payload.options.wait_for_model is True


def test_audio_parameters_validated(wav):
    rejects(
        {"inputs": b64(wav), "parameters": {"top_k": 0}},
        "audio-classification",
        "`parameters.top_k`",
        **{"sampling_rate": SR},
    )
    payload = parse({"inputs": b64(wav), "parameters": {"top_k": 2}}, "audio-classification", sampling_rate=SR)
    assert payload.parameters == {"top_k": 2}


@pytest.mark.parametrize(
    "body, fragments",
    [
        (b"", ["Empty request body", "audio"]),
        (b"garbage, not audio at all" * 4, ["Invalid audio"]),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", ["Invalid audio"]),
        ({"inputs": "@@@"}, ["`inputs`", "invalid base64 audio"]),
        ({"inputs": b64(b"garbage bytes" * 10)}, ["Invalid audio"]),
        ({"inputs": 1}, ["`inputs`", "base64 string"]),
        ({"audio": "abcd"}, ["base64 in `inputs`"]),
        ({"inputs": "abcd", "options": []}, ["`options` must be a JSON object"]),
    ],
)
def test_audio_rejected(body, fragments):
    rejects(body, "automatic-speech-recognition", *fragments, sampling_rate=SR)


def test_max_audio_seconds(wav):
    rejects(
        wav,
        "automatic-speech-recognition",
        "longer than the maximum of 0.25 seconds",
        **{
            "sampling_rate": SR,
            "max_audio_seconds": 0.25,
        },
    )
    rejects({"inputs": b64(wav)}, "audio-to-audio", "longer than the maximum", sampling_rate=SR, max_audio_seconds=0.1)
    assert parse(wav, "automatic-speech-recognition", sampling_rate=SR, max_audio_seconds=1.0).inputs.size
    assert parse(wav, "automatic-speech-recognition", sampling_rate=SR, max_audio_seconds=None).inputs.size


def test_audio_without_sampling_rate_is_a_server_error(wav):
    with pytest.raises(RuntimeError, match="sampling_rate"):
        parse(wav, "automatic-speech-recognition")


# --------------------------------------------------------------------------
# Upstream-compatible helpers
# --------------------------------------------------------------------------


def test_normalize_payload_text_tuple():
    result = normalize_payload(b'{"inputs": "x", "parameters": {"top_k": 2}}', "text-classification")
    assert result == ("x", {"top_k": 2})
    assert isinstance(result, tuple)


def test_normalize_payload_raw_text_and_numbers():
    assert normalize_payload(b"hello", "fill-mask") == ("hello", {})
    assert normalize_payload(b"12", "text-generation") == ("12", {})


def test_normalize_payload_nlp():
    from pydantic import ValidationError

    assert normalize_payload_nlp(b'{"inputs": ["a", "b"]}', "feature-extraction") == (["a", "b"], {})
    with pytest.raises(ValidationError):  # pydantic's own error, as upstream apps expect
        normalize_payload_nlp(b'{"inputs": "x", "parameters": {"top_k": "2"}}', "text-generation")


def test_normalize_payload_structured():
    inputs, params = normalize_payload(b'{"inputs": {"question": "q", "context": "c"}}', "question-answering")
    assert inputs == {"question": "q", "context": "c"}
    assert params == {}


def test_normalize_payload_unknown_task():
    with pytest.raises(EnvironmentError, match="`no-such-task` is not recognized"):
        normalize_payload(b"x", "no-such-task")
    with pytest.raises(ValueError, match="no-such-task is not a valid pipeline"):
        normalize_payload_nlp(b"x", "no-such-task")


def test_normalize_payload_audio_needs_sampling_rate(wav):
    with pytest.raises(EnvironmentError, match="sampling rate"):
        normalize_payload(wav, "automatic-speech-recognition")
    inputs, params = normalize_payload(wav, "automatic-speech-recognition", sampling_rate=SR)
    assert inputs.dtype == np.float32
    assert params == {}


def test_normalize_payload_image(png):
    inputs, params = normalize_payload(png, "image-classification")
    assert inputs.size == (8, 6)
    assert params == {}
    inputs, params = normalize_payload_image(encode({"inputs": b64(png), "parameters": {"anything": [1]}}))
    assert inputs.size == (8, 6)
    assert params == {"anything": [1]}  # unchecked, whatever the image task
    with pytest.raises(InvalidInput):
        normalize_payload_image(b"garbage")


def test_normalize_payload_audio_helper(wav):
    inputs, params = normalize_payload_audio(wav, SR)
    assert inputs.dtype == np.float32 and inputs.ndim == 1
    assert params == {}


def test_normalize_payload_tensor():
    inputs, params = normalize_payload(encode(tensor_body(layout="nested")), "latent-to-image")
    np.testing.assert_array_equal(inputs, ARRAY)
    assert params == {}


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_ffmpeg_read_float32_mono(fmt):
    stereo = np.stack([sine(0.25), -sine(0.25) * 0.5])
    waveform = ffmpeg_read(media.encode_audio(stereo, SR, fmt), SR)
    assert waveform.dtype == np.float32
    assert waveform.ndim == 1
    assert abs(waveform.shape[0] - SR // 4) <= 64
    np.testing.assert_allclose(waveform[:1000], (0.25 * sine(0.25))[:1000], atol=2e-3)


def test_ffmpeg_read_resamples():
    waveform = ffmpeg_read(media.encode_audio(sine(0.5), SR, "wav"), 8000)
    assert abs(waveform.shape[0] - 4000) <= 64


@pytest.mark.parametrize("data", [b"", b"definitely not audio" * 5])
def test_ffmpeg_read_errors_are_value_errors(data):
    with pytest.raises(ValueError):
        ffmpeg_read(data, SR)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_ffmpeg_convert_round_trip(fmt):
    original = sine(0.5)
    encoded = ffmpeg_convert(original, SR, fmt)
    assert isinstance(encoded, bytes) and encoded
    decoded = ffmpeg_read(encoded, SR)
    assert decoded.shape[0] == original.shape[0]
    np.testing.assert_allclose(decoded, original, atol=1e-3)


def test_ffmpeg_convert_unknown_format():
    with pytest.raises(ValueError):
        ffmpeg_convert(sine(0.1), SR, "xyz")


@pytest.mark.parametrize(
    "parameters, field",
    [
        ({"top_p": "0.5"}, "top_p"),
        ({"temperature": True}, "temperature"),
        ({"seed": "3"}, "seed"),
        ({"max_time": "1"}, "max_time"),
    ],
)
def test_numeric_generation_parameters_are_strict(parameters, field):
    body = json.dumps({"inputs": "x", "parameters": parameters}).encode()
    with pytest.raises(InvalidInput, match=f"`parameters.{field}`"):
        parse_payload(body, TASKS["text-generation"])


def test_union_errors_name_only_the_matching_alternative():
    body = b'{"inputs": "x", "parameters": {"candidate_labels": ["a", 3]}}'
    with pytest.raises(InvalidInput) as raised:
        parse_payload(body, TASKS["zero-shot-classification"])
    assert raised.value.message == "`parameters.candidate_labels[1]`: Input should be a valid string (received 3)"


def test_image_question_image_within_the_pixel_limit():
    body = with_png({"inputs": {"image": "<png>", "question": "q"}})
    rejects(body, "visual-question-answering", "`inputs.image`", "too large", max_image_pixels=47)
    assert parse(body, "visual-question-answering", max_image_pixels=48).inputs["image"].size == (8, 6)


def test_image_question_top_level_keys_stay_parameters():
    body = with_png({"inputs": "<png>", "question": "q", "image": "<png>", "top_k": 2})
    payload = parse(body, "visual-question-answering")
    assert payload.inputs["question"] == "q" and payload.parameters == {"top_k": 2}
    # a structured task whose inputs are no image keeps a string `inputs` as it came (and refuses it)
    rejects({"inputs": "q", "context": "c"}, "question-answering", "`inputs`")
