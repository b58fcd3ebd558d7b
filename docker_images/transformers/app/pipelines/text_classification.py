"""text-classification: a text's labels and their scores."""

from __future__ import annotations

from typing import Any, Dict, List

from app.pipelines.base import TransformersPipeline, label_scores

Labels = List[Dict[str, Any]]


class TextClassificationPipeline(TransformersPipeline):
    """`"text"` -> `[[{"label", "score"}, ...]]`: every label (or the `top_k` best), best first.

    The answer is wrapped in one more list, as the Inference API has always sent it and as
    `InferenceClient.text_classification` reads it. `function_to_apply`: softmax, sigmoid or none
    (the model's default otherwise: sigmoid for one label or multi-label models, softmax else).
    Texts longer than the model reads are cut to its maximum length.
    """

    task = "text-classification"

    def __call__(self, inputs: str, **parameters: Any) -> List[Labels]:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[str], top_k: Any = None, function_to_apply: Any = None) -> List[List[Labels]]:
        """All requests' texts in one model call."""
        kwargs: Dict[str, Any] = {"top_k": top_k, "truncation": True}  # top_k None: every label
        if function_to_apply is not None:
            kwargs["function_to_apply"] = function_to_apply
        outputs = self.pipe(list(inputs), batch_size=len(inputs), **kwargs)
        return [[label_scores(output)] for output in outputs]
