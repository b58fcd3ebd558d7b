"""fill-mask: the likeliest tokens in place of the text's mask token."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from api_inference_community.errors import InvalidInput
from app.pipelines.base import TransformersPipeline, as_float, check_tokens, comma_separated

Candidates = List[Dict[str, Any]]


class FillMaskPipeline(TransformersPipeline):
    """`"text with one mask token"` -> `[{"sequence", "score", "token", "token_str"}, ...]`, best first.

    `top_k` (5 by default), `targets` (score only these words; a list, or one comma-separated string).
    """

    task = "fill-mask"

    def __call__(self, inputs: str, **parameters: Any) -> Candidates:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[str], top_k: Optional[int] = None, targets: Any = None) -> List[Candidates]:
        """All requests' texts in one model call."""
        for index, text in enumerate(inputs):
            where = "inputs" if len(inputs) == 1 else f"inputs (request {index})"
            self._check_mask(text, where)
            check_tokens(self.pipe.tokenizer, text, where)
        kwargs: Dict[str, Any] = {}
        if top_k is not None:
            kwargs["top_k"] = top_k
        if targets is not None:
            kwargs["targets"] = comma_separated(targets)
        outputs = self.pipe(list(inputs), batch_size=len(inputs), **kwargs)
        if len(inputs) == 1 and outputs and isinstance(outputs[0], dict):  # one text: one list of candidates
            outputs = [outputs]
        return [[self._candidate(item) for item in output] for output in outputs]

    def _check_mask(self, text: str, where: str) -> None:
        mask = self.pipe.tokenizer.mask_token
        count = text.count(mask) if mask else 0
        if count != 1:
            raise InvalidInput(f"`{where}` must hold the mask token `{mask}` exactly once (found {count})")

    @staticmethod
    def _candidate(item: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "sequence": item["sequence"],
            "score": as_float(item["score"]),
            "token": int(item["token"]),
            "token_str": item["token_str"],
        }
