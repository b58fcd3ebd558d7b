"""visual-question-answering: answers to a question about an image."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from app.pipelines.base import TransformersPipeline, as_float
from app.pipelines.images import rgb


class VisualQuestionAnsweringPipeline(TransformersPipeline):
    """`{"image", "question"}` -> `[{"answer", "score"}, ...]`, best first; `top_k` (5 by default).
    A question longer than the model reads is cut to its maximum length."""

    task = "visual-question-answering"

    def __call__(self, inputs: Dict[str, Any], top_k: Optional[int] = None) -> List[Dict[str, Any]]:
        kwargs = {} if top_k is None else {"top_k": top_k}
        answers = self.pipe(image=rgb(inputs["image"]), question=inputs["question"], truncation=True, **kwargs)
        if isinstance(answers, dict):
            answers = [answers]
        found = [{"answer": str(item["answer"]), "score": as_float(item["score"])} for item in answers]
        return sorted(found, key=lambda item: -item["score"])
