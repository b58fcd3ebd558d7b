"""image-segmentation: the segments of an image, each a label, a score and a mask."""

from __future__ import annotations

from typing import Any, Dict, List

from PIL import Image

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline, as_float
from app.pipelines.images import mask_image, png_base64, rgb

Segments = List[Dict[str, Any]]


class ImageSegmentationPipeline(TransformersPipeline):
    """image -> `[{"label", "score", "mask"}, ...]`: `mask` is a base64 PNG of the image's size
    (white inside the segment); `score` is null for semantic segmentation.

    `subtask` (semantic, instance or panoptic, as the model supports), `threshold`, `mask_threshold`,
    `overlap_mask_area_threshold`.
    """

    task = "image-segmentation"

    def __call__(self, inputs: Image.Image, **parameters: Any) -> Segments:
        subtask = parameters.get("subtask")
        if subtask is not None:
            self._check_subtask(subtask)
        segments = self.pipe(rgb(inputs), **parameters)
        return [
            {
                "label": str(segment["label"]),
                "score": None if segment.get("score") is None else as_float(segment["score"]),
                "mask": png_base64(mask_image(segment["mask"])),
            }
            for segment in segments
        ]

    def _check_subtask(self, subtask: str) -> None:
        processor = self.pipe.image_processor
        available = [
            name
            for name in ("semantic", "instance", "panoptic")
            if hasattr(processor, f"post_process_{name}_segmentation")
        ]
        if subtask not in available:
            raise InvalidInput(
                f"`parameters.subtask`: this model does not do `{subtask}` segmentation; "
                f"it does: {', '.join(available)}"
            )
