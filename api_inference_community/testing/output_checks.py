"""The shape of every task's answer on the wire, checked: one validator per task of the registry.

A check receives the decoded response (JSON value, PIL image or waveform) with the request's
inputs and parameters, and raises OutputError naming what is wrong. `pipeline_docs` describes
the same shapes to the authors of pipelines.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Callable, Dict, List, Mapping, Optional

import orjson

from .. import media
from ..tasks.registry import TASKS, OutputKind

Check = Callable[[Any, Any, Mapping[str, Any]], None]  # (output, inputs, parameters)
Predicate = Callable[[Any], bool]
CHECK_SAMPLING_RATE = 16000  # audio answers are decoded at this rate to be checked

MEDIA_TYPES = {OutputKind.IMAGE: "image/", OutputKind.AUDIO: "audio/"}


class OutputError(AssertionError):
    """A response does not have the shape its task's specification gives."""


# ------------------------------------------------------------ primitives


def string(value: Any) -> bool:
    return isinstance(value, str)


def integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number_or_none(value: Any) -> bool:
    return value is None or number(value)


def strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def a_list(value: Any) -> bool:
    return isinstance(value, list)


def an_object(value: Any) -> bool:
    return isinstance(value, dict)


KINDS: Dict[Predicate, str] = {
    string: "a string",
    integer: "an integer",
    number: "a finite number",
    number_or_none: "a number or null",
    strings: "a list of strings",
    a_list: "a list",
    an_object: "an object",
}


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def require(condition: bool, message: str) -> None:
    if not condition:
        raise OutputError(message)


def records(output: Any, fields: Mapping[str, Predicate], what: str, min_items: int = 0) -> List[Dict[str, Any]]:
    """`output` as a list of objects, each holding `fields` (extra keys are allowed)."""
    require(isinstance(output, list), f"expected a list of {what}, got {show(output)}")
    require(len(output) >= min_items, f"expected at least {min_items} {what}, got {show(output)}")
    for index, item in enumerate(output):
        record(item, fields, f"item {index}")
    return output


def record(item: Any, fields: Mapping[str, Predicate], where: str = "the output") -> Dict[str, Any]:
    require(isinstance(item, dict), f"{where} must be an object, got {show(item)}")
    for key, predicate in fields.items():
        require(key in item, f"{where} lacks `{key}`: {show(item)}")
        require(predicate(item[key]), f"{where}: `{key}` must be {KINDS[predicate]}, got {show(item[key])}")
    return item


def descending(scores: List[float], what: str = "items") -> None:
    require(all(a >= b for a, b in zip(scores, scores[1:])), f"{what} must be sorted by score descending: {scores}")


def at_most_top_k(items: List[Any], parameters: Mapping[str, Any]) -> None:
    top_k = parameters.get("top_k")
    if top_k is not None:
        require(len(items) <= top_k, f"expected at most top_k={top_k} items, got {len(items)}")


def candidate_labels(parameters: Mapping[str, Any]) -> List[str]:
    labels = parameters["candidate_labels"]
    return [label.strip() for label in labels.split(",")] if isinstance(labels, str) else list(labels)


# ----------------------------------------------------------------- checks


