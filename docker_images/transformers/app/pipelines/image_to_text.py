"""image-to-text: a caption of an image."""

from __future__ import annotations

from typing import Any, Dict, List

from PIL import Image

from app.pipelines import generation
from app.pipelines.base import TransformersPipeline
from app.pipelines.images import rgb

NESTED = ("generation_parameters", "generate_parameters")

Generated = List[Dict[str, str]]


class ImageToTextPipeline(TransformersPipeline):
    """image -> `[{"generated_text": str}]`. `max_new_tokens`, and the generation parameters (at
    the top level or in `generation_parameters`)."""

    task = "image-to-text"

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        generation.use_model_defaults(self.pipe)
        decoder = getattr(self.config, "decoder", self.config)
        self.position_limit = generation.max_positions(decoder)

    def __call__(self, inputs: Image.Image, **parameters: Any) -> Generated:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[Image.Image], **parameters: Any) -> List[Generated]:
        """All requests' images in one generate call."""
        generation.unknown(parameters, list(NESTED))
        values = generation.split(parameters, *NESTED)
        seed = values.pop("seed", None)
        config = self.pipe.generation_config
        budget = generation.new_token_budget(
            values.pop("max_new_tokens", None), config.max_new_tokens or config.max_length, 1, self.position_limit
        )
        kwargs = generation.generate_kwargs(values, default_do_sample=bool(config.do_sample))
        with generation.seeded(seed):
            outputs = self.pipe(
                [rgb(image) for image in inputs], batch_size=len(inputs), max_new_tokens=budget, generate_kwargs=kwargs
            )
        return [[{"generated_text": item["generated_text"]} for item in output] for output in outputs]
