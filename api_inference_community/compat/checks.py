"""The checks the upstream package applies to text payloads, as pydantic models.

Upstream apps and their tests expect `normalize_payload_nlp` to raise pydantic's own
`ValidationError` and to apply exactly these bounds: parameters are checked only for the tasks
of `PARAMS_MAPPING` (other parameters pass through unchecked), inputs for every text task of
`INPUTS_MAPPING`. The core's own, stricter schemas (`tasks.schemas`) serve `create_app` apps.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Type, Union

from pydantic import (
    BaseModel,
    Field,
    RootModel,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from typing_extensions import Annotated

Length = Annotated[StrictInt, Field(ge=1, le=500)]
TopK = Annotated[StrictInt, Field(ge=1)]
TopP = Annotated[StrictFloat, Field(ge=0.0, le=1.0)]
MaxTime = Annotated[StrictFloat, Field(ge=0.0, le=120.0)]
Penalty = Annotated[StrictFloat, Field(ge=0.0, le=100.0)]
Sequences = Annotated[StrictInt, Field(ge=1, le=10)]

MAX_MESSAGES = 20  # a 400 lists at most this many problems (plus a count of the rest)
MAX_SHOWN = 80  # characters of an offending value quoted in a message


class FillMaskChecks(BaseModel):
    top_k: Optional[TopK] = None


class ZeroShotChecks(BaseModel):
    candidate_labels: Union[str, Annotated[list, Field(min_length=1)]]
    multi_label: Optional[bool] = None


class GenerationChecks(BaseModel):
    """Generation parameters shared by conversational, summarization and text generation."""

    min_length: Optional[Length] = None
    max_length: Optional[Length] = None
    top_k: Optional[TopK] = None
    top_p: Optional[TopP] = None
    max_time: Optional[MaxTime] = None
    repetition_penalty: Optional[Penalty] = None
    temperature: Optional[Penalty] = None

    @field_validator("max_length")
    @classmethod
    def _not_below_min_length(cls, max_length: Optional[int], info: ValidationInfo) -> Optional[int]:
        min_length = info.data.get("min_length") or 0
        if max_length is not None and max_length < min_length:
            raise ValueError("min_length cannot be larger than max_length")
        return max_length


class SummarizationChecks(GenerationChecks):
    num_return_sequences: Optional[Sequences] = None


class TextGenerationChecks(SummarizationChecks):
    return_full_text: Optional[bool] = None


class ConversationChecks(BaseModel):
    text: str
    past_user_inputs: List[str]
    generated_responses: List[str]


class QuestionChecks(BaseModel):
    question: str
    context: str


class SentenceSimilarityChecks(BaseModel):
    source_sentence: str
    sentences: List[str]


def _same_length_columns(columns: Dict[str, List[str]], what: str) -> Dict[str, List[str]]:
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"All rows in the {what} must be the same length")
    return columns


class TableQuestionChecks(BaseModel):
    table: Dict[str, List[str]]
    query: str

    @field_validator("table")
    @classmethod
    def _rectangular(cls, table: Dict[str, List[str]]) -> Dict[str, List[str]]:
        return _same_length_columns(table, "table")


class TabularChecks(BaseModel):
    data: Dict[str, List[str]]

    @field_validator("data")
    @classmethod
    def _rectangular(cls, data: Dict[str, List[str]]) -> Dict[str, List[str]]:
        return _same_length_columns(data, "data")


class TextOrTextsChecks(RootModel[Union[List[str], str]]):
    @field_validator("root")
    @classmethod
    def _not_empty(cls, root: Union[List[str], str]) -> Union[List[str], str]:
        if isinstance(root, list) and not root:
            raise ValueError("The inputs are invalid, at least one input is required")
        return root


class TextChecks(RootModel[str]):
    """One string; the empty string is accepted (text-to-image prompts may be empty)."""


PARAMS_MAPPING: Dict[str, Type[BaseModel]] = {
    "conversational": GenerationChecks,
    "fill-mask": FillMaskChecks,
    "summarization": SummarizationChecks,
    "text-generation": TextGenerationChecks,
    "text2text-generation": TextGenerationChecks,
    "zero-shot-classification": ZeroShotChecks,
}

INPUTS_MAPPING: Dict[str, Type[BaseModel]] = {
    "conversational": ConversationChecks,
    "feature-extraction": TextOrTextsChecks,
    "question-answering": QuestionChecks,
    "sentence-similarity": SentenceSimilarityChecks,
    "table-question-answering": TableQuestionChecks,
    "tabular-classification": TabularChecks,
    "tabular-regression": TabularChecks,
    **dict.fromkeys(
        (
            "fill-mask",
            "summarization",
            "text-classification",
            "text-generation",
            "text-to-image",
            "text-to-speech",
            "text2text-generation",
            "token-classification",
            "translation",
            "zero-shot-classification",
        ),
        TextChecks,
    ),
}


def check_params(params: Any, task: str) -> bool:
    """Validate `params` for `task` (only the tasks of PARAMS_MAPPING); raises ValidationError."""
    model = PARAMS_MAPPING.get(task)
    if model is not None:
        model.model_validate(params)
    return True


def check_inputs(inputs: Any, task: str) -> bool:
    """Validate `inputs` for a text task; ValueError for a task that takes no text payload."""
    model = INPUTS_MAPPING.get(task)
    if model is None:
        raise ValueError(f"{task} is not a valid pipeline.")
    model.model_validate(inputs)
    return True


def validation_messages(error: ValidationError) -> List[str]:
    """The 400 body of upstream apps: one sentence per problem, naming the field (or the value)."""
    messages = []
    details = error.errors(include_url=False)
    for detail in details[:MAX_MESSAGES]:
        where = str(detail["loc"][0] if detail["loc"] else detail.get("input"))
        if len(where) > MAX_SHOWN:
            where = where[:MAX_SHOWN] + "..."
        messages.append(f"{detail['msg']}: received `{where}` in `parameters`")
    if len(details) > MAX_MESSAGES:
        messages.append(f"... and {len(details) - MAX_MESSAGES} more problems")
    return messages
