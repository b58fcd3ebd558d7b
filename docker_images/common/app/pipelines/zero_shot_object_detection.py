"""The zero-shot-object-detection pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from PIL import Image

from api_inference_community import Pipeline


class ZeroShotObjectDetectionPipeline(Pipeline):
    """Answers zero-shot-object-detection requests.

    Receives:
        `inputs`: PIL.Image.Image in any mode (RGB, RGBA, L, P, I;16, CMYK...), fully loaded, EXIF orientation not
        applied; convert it as the model needs (`api_inference_community.media.to_rgb`). `candidate_labels`
        (required) is a List[str], or one str of comma-separated labels.

    Parameters:
        `candidate_labels`, `threshold`, validated by the core (schemas.py); only those the client sent.

    Returns:
        list of {"label": str (one of the candidate labels), "score": float, "box": {"xmin": int, "ymin": int,
        "xmax": int, "ymax": int}}: boxes in pixels of the input image, sorted by score descending.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Image.Image, **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "ZeroShotObjectDetectionPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/zero_shot_object_detection.py"
        )
