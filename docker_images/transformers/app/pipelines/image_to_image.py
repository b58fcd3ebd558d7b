"""image-to-image: an image transformed by the model (super-resolution, restoration...)."""

from __future__ import annotations

from typing import Any, Dict, Optional

from PIL import Image

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline
from app.pipelines.images import rgb

#: parameters of the Hub's specification for text-guided (diffusion) models, which these models are not
TEXT_GUIDED = ("prompt", "negative_prompt", "guidance_scale", "num_inference_steps")


class ImageToImagePipeline(TransformersPipeline):
    """image -> image (PNG by default, or what `Accept` asks). `target_size` ({"width", "height"}):
    the answer is resized to it. The text-guided parameters of the specification are refused."""

    task = "image-to-image"

    def __call__(
        self, inputs: Image.Image, target_size: Optional[Dict[str, int]] = None, **parameters: Any
    ) -> Image.Image:
        given = sorted(name for name in parameters if name in TEXT_GUIDED and parameters[name] is not None)
        if given:
            names = ", ".join(f"`parameters.{name}`" for name in given)
            raise InvalidInput(f"{names}: this model is not guided by text")
        output = self.pipe(rgb(inputs))
        if target_size is not None:
            output = output.resize((target_size["width"], target_size["height"]), Image.Resampling.BICUBIC)
        return output
