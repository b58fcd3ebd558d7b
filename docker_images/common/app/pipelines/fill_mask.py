"""The fill-mask pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from api_inference_community import Pipeline


class FillMaskPipeline(Pipeline):
    """Answers fill-mask requests.

    Receives:
        `inputs`: str holding the model's mask token (e.g. [MASK] or <mask>); raise
        `api_inference_community.errors.InvalidInput` (a 400) when it holds none.

    Parameters:
        `top_k`, `targets`, validated by the core (schemas.py); only those the client sent.

    Returns:
        list of {"sequence": str, "score": float, "token": int, "token_str": str}, sorted by score descending; at
        most `top_k` items (5 by default); only the `targets` tokens when given.

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: str, **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "FillMaskPipeline.__call__ is not implemented: fill in docker_images/common/app/pipelines/fill_mask.py"
        )
