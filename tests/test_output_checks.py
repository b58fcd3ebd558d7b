"""The per-task output checks accept the specified shapes and name what is wrong otherwise."""

import base64
import json

import pytest

from api_inference_community import media
from api_inference_community.testing.examples import picture, tone
from api_inference_community.testing.output_checks import OutputError, check_response

CONTEXT = "My name is Sarah and I live in London."
QA = {"question": "Where?", "context": CONTEXT}
IMAGE = picture()
LABELS = {"candidate_labels": ["a", "b"]}


def png(image) -> str:
    return base64.b64encode(media.encode_image(image, "png")).decode()


GOOD = [
    ("feature-extraction", [0.1, 0.2], "text", {}),
    ("feature-extraction", [[0.1, 0.2], [0.3, 0.4]], "text", {}),
    ("feature-extraction", [[0.1], [0.2]], ["a", "b"], {}),
    ("sentence-similarity", [0.5, 0.1], {"source_sentence": "s", "sentences": ["a", "b"]}, {}),
    ("text-classification", [{"label": "A", "score": 0.9}, {"label": "B", "score": 0.1}], "t", {"top_k": 2}),
    # the Inference API's answer, which InferenceClient.text_classification reads (it takes the first item)
    ("text-classification", [[{"label": "A", "score": 0.9}, {"label": "B", "score": 0.1}]], "t", {}),
    ("question-answering", {"answer": "London", "score": 0.9, "start": 31, "end": 37}, QA, {}),
    ("zero-shot-classification", {"sequence": "t", "labels": ["b", "a"], "scores": [0.7, 0.3]}, "t", LABELS),
    (
        "zero-shot-classification",
        {"sequence": "t", "labels": ["b", "a"], "scores": [0.7, 0.3]},
        "t",
        {"candidate_labels": "a, b"},
    ),
    (
        "token-classification",
        [{"entity_group": "PER", "score": 0.9, "word": "Sarah", "start": 11, "end": 16}],
        CONTEXT,
        {},
    ),
    ("token-classification", [{"entity": "B-PER", "score": 0.9, "word": "Sarah", "start": 11, "end": 16}], CONTEXT, {}),
    ("summarization", [{"summary_text": "short"}], "t", {}),
    (
        "conversational",
        {"generated_text": "hi", "conversation": {"past_user_inputs": ["a"], "generated_responses": ["hi"]}},
        {},
        {},
    ),
    (
        "table-question-answering",
        {"answer": "1", "coordinates": [[0, 1]], "cells": ["1"], "aggregator": "NONE"},
        {},
        {},
    ),
    ("tabular-regression", [1.0, 2.5], {"data": {"a": [1, 2]}}, {}),
    ("tabular-classification", ["yes", 1], {"data": {"a": [1, 2]}}, {}),
    (
        "object-detection",
        [{"label": "cat", "score": 0.9, "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}}],
        IMAGE,
        {},
    ),
    ("image-segmentation", [{"label": "sky", "score": None, "mask": png(picture("L"))}], IMAGE, {}),
    ("automatic-speech-recognition", {"text": "hello"}, None, {}),
    (
        "speech-segmentation",
        [{"class": "A", "start": 0.0, "end": 1.0}, {"class": "B", "start": 1.0, "end": 2.0}],
        None,
        {},
    ),
]

BAD = [
    ("feature-extraction", [], "text", {}, "non-empty list"),
    ("feature-extraction", ["x"], "text", {}, "must hold numbers"),
    ("feature-extraction", [[0.1]], ["a", "b"], {}, "expected 2 embeddings"),
    ("sentence-similarity", [0.5], {"source_sentence": "s", "sentences": ["a", "b"]}, {}, "expected 2 similarities"),
    ("text-classification", [{"label": "A", "score": 0.1}, {"label": "B", "score": 0.9}], "t", {}, "sorted by score"),
    ("text-classification", [[{"label": "A", "score": 0.9}], [{"label": "B", "score": 0.1}]], "t", {}, "item 0"),
    ("text-classification", [[{"label": "A", "score": 0.1}, {"label": "B", "score": 0.9}]], "t", {}, "sorted by score"),
    ("text-classification", [{"label": "A", "score": 0.9}, {"label": "B", "score": 0.1}], "t", {"top_k": 1}, "top_k=1"),
    ("text-classification", [{"label": "A", "score": "high"}], "t", {}, "`score` must be a finite number"),
    ("image-classification", [], None, {}, "at least 1"),
    ("question-answering", {"answer": "Paris", "score": 0.9, "start": 31, "end": 37}, QA, {}, "context[start:end]"),
    ("question-answering", {"answer": "London", "score": 0.9, "start": 31}, QA, {}, "lacks `end`"),
    ("zero-shot-classification", {"sequence": "t", "labels": ["a"], "scores": [1.0]}, "t", LABELS, "every candidate"),
    ("zero-shot-image-classification", [{"label": "a", "score": 1.0}], IMAGE, LABELS, "every candidate"),
    ("token-classification", [{"score": 0.9, "word": "S", "start": 0, "end": 1}], "S", {}, "entity_group"),
    ("token-classification", [{"entity": "X", "score": 0.9, "word": "S", "start": 0, "end": 9}], "S", {}, "outside"),
    ("text-generation", {"generated_text": "x"}, "t", {}, "expected a list"),
    ("translation", [{"generated_text": "x"}], "t", {}, "lacks `translation_text`"),
    ("tabular-regression", [1.0], {"data": {"a": [1, 2]}}, {}, "one value per row"),
    (
        "object-detection",
        [{"label": "c", "score": 0.1, "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}}],
        IMAGE,
        {"threshold": 0.5},
        "below threshold",
    ),
    (
        "object-detection",
        [{"label": "c", "score": 0.9, "box": {"xmin": 5, "ymin": 2, "xmax": 3, "ymax": 4}}],
        IMAGE,
        {},
        "out of order",
    ),
    ("image-segmentation", [{"label": "sky", "score": 0.5, "mask": png(picture("L", (8, 8)))}], IMAGE, {}, "mask size"),
    ("image-segmentation", [{"label": "sky", "score": 0.5, "mask": "!!"}], IMAGE, {}, "not a base64 image"),
    ("speech-segmentation", [{"class": "A", "start": 2.0, "end": 1.0}], None, {}, "ends before it starts"),
]


def ids(cases):
    return [f"{case[0]}-{index}" for index, case in enumerate(cases)]


@pytest.mark.parametrize("task, output, inputs, parameters", GOOD, ids=ids(GOOD))
def test_accepts(task, output, inputs, parameters):
    check_response(task, "application/json", json.dumps(output).encode(), inputs, parameters)


@pytest.mark.parametrize("task, output, inputs, parameters, message", BAD, ids=ids(BAD))
def test_rejects(task, output, inputs, parameters, message):
    with pytest.raises(OutputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_response(task, "application/json", json.dumps(output).encode(), inputs, parameters)


def test_media_answers():
    check_response("text-to-image", "image/png", media.encode_image(IMAGE, "png"), "prompt", {})
    check_response("text-to-speech", "audio/flac", media.encode_audio(tone(), 16000, "flac"), "hi", {})
    blob = base64.b64encode(media.encode_audio(tone(), 16000, "wav")).decode()
    answer = [{"label": "speech", "blob": blob, "content-type": "audio/wav"}]
    check_response("audio-to-audio", "application/json", json.dumps(answer).encode(), None, {})
    with pytest.raises(OutputError, match="content-type is 'application/json', not image/"):
        check_response("text-to-image", "application/json", b"[]", "prompt", {})
    with pytest.raises(OutputError, match="does not decode"):
        check_response("text-to-speech", "audio/flac", b"not audio", "hi", {})
    with pytest.raises(OutputError, match="not JSON"):
        check_response("text-classification", "application/json", b"{", "t", {})
