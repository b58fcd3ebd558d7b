"""zero-shot-object-detection: boxes around what each candidate label names (OWL-ViT-like models)."""

from __future__ import annotations

from typing import Any, Optional

from PIL import Image

from app.pipelines.base import TransformersPipeline, check_tokens, comma_separated
from app.pipelines.images import rgb
from app.pipelines.object_detection import Detections, detections


class ZeroShotObjectDetectionPipeline(TransformersPipeline):
    """image with `candidate_labels` -> `[{"label", "score", "box"}, ...]`, best first.

    `threshold`: the lowest score kept (0.1 by default).
    """

    task = "zero-shot-object-detection"

    def __call__(self, inputs: Image.Image, candidate_labels: Any, threshold: Optional[float] = None) -> Detections:
        kwargs = {} if threshold is None else {"threshold": threshold}
        labels = comma_separated(candidate_labels)
        for index, label in enumerate(labels):
            check_tokens(self.pipe.tokenizer, label, f"parameters.candidate_labels[{index}]")
        found = self.pipe({"image": rgb(inputs), "candidate_labels": labels}, **kwargs)
        return detections(found)
