"""zero-shot-classification: how well a text fits each candidate label (NLI models)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline, as_float, comma_separated

Ranking = Dict[str, Any]


def check_template(template: Optional[str]) -> None:
    """A hypothesis template must have a `{}` where the label goes."""
    if template is not None and "{}" not in template:
        raise InvalidInput("`parameters.hypothesis_template` must contain `{}` where the candidate label goes")


class ZeroShotClassificationPipeline(TransformersPipeline):
    """`"text"` with `candidate_labels` -> `{"sequence", "labels", "scores"}`, best label first.

    `multi_label` (each label scored on its own, not softmaxed against the others), and
    `hypothesis_template` ("This example is {}." by default).
    """

    task = "zero-shot-classification"

    def __call__(self, inputs: str, **parameters: Any) -> Ranking:
        return self.batch([inputs], **parameters)[0]

    def batch(
        self,
        inputs: List[str],
        candidate_labels: Any,
        multi_label: Optional[bool] = None,
        hypothesis_template: Optional[str] = None,
    ) -> List[Ranking]:
        """All requests' (text, label) pairs in one call."""
        check_template(hypothesis_template)
        labels = comma_separated(candidate_labels)
        if len(set(labels)) != len(labels):
            raise InvalidInput("`parameters.candidate_labels` must not repeat a label")
        kwargs: Dict[str, Any] = {"candidate_labels": labels}
        if multi_label is not None:
            kwargs["multi_label"] = multi_label
        if hypothesis_template is not None:
            kwargs["hypothesis_template"] = hypothesis_template
        outputs = self.pipe(list(inputs), batch_size=len(inputs) * len(labels), **kwargs)
        if isinstance(outputs, dict):
            outputs = [outputs]
        return [
            {"sequence": out["sequence"], "labels": list(out["labels"]), "scores": [as_float(s) for s in out["scores"]]}
            for out in outputs
        ]
