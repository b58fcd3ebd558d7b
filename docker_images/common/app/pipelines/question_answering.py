"""The question-answering pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict

from api_inference_community import Pipeline


class QuestionAnsweringPipeline(Pipeline):
    """Answers question-answering requests.

    Receives:
        `inputs`: dict {"question": str, "context": str}.

    Parameters:
        `top_k`, `doc_stride`, `max_answer_len`, `max_seq_len`, `max_question_len`, `handle_impossible_answer`,
        `align_to_words`, validated by the core (schemas.py); only those the client sent.

    Returns:
        dict {"answer": str, "score": float in [0, 1], "start": int, "end": int} where `start` and `end` are
        character offsets and answer == context[start:end]; with `top_k` > 1, a list of at most `top_k` such dicts
        sorted by score descending.

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Dict[str, str], **parameters: Any) -> Any:
        raise NotImplementedError(
            "QuestionAnsweringPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/question_answering.py"
        )
