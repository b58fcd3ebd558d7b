"""object-detection: labelled boxes around the objects of an image."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from PIL import Image

from app.pipelines.base import TransformersPipeline, as_float
from app.pipelines.images import box, rgb

Detections = List[Dict[str, Any]]


def detections(items: List[Dict[str, Any]]) -> Detections:
    """`[{"label", "score", "box"}]` with plain numbers, best score first."""
    found = [{"label": item["label"], "score": as_float(item["score"]), "box": box(item["box"])} for item in items]
    return sorted(found, key=lambda item: -item["score"])


class ObjectDetectionPipeline(TransformersPipeline):
    """image -> `[{"label", "score", "box": {"xmin", "ymin", "xmax", "ymax"}}, ...]` in pixels of the
    image sent, best first. `threshold`: the lowest score kept (0.5 by default)."""

    task = "object-detection"

    def __call__(self, inputs: Image.Image, **parameters: Any) -> Detections:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[Image.Image], threshold: Optional[float] = None) -> List[Detections]:
        """All requests' images in one model call."""
        kwargs = {} if threshold is None else {"threshold": threshold}
        outputs = self.pipe([rgb(image) for image in inputs], batch_size=len(inputs), **kwargs)
        return [detections(output) for output in outputs]
