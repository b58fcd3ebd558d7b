"""The image-to-image pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any

from PIL import Image

from api_inference_community import Pipeline


class ImageToImagePipeline(Pipeline):
    """Answers image-to-image requests.

    Receives:
        `inputs`: PIL.Image.Image in any mode (RGB, RGBA, L, P, I;16, CMYK...), fully loaded, EXIF orientation not
        applied; convert it as the model needs (`api_inference_community.media.to_rgb`).

    Parameters:
        `prompt`, `negative_prompt`, `guidance_scale`, `num_inference_steps`, `target_size`, validated by the core
        (schemas.py), and any other the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a
        400) for one it cannot take.

    Returns:
        a PIL.Image.Image; the core encodes it (PNG by default, or what `Accept` asks).
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: Image.Image, **parameters: Any) -> Image.Image:
        raise NotImplementedError(
            "ImageToImagePipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/image_to_image.py"
        )
