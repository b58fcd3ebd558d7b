"""Images in and out of the transformers pipelines: RGB inputs as the core converts them, and
masks or maps sent back as base64 PNG."""

from __future__ import annotations

import base64
from typing import Any, Dict

import numpy as np
from PIL import Image

from api_inference_community.media import encode_image, to_rgb


def rgb(image: Image.Image) -> Image.Image:
    """Any mode to RGB (transparency on white, 16-bit scaled), as every image of this project is read."""
    return to_rgb(image)


def png_base64(image: Image.Image) -> str:
    """An image as base64 PNG text (masks: single channel, 0 or 255)."""
    return base64.b64encode(encode_image(image, "png")).decode("ascii")


def mask_image(mask: Any) -> Image.Image:
    """A boolean or 0/1 array (or a PIL mask) as a black-and-white PIL image."""
    if isinstance(mask, Image.Image):
        return mask.convert("L")
    array = np.asarray(mask.cpu() if hasattr(mask, "cpu") else mask)
    return Image.fromarray((array > 0).astype(np.uint8) * 255, mode="L")


def box(values: Dict[str, Any]) -> Dict[str, int]:
    """A detection box with integer pixel corners."""
    return {key: int(round(float(values[key]))) for key in ("xmin", "ymin", "xmax", "ymax")}
