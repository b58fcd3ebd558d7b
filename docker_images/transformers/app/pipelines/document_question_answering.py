"""document-question-answering: the words of a document image that answer a question.

The words and their boxes are given with the request (`word_boxes`): this image runs no OCR
engine. OCR-free models (Donut-like) read the image alone.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline, as_float
from app.pipelines.images import rgb

BOX_SCALE = 1000  # boxes are normalized to 0-1000, as LayoutLM models read them

WordBox = Tuple[str, List[int]]


def checked_word_boxes(value: Sequence[Any]) -> List[WordBox]:
    """`[[word, [x0, y0, x1, y1]], ...]` (what transformers takes), or the same flattened
    (`[word, box, word, box, ...]`, as the Hub's specification lists them), checked."""
    pairs: List[Any] = []
    if all(isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str) for item in value):
        pairs = [tuple(item) for item in value]
    elif len(value) % 2 == 0 and all(isinstance(word, str) for word in value[::2]):
        pairs = list(zip(value[::2], value[1::2]))
    else:
        raise InvalidInput(
            "`parameters.word_boxes` must be [[word, [x0, y0, x1, y1]], ...] (or [word, box, word, box, ...])"
        )
    checked = []
    for index, (word, box) in enumerate(pairs):
        numbers = isinstance(box, (list, tuple)) and len(box) == 4
        if not numbers or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= BOX_SCALE for v in box
        ):
            raise InvalidInput(
                f"`parameters.word_boxes[{index}]`: the box of `{word}` must be 4 numbers in 0-{BOX_SCALE} "
                f"(x0, y0, x1, y1 normalized to the page), got {box!r}"
            )
        checked.append((word, [int(round(v)) for v in box]))
    if not checked:
        raise InvalidInput("`parameters.word_boxes` must hold at least one word")
    return checked


class DocumentQuestionAnsweringPipeline(TransformersPipeline):
    """`{"image", "question"}` with `word_boxes` -> `[{"answer", "score", "start", "end"}, ...]`, best
    first; `start` and `end` are indices of the first and last word of the answer.

    `top_k` (1 by default), `doc_stride`, `max_answer_len`, `max_seq_len`, `max_question_len`,
    `handle_impossible_answer`; `lang` (the OCR language) is accepted and has no effect here.
    """

    task = "document-question-answering"

    def __call__(
        self,
        inputs: Dict[str, Any],
        word_boxes: Optional[Sequence[Any]] = None,
        lang: Optional[str] = None,
        **parameters: Any,
    ) -> List[Dict[str, Any]]:
        kwargs = dict(parameters)
        if word_boxes is not None:
            kwargs["word_boxes"] = checked_word_boxes(word_boxes)
        elif self.pipe.model_type.value != "vision_encoder_decoder":  # OCR-free models read the image
            raise InvalidInput("`parameters.word_boxes` is required: this server runs no OCR engine to find the words")
        answers = self.pipe(image=rgb(inputs["image"]), question=inputs["question"], **kwargs)
        if isinstance(answers, dict):
            answers = [answers]
        found = [
            {
                "answer": item["answer"],
                "score": as_float(item["score"]),
                "start": int(item["start"]),
                "end": int(item["end"]),
            }
            for item in answers
        ]
        return sorted(found, key=lambda item: -item["score"])
