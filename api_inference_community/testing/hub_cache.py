"""An offline Hub cache laid out by tests, so that a Hub id resolves through huggingface_hub without a network;
and the Hub client made online again for clients of local servers."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path
from typing import Iterator

DEFAULT_REVISION = "0123456789abcdef0123456789abcdef01234567"


def make_hub_cache(cache_dir: Path, repo_id: str, files: Path, revision: str = DEFAULT_REVISION) -> Path:
    """Lay `files` out as the Hub cache does (`models--org--name/snapshots/<rev>`, `refs/main`).

    `cache_dir` is the hub cache (`$HF_HOME/hub`). Returns the snapshot directory.
    """
    repo_dir = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / revision
    blobs = repo_dir / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    for source in sorted(Path(files).rglob("*")):
        if not source.is_file():
            continue
        relative = source.relative_to(files)
        blob = blobs / hashlib.sha256(source.read_bytes()).hexdigest()
        shutil.copyfile(source, blob)
        target = snapshot / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        target.symlink_to(os.path.relpath(blob, target.parent))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    return snapshot


@contextlib.contextmanager
def online_hub_client() -> Iterator[None]:
    """huggingface_hub refuses every URL, a local server's too, when HF_HUB_OFFLINE is set in this
    process (as the servers' tests set it): inside the block its clients are online."""
    import huggingface_hub.constants
    from huggingface_hub.utils import reset_sessions

    saved = huggingface_hub.constants.HF_HUB_OFFLINE
    huggingface_hub.constants.HF_HUB_OFFLINE = False
    reset_sessions()
    try:
        yield
    finally:
        huggingface_hub.constants.HF_HUB_OFFLINE = saved
        reset_sessions()
