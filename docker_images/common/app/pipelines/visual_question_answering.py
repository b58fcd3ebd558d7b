"""The visual-question-answering pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from api_inference_community import Pipeline


class VisualQuestionAnsweringPipeline(Pipeline):
    """Answers visual-question-answering requests.

    Receives:
        `inputs`: dict {"image": Image.Image, "question": str}: the image decoded by the core (any mode, as for
        image tasks), and the question.

    Parameters:
        `top_k`, validated by the core (schemas.py); only those the client sent.

    Returns:
        list of {"answer": str, "score": float}, sorted by score descending; at most `top_k` items.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Dict[str, Any], **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "VisualQuestionAnsweringPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/visual_question_answering.py"
        )
