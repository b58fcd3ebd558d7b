"""The token-classification pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from api_inference_community import Pipeline


class TokenClassificationPipeline(Pipeline):
    """Answers token-classification requests.

    Receives:
        `inputs`: str, the text to tag.

    Parameters:
        `aggregation_strategy`, `ignore_labels`, `stride`, validated by the core (schemas.py); only those the client
        sent.

    Returns:
        list of {"entity_group": str, "score": float, "word": str, "start": int, "end": int}, in text order,
        `start`/`end` character offsets into the text (key `entity` instead of `entity_group` when
        `aggregation_strategy` is "none").

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: str, **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "TokenClassificationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/token_classification.py"
        )
