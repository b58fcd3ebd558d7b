"""The sentence-similarity pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from api_inference_community import Pipeline


class SentenceSimilarityPipeline(Pipeline):
    """Answers sentence-similarity requests.

    Receives:
        `inputs`: dict {"source_sentence": str, "sentences": List[str]} (at least one sentence).

    Parameters:
        Any the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot
        take.

    Returns:
        List[float]: the similarity of `source_sentence` to each of `sentences`, in the same order.

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Dict[str, Any], **parameters: Any) -> List[float]:
        raise NotImplementedError(
            "SentenceSimilarityPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/sentence_similarity.py"
        )
