"""An offline Hub cache laid out by tests, so that a Hub id resolves through huggingface_hub without a network."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

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