def label_scores(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    items = records(output, {"label": string, "score": number}, "{label, score} objects", min_items=1)
    descending([item["score"] for item in items])
    at_most_top_k(items, parameters)


def zero_shot_image(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    label_scores(output, inputs, parameters)
    labels = sorted(item["label"] for item in output)
    require(labels == sorted(candidate_labels(parameters)), f"expected every candidate label once, got {labels}")


def zero_shot_text(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    record(output, {"sequence": string, "labels": strings, "scores": a_list})
    require(all(number(s) for s in output["scores"]), f"`scores` must be numbers: {show(output['scores'])}")
    require(len(output["labels"]) == len(output["scores"]), "`labels` and `scores` must have the same length")
    require(
        sorted(output["labels"]) == sorted(candidate_labels(parameters)),
        f"expected every candidate label once, got {output['labels']}",
    )
    descending(output["scores"], "labels")


def embedding(value: Any, where: str = "the embedding", depth: int = 0) -> None:
    require(isinstance(value, list) and bool(value), f"{where} must be a non-empty list, got {show(value)}")
    if all(number(v) for v in value):
        return
    require(depth < 2 and all(isinstance(v, list) for v in value), f"{where} must hold numbers, got {show(value)}")
    for row in value:
        embedding(row, where, depth + 1)


def feature_extraction(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    if not isinstance(inputs, list):
        embedding(output)
        return
    require(isinstance(output, list) and len(output) == len(inputs), f"expected {len(inputs)} embeddings")
    for index, item in enumerate(output):
        embedding(item, f"embedding {index}")


def sentence_similarity(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    count = len(inputs["sentences"])
    require(isinstance(output, list) and len(output) == count, f"expected {count} similarities, got {show(output)}")
    require(all(number(v) for v in output), f"similarities must be numbers, got {show(output)}")


def question_answering(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    answers = output if isinstance(output, list) else [output]
    fields = {"answer": string, "score": number, "start": integer, "end": integer}
    records(answers, fields, "answers", min_items=1)
    context = inputs["context"]
    for answer in answers:
        start, end = answer["start"], answer["end"]
        require(0 <= start <= end <= len(context), f"start/end outside the context: {show(answer)}")
        require(answer["answer"] == context[start:end], f"answer is not context[start:end]: {show(answer)}")
    descending([answer["score"] for answer in answers], "answers")
    at_most_top_k(answers, parameters)


def fill_mask(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    fields = {"sequence": string, "score": number, "token": integer, "token_str": string}
    items = records(output, fields, "{sequence, score, token, token_str} objects", min_items=1)
    descending([item["score"] for item in items])
    at_most_top_k(items, parameters)


def table_question_answering(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    record(output, {"answer": string, "coordinates": a_list, "cells": strings, "aggregator": string})
    for cell in output["coordinates"]:
        require(
            isinstance(cell, list) and len(cell) == 2 and all(integer(v) for v in cell),
            f"coordinates must be [row, column] pairs of integers, got {show(cell)}",
        )


def rows(inputs: Any) -> int:
    return len(next(iter(inputs["data"].values())))


def tabular_classification(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    require(isinstance(output, list) and len(output) == rows(inputs), f"expected one label per row, got {show(output)}")
    require(all(string(v) or integer(v) for v in output), f"labels must be strings or integers: {show(output)}")


def tabular_regression(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    require(isinstance(output, list) and len(output) == rows(inputs), f"expected one value per row, got {show(output)}")
    require(all(number(v) for v in output), f"values must be numbers: {show(output)}")


def generated(key: str) -> Check:
    def check(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
        records(output, {key: string}, f"{{{key}}} objects", min_items=1)

    check.__name__ = f"generated_{key}"
    return check


def conversational(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    record(output, {"generated_text": string, "conversation": an_object})
    record(output["conversation"], {"past_user_inputs": strings, "generated_responses": strings}, "`conversation`")


def token_classification(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    records(output, {"score": number, "word": string, "start": integer, "end": integer}, "entities")
    for entity in output:
        group = entity.get("entity_group", entity.get("entity"))
        require(string(group), f"an entity needs `entity_group` (or `entity`): {show(entity)}")
        require(0 <= entity["start"] <= entity["end"] <= len(inputs), f"start/end outside the text: {show(entity)}")
    starts = [entity["start"] for entity in output]
    require(starts == sorted(starts), f"entities must be in text order, got starts {starts}")


def image_segmentation(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    items = records(output, {"label": string, "score": number_or_none, "mask": string}, "segments")
    for item in items:
        try:
            mask = media.decode_image(base64.b64decode(item["mask"], validate=True))
        except (binascii.Error, ValueError) as error:
            raise OutputError(f"`mask` of {item['label']!r} is not a base64 image: {error}") from None
        require(mask.size == inputs.size, f"mask size {mask.size} differs from the image's {inputs.size}")


def object_detection(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    items = records(output, {"label": string, "score": number, "box": an_object}, "detections")
    threshold = parameters.get("threshold")
    for item in items:
        box = record(item["box"], dict.fromkeys(("xmin", "ymin", "xmax", "ymax"), integer), "`box`")
        require(box["xmin"] <= box["xmax"] and box["ymin"] <= box["ymax"], f"box corners out of order: {box}")
        require(threshold is None or item["score"] >= threshold, f"score below threshold={threshold}: {show(item)}")


def text_classification(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    """label scores, or the same inside a list of one (the Inference API's answer, which
    InferenceClient.text_classification reads)."""
    nested = isinstance(output, list) and len(output) == 1 and isinstance(output[0], list)
    label_scores(output[0] if nested else output, inputs, parameters)


def text_generation(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    """`[{"generated_text"}]`, or the chat-completion answer to a chat-completion request."""
    if not (isinstance(inputs, dict) and "messages" in inputs):
        generated("generated_text")(output, inputs, parameters)
        return
    record(output, {"id": string, "created": integer, "model": string, "choices": a_list, "usage": an_object})
    require(output.get("object") == "chat.completion", f"`object` must be `chat.completion`: {show(output)}")
    choices = records(output["choices"], {"index": integer, "message": an_object, "finish_reason": string}, "choices")
    require(len(choices) == (inputs.get("n") or 1), f"expected {inputs.get('n') or 1} choices, got {len(choices)}")
    for choice in choices:
        message = record(choice["message"], {"role": string, "content": string}, "`message`")
        require(message["role"] == "assistant", f"the answer's role must be `assistant`: {show(message)}")
    usage = record(output["usage"], dict.fromkeys(("prompt_tokens", "completion_tokens", "total_tokens"), integer))
    total = usage["prompt_tokens"] + usage["completion_tokens"]
    require(usage["total_tokens"] == total, f"`total_tokens` is not the sum of the others: {show(usage)}")


def base64_image(value: str, what: str) -> Any:
    try:
        return media.decode_image(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError) as error:
        raise OutputError(f"{what} is not a base64 image: {error}") from None


def depth_estimation(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    record(output, {"depth": string, "predicted_depth": a_list})
    depth = base64_image(output["depth"], "`depth`")
    if hasattr(inputs, "size"):  # the image sent
        require(depth.size == inputs.size, f"depth map size {depth.size} differs from the image's {inputs.size}")
    rows_ = output["predicted_depth"]
    require(rows_ and all(isinstance(row, list) and row for row in rows_), "`predicted_depth` must be rows of values")
    require(len({len(row) for row in rows_}) == 1, "the rows of `predicted_depth` must have the same length")
    require(all(number(v) for row in rows_ for v in row), "`predicted_depth` must hold finite numbers")


def mask_generation(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    image_segmentation(output, inputs, parameters)
    require(all(number(item["score"]) for item in output), f"every mask needs a score: {show(output)}")
    descending([item["score"] for item in output], "masks")


def zero_shot_object_detection(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    object_detection(output, inputs, parameters)
    labels = set(candidate_labels(parameters))
    require(all(item["label"] in labels for item in output), f"labels must be candidate labels: {show(output)}")
    descending([item["score"] for item in output], "detections")


def visual_question_answering(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    items = records(output, {"answer": string, "score": number}, "{answer, score} objects", min_items=1)
    descending([item["score"] for item in items], "answers")
    at_most_top_k(items, parameters)


def document_question_answering(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    fields = {"answer": string, "score": number, "start": integer, "end": integer}
    items = records(output, fields, "{answer, score, start, end} objects", min_items=1)
    require(all(0 <= item["start"] <= item["end"] for item in items), f"start/end out of order: {show(items)}")
    descending([item["score"] for item in items], "answers")
    at_most_top_k(items, parameters)


def speech_recognition(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    record(output, {"text": string})
    if "chunks" in output:
        for chunk in records(output["chunks"], {"text": string, "timestamp": a_list}, "chunks"):
            stamp = chunk["timestamp"]
            valid = len(stamp) == 2 and all(number_or_none(t) for t in stamp)
            require(valid, f"a timestamp must be [start, end] in seconds: {stamp}")


def speech_segmentation(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    items = records(output, {"class": string, "start": number, "end": number}, "{class, start, end} objects")
    require(all(item["start"] <= item["end"] for item in items), f"a segment ends before it starts: {show(items)}")
    starts = [item["start"] for item in items]
    require(starts == sorted(starts), f"segments must be in time order, got starts {starts}")


def audio_list(output: Any, inputs: Any, parameters: Mapping[str, Any]) -> None:
    items = records(output, {"label": string, "blob": string, "content-type": string}, "audio objects", 1)
    for item in items:
        require(item["content-type"].startswith("audio/"), f"content-type must be audio/*: {item['content-type']}")
        audio(base64.b64decode(item["blob"]), item["content-type"])


def image(output: Any, inputs: Any = None, parameters: Optional[Mapping[str, Any]] = None) -> None:
    require(output.width > 0 and output.height > 0, f"empty image {output.size}")


def waveform(output: Any, inputs: Any = None, parameters: Optional[Mapping[str, Any]] = None) -> None:
    require(output.ndim == 1 and output.size > 0, f"expected a non-empty mono waveform, got shape {output.shape}")


def audio(body: bytes, content_type: str) -> Any:
    try:
        return media.decode_audio(body, CHECK_SAMPLING_RATE)
    except media.MediaError as error:
        raise OutputError(f"the {content_type} answer does not decode: {error}") from None


CHECKS: Dict[str, Check] = {
    "conversational": conversational,
    "feature-extraction": feature_extraction,
    "question-answering": question_answering,
    "sentence-similarity": sentence_similarity,
    "fill-mask": fill_mask,
    "table-question-answering": table_question_answering,
    "tabular-classification": tabular_classification,
    "tabular-regression": tabular_regression,
    "summarization": generated("summary_text"),
    "text-generation": text_generation,
    "text2text-generation": generated("generated_text"),
    "text-classification": text_classification,
    "text-to-image": image,
    "text-to-speech": waveform,
    "token-classification": token_classification,
    "translation": generated("translation_text"),
    "zero-shot-classification": zero_shot_text,
    "image-classification": label_scores,
    "image-segmentation": image_segmentation,
    "image-to-text": generated("generated_text"),
    "image-to-image": image,
    "object-detection": object_detection,
    "zero-shot-image-classification": zero_shot_image,
    "depth-estimation": depth_estimation,
    "mask-generation": mask_generation,
    "zero-shot-object-detection": zero_shot_object_detection,
    "visual-question-answering": visual_question_answering,
    "document-question-answering": document_question_answering,
    "automatic-speech-recognition": speech_recognition,
    "audio-to-audio": audio_list,
    "speech-segmentation": speech_segmentation,
    "audio-classification": label_scores,
    "latent-to-image": image,
}


# ------------------------------------------------------------------ entry


def media_type_of(task: str) -> str:
    """The media type (or its prefix) every 200 answer of `task` carries."""
    return MEDIA_TYPES.get(TASKS[task].output_kind, "application/json")


def decode(task: str, content_type: str, body: bytes) -> Any:
    """The answer's body as the check of `task` takes it."""
    expected = media_type_of(task)
    wanted = expected + ("*" if expected.endswith("/") else "")
    require(content_type.startswith(expected), f"the answer's content-type is {content_type!r}, not {wanted}")
    kind = TASKS[task].output_kind
    if kind == OutputKind.IMAGE:
        try:
            return media.decode_image(body)
        except media.MediaError as error:
            raise OutputError(f"the {content_type} answer does not decode: {error}") from None
    if kind == OutputKind.AUDIO:
        return audio(body, content_type)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise OutputError(f"the answer is not JSON: {error}") from None


def check_response(task: str, content_type: str, body: bytes, inputs: Any, parameters: Mapping[str, Any]) -> None:
    """Raise OutputError unless `body` is a valid answer of `task` to `inputs` and `parameters`."""
    CHECKS[task](decode(task, content_type, body), inputs, parameters)
