"""mask-generation: every object's mask in an image, prompted by a grid of points (SAM-like models)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from PIL import Image

from app.pipelines.base import TransformersPipeline, as_float
from app.pipelines.images import mask_image, png_base64, rgb

POINTS_PER_BATCH = 64  # prompts per forward pass of the mask decoder


class MaskGenerationPipeline(TransformersPipeline):
    """image -> `[{"label": "", "score", "mask"}, ...]` best first: the shape of image-segmentation,
    without labels (`mask`: base64 PNG of the image's size).

    `points_per_crop` (the side of the grid of prompt points, 32 by default), `pred_iou_thresh` (0.88),
    `stability_score_thresh` (0.95), `mask_threshold` (0.0, on the mask logits). (Crops of the image,
    `crops_n_layers`, fail in transformers 4.57's pipeline: not offered.)
    """

    task = "mask-generation"

    def __call__(
        self,
        inputs: Image.Image,
        points_per_crop: Optional[int] = None,
        pred_iou_thresh: Optional[float] = None,
        stability_score_thresh: Optional[float] = None,
        mask_threshold: Optional[float] = None,
    ) -> List[Dict[str, Any]]:
        points = points_per_crop or 32
        given = {
            "pred_iou_thresh": pred_iou_thresh,
            "stability_score_thresh": stability_score_thresh,
            "mask_threshold": mask_threshold,
        }
        kwargs = {name: value for name, value in given.items() if value is not None}
        # the grid's points in batches that divide it (a last partial batch is lost by the pipeline)
        batch = next(
            size for size in range(min(POINTS_PER_BATCH, points * points), 0, -1) if points * points % size == 0
        )
        output = self.pipe(rgb(inputs), points_per_crop=points, points_per_batch=batch, **kwargs)
        masks = [
            {"label": "", "score": as_float(score), "mask": png_base64(mask_image(mask))}
            for mask, score in zip(output["masks"], output["scores"])
        ]
        return sorted(masks, key=lambda item: -item["score"])
