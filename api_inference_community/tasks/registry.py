"""The registry of every task the framework knows: data, not if-chains."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Type

from pydantic import BaseModel, TypeAdapter

from . import schemas as s


class InputKind(str, enum.Enum):
    TEXT = "text"  # a string (a list of strings where the schema allows)
    STRUCTURED = "structured"  # a JSON object with named fields
    TABULAR = "tabular"  # {"data": {column: [values]}}
    IMAGE = "image"  # raw image bytes or base64 in JSON
    AUDIO = "audio"  # raw audio bytes or base64 in JSON
    TENSOR = "tensor"  # base64 bytes plus shape and dtype


class OutputKind(str, enum.Enum):
    JSON = "json"
    IMAGE = "image"  # a PIL image, encoded by Accept negotiation
    AUDIO = "audio"  # (waveform, sampling_rate), encoded by Accept negotiation
    AUDIO_LIST = "audio-list"  # (waveforms, sampling_rate, labels) -> JSON of base64 blobs


def count_list_items(inputs: Any) -> int:
    """A list input counts as its length, anything else as one item."""
    return len(inputs) if isinstance(inputs, list) else 1


def count_sentence_similarity_items(inputs: Any) -> int:
    return 1 + len(inputs["sentences"])


@dataclass(frozen=True)
class TaskSpec:
    """What a task takes, what it returns, and how it may be served."""

    name: str
    input_kind: InputKind
    output_kind: OutputKind
    inputs: Optional[TypeAdapter]  # None for media inputs, decoded by `media`
    parameters: Type[BaseModel]
    batchable: bool = False
    count_items: Callable[[Any], int] = count_list_items

    @property
    def open_parameters(self) -> bool:
        """Whether parameters outside the schema are passed through to the pipeline."""
        return self.parameters.model_config.get("extra") == "allow"


def _spec(
    name: str,
    input_kind: InputKind,
    output_kind: OutputKind,
    inputs: Any,
    parameters: Type[BaseModel],
    batchable: bool = False,
    count_items: Callable[[Any], int] = count_list_items,
) -> TaskSpec:
    adapter = TypeAdapter(inputs) if inputs is not None else None
    return TaskSpec(name, input_kind, output_kind, adapter, parameters, batchable, count_items)


T, ST, TAB, IMG, AUD, TEN = (
    InputKind.TEXT,
    InputKind.STRUCTURED,
    InputKind.TABULAR,
    InputKind.IMAGE,
    InputKind.AUDIO,
    InputKind.TENSOR,
)
J, IMG_OUT, AUD_OUT, AUDS_OUT = OutputKind.JSON, OutputKind.IMAGE, OutputKind.AUDIO, OutputKind.AUDIO_LIST

_SPECS = [
    # text
    _spec("conversational", ST, J, s.ConversationalInputs, s.Generation),
    _spec("feature-extraction", T, J, s.TextOrTexts, s.FeatureExtractionParameters, batchable=True),
    _spec("question-answering", ST, J, s.QuestionAnsweringInputs, s.QuestionAnsweringParameters, batchable=True),
    _spec(
        "sentence-similarity",
        ST,
        J,
        s.SentenceSimilarityInputs,
        s.AnyParameters,
        batchable=True,
        count_items=count_sentence_similarity_items,
    ),
    _spec("fill-mask", T, J, s.Text, s.FillMaskParameters, batchable=True),
    _spec("table-question-answering", ST, J, s.TableQuestionAnsweringInputs, s.TableQuestionAnsweringParameters),
    _spec("tabular-classification", TAB, J, s.TabularInputs, s.AnyParameters),
    _spec("tabular-regression", TAB, J, s.TabularInputs, s.AnyParameters),
    _spec("summarization", T, J, s.Text, s.Generation),
    _spec("text-generation", T, J, s.Text, s.TextGenerationParameters),
    _spec("text2text-generation", T, J, s.Text, s.TextGenerationParameters),
    _spec("text-classification", T, J, s.Text, s.ClassificationParameters, batchable=True),
    _spec("text-to-image", T, IMG_OUT, s.Text, s.AnyParameters),
    _spec("text-to-speech", T, AUD_OUT, s.Text, s.AnyParameters),
    _spec("token-classification", T, J, s.Text, s.TokenClassificationParameters, batchable=True),
    _spec("translation", T, J, s.Text, s.Generation),
    _spec("zero-shot-classification", T, J, s.Text, s.ZeroShotParameters, batchable=True),
    # image
    _spec("image-classification", IMG, J, None, s.ClassificationParameters, batchable=True),
    _spec("image-segmentation", IMG, J, None, s.ImageSegmentationParameters),
    _spec("image-to-text", IMG, J, None, s.AnyParameters, batchable=True),
    _spec("image-to-image", IMG, IMG_OUT, None, s.AnyParameters),
    _spec("object-detection", IMG, J, None, s.ObjectDetectionParameters, batchable=True),
    _spec("zero-shot-image-classification", IMG, J, None, s.ZeroShotImageParameters, batchable=True),
    # audio
    _spec("automatic-speech-recognition", AUD, J, None, s.AnyParameters, batchable=True),
    _spec("audio-to-audio", AUD, AUDS_OUT, None, s.AnyParameters),
    _spec("speech-segmentation", AUD, J, None, s.AnyParameters),
    _spec("audio-classification", AUD, J, None, s.ClassificationParameters, batchable=True),
    # tensor
    _spec("latent-to-image", TEN, IMG_OUT, s.TensorInputs, s.AnyParameters),
]

TASKS: Dict[str, TaskSpec] = {spec.name: spec for spec in _SPECS}


def tasks_of_kind(kind: InputKind) -> frozenset:
    return frozenset(name for name, spec in TASKS.items() if spec.input_kind == kind)


AUDIO_INPUTS = tasks_of_kind(InputKind.AUDIO)
IMAGE_INPUTS = tasks_of_kind(InputKind.IMAGE)
TENSOR_INPUTS = tasks_of_kind(InputKind.TENSOR)
TEXT_INPUTS = frozenset(TASKS) - AUDIO_INPUTS - IMAGE_INPUTS - TENSOR_INPUTS


def get_task(name: str) -> TaskSpec:
    """The spec of a known task; KeyError names the known ones otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"Unknown task `{name}`; known tasks: {', '.join(sorted(TASKS))}") from None
