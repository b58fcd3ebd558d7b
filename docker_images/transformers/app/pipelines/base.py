"""What every task's pipeline shares: a transformers pipeline of its task, loaded once."""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Dict, Iterator, List, Optional, Sequence

from api_inference_community import Pipeline
from api_inference_community.errors import InvalidInput
from api_inference_community.runtime.settings import Settings
from app.pipelines.loading import load_pipeline
from app.pipelines.policy import LoadPolicy

UNBOUNDED = 10**12  # tokenizers without a maximum length say about 1e30
# configs, weights, tokenizers (WordPiece, BPE, sentencepiece, tiktoken), processors, chat templates
MODEL_FILES = ("*.json", "*.safetensors", "*.txt", "*.model", "*.spm", "*.tiktoken", "*.jinja")
PICKLE_FILES = ["*.bin", "*.pt", "*.pth", "*.ckpt"]


class TransformersPipeline(Pipeline):
    """`transformers.pipeline(task, model=<folder>)`; subclasses map parameters and outputs."""

    #: the transformers pipeline task this class serves
    task: ClassVar[str]

    def __init__(self, model_id: str) -> None:
        self.pipe = load_pipeline(self.task, model_id)

    @classmethod
    def model_files(cls, settings: Settings) -> Optional[Sequence[str]]:
        """What is fetched of a Hub repository: configs, safetensors weights, tokenizer and processor
        files; pickle weights only when allowed, Python files only for a trusted model (never the
        other frameworks' weights or exports)."""
        policy = LoadPolicy.from_env()
        patterns = list(MODEL_FILES)
        if policy.allow_pickle_weights:
            patterns += PICKLE_FILES
        if policy.trusts_remote_code(settings.model_id):
            patterns.append("*.py")
        return patterns

    @property
    def config(self) -> Any:
        return self.pipe.model.config


def as_float(value: Any) -> float:
    """A Python float from a numpy or torch scalar."""
    return float(value.item() if hasattr(value, "item") else value)


def label_scores(items: Any) -> List[Dict[str, Any]]:
    """transformers' `[{"label", "score"}, ...]` with plain floats, best score first."""
    scored = [{"label": str(item["label"]), "score": as_float(item["score"])} for item in items]
    return sorted(scored, key=lambda item: -item["score"])


def comma_separated(value: Any) -> List[str]:
    """A list of labels given as a list or as one comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)


@contextlib.contextmanager
def truncation_side(tokenizer: Any, side: Optional[str]) -> Iterator[None]:
    """Cut over-long texts at `side` ("left" or "right") within the block (None: as the tokenizer
    does); the model's worker thread is the tokenizer's only user."""
    if side is None or tokenizer.truncation_side == side:
        yield
        return
    previous, tokenizer.truncation_side = tokenizer.truncation_side, side
    try:
        yield
    finally:
        tokenizer.truncation_side = previous


def check_tokens(tokenizer: Any, text: str, where: str, limit: Optional[int] = None) -> None:
    """Refuse (ValueError, a 400 naming `where`) a text longer than the model reads (`limit`, else the
    tokenizer's maximum length), instead of letting the model fail on it."""
    limit = limit or tokenizer.model_max_length
    if not limit or limit >= UNBOUNDED:
        return
    count = len(tokenizer(text, truncation=False)["input_ids"])
    if count > limit:
        raise InvalidInput(f"`{where}`: {count} tokens, more than this model reads ({limit})")
