"""The text-classification pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any

from api_inference_community import Pipeline


class TextClassificationPipeline(Pipeline):
    """Answers text-classification requests.

    Receives:
        `inputs`: str, the text to classify.

    Parameters:
        `top_k`, `function_to_apply`, validated by the core (schemas.py); only those the client sent.

    Returns:
        list of {"label": str, "score": float}, sorted by score descending; at most `top_k` items when the parameter
        is given; or that list inside a list of one, as the Inference API answers and
        InferenceClient.text_classification reads it.

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: str, **parameters: Any) -> Any:
        raise NotImplementedError(
            "TextClassificationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/text_classification.py"
        )
