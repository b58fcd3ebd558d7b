"""The document-question-answering pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from api_inference_community import Pipeline


class DocumentQuestionAnsweringPipeline(Pipeline):
    """Answers document-question-answering requests.

    Receives:
        `inputs`: dict {"image": Image.Image, "question": str}: the document image decoded by the core, and the
        question; `word_boxes` (when given) holds the words and their boxes (0-1000).

    Parameters:
        `doc_stride`, `handle_impossible_answer`, `lang`, `max_answer_len`, `max_seq_len`, `max_question_len`,
        `top_k`, `word_boxes`, validated by the core (schemas.py); only those the client sent.

    Returns:
        list of {"answer": str, "score": float, "start": int, "end": int}, sorted by score descending
        (`start`/`end`: indices of the answer's first and last word); at most `top_k` items.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Dict[str, Any], **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "DocumentQuestionAnsweringPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/document_question_answering.py"
        )
