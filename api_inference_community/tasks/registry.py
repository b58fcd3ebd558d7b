"""The registry of every task the framework knows: data, not if-chains."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Type

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


Parameters = Optional[Mapping[str, Any]]


def count_list_items(inputs: Any, parameters: Parameters = None) -> int:
    """A list input counts as its length, anything else as one item."""
    return len(inputs) if isinstance(inputs, list) else 1


def count_sentence_similarity_items(inputs: Any, parameters: Parameters = None) -> int:
    return 1 + len(inputs["sentences"])


def count_label_pairs(inputs: Any, parameters: Parameters = None) -> int:
    """Zero-shot classification runs the model once per (text, candidate label) pair."""
    labels = (parameters or {}).get("candidate_labels") or []
    return count_list_items(inputs) * max(1, len(labels) if isinstance(labels, list) else 1)


def count_labels(inputs: Any, parameters: Parameters = None) -> int:
    """Zero-shot image classification encodes each candidate label."""
    labels = (parameters or {}).get("candidate_labels") or []
    return max(1, len(labels) if isinstance(labels, list) else 1)


def count_rows(inputs: Any, parameters: Parameters = None) -> int:
    """Tabular inputs count their rows; a table (question answering) counts its rows too."""
    columns = (inputs.get("data") or inputs.get("table") or {}) if isinstance(inputs, dict) else {}
    return max(1, max((len(values) for values in columns.values()), default=0))


Splitter = Callable[[Any, int], List[Any]]
Joiner = Callable[[List[Any]], Any]


def split_list(inputs: Any, size: int) -> List[Any]:
    """A list input in chunks of at most `size` items (a single input is its own chunk)."""
    if not isinstance(inputs, list):
        return [inputs]
    return [inputs[start : start + size] for start in range(0, len(inputs), size)]


def split_sentences(inputs: Any, size: int) -> List[Any]:
    """Sentence similarity in chunks: the source sentence with at most `size - 1` sentences each."""
    step = max(1, size - 1)
    sentences = inputs["sentences"]
    return [{**inputs, "sentences": sentences[start : start + step]} for start in range(0, len(sentences), step)]


def join_lists(outputs: List[Any]) -> Any:
    """The chunks' outputs, concatenated in order."""
    return [item for output in outputs for item in output]


