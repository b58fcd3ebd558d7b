"""Where a model of a multi-model server comes from: a local models directory, the Hub cache, or the Hub.

A model id is `org/name` (or `name`). It is looked up, in order, as a folder `MODELS_DIR/org/name`
(a Hub-format repository with its README card), then through huggingface_hub: the cache under
`HF_HOME` (offline with `HF_HUB_OFFLINE`), else the Hub (only the card first; the files the
library needs when the model loads).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

from ..errors import InvalidInput, NotFound
from ..runtime.settings import Settings
from .cards import CardMetadata, model_card, read_card_metadata
from .resolve import ModelNotFound, directory_size, resolve_model

# `org/name` or `name`: letters, digits, `-`, `_`, `.`, never `..` nor a leading dot (Hub rules).
MODEL_ID = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")
MAX_CACHED_SOURCES = 100_000  # beyond, the cache starts over (ids are client supplied)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".pt", ".pth", ".msgpack", ".h5", ".ckpt", ".xml")


@dataclass(frozen=True)
class ModelSource:
    """A model found: its card, and its local folder when it has one already."""

    model_id: str
    card: CardMetadata
    local_dir: Optional[Path] = None  # MODELS_DIR's folder; None: resolved through huggingface_hub at load

    def settings_for(self, settings: Settings) -> Settings:
        """The server's settings with this model as MODEL_ID (what its pipeline and resolution read)."""
        return settings.model_copy(update={"model_id": str(self.local_dir) if self.local_dir else self.model_id})

    def resolve(self, settings: Settings, allow_patterns: Optional[Sequence[str]]) -> Path:
        """The folder of the model's files, fetching only `allow_patterns` from the Hub."""
        if self.local_dir is not None:
            return self.local_dir
        return resolve_model(self.settings_for(settings), allow_patterns=allow_patterns)


def check_model_id(model_id: str) -> str:
    """A model id as the Hub writes them, else a 400 (no path tricks into MODELS_DIR)."""
    if not MODEL_ID.match(model_id):
        raise InvalidInput(f"`{model_id[:200]}` is not a valid model id (expected `org/name`)")
    return model_id


def find_model(model_id: str, settings: Settings) -> ModelSource:
    """The model's source and card; ModelNotFound (a 404) when no source has it."""
    check_model_id(model_id)
    if settings.models_dir:
        folder = Path(settings.models_dir) / model_id
        if folder.is_dir():
            return ModelSource(model_id, read_card_metadata(folder), folder.resolve())
    if settings.models_dir and settings.hf_hub_offline and not _in_hub_cache(model_id, settings):
        raise ModelNotFound(f"Model `{model_id}` is not in the models directory nor in the Hub cache")
    card = model_card(settings.model_copy(update={"model_id": model_id}))
    return ModelSource(model_id, card)


def _in_hub_cache(model_id: str, settings: Settings) -> bool:
    from huggingface_hub.constants import HF_HUB_CACHE

    cache = Path(settings.hub_cache_dir or HF_HUB_CACHE)
    return (cache / ("models--" + model_id.replace("/", "--"))).is_dir()


def weights_size(folder: Path) -> int:
    """Bytes of the weight files of a model folder: the estimate of its memory before it loads."""
    total = 0
    for path in folder.rglob("*"):
        if path.name.endswith(WEIGHT_SUFFIXES):
            try:
                total += path.stat().st_size
            except OSError:
                continue
    return total or directory_size(folder)


class SourceCache:
    """Model sources and cards read once per `ttl` seconds (a refusal for an unknown model, for a few seconds)."""

    NEGATIVE_TTL = 5.0

    def __init__(self, settings: Settings, ttl: float) -> None:
        self.settings = settings
        self.ttl = ttl
        self._entries: Dict[str, Tuple[float, Union[ModelSource, NotFound]]] = {}

    async def get(self, model_id: str) -> ModelSource:
        """The model's source; NotFound (404) when no source has it."""
        check_model_id(model_id)
        now = time.monotonic()
        cached = self._entries.get(model_id)
        if cached is None or cached[0] <= now:
            try:
                found: Union[ModelSource, NotFound] = await asyncio.to_thread(find_model, model_id, self.settings)
            except ModelNotFound as error:
                found = NotFound(str(error))
            ttl = self.ttl if isinstance(found, ModelSource) else min(self.ttl, self.NEGATIVE_TTL)
            if len(self._entries) > MAX_CACHED_SOURCES:
                self._entries.clear()
            self._entries[model_id] = cached = (now + ttl, found)
        value = cached[1]
        if isinstance(value, NotFound):
            raise value
        return value
