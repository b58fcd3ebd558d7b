"""The zero-shot-classification pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict

from api_inference_community import Pipeline


class ZeroShotClassificationPipeline(Pipeline):
    """Answers zero-shot-classification requests.

    Receives:
        `inputs`: str, the text to classify; `candidate_labels` (required) is a List[str], or one str of comma-
        separated labels as the client sent it.

    Parameters:
        `candidate_labels`, `multi_label`, `hypothesis_template`, validated by the core (schemas.py); only those the
        client sent.

    Returns:
        dict {"sequence": str (the input), "labels": List[str], "scores": List[float]}: every candidate label once,
        sorted by score descending.

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: str, **parameters: Any) -> Dict[str, Any]:
        raise NotImplementedError(
            "ZeroShotClassificationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/zero_shot_classification.py"
        )
