"""Model resolution: a local directory, or a Hub repo id found in (or fetched into) the cache."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator, Optional, Sequence, Set, Tuple

from ..runtime.settings import Settings

logger = logging.getLogger(__name__)


class ModelNotFound(RuntimeError):
    """MODEL_ID is neither a local directory nor a repo the Hub (or its cache) can give."""


def is_local_model(model_id: str) -> bool:
    return bool(model_id) and Path(model_id).expanduser().is_dir()


CARD_FILES = ("README.md",)  # always fetched with a model: the card decides how it is served


def resolve_model(settings: Settings, allow_patterns: Optional[Sequence[str]] = None) -> Path:
    """The local directory holding the files of `settings.model_id`.

    `allow_patterns`: the files the library needs (huggingface_hub patterns); the card comes too.
    """
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
            allow_patterns=[*allow_patterns, *CARD_FILES] if allow_patterns is not None else None,
        )
    except HFValidationError as error:
        raise ModelNotFound(f"`{model_id}` is not a valid model id: {error}") from None
    except LocalEntryNotFoundError:
        where = settings.hub_cache_dir or "the default Hugging Face cache"
        hint = " (HF_HUB_OFFLINE is set)" if settings.hf_hub_offline else ""
        raise ModelNotFound(f"Model `{model_id}` is not in {where} and cannot be downloaded{hint}") from None
    return Path(path)


def walk_files(path: Path) -> Iterator[Tuple[Path, os.stat_result]]:
    """Each file under `path` once, with its stat, following symlinks (the Hub cache links snapshot
    files to blobs) but never around a loop; a file reached by two paths (a blob and its link, hard
    links) comes once, and broken links and unreadable entries are skipped."""
    seen_folders: Set[Tuple[int, int]] = set()
    seen_files: Set[Tuple[int, int]] = set()
    for root, folders, files in os.walk(path, followlinks=True):
        try:
            info = os.stat(root)
        except OSError:
            folders[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen_folders:  # a loop, or a folder already walked by another path
            folders[:] = []
            continue
        seen_folders.add((info.st_dev, info.st_ino))
        for name in sorted(files):
            file_path = Path(root) / name
            try:
                stat = os.stat(file_path)
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) not in seen_files:
                seen_files.add((stat.st_dev, stat.st_ino))
                yield file_path, stat
        folders.sort()


def directory_size(path: Path) -> int:
    """Bytes of the files under `path`, following the cache's symlinks, each file once, loops skipped."""
    return sum(stat.st_size for _, stat in walk_files(path))
