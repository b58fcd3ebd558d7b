"""The image-segmentation pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from PIL import Image

from api_inference_community import Pipeline


class ImageSegmentationPipeline(Pipeline):
    """Answers image-segmentation requests.

    Receives:
        `inputs`: PIL.Image.Image in any mode (RGB, RGBA, L, P, I;16, CMYK...), fully loaded, EXIF orientation not
        applied; convert it as the model needs (`api_inference_community.media.to_rgb`).

    Parameters:
        `mask_threshold`, `overlap_mask_area_threshold`, `subtask`, `threshold`, validated by the core (schemas.py);
        only those the client sent.

    Returns:
        list of {"label": str, "score": float or None, "mask": str}: `mask` a base64 PNG, mode "L", of the input's
        size, 255 inside the segment (`api_inference_community.media.encode_image`).
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Image.Image, **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "ImageSegmentationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/image_segmentation.py"
        )
