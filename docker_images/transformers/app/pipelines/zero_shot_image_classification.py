"""zero-shot-image-classification: how well an image fits each candidate label (CLIP-like models)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from PIL import Image

from app.pipelines.base import TransformersPipeline, check_tokens, comma_separated, label_scores
from app.pipelines.images import rgb
from app.pipelines.zero_shot_classification import check_template

Labels = List[Dict[str, Any]]
DEFAULT_TEMPLATE = "This is a photo of {}."  # transformers' default


class ZeroShotImageClassificationPipeline(TransformersPipeline):
    """image with `candidate_labels` -> `[{"label", "score"}, ...]`, every label once, best first.

    `hypothesis_template`: the sentence each label is put in ("This is a photo of {}." by default).
    """

    task = "zero-shot-image-classification"

    def __call__(self, inputs: Image.Image, **parameters: Any) -> Labels:
        return self.batch([inputs], **parameters)[0]

    def batch(
        self, inputs: List[Image.Image], candidate_labels: Any, hypothesis_template: Optional[str] = None
    ) -> List[Labels]:
        """All requests' images in one model call."""
        check_template(hypothesis_template)
        labels = comma_separated(candidate_labels)
        template = hypothesis_template or DEFAULT_TEMPLATE
        for index, label in enumerate(labels):
            check_tokens(self.pipe.tokenizer, template.format(label), f"parameters.candidate_labels[{index}]")
        kwargs: Dict[str, Any] = {"candidate_labels": labels}
        if hypothesis_template is not None:
            kwargs["hypothesis_template"] = hypothesis_template
        outputs = self.pipe([rgb(image) for image in inputs], batch_size=len(inputs), **kwargs)
        return [label_scores(output) for output in outputs]
