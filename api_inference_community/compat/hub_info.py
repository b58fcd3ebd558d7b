"""Model info with offline support, as the upstream package's `hub` module gives it.

Online, `hub_model_info` asks the Hub. Offline (`huggingface_hub.constants.HF_HUB_OFFLINE`), it
rebuilds a `ModelInfo` from the Hub cache: a `hub_model_info.json` saved in the snapshot folder
when there is one, else the model card's metadata and the snapshot's files, with no downloads
and no likes.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..hub.resolve import ModelNotFound

logger = logging.getLogger(__name__)

SAVED_INFO = "hub_model_info.json"
_FIXED_FIELDS = ("id", "private", "downloads", "likes", "card_data", "siblings")


def cached_revision_path(cache_dir: Union[str, Path], repo_id: str, revision: Optional[str]) -> Path:
    """The snapshot folder of `repo_id` at `revision` (a branch or tag through `refs/`, or a commit)."""
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    if not repo.is_dir():
        raise ModelNotFound(f"`{repo_id}` is not in the cache {cache_dir}")
    revision = revision or "main"
    ref = repo / "refs" / revision
    if ref.is_file():
        revision = ref.read_text().strip()
    snapshot = repo / "snapshots" / revision
    if not snapshot.is_dir():
        raise ModelNotFound(f"Revision {revision} of `{repo_id}` is not in the cache {cache_dir}")
    return snapshot


def _sibling_files(snapshot: Path) -> List[Dict[str, Any]]:
    """Every file of a snapshot, by its path in the repository, with its size."""
    files = []
    for root, _dirs, names in os.walk(snapshot):
        for name in names:
            path = Path(root) / name
            files.append({"rfilename": path.relative_to(snapshot).as_posix(), "size": path.stat().st_size})
    return sorted(files, key=lambda sibling: sibling["rfilename"])


def offline_model_info(repo_id: str, revision: Optional[str], cache_dir: Union[str, Path]) -> Any:
    """A `ModelInfo` rebuilt from the cache alone."""
    from huggingface_hub import hf_api
    from huggingface_hub.repocard import metadata_load

    snapshot = cached_revision_path(cache_dir, repo_id, revision)
    saved = snapshot / SAVED_INFO
    if saved.is_file():
        return hf_api.ModelInfo(**json.loads(saved.read_text()))
    card = snapshot / "README.md"
    if not card.is_file():
        raise ModelNotFound(f"Cannot describe `{repo_id}` offline: its snapshot has no README.md")
    card_data = metadata_load(card) or {}
    extra = {key: value for key, value in card_data.items() if key not in _FIXED_FIELDS}
    return hf_api.ModelInfo(
        id=repo_id,
        private=False,
        downloads=0,
        likes=0,
        card_data=card_data,
        siblings=_sibling_files(snapshot),
        **extra,
    )


def hub_model_info(
    repo_id: str, revision: Optional[str] = None, cache_dir: Optional[Union[str, Path]] = None, **kwargs: Any
) -> Any:
    """The Hub's `model_info`, or, offline, the info rebuilt from the cache (`cache_dir`: the hub cache)."""
    from huggingface_hub import constants, hf_api

    revision = revision or "main"
    if not constants.HF_HUB_OFFLINE:
        return hf_api.model_info(repo_id=repo_id, revision=revision, **kwargs)
    return offline_model_info(repo_id, revision, cache_dir or constants.HF_HUB_CACHE)
