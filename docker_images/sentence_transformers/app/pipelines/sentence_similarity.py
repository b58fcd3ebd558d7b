"""sentence-similarity: the cosine similarity of a source sentence to each of several sentences."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple

from pydantic import StrictBool, ValidationError

from api_inference_community import Pipeline
from api_inference_community.errors import InvalidInput
from api_inference_community.runtime.settings import Settings
from api_inference_community.tasks.schemas import Strict, Text
from api_inference_community.tasks.validation import capped, readable_errors
from app.pipelines.encoder import EncodeOptions, l2_normalize, load_encoder, repository_files


class SentenceSimilarityParameters(Strict):
    """The task's parameters are open in the core's registry: this model takes these."""

    prompt_name: Optional[Text] = None
    truncate: Optional[StrictBool] = None
    truncation_direction: Optional[Literal["left", "right", "Left", "Right"]] = None


class SentenceSimilarityPipeline(Pipeline):
    """{"source_sentence": str, "sentences": [str, ...]} -> [cosine similarity, ...]."""

    def __init__(self, model_id: str) -> None:
        self.encoder = load_encoder(model_id)

    @classmethod
    def model_files(cls, settings: Settings) -> List[str]:
        return repository_files(settings)

    def __call__(self, inputs: Dict[str, Any], **parameters: Any) -> List[float]:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[Dict[str, Any]], **parameters: Any) -> List[List[float]]:
        """Every request's source and sentences are embedded in one model call."""
        options = self._options(parameters)
        self.encoder.check(options)
        texts: List[str] = []
        spans: List[Tuple[int, int]] = []  # where each request's source is, and how many sentences follow
        for item in inputs:
            spans.append((len(texts), len(item["sentences"])))
            texts.append(item["source_sentence"])
            texts.extend(item["sentences"])
        if not options.truncate:
            named = []
            for item in inputs:
                named.append(("inputs.source_sentence", item["source_sentence"]))
                named.extend((f"inputs.sentences[{i}]", text) for i, text in enumerate(item["sentences"]))
            self.encoder.check_lengths(named, options)
        unit = l2_normalize(self.encoder.encode(texts, options))
        return [(unit[start + 1 : start + 1 + count] @ unit[start]).tolist() for start, count in spans]

    @staticmethod
    def _options(parameters: Dict[str, Any]) -> EncodeOptions:
        try:
            checked = SentenceSimilarityParameters.model_validate(parameters)
        except ValidationError as error:
            raise InvalidInput(capped(readable_errors(error, "parameters"))) from None
        return EncodeOptions.from_parameters("sentence-similarity", **checked.model_dump(exclude_none=True))
