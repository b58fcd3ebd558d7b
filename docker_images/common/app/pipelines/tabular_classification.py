"""The tabular-classification pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from api_inference_community import Pipeline


class TabularClassificationPipeline(Pipeline):
    """Answers tabular-classification requests.

    Receives:
        `inputs`: dict {"data": Dict[str, List[Any]]}: columns by name, all of the same length (the rows).

    Parameters:
        Any the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot
        take.

    Returns:
        a list with one predicted label (str or int) per row, in row order.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Dict[str, Any], **parameters: Any) -> List[Any]:
        raise NotImplementedError(
            "TabularClassificationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/tabular_classification.py"
        )
