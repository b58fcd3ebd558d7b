"""question-answering: the span of a context that answers a question."""

from __future__ import annotations

from typing import Any, Dict, List, Union

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline, as_float

Answer = Dict[str, Any]


def answer(item: Dict[str, Any]) -> Answer:
    """One answer with plain Python numbers."""
    return {
        "answer": item["answer"],
        "score": as_float(item["score"]),
        "start": int(item["start"]),
        "end": int(item["end"]),
    }


class QuestionAnsweringPipeline(TransformersPipeline):
    """`{"question", "context"}` -> `{"answer", "score", "start", "end"}` (character offsets into the
    context), or a list of the `top_k` best answers when `top_k` > 1.

    `doc_stride`, `max_answer_len`, `max_seq_len`, `max_question_len`, `handle_impossible_answer`,
    `align_to_words`: as transformers' question-answering pipeline takes them.
    """

    task = "question-answering"

    def __call__(self, inputs: Dict[str, str], **parameters: Any) -> Union[Answer, List[Answer]]:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[Dict[str, str]], **parameters: Any) -> List[Union[Answer, List[Answer]]]:
        """All requests' questions in one call (the pipeline batches their windows)."""
        self._check(parameters)
        outputs = self.pipe(
            question=[item["question"] for item in inputs],
            context=[item["context"] for item in inputs],
            batch_size=len(inputs),
            **parameters,
        )
        if isinstance(outputs, dict) or (len(inputs) == 1 and parameters.get("top_k", 1) > 1):
            outputs = [outputs]
        return [[answer(item) for item in output] if isinstance(output, list) else answer(output) for output in outputs]

    def _check(self, parameters: Dict[str, Any]) -> None:
        max_seq_len = parameters.get("max_seq_len", min(self.pipe.tokenizer.model_max_length, 384))
        doc_stride = parameters.get("doc_stride")
        if doc_stride is not None and doc_stride >= max_seq_len:
            raise InvalidInput(
                f"`parameters.doc_stride` ({doc_stride}) must be less than `max_seq_len` ({max_seq_len})"
            )
        question_len = parameters.get("max_question_len")
        if question_len is not None and question_len >= max_seq_len:
            raise InvalidInput(
                f"`parameters.max_question_len` ({question_len}) must be less than `max_seq_len` ({max_seq_len})"
            )
