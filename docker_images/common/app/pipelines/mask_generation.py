"""The mask-generation pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from PIL import Image

from api_inference_community import Pipeline


class MaskGenerationPipeline(Pipeline):
    """Answers mask-generation requests.

    Receives:
        `inputs`: PIL.Image.Image in any mode (RGB, RGBA, L, P, I;16, CMYK...), fully loaded, EXIF orientation not
        applied; convert it as the model needs (`api_inference_community.media.to_rgb`).

    Parameters:
        `points_per_crop`, `pred_iou_thresh`, `stability_score_thresh`, `mask_threshold`, validated by the core
        (schemas.py); only those the client sent.

    Returns:
        list of {"label": str (may be empty), "score": float, "mask": str}, sorted by score descending: `mask` a
        base64 PNG, mode "L", of the input's size, 255 inside the mask.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Image.Image, **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "MaskGenerationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/mask_generation.py"
        )
