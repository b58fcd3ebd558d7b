"""The latent-to-image pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from api_inference_community import Pipeline


class LatentToImagePipeline(Pipeline):
    """Answers latent-to-image requests.

    Receives:
        `inputs`: numpy.ndarray of the shape and dtype the client sent (bfloat16 arrives widened to float32).

    Parameters:
        Any the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot
        take.

    Returns:
        a PIL.Image.Image; the core encodes it (PNG by default, or what `Accept` asks).
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: np.ndarray, **parameters: Any) -> Image.Image:
        raise NotImplementedError(
            "LatentToImagePipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/latent_to_image.py"
        )
