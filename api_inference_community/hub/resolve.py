"""Model resolution: a local directory, or a Hub repo id found in (or fetched into) the cache."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..runtime.settings import Settings

logger = logging.getLogger(__name__)


class ModelNotFound(RuntimeError):
    """MODEL_ID is neither a local directory nor a repo the Hub (or its cache) can give."""


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
