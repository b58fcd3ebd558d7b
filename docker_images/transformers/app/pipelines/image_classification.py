"""image-classification: an image's labels and their scores."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from PIL import Image

from app.pipelines.base import TransformersPipeline, label_scores
from app.pipelines.images import rgb

DEFAULT_TOP_K = 5

Labels = List[Dict[str, Any]]


class ImageClassificationPipeline(TransformersPipeline):
    """image -> `[{"label", "score"}, ...]`, best first: the `top_k` best (5 by default).

    `function_to_apply`: softmax, sigmoid or none (the model's default otherwise).
    """

    task = "image-classification"

    def __call__(self, inputs: Image.Image, **parameters: Any) -> Labels:
        return self.batch([inputs], **parameters)[0]

    def batch(
        self, inputs: List[Image.Image], top_k: Optional[int] = None, function_to_apply: Optional[str] = None
    ) -> List[Labels]:
        """All requests' images in one model call."""
        kwargs: Dict[str, Any] = {"top_k": min(top_k or DEFAULT_TOP_K, self.config.num_labels)}
        if function_to_apply is not None:
            kwargs["function_to_apply"] = function_to_apply
        outputs = self.pipe([rgb(image) for image in inputs], batch_size=len(inputs), **kwargs)
        return [label_scores(output) for output in outputs]
