"""Exports of a model to a faster backend (ONNX, OpenVINO...), kept for the next start.

One place for every image: an export lives in ``$HF_HOME/exports/<library>/<backend>/<key>/``
(huggingface_hub's default cache root when HF_HOME is unset), never in a shared temporary folder
nor in the model's own folder (often a read-only mount). The key hashes the model folder's identity
(its real path and each file's real path, size and modification time) and the versions of the
packages the export depends on, so a changed model or library gets a new export.

The folders are private (0700, checked to be ours and not a symlink). An export is written into a
private staging folder beside its final place, flushed to disk, then renamed into place in one
step, with a manifest of its files written last: a reader sees a whole export or none, a leftover
staging folder is never read, and of two processes exporting at once the first rename wins while
the other keeps its own files only for as long as it needs them.

Use::

    folder = export_folder("timm", "onnx", model_dir, hf_home=settings.hf_home, distributions=("torch", "timm"))
    found = find_export(folder)                     # a complete export, or None
    if found is None:
        found = publish_export(folder, lambda staging: write_files_into(staging))   # OSError if not writable
    ...
    discard_export(folder)                          # it could not be loaded: the next start exports again
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from ..hub.resolve import walk_files

logger = logging.getLogger(__name__)

EXPORTS_DIR = "exports"
MANIFEST = ".export.json"  # written last: lists every file of the export with its size
STAGING_PREFIX = ".staging-"
STALE_STAGING_S = 24 * 3600  # staging folders older than this are leftovers of a crashed export
_KEY_FILES = 10_000  # at most this many files name a model folder (the first ones, in a stable order)


def exports_root(hf_home: Optional[str] = None) -> Path:
    """``$HF_HOME/exports``: `hf_home`, else huggingface_hub's HF_HOME (the environment, or its default)."""
    if not hf_home:
        from huggingface_hub import constants

        hf_home = constants.HF_HOME
    return Path(hf_home).expanduser() / EXPORTS_DIR


def export_folder(
    library: str,
    backend: str,
    model_dir: Path,
    *,
    hf_home: Optional[str] = None,
    distributions: Sequence[str] = (),
    extra: Optional[Mapping[str, Any]] = None,
) -> Path:
    """Where the export of `model_dir` for `backend` lives (not created): ``<root>/<library>/<backend>/<key>``.

    `distributions`: the packages (PyPI names) whose versions the export depends on; `extra`: anything
    else it depends on (an opset, an input size), JSON-serializable. Raises OSError when that place
    would be inside the model folder.
    """
    folder = (
        exports_root(hf_home) / _safe_name(library) / _safe_name(backend) / export_key(model_dir, distributions, extra)
    )
    model, place = Path(os.path.realpath(model_dir)), Path(os.path.realpath(folder))
    if model == place or model in place.parents:
        raise OSError(f"The export folder {folder} would be inside the model folder {model_dir}")
    return folder


def export_key(model_dir: Path, distributions: Sequence[str] = (), extra: Optional[Mapping[str, Any]] = None) -> str:
    """`<model name>-<hash>`: the hash of the model folder's identity, the packages' versions and `extra`."""
    files = []
    for index, (path, info) in enumerate(walk_files(model_dir)):
        if index >= _KEY_FILES:
            break
        relative = path.relative_to(model_dir).as_posix()
        if not any(part.startswith(".") for part in relative.split("/")):
            files.append([relative, os.path.realpath(path), info.st_size, info.st_mtime_ns])
    identity = {
        "model": os.path.realpath(model_dir),
        "files": files,
        "versions": {name: _version(name) for name in distributions},
        "extra": dict(extra or {}),
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:24]
    model_dir = Path(model_dir)
    name = model_dir.parent.parent.name if model_dir.parent.name == "snapshots" else model_dir.name
    return f"{_safe_name(name.removeprefix('models--') or 'model')}-{digest}"


def find_export(folder: Path) -> Optional[Path]:
    """`folder` if it holds a complete export (its manifest, and every file it lists at its size), else None."""
    try:
        if not _trusted(folder):
            return None
        manifest = json.loads((folder / MANIFEST).read_text())
        files: Dict[str, int] = manifest["files"]
        for name, size in files.items():
            path = folder / name
            if not path.resolve().is_relative_to(folder.resolve()) or os.lstat(path).st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return folder


