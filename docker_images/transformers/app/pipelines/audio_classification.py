"""audio-classification: a sound's labels and their scores."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np

from app.pipelines.audio import check_length, minimum_samples, model_sampling_rate
from app.pipelines.base import TransformersPipeline, label_scores

Labels = List[Dict[str, Any]]


class AudioClassificationPipeline(TransformersPipeline):
    """mono float32 audio at the model's rate -> `[{"label", "score"}, ...]`, best first: every label,
    or the `top_k` best. `function_to_apply`: softmax (default), sigmoid or none."""

    task = "audio-classification"

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        self.sampling_rate = model_sampling_rate(self.pipe)
        self.minimum_samples = minimum_samples(self.config)

    def __call__(self, inputs: np.ndarray, **parameters: Any) -> Labels:
        return self.batch([inputs], **parameters)[0]

    def batch(
        self, inputs: List[np.ndarray], top_k: Optional[int] = None, function_to_apply: Optional[str] = None
    ) -> List[Labels]:
        """All requests' sounds in one model call."""
        kwargs: Dict[str, Any] = {"top_k": top_k}
        if function_to_apply is not None:
            kwargs["function_to_apply"] = function_to_apply
        for sound in inputs:
            check_length(sound, self.minimum_samples, self.sampling_rate)
        sounds = [{"raw": sound, "sampling_rate": self.sampling_rate} for sound in inputs]
        outputs = self.pipe(sounds, batch_size=len(inputs), **kwargs)
        return [label_scores(output) for output in outputs]
