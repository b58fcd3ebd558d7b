"""feature-extraction: a text gives one embedding, a list of texts one embedding each."""

from __future__ import annotations

from typing import Any, List, Tuple, Union

import numpy as np

from api_inference_community import Pipeline
from api_inference_community.runtime.settings import Settings
from app.pipelines.encoder import EncodeOptions, load_encoder, repository_files

Inputs = Union[str, List[str]]


class FeatureExtractionPipeline(Pipeline):
    """Embeddings of texts; parameters: normalize, truncate, truncation_direction, prompt_name, dimensions.

    Outputs are float32 numpy arrays (a vector for a text, a matrix for a list), sent as JSON lists.
    """

    def __init__(self, model_id: str) -> None:
        self.encoder = load_encoder(model_id)

    @classmethod
    def model_files(cls, settings: Settings) -> List[str]:
        return repository_files(settings)

    def __call__(self, inputs: Inputs, **parameters: Any) -> np.ndarray:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[Inputs], **parameters: Any) -> List[np.ndarray]:
        """All requests' texts go through the model in one call, then are split back per request."""
        options = EncodeOptions.from_parameters("feature-extraction", **parameters)
        self.encoder.check(options)
        texts: List[str] = []
        spans: List[Tuple[int, int, bool]] = []  # start, count, whether the request sent one text
        for item in inputs:
            single = isinstance(item, str)
            spans.append((len(texts), 1 if single else len(item), single))
            texts.extend([item] if single else item)
        if not options.truncate:
            named = []
            for start, count, single in spans:
                names = ["inputs"] if single else [f"inputs[{i}]" for i in range(count)]
                named.extend(zip(names, texts[start : start + count]))
            self.encoder.check_lengths(named, options)
        vectors = self.encoder.encode(texts, options)
        return [vectors[start] if single else vectors[start : start + count] for start, count, single in spans]
