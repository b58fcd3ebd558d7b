"""token-classification: the entities of a text, with their character offsets."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline, as_float

DEFAULT_STRATEGY = "simple"  # entities grouped over tokens, as the Inference API answers by default

Entities = List[Dict[str, Any]]


class TokenClassificationPipeline(TransformersPipeline):
    """`"text"` -> `[{"entity_group", "score", "word", "start", "end"}, ...]` in text order.

    `aggregation_strategy` (none, simple, first, average, max; simple by default; with none each
    token is an item with `entity` instead of `entity_group`), `ignore_labels` (["O"] by default),
    `stride` (overlapping windows over texts longer than the model reads; needs a fast tokenizer
    and an aggregation strategy other than none).
    """

    task = "token-classification"

    def __call__(self, inputs: str, **parameters: Any) -> Entities:
        return self.batch([inputs], **parameters)[0]

    def batch(
        self,
        inputs: List[str],
        aggregation_strategy: Optional[str] = None,
        ignore_labels: Optional[List[str]] = None,
        stride: Optional[int] = None,
    ) -> List[Entities]:
        """All requests' texts in one model call."""
        strategy = aggregation_strategy or DEFAULT_STRATEGY
        kwargs: Dict[str, Any] = {"aggregation_strategy": strategy}
        if ignore_labels is not None:
            kwargs["ignore_labels"] = ignore_labels
        if stride is not None:
            self._check_stride(stride, strategy)
            kwargs["stride"] = stride
        outputs = self.pipe(list(inputs), batch_size=len(inputs), **kwargs)
        return [[self._entity(item) for item in output] for output in outputs]

    def _check_stride(self, stride: int, strategy: str) -> None:
        tokenizer = self.pipe.tokenizer
        if not tokenizer.is_fast:
            raise InvalidInput("`parameters.stride`: this model's tokenizer cannot split texts into windows")
        if strategy == "none":
            raise InvalidInput("`parameters.stride` needs an `aggregation_strategy` other than `none`")
        if stride >= tokenizer.model_max_length:
            raise InvalidInput(
                f"`parameters.stride`: {stride} is not less than the model's maximum length "
                f"({tokenizer.model_max_length})"
            )

    @staticmethod
    def _entity(item: Dict[str, Any]) -> Dict[str, Any]:
        entity = {key: value for key, value in item.items() if key != "score"}
        entity["score"] = as_float(item["score"])
        for key in ("start", "end", "index"):
            if entity.get(key) is not None:
                entity[key] = int(entity[key])
        return entity
