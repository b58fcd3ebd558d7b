"""Tests for api_inference_community.tasks: the task registry."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from api_inference_community.tasks import schemas
from api_inference_community.tasks.registry import (
    AUDIO_INPUTS,
    IMAGE_INPUTS,
    TASKS,
    TENSOR_INPUTS,
    TEXT_INPUTS,
    InputKind,
    OutputKind,
    TaskSpec,
    count_list_items,
    count_sentence_similarity_items,
    get_task,
    tasks_of_kind,
)
from api_inference_community.tasks.validation import Limits

T, ST, TAB, IMG, AUD, TEN = (
    InputKind.TEXT,
    InputKind.STRUCTURED,
    InputKind.TABULAR,
    InputKind.IMAGE,
    InputKind.AUDIO,
    InputKind.TENSOR,
)
J, IMG_OUT, AUD_OUT, AUDS_OUT = OutputKind.JSON, OutputKind.IMAGE, OutputKind.AUDIO, OutputKind.AUDIO_LIST

# name: (input kind, output kind, parameter schema, batchable)
EXPECTED = {
    "conversational": (ST, J, schemas.Generation, False),
    "feature-extraction": (T, J, schemas.FeatureExtractionParameters, True),
    "question-answering": (ST, J, schemas.QuestionAnsweringParameters, True),
    "sentence-similarity": (ST, J, schemas.AnyParameters, True),
    "fill-mask": (T, J, schemas.FillMaskParameters, True),
    "table-question-answering": (ST, J, schemas.TableQuestionAnsweringParameters, False),
    "tabular-classification": (TAB, J, schemas.AnyParameters, False),
    "tabular-regression": (TAB, J, schemas.AnyParameters, False),
    "summarization": (T, J, schemas.Text2TextParameters, False),
    "text-generation": (T, J, schemas.TextGenerationParameters, False),
    "text2text-generation": (T, J, schemas.Text2TextParameters, False),
    "text-classification": (T, J, schemas.ClassificationParameters, True),
    "text-to-image": (T, IMG_OUT, schemas.AnyParameters, False),
    "text-to-speech": (T, AUD_OUT, schemas.TextToSpeechParameters, False),
    "token-classification": (T, J, schemas.TokenClassificationParameters, True),
    "translation": (T, J, schemas.TranslationParameters, False),
    "zero-shot-classification": (T, J, schemas.ZeroShotParameters, True),
    "image-classification": (IMG, J, schemas.ClassificationParameters, True),
    "image-segmentation": (IMG, J, schemas.ImageSegmentationParameters, False),
    "image-to-text": (IMG, J, schemas.ImageToTextParameters, True),
    "image-to-image": (IMG, IMG_OUT, schemas.ImageToImageParameters, False),
    "object-detection": (IMG, J, schemas.ObjectDetectionParameters, True),
    "zero-shot-image-classification": (IMG, J, schemas.ZeroShotImageParameters, True),
    "depth-estimation": (IMG, J, schemas.NoParameters, False),
    "mask-generation": (IMG, J, schemas.MaskGenerationParameters, False),
    "zero-shot-object-detection": (IMG, J, schemas.ZeroShotObjectDetectionParameters, False),
    "visual-question-answering": (ST, J, schemas.VisualQuestionAnsweringParameters, False),
    "document-question-answering": (ST, J, schemas.DocumentQuestionAnsweringParameters, False),
    "automatic-speech-recognition": (AUD, J, schemas.AutomaticSpeechRecognitionParameters, True),
    "audio-to-audio": (AUD, AUDS_OUT, schemas.AnyParameters, False),
    "speech-segmentation": (AUD, J, schemas.AnyParameters, False),
    "audio-classification": (AUD, J, schemas.ClassificationParameters, True),
    "latent-to-image": (TEN, IMG_OUT, schemas.AnyParameters, False),
}

# The partition of the upstream api-inference-community. Upstream's TEXT_INPUTS set omits `translation`
# although its INPUTS_MAPPING validates it as a string input; here it is a text task, as its inputs are.
UPSTREAM_AUDIO = {"automatic-speech-recognition", "audio-to-audio", "speech-segmentation", "audio-classification"}
UPSTREAM_IMAGE = {
    "image-classification",
    "image-segmentation",
    "image-to-text",
    "image-to-image",
    "object-detection",
    "zero-shot-image-classification",
}
UPSTREAM_TENSOR = {"latent-to-image"}
UPSTREAM_TEXT = {
    "conversational",
    "feature-extraction",
    "question-answering",
    "sentence-similarity",
    "fill-mask",
    "table-question-answering",
    "tabular-classification",
    "tabular-regression",
    "summarization",
    "text-generation",
    "text2text-generation",
    "text-classification",
    "text-to-image",
    "text-to-speech",
    "token-classification",
    "translation",
    "zero-shot-classification",
}

# (task, a valid inputs value, the value once validated)
VALID_INPUTS = [
    ("conversational", {"text": "hi"}, {"text": "hi", "past_user_inputs": [], "generated_responses": []}),
    ("feature-extraction", "a", "a"),
    ("feature-extraction", ["a", "b"], ["a", "b"]),
    ("question-answering", {"question": "q", "context": "c"}, {"question": "q", "context": "c"}),
    (
        "sentence-similarity",
        {"source_sentence": "s", "sentences": ["a", "b"]},
        {"source_sentence": "s", "sentences": ["a", "b"]},
    ),
    ("fill-mask", "Paris is the [MASK].", "Paris is the [MASK]."),
    ("table-question-answering", {"query": "q", "table": {"a": ["1"]}}, {"query": "q", "table": {"a": ["1"]}}),
    ("tabular-classification", {"data": {"a": [1, 2]}}, {"data": {"a": [1, 2]}}),
    ("tabular-regression", {"data": {"a": [1.5], "b": ["x"]}}, {"data": {"a": [1.5], "b": ["x"]}}),
    ("summarization", "text", "text"),
    ("text-generation", "text", "text"),
    ("text2text-generation", "text", "text"),
    ("text-classification", "text", "text"),
    ("text-to-image", "a cat", "a cat"),
    ("text-to-speech", "hello", "hello"),
    ("token-classification", "text", "text"),
    ("translation", "text", "text"),
    ("zero-shot-classification", "text", "text"),
    (
        "latent-to-image",
        {"data": "AAAA", "shape": [1, 3], "dtype": "uint8"},
        {"data": "AAAA", "shape": [1, 3], "dtype": "uint8"},
    ),
]

# (task, an invalid inputs value)
INVALID_INPUTS = [
    ("conversational", "hi"),
    ("conversational", {"text": ""}),
    ("feature-extraction", []),
    ("feature-extraction", ["a", 1]),
    ("feature-extraction", ""),
    ("question-answering", {"question": "q"}),
    ("question-answering", {"question": "q", "context": "c", "extra": 1}),
    ("sentence-similarity", {"source_sentence": "s", "sentences": []}),
    ("fill-mask", ["a", "b"]),
    ("table-question-answering", {"query": "q", "table": {"a": ["1"], "b": ["1", "2"]}}),
    ("table-question-answering", {"query": "q", "table": {}}),
    ("tabular-classification", {"data": {}}),
    ("tabular-regression", {"data": {"a": [1], "b": [1, 2]}}),
    ("text-classification", 3),
    ("text-classification", None),
    ("text-generation", ["a"]),
    ("latent-to-image", {"data": "AAAA", "shape": [], "dtype": "uint8"}),
    ("latent-to-image", {"data": "AAAA", "shape": [-1], "dtype": "uint8"}),
    ("latent-to-image", {"data": "AAAA", "shape": [3], "dtype": "complex64"}),
    ("latent-to-image", {"data": "AAAA", "shape": ["3"], "dtype": "uint8"}),
]

OPEN_TASKS = {
    "conversational",
    "summarization",
    "text-generation",
    "text2text-generation",
    "translation",
    "sentence-similarity",
    "tabular-classification",
    "tabular-regression",
    "text-to-image",
    "text-to-speech",
    "image-to-text",
    "image-to-image",
    "automatic-speech-recognition",
    "audio-to-audio",
    "speech-segmentation",
    "latent-to-image",
}


def test_registry_holds_exactly_the_33_tasks():
    assert len(TASKS) == 33
    assert set(TASKS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_spec_of_each_task(name):
    input_kind, output_kind, parameters, batchable = EXPECTED[name]
    spec = get_task(name)
    assert isinstance(spec, TaskSpec)
    assert spec.name == name
    assert spec.input_kind is input_kind
    assert spec.output_kind is output_kind
    assert spec.parameters is parameters
    assert issubclass(spec.parameters, BaseModel)
    assert spec.batchable is batchable


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inputs_schema_is_none_exactly_for_media(name):
    spec = TASKS[name]
    if spec.input_kind in (InputKind.IMAGE, InputKind.AUDIO):
        assert spec.inputs is None
    else:
        assert isinstance(spec.inputs, TypeAdapter)


def test_specs_are_frozen():
    spec = get_task("fill-mask")
    with pytest.raises(AttributeError):
        spec.batchable = False  # type: ignore[misc]


# Tasks the upstream did not know (served by the transformers image): image tasks, and an image
# with a question in JSON (a structured input).
NEW_IMAGE = {"depth-estimation", "mask-generation", "zero-shot-object-detection"}
NEW_STRUCTURED = {"visual-question-answering", "document-question-answering"}


def test_partition_matches_upstream():
    assert AUDIO_INPUTS == UPSTREAM_AUDIO
    assert IMAGE_INPUTS == UPSTREAM_IMAGE | NEW_IMAGE
    assert TENSOR_INPUTS == UPSTREAM_TENSOR
    assert TEXT_INPUTS == UPSTREAM_TEXT | NEW_STRUCTURED
    for group in (AUDIO_INPUTS, IMAGE_INPUTS, TENSOR_INPUTS, TEXT_INPUTS):
        assert isinstance(group, frozenset)


def test_partition_is_disjoint_and_complete():
    groups = [AUDIO_INPUTS, IMAGE_INPUTS, TENSOR_INPUTS, TEXT_INPUTS]
    assert sum(len(g) for g in groups) == len(TASKS)
    assert frozenset().union(*groups) == frozenset(TASKS)
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            assert not (a & b)


@pytest.mark.parametrize(
    "kind, expected",
    [
        (InputKind.AUDIO, UPSTREAM_AUDIO),
        (InputKind.IMAGE, UPSTREAM_IMAGE | NEW_IMAGE),
        (InputKind.TENSOR, UPSTREAM_TENSOR),
        (InputKind.TABULAR, {"tabular-classification", "tabular-regression"}),
        (
            InputKind.STRUCTURED,
            {"conversational", "question-answering", "sentence-similarity", "table-question-answering"}
            | NEW_STRUCTURED,
        ),
    ],
)
def test_tasks_of_kind(kind, expected):
    assert tasks_of_kind(kind) == expected


def test_text_kinds_are_text_inputs():
    text_like = tasks_of_kind(InputKind.TEXT) | tasks_of_kind(InputKind.STRUCTURED) | tasks_of_kind(InputKind.TABULAR)
    assert text_like == TEXT_INPUTS


def test_batchable_tasks():
    assert {name for name, spec in TASKS.items() if spec.batchable} == {
        "feature-extraction",
        "question-answering",
        "sentence-similarity",
        "fill-mask",
        "text-classification",
        "token-classification",
        "zero-shot-classification",
        "image-classification",
        "image-to-text",
        "object-detection",
        "zero-shot-image-classification",
        "automatic-speech-recognition",
        "audio-classification",
    }


@pytest.mark.parametrize(
    "inputs, expected",
    [("text", 1), ("", 1), (["a"], 1), (["a", "b", "c"], 3), ([], 0), ({"a": 1, "b": 2}, 1), (None, 1)],
)
def test_count_list_items(inputs, expected):
    assert count_list_items(inputs) == expected


@pytest.mark.parametrize("sentences, expected", [(["a"], 2), (["a", "b", "c"], 4), ([str(i) for i in range(9)], 10)])
def test_count_sentence_similarity_items(sentences, expected):
    inputs = {"source_sentence": "s", "sentences": sentences}
    assert count_sentence_similarity_items(inputs) == expected
    assert get_task("sentence-similarity").count_items(inputs) == expected


COUNTED_OTHERWISE = {
    "sentence-similarity",
    "zero-shot-classification",  # (text, label) pairs
    "zero-shot-image-classification",  # labels
    "zero-shot-object-detection",  # labels
    "table-question-answering",  # rows
    "tabular-classification",
    "tabular-regression",
}


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - COUNTED_OTHERWISE))
def test_other_tasks_count_list_items(name):
    assert TASKS[name].count_items is count_list_items


def test_fan_out_is_counted():
    labels = {"candidate_labels": ["a", "b", "c"]}
    assert get_task("zero-shot-classification").count_items("text", labels) == 3
    assert get_task("zero-shot-classification").count_items("text", {"candidate_labels": "a"}) == 1
    assert get_task("zero-shot-image-classification").count_items(object(), labels) == 3
    assert get_task("tabular-regression").count_items({"data": {"a": [1, 2, 3, 4]}}) == 4
    table = {"query": "q", "table": {"a": ["1", "2"], "b": ["3", "4"]}}
    assert get_task("table-question-answering").count_items(table) == 2


def test_only_list_shaped_tasks_split():
    assert {name for name, spec in TASKS.items() if spec.split} == {"feature-extraction", "sentence-similarity"}
    assert get_task("feature-extraction").split(["a", "b", "c"], 2) == [["a", "b"], ["c"]]
    assert get_task("feature-extraction").split("a", 2) == ["a"]


def test_get_task_unknown_names_known_tasks():
    with pytest.raises(KeyError) as info:
        get_task("no-such-task")
    message = str(info.value)
    assert "`no-such-task`" in message
    for name in EXPECTED:
        assert name in message
    # the list is sorted, so the message is stable
    assert message.index("audio-classification") < message.index("zero-shot-image-classification")


@pytest.mark.parametrize("name", ["", "Text-Classification", "text_classification", " fill-mask"])
def test_get_task_is_exact(name):
    with pytest.raises(KeyError):
        get_task(name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_open_parameters(name):
    assert TASKS[name].open_parameters is (name in OPEN_TASKS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_open_parameters_behaviour(name):
    """Open tasks keep unknown parameters; strict ones reject them."""
    spec = TASKS[name]
    required = {"candidate_labels": ["a"]} if "zero-shot" in name else {}
    if spec.open_parameters:
        model = spec.parameters.model_validate({**required, "custom_knob": 7})
        assert model.model_dump()["custom_knob"] == 7
    else:
        with pytest.raises(ValidationError):
            spec.parameters.model_validate({**required, "custom_knob": 7})


@pytest.mark.parametrize("task, value, expected", VALID_INPUTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(VALID_INPUTS)])
def test_inputs_schema_accepts(task, value, expected):
    validated = TASKS[task].inputs.validate_python(value)
    if isinstance(validated, BaseModel):
        validated = validated.model_dump()
    assert validated == expected


@pytest.mark.parametrize("task, value", INVALID_INPUTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(INVALID_INPUTS)])
def test_inputs_schema_rejects(task, value):
    with pytest.raises(ValidationError):
        TASKS[task].inputs.validate_python(value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_empty_parameters_are_valid_except_required(name):
    spec = TASKS[name]
    if name in ("zero-shot-classification", "zero-shot-image-classification", "zero-shot-object-detection"):
        with pytest.raises(ValidationError):
            spec.parameters.model_validate({})
    else:
        assert spec.parameters.model_validate({}).model_dump(exclude_none=True) == {}


# ------------------------------------------------ the tasks of the transformers image


def png_base64(size=(8, 6)) -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (250, 200, 0)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@pytest.mark.parametrize("task", sorted(NEW_STRUCTURED))
def test_image_question_inputs_decode_the_image(task):
    adapter = get_task(task).inputs
    value = adapter.validate_python({"image": png_base64(), "question": "What is it?"})
    assert value.image.size == (8, 6) and value.question == "What is it?"
    for bad in ({"image": "not base64!", "question": "q"}, {"image": png_base64()}, {"image": 3, "question": "q"}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
    with pytest.raises(ValidationError, match="too large"):  # the request's pixel limit, given as context
        adapter.validate_python(
            {"image": png_base64(), "question": "q"}, context={"limits": Limits(max_image_pixels=10)}
        )
    assert adapter.json_schema()["properties"]["image"]["contentEncoding"] == "base64"


def test_text_generation_inputs_are_a_prompt_messages_or_a_chat_request():
    adapter = get_task("text-generation").inputs
    assert adapter.validate_python("Once") == "Once"
    messages = adapter.validate_python([{"role": "user", "content": "Hi"}])
    assert messages[0].role == "user" and messages[0].content == "Hi"
    request = adapter.validate_python({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "stop": "x"})
    assert request.max_tokens == 4 and request.stop == "x"
    for bad in ([], {"messages": []}, {"messages": [{"content": "no role"}]}, {"messages": [], "max_tokens": 0}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_generation_parameters_are_the_hubs():
    checked = schemas.GenerationParameters.model_validate({"max_new_tokens": 4, "early_stopping": "never"})
    assert checked.max_new_tokens == 4 and checked.early_stopping == "never"
    for bad in ({"max_new_tokens": 0}, {"top_p": 0}, {"do_sample": "yes"}, {"temperature": -1}):
        with pytest.raises(ValidationError):
            schemas.GenerationParameters.model_validate(bad)


def test_word_boxes_take_pairs_or_the_flat_form():
    parameters = schemas.DocumentQuestionAnsweringParameters
    assert parameters.model_validate({"word_boxes": [["total", [1, 2, 3, 4]]]}).word_boxes == [("total", [1, 2, 3, 4])]
    assert parameters.model_validate({"word_boxes": ["total", [1, 2, 3, 4]]}).word_boxes == ["total", [1, 2, 3, 4]]
    for bad in ([], [["total", [1, 2, 3]]], [[1, 2, 3, 4, 5]]):
        with pytest.raises(ValidationError):
            parameters.model_validate({"word_boxes": bad})
