"""Pydantic v2 schemas of every task's inputs and parameters (the Hub's task specifications)."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator
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
    return_full_text: Optional[StrictBool] = None
    stop: Optional[List[StrictStr]] = None


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
    truncation: Optional[Literal["do_not_truncate", "longest_first"]] = None


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
