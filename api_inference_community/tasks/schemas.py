"""Pydantic v2 schemas of every task's inputs and parameters (the Hub's task specifications)."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    StrictBool,
    StrictStr,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from typing_extensions import Annotated

Text = Annotated[StrictStr, Field(min_length=1)]
TextOrTexts = Union[Text, Annotated[List[Text], Field(min_length=1)]]
PositiveInt = Annotated[int, Field(strict=True, ge=1)]
Probability = Annotated[float, Field(strict=True, ge=0.0, le=1.0)]
LabelList = Union[Text, Annotated[List[Text], Field(min_length=1)]]


class Strict(BaseModel):
    """Parameters of a closed specification: an unknown name is an error."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """Parameters of an open specification: unknown names pass to the pipeline."""

    model_config = ConfigDict(extra="allow")


def _equal_length_columns(columns: Dict[str, List[Any]], what: str) -> None:
    lengths = {len(values) for values in columns.values()}
    if not columns:
        raise ValueError(f"`{what}` must hold at least one column")
    if len(lengths) > 1:
        raise ValueError(f"all columns of `{what}` must have the same length")


# ---------------------------------------------------------------- inputs


class QuestionAnsweringInputs(Strict):
    question: Text
    context: Text


class SentenceSimilarityInputs(Strict):
    source_sentence: Text
    sentences: Annotated[List[Text], Field(min_length=1)]


class ConversationalInputs(Strict):
    text: Text
    past_user_inputs: List[StrictStr] = []
    generated_responses: List[StrictStr] = []


class TableQuestionAnsweringInputs(Strict):
    query: Text
    table: Dict[str, List[StrictStr]]

    @model_validator(mode="after")
    def _check_table(self) -> TableQuestionAnsweringInputs:
        _equal_length_columns(self.table, "table")
        return self


class TabularInputs(Strict):
    data: Dict[str, List[Any]]

    @model_validator(mode="after")
    def _check_data(self) -> TabularInputs:
        _equal_length_columns(self.data, "data")
        return self


class TensorInputs(Strict):
    """A tensor sent as base64 bytes plus its shape and dtype."""

    data: StrictStr
    shape: Annotated[List[Annotated[int, Field(strict=True, ge=0)]], Field(min_length=1, max_length=8)]
    dtype: Literal["float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8"]


# ------------------------------------------------------------ parameters


class NoParameters(Strict):
    pass


class AnyParameters(Open):
    pass


class Generation(Open):
    """Generation knobs shared by the text generating tasks (upstream's checks)."""

    min_length: Optional[PositiveInt] = None
    max_length: Optional[PositiveInt] = None
    max_new_tokens: Optional[PositiveInt] = None
    top_k: Optional[PositiveInt] = None
    top_p: Optional[Probability] = None
    max_time: Optional[Annotated[float, Field(strict=True, ge=0.0, le=120.0)]] = None
    repetition_penalty: Optional[Annotated[float, Field(strict=True, ge=0.0, le=100.0)]] = None
    temperature: Optional[Annotated[float, Field(strict=True, ge=0.0, le=100.0)]] = None
    num_return_sequences: Optional[Annotated[int, Field(strict=True, ge=1, le=10)]] = None
    do_sample: Optional[StrictBool] = None
    seed: Optional[Annotated[int, Field(strict=True)]] = None

    @model_validator(mode="after")
    def _check_lengths(self) -> Generation:
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError("`min_length` must not be greater than `max_length`")
        return self


class TextGenerationParameters(Generation):
    """The Hub's text-generation parameters (those of Text Generation Inference) and upstream's knobs."""

    return_full_text: Optional[StrictBool] = None
    stop: Optional[List[StrictStr]] = None
    adapter_id: Optional[StrictStr] = None
    best_of: Optional[PositiveInt] = None
    decoder_input_details: Optional[StrictBool] = None
    details: Optional[StrictBool] = None
    frequency_penalty: Optional[Annotated[float, Field(gt=-2.0)]] = None
    grammar: Optional[Dict[str, Any]] = None
    top_n_tokens: Optional[Annotated[int, Field(strict=True, ge=0)]] = None
    truncate: Optional[PositiveInt] = None
    typical_p: Optional[Annotated[float, Field(gt=0.0, le=1.0)]] = None
    # `watermark` stays open: upstream clients sent watermarking settings as an object


class FeatureExtractionParameters(Strict):
    normalize: Optional[StrictBool] = None
    truncate: Optional[StrictBool] = None
    truncation_direction: Optional[Literal["left", "right", "Left", "Right"]] = None
    prompt_name: Optional[Text] = None
    dimensions: Optional[PositiveInt] = None


class ClassificationParameters(Strict):
    top_k: Optional[PositiveInt] = None
    function_to_apply: Optional[Literal["sigmoid", "softmax", "none"]] = None


class TokenClassificationParameters(Strict):
    aggregation_strategy: Optional[Literal["none", "simple", "first", "average", "max"]] = None
    ignore_labels: Optional[List[StrictStr]] = None
    stride: Optional[Annotated[int, Field(strict=True, ge=0)]] = None


class FillMaskParameters(Strict):
    top_k: Optional[PositiveInt] = None
    targets: Optional[LabelList] = None


class QuestionAnsweringParameters(Strict):
    top_k: Optional[PositiveInt] = None
    doc_stride: Optional[PositiveInt] = None
    max_answer_len: Optional[PositiveInt] = None
    max_seq_len: Optional[PositiveInt] = None
    max_question_len: Optional[PositiveInt] = None
    handle_impossible_answer: Optional[StrictBool] = None
    align_to_words: Optional[StrictBool] = None


class TableQuestionAnsweringParameters(Strict):
    padding: Optional[Literal["do_not_pad", "longest", "max_length"]] = None
    sequential: Optional[StrictBool] = None
    truncation: Optional[Union[StrictBool, Literal["do_not_truncate", "longest_first"]]] = None  # the spec: a boolean


class ZeroShotParameters(Strict):
    candidate_labels: LabelList
    multi_label: Optional[StrictBool] = None
    hypothesis_template: Optional[Text] = None


class ZeroShotImageParameters(Strict):
    candidate_labels: LabelList
    hypothesis_template: Optional[Text] = None


class ImageSegmentationParameters(Strict):
    mask_threshold: Optional[Probability] = None
    overlap_mask_area_threshold: Optional[Probability] = None
    subtask: Optional[Literal["instance", "panoptic", "semantic"]] = None
    threshold: Optional[Probability] = None


class ObjectDetectionParameters(Strict):
    threshold: Optional[Probability] = None


# ------------------------------------------- generation, image inputs, chat (transformers tasks)

NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
OpenFraction = Annotated[float, Field(gt=0.0, le=1.0)]
Temperature = Annotated[float, Field(ge=0.0, le=100.0)]
Seq2SeqTruncation = Literal["do_not_truncate", "longest_first", "only_first", "only_second"]


class GenerationParameters(Open):
    """The Hub's GenerationParameters (the `generation_parameters` object of several tasks).

    Open: a library may take more knobs; its pipeline refuses those it does not know.
    """

    temperature: Optional[Temperature] = None
    top_k: Optional[PositiveInt] = None
    top_p: Optional[OpenFraction] = None
    typical_p: Optional[OpenFraction] = None
    epsilon_cutoff: Optional[Fraction] = None
    eta_cutoff: Optional[Fraction] = None
    max_length: Optional[PositiveInt] = None
    max_new_tokens: Optional[PositiveInt] = None
    min_length: Optional[NonNegativeInt] = None
    min_new_tokens: Optional[NonNegativeInt] = None
    do_sample: Optional[StrictBool] = None
    early_stopping: Optional[Union[StrictBool, Literal["never"]]] = None
    num_beams: Optional[PositiveInt] = None
    num_beam_groups: Optional[PositiveInt] = None
    penalty_alpha: Optional[Annotated[float, Field(ge=0.0)]] = None
    use_cache: Optional[StrictBool] = None


class Text2TextParameters(Generation):
    """summarization, text2text-generation: the Hub's parameters, and generation knobs at the top level."""

    clean_up_tokenization_spaces: Optional[StrictBool] = None
    truncation: Optional[Seq2SeqTruncation] = None
    generate_parameters: Optional[GenerationParameters] = None


class TranslationParameters(Text2TextParameters):
    src_lang: Optional[Text] = None
    tgt_lang: Optional[Text] = None


class ImageToTextParameters(Open):
    max_new_tokens: Optional[PositiveInt] = None
    generation_parameters: Optional[GenerationParameters] = None


class AutomaticSpeechRecognitionParameters(Open):
    return_timestamps: Optional[StrictBool] = None
    generation_parameters: Optional[GenerationParameters] = None


class TextToSpeechParameters(Generation):
    """The spec nests them in `generation_parameters`; InferenceClient.text_to_speech sends them at the top level."""

    generation_parameters: Optional[GenerationParameters] = None


class TargetSize(Strict):
    width: PositiveInt
    height: PositiveInt


class ImageToImageParameters(Open):
    prompt: Optional[StrictStr] = None
    negative_prompt: Optional[StrictStr] = None
    guidance_scale: Optional[Annotated[float, Field(ge=0.0)]] = None
    num_inference_steps: Optional[PositiveInt] = None
    target_size: Optional[TargetSize] = None


class ZeroShotObjectDetectionParameters(Strict):
    candidate_labels: LabelList
    threshold: Optional[Probability] = None  # not in the spec; what detection models take


class VisualQuestionAnsweringParameters(Strict):
    top_k: Optional[PositiveInt] = None


BoundingBox = Annotated[List[Annotated[float, Field(ge=0.0)]], Field(min_length=4, max_length=4)]
WordBox = Union[StrictStr, BoundingBox, Tuple[StrictStr, BoundingBox]]


class DocumentQuestionAnsweringParameters(Strict):
    doc_stride: Optional[PositiveInt] = None
    handle_impossible_answer: Optional[StrictBool] = None
    lang: Optional[Text] = None
    max_answer_len: Optional[PositiveInt] = None
    max_seq_len: Optional[PositiveInt] = None
    max_question_len: Optional[PositiveInt] = None
    top_k: Optional[PositiveInt] = None
    # [[word, [x0, y0, x1, y1]], ...], or the spec's flat [word, box, word, box, ...]
    word_boxes: Optional[Annotated[List[WordBox], Field(min_length=1)]] = None


class MaskGenerationParameters(Strict):
    """No Hub specification: the knobs of transformers' mask-generation pipeline (SAM)."""

    points_per_crop: Optional[Annotated[int, Field(strict=True, ge=1, le=64)]] = None
    pred_iou_thresh: Optional[Probability] = None
    stability_score_thresh: Optional[Probability] = None
    mask_threshold: Optional[float] = None


def _decode_image(value: Any, info: ValidationInfo) -> Any:
    """A base64 image (plain or data URL) decoded into a PIL image, within the request's limits."""
    from ..media import DEFAULT_MAX_PIXELS, MediaError, decode_base64_image

    if not isinstance(value, str) or not value:
        raise ValueError("expected the image as a base64 string")
    limits = (info.context or {}).get("limits")
    try:
        if limits is None:
            return decode_base64_image(value, max_pixels=DEFAULT_MAX_PIXELS)
        return decode_base64_image(
            value,
            max_pixels=limits.max_image_pixels,
            max_image_bytes=limits.max_image_bytes,
            target_size=limits.image_size,
        )
    except MediaError as error:
        raise ValueError(str(error)) from None


Base64Image = Annotated[
    Any,
    PlainValidator(_decode_image),
    WithJsonSchema({"type": "string", "contentEncoding": "base64", "contentMediaType": "image/*"}),
]


class ImageQuestionInputs(Strict):
    """visual-question-answering, document-question-answering: an image (base64) and a question."""

    image: Base64Image
    question: Text


class ChatMessagePart(Open):
    type: Text
    text: Optional[StrictStr] = None


class ChatMessage(Open):
    role: Text
    content: Optional[Union[StrictStr, List[ChatMessagePart]]] = None
    name: Optional[StrictStr] = None
    tool_calls: Optional[List[Dict[str, Any]]] = None


class ChatCompletionInputs(Strict):
    """The Hub's chat-completion request (the OpenAI shape), what InferenceClient.chat_completion posts."""

    messages: Annotated[List[ChatMessage], Field(min_length=1)]
    model: Optional[StrictStr] = None
    frequency_penalty: Optional[Annotated[float, Field(ge=-2.0, le=2.0)]] = None
    logit_bias: Optional[Union[List[float], Dict[str, float]]] = None
    logprobs: Optional[StrictBool] = None
    max_tokens: Optional[PositiveInt] = None
    n: Optional[Annotated[int, Field(strict=True, ge=1, le=10)]] = None
    presence_penalty: Optional[Annotated[float, Field(ge=-2.0, le=2.0)]] = None
    reasoning_effort: Optional[StrictStr] = None
    response_format: Optional[Dict[str, Any]] = None
    seed: Optional[NonNegativeInt] = None
    stop: Optional[Union[StrictStr, List[StrictStr]]] = None
    stream: Optional[StrictBool] = None
    stream_options: Optional[Dict[str, Any]] = None
    temperature: Optional[Annotated[float, Field(ge=0.0, le=2.0)]] = None
    tool_choice: Optional[Union[StrictStr, Dict[str, Any]]] = None
    tool_prompt: Optional[StrictStr] = None
    tools: Optional[List[Dict[str, Any]]] = None
    top_logprobs: Optional[NonNegativeInt] = None
    top_p: Optional[OpenFraction] = None


def _text_generation_kind(value: Any) -> str:
    """Which form of text-generation inputs a value is (the tags read as types in error messages)."""
    if isinstance(value, dict):
        return "dict[chat-completion]"
    return "list[messages]" if isinstance(value, list) else "str"


# text-generation: a prompt, chat messages, or a whole chat-completion request
TextGenerationInputs = Annotated[
    Union[
        Annotated[Text, Tag("str")],
        Annotated[List[ChatMessage], Field(min_length=1), Tag("list[messages]")],
        Annotated[ChatCompletionInputs, Tag("dict[chat-completion]")],
    ],
    Discriminator(_text_generation_kind),
]
