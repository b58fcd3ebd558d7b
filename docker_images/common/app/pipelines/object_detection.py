"""The object-detection pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from PIL import Image

from api_inference_community import Pipeline


class ObjectDetectionPipeline(Pipeline):
    """Answers object-detection requests.

    Receives:
        `inputs`: PIL.Image.Image in any mode (RGB, RGBA, L, P, I;16, CMYK...), fully loaded, EXIF orientation not
        applied; convert it as the model needs (`api_inference_community.media.to_rgb`).

    Parameters:
        `threshold`, validated by the core (schemas.py); only those the client sent.

    Returns:
        list of {"label": str, "score": float, "box": {"xmin": int, "ymin": int, "xmax": int, "ymax": int}}: boxes
        in pixels of the input image, scores at least `threshold` when given.

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Image.Image, **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "ObjectDetectionPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/object_detection.py"
        )
