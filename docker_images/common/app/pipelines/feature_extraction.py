"""The feature-extraction pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, List, Union

from api_inference_community import Pipeline


class FeatureExtractionPipeline(Pipeline):
    """Answers feature-extraction requests.

    Receives:
        `inputs`: str, or a non-empty List[str] when the client sends several texts.

    Parameters:
        `normalize`, `truncate`, `truncation_direction`, `prompt_name`, `dimensions`, validated by the core
        (schemas.py); only those the client sent.

    Returns:
        for a str, its embedding: List[float] (one vector), or List[List[float]] (one vector per token); for a
        List[str], a list with one such embedding per text, in the same order. numpy arrays are fine (sent as nested
        lists).

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Union[str, List[str]], **parameters: Any) -> Any:
        raise NotImplementedError(
            "FeatureExtractionPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/feature_extraction.py"
        )
