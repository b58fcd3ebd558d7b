"""The image-to-text pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

from PIL import Image

from api_inference_community import Pipeline


class ImageToTextPipeline(Pipeline):
    """Answers image-to-text requests.

    Receives:
        `inputs`: PIL.Image.Image in any mode (RGB, RGBA, L, P, I;16, CMYK...), fully loaded, EXIF orientation not
        applied; convert it as the model needs (`api_inference_community.media.to_rgb`).

    Parameters:
        `max_new_tokens`, `generation_parameters`, validated by the core (schemas.py), and any other the client
        sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot take.

    Returns:
        a list with one {"generated_text": str} (the text the model produced).

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Image.Image, **parameters: Any) -> List[Dict[str, str]]:
        raise NotImplementedError(
            "ImageToTextPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/image_to_text.py"
        )
