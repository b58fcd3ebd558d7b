"""Model resolution: a local directory, or a Hub repo id found in (or fetched into) the cache."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .config import Settings

logger = logging.getLogger(__name__)


class ModelNotFound(RuntimeError):
    """MODEL_ID is neither a local directory nor a repo the Hub (or its cache) can give."""


@dataclass(frozen=True)
class CardMetadata:
    """The model card fields that decide how a model is served."""

    pipeline_tag: Optional[str] = None
    library_name: Optional[str] = None
    inference: bool = True


def is_local_model(model_id: str) -> bool:
    return bool(model_id) and Path(model_id).expanduser().is_dir()


def resolve_model(settings: Settings) -> Path:
    """The local directory holding the files of `settings.model_id`."""
    model_id = settings.model_id
    if not model_id:
        raise ModelNotFound("MODEL_ID is not set")
    if is_local_model(model_id):
        return Path(model_id).expanduser().resolve()
    if model_id.startswith(("/", ".", "~")):
        raise ModelNotFound(f"Model directory `{model_id}` does not exist")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        path = snapshot_download(
            model_id,
            revision=settings.revision,
            cache_dir=settings.hub_cache_dir,
            token=settings.hf_token,
            local_files_only=settings.hf_hub_offline,
        )
    except HFValidationError as error:
        raise ModelNotFound(f"`{model_id}` is not a valid model id: {error}") from None
    except LocalEntryNotFoundError:
        where = settings.hub_cache_dir or "the default Hugging Face cache"
        hint = " (HF_HUB_OFFLINE is set)" if settings.hf_hub_offline else ""
        raise ModelNotFound(f"Model `{model_id}` is not in {where} and cannot be downloaded{hint}") from None
    return Path(path)


def directory_size(path: Path) -> int:
    """Bytes of the files under `path`, following the cache's symlinks."""
    total = 0
    for root, _dirs, files in os.walk(path, followlinks=True):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def read_card_metadata(model_dir: Path) -> CardMetadata:
    """Card metadata from the model's README.md front matter (offline, no network)."""
    readme = Path(model_dir) / "README.md"
    if not readme.is_file():
        return CardMetadata()
    from huggingface_hub.repocard import metadata_load

    try:
        data = metadata_load(readme) or {}
    except Exception as error:  # a malformed card must not stop the server
        logger.warning("Cannot read the model card %s: %s", readme, error)
        return CardMetadata()
    inference = data.get("inference", True)
    return CardMetadata(
        pipeline_tag=data.get("pipeline_tag"),
        library_name=data.get("library_name"),
        inference=inference is not False,
    )


def card_metadata(settings: Settings) -> CardMetadata:
    """Card metadata of `settings.model_id`, resolved as the server would resolve it."""
    return read_card_metadata(resolve_model(settings))
