"""depth-estimation: how far each pixel of an image is."""

from __future__ import annotations

from typing import Any, Dict

from PIL import Image

from app.pipelines.base import TransformersPipeline
from app.pipelines.images import png_base64, rgb


class DepthEstimationPipeline(TransformersPipeline):
    """image -> `{"depth": base64 PNG, "predicted_depth": [[float, ...], ...]}`.

    `depth` is the depth map as a greyscale image of the input's size (scaled to 0-255);
    `predicted_depth` the model's raw values (rows of the map, at the model's output resolution).
    """

    task = "depth-estimation"

    def __call__(self, inputs: Image.Image) -> Dict[str, Any]:
        output = self.pipe(rgb(inputs))
        depth = output["predicted_depth"]
        values = depth.float().cpu().numpy() if hasattr(depth, "cpu") else depth
        while values.ndim > 2:  # (1, H, W) from some models
            values = values[0]
        return {"depth": png_base64(output["depth"].convert("L")), "predicted_depth": values}
