"""feature-extraction: the hidden states of a text's tokens (the model's last layer)."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple, Union

import numpy as np

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline, truncation_side

Inputs = Union[str, List[str]]


class FeatureExtractionPipeline(TransformersPipeline):
    """`"text"` -> one vector per token `[[float, ...], ...]`; `["text", ...]` -> one such matrix per text.

    `truncate` (default true: texts longer than the model reads are cut; false: a 400 naming the
    text), `truncation_direction` (left or right), `normalize` (L2-normalize each vector),
    `dimensions` (keep the first values of each vector). This model has no named prompts:
    `prompt_name` is refused.
    """

    task = "feature-extraction"

    def __call__(self, inputs: Inputs, **parameters: Any) -> Any:
        return self.batch([inputs], **parameters)[0]

    def batch(
        self,
        inputs: List[Inputs],
        normalize: Optional[bool] = None,
        truncate: Optional[bool] = None,
        truncation_direction: Optional[str] = None,
        prompt_name: Optional[str] = None,
        dimensions: Optional[int] = None,
    ) -> List[Any]:
        """Every request's texts in one padded forward pass, split back per text and request."""
        if prompt_name is not None:
            raise InvalidInput(
                f"`parameters.prompt_name`: unknown prompt `{prompt_name}`; this model has no named prompts"
            )
        texts: List[str] = []
        names: List[str] = []  # how each text is named in an error message
        spans: List[Tuple[int, int, bool]] = []  # start, count, whether the request sent one text
        for item in inputs:
            group = [item] if isinstance(item, str) else list(item)
            spans.append((len(texts), len(group), isinstance(item, str)))
            texts.extend(group)
            names.extend(["inputs"] if isinstance(item, str) else [f"inputs[{i}]" for i in range(len(group))])
        vectors = self._embed(texts, names, truncate is not False, (truncation_direction or "right").lower())
        hidden = vectors[0].shape[-1]
        if dimensions is not None and dimensions > hidden:
            raise InvalidInput(f"`parameters.dimensions`: {dimensions} is more than the model's hidden size ({hidden})")
        vectors = [v[:, :dimensions] if dimensions else v for v in vectors]
        if normalize:
            vectors = [v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12) for v in vectors]
        return [vectors[start] if single else vectors[start : start + count] for start, count, single in spans]

    def _embed(self, texts: List[str], names: List[str], truncate: bool, side: str) -> List[np.ndarray]:
        import torch

        tokenizer = self.pipe.tokenizer
        limit = tokenizer.model_max_length
        if not truncate:
            for name, ids in zip(names, tokenizer(texts, truncation=False)["input_ids"]):
                if len(ids) > limit:
                    raise InvalidInput(
                        f"`{name}`: {len(ids)} tokens, more than the model reads ({limit}); "
                        "leave `truncate` unset or true to cut it"
                    )
        with truncation_side(tokenizer, side):
            encoded = tokenizer(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.pipe.model(**encoded)[0]
        hidden = hidden.float().cpu().numpy() if hasattr(hidden, "cpu") else np.asarray(hidden, dtype=np.float32)
        mask = encoded["attention_mask"].numpy().astype(bool)
        return [np.ascontiguousarray(hidden[i][mask[i]]) for i in range(len(texts))]