@dataclass(frozen=True)
class TaskSpec:
    """What a task takes, what it returns, and how it may be served."""

    name: str
    input_kind: InputKind
    output_kind: OutputKind
    inputs: Optional[TypeAdapter]  # None for media inputs, decoded by `media`
    parameters: Type[BaseModel]
    batchable: bool = False
    count_items: Callable[..., int] = count_list_items  # (inputs, parameters) -> items the model runs
    # how a request of more items than one model call may hold is cut (None: it runs whole)
    split: Optional[Splitter] = None
    join: Joiner = join_lists

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
    count_items: Callable[..., int] = count_list_items,
    split: Optional[Splitter] = None,
) -> TaskSpec:
    adapter = TypeAdapter(inputs) if inputs is not None else None
    return TaskSpec(name, input_kind, output_kind, adapter, parameters, batchable, count_items, split)


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
    _spec("feature-extraction", T, J, s.TextOrTexts, s.FeatureExtractionParameters, batchable=True, split=split_list),
    _spec("question-answering", ST, J, s.QuestionAnsweringInputs, s.QuestionAnsweringParameters, batchable=True),
    _spec(
        "sentence-similarity",
        ST,
        J,
        s.SentenceSimilarityInputs,
        s.AnyParameters,
        batchable=True,
        count_items=count_sentence_similarity_items,
        split=split_sentences,
    ),
    _spec("fill-mask", T, J, s.Text, s.FillMaskParameters, batchable=True),
    _spec(
        "table-question-answering",
        ST,
        J,
        s.TableQuestionAnsweringInputs,
        s.TableQuestionAnsweringParameters,
        count_items=count_rows,
    ),
    _spec("tabular-classification", TAB, J, s.TabularInputs, s.AnyParameters, count_items=count_rows),
    _spec("tabular-regression", TAB, J, s.TabularInputs, s.AnyParameters, count_items=count_rows),
    _spec("summarization", T, J, s.Text, s.Text2TextParameters),
    _spec("text-generation", T, J, s.TextGenerationInputs, s.TextGenerationParameters),
    _spec("text2text-generation", T, J, s.Text, s.Text2TextParameters),
    _spec("text-classification", T, J, s.Text, s.ClassificationParameters, batchable=True),
    _spec("text-to-image", T, IMG_OUT, s.Text, s.AnyParameters),
    _spec("text-to-speech", T, AUD_OUT, s.Text, s.TextToSpeechParameters),
    _spec("token-classification", T, J, s.Text, s.TokenClassificationParameters, batchable=True),
    _spec("translation", T, J, s.Text, s.TranslationParameters),
    _spec(
        "zero-shot-classification", T, J, s.Text, s.ZeroShotParameters, batchable=True, count_items=count_label_pairs
    ),
    # image
    _spec("image-classification", IMG, J, None, s.ClassificationParameters, batchable=True),
    _spec("image-segmentation", IMG, J, None, s.ImageSegmentationParameters),
    _spec("image-to-text", IMG, J, None, s.ImageToTextParameters, batchable=True),
    _spec("image-to-image", IMG, IMG_OUT, None, s.ImageToImageParameters),
    _spec("object-detection", IMG, J, None, s.ObjectDetectionParameters, batchable=True),
    _spec(
        "zero-shot-image-classification",
        IMG,
        J,
        None,
        s.ZeroShotImageParameters,
        batchable=True,
        count_items=count_labels,
    ),
    _spec("depth-estimation", IMG, J, None, s.NoParameters),
    _spec("mask-generation", IMG, J, None, s.MaskGenerationParameters),
    _spec("zero-shot-object-detection", IMG, J, None, s.ZeroShotObjectDetectionParameters, count_items=count_labels),
    # an image (base64) with a question, in JSON
    _spec("visual-question-answering", ST, J, s.ImageQuestionInputs, s.VisualQuestionAnsweringParameters),
    _spec("document-question-answering", ST, J, s.ImageQuestionInputs, s.DocumentQuestionAnsweringParameters),
    # audio
    _spec("automatic-speech-recognition", AUD, J, None, s.AutomaticSpeechRecognitionParameters, batchable=True),
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


# A model served for one of these tasks also serves the other at `/models/{id}` (as the Hub does for
# sentence embeddings): the inputs' shape tells them apart.
SHARED_INPUT_TASKS = {"feature-extraction": "sentence-similarity", "sentence-similarity": "feature-extraction"}
SHAPE_PEEK_BYTES = 1024 * 1024  # larger bodies keep the card's task


def task_for_inputs(default: str, body: bytes) -> str:
    """`sentence-similarity` for `{"inputs": {"source_sentence": ...}}`, `feature-extraction` for text;
    `default` when the body says neither (its validation then names the problem)."""
    if default not in SHARED_INPUT_TASKS or len(body) > SHAPE_PEEK_BYTES:
        return default
    import orjson

    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "feature-extraction" if body.strip()[:1] not in (b"{", b"[") else default
    inputs = document.get("inputs", document) if isinstance(document, dict) else document
    if isinstance(inputs, dict) and "source_sentence" in inputs:
        return "sentence-similarity"
    if isinstance(inputs, str) or (isinstance(inputs, list) and all(isinstance(item, str) for item in inputs)):
        return "feature-extraction"
    return default


def get_task(name: str) -> TaskSpec:
    """The spec of a known task; KeyError names the known ones otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"Unknown task `{name}`; known tasks: {', '.join(sorted(TASKS))}") from None
