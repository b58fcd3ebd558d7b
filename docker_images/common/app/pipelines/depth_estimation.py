"""The depth-estimation pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict

from PIL import Image

from api_inference_community import Pipeline


class DepthEstimationPipeline(Pipeline):
    """Answers depth-estimation requests.

    Receives:
        `inputs`: PIL.Image.Image in any mode (RGB, RGBA, L, P, I;16, CMYK...), fully loaded, EXIF orientation not
        applied; convert it as the model needs (`api_inference_community.media.to_rgb`).

    Parameters:
        none, validated by the core (schemas.py); only those the client sent.

    Returns:
        dict {"depth": str, "predicted_depth": List[List[float]]}: `depth` a base64 PNG, mode "L", of the input's
        size (the map scaled to 0-255); `predicted_depth` the model's raw values, row by row.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Image.Image, **parameters: Any) -> Dict[str, Any]:
        raise NotImplementedError(
            "DepthEstimationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/depth_estimation.py"
        )