def publish_export(folder: Path, write: Callable[[Path], None]) -> Path:
    """Build an export with `write(staging)` and publish it at `folder` atomically; returns `folder`.

    `write` fills the private staging folder it is given (files and symlinks). Its files are then
    flushed to disk, the manifest is written, and the staging folder is renamed to `folder`. If
    another process published a complete export there first, that one is kept; an incomplete one
    is replaced. Raises OSError when the exports folder cannot be made private or written.
    """
    parent = folder.parent
    _private_folders(parent)
    _remove_stale_staging(parent)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{folder.name}.", dir=parent))  # 0700
    try:
        write(staging)
        _seal(staging)
        if not _rename_into_place(staging, folder):
            logger.info("Another process published the export %s first; using it", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if find_export(folder) is None:
        raise OSError(f"The export in {folder} is incomplete")
    return folder


def discard_export(folder: Path) -> None:
    """Remove a published export (e.g. one that fails to load): renamed aside first, so no reader sees half of it."""
    aside = folder.with_name(f"{STAGING_PREFIX}{folder.name}.discarded-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(folder, aside)
    except OSError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: a private temporary file beside it, flushed, then renamed."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


# ---------------------------------------------------------------- internals


def _private_folders(folder: Path) -> None:
    """Create `folder` and the export folders above it (up to `exports/`) as 0700; refuse ones not ours."""
    chain = [folder]
    while chain[-1].name != EXPORTS_DIR:
        if chain[-1].parent == chain[-1] or len(chain) > 3:
            raise ValueError(f"{folder} is not inside an `{EXPORTS_DIR}` folder: use export_folder()")
        chain.append(chain[-1].parent)
    chain[-1].parent.mkdir(parents=True, exist_ok=True)  # HF_HOME itself: the user's, left as it is
    for path in reversed(chain):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            raise OSError(f"{path} is not a folder (a symlink or a file): exports are not stored there")
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            raise OSError(f"{path} belongs to another user: exports are not stored there")
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.chmod(path, 0o700)


def _trusted(folder: Path) -> bool:
    """Whether `folder` and the export folders above it (up to `exports/`) are real folders of ours that
    nobody else may write to: an export planted by another user is never loaded."""
    for path in [folder, *folder.parents][:4]:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o022:
            return False
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            return False
        if path.name == EXPORTS_DIR:
            return True
    return False


def _seal(staging: Path) -> None:
    """Make the staging folder's contents private (folders 0700, files 0600), flush every file to disk,
    and write the manifest (last)."""
    files: Dict[str, int] = {}
    for root, folders, names in os.walk(staging):
        for name in folders:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), 0o700)
        for name in names:
            path = Path(root) / name
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                os.chmod(path, 0o600)
                with open(path, "rb") as file:
                    os.fsync(file.fileno())
                files[path.relative_to(staging).as_posix()] = info.st_size
        _fsync_folder(Path(root))
    write_atomic(staging / MANIFEST, json.dumps({"files": files}, sort_keys=True).encode())


def _rename_into_place(staging: Path, folder: Path) -> bool:
    """Rename `staging` to `folder`; False if a complete export is already there (kept)."""
    for _ in range(3):
        try:
            os.rename(staging, folder)  # fails if `folder` exists and is not empty
            _fsync_folder(folder.parent)
            return True
        except OSError:
            if find_export(folder) is not None:
                return False
            discard_export(folder)  # a broken or partial one: replace it
    raise OSError(f"Cannot publish the export at {folder}")


def _remove_stale_staging(parent: Path) -> None:
    """Leftovers of exports that crashed long ago (a live one is younger than STALE_STAGING_S)."""
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            if entry.name.startswith(STAGING_PREFIX):
                with contextlib.suppress(OSError):
                    if now - os.lstat(entry).st_mtime > STALE_STAGING_S:
                        shutil.rmtree(entry, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened and flushed
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _safe_name(name: str) -> str:
    """A single, harmless path component."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:64]
    return cleaned or "model"


def _version(distribution: str) -> Optional[str]:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
