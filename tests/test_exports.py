"""runtime/exports.py: where exports live, their permissions, atomic publication, reuse on restart."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from api_inference_community.runtime import exports
from api_inference_community.runtime.exports import (
    MANIFEST,
    discard_export,
    export_folder,
    export_key,
    exports_root,
    find_export,
    publish_export,
    write_atomic,
)
from api_inference_community.testing.hub_cache import make_hub_cache

SIZE = 2 * 1024 * 1024  # big enough that a writer is caught half-way


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models" / "tiny-model"
    (folder / "nested").mkdir(parents=True)
    (folder / "config.json").write_text('{"hidden": 8}')
    (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    (folder / "nested" / "tokenizer.json").write_text("{}")
    return folder


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def write_model_onnx(content: bytes):
    def write(staging: Path) -> None:
        (staging / "model.onnx").write_bytes(content)
        (staging / "config").mkdir()
        (staging / "config" / "settings.json").write_text("{}")

    return write


# ---------------------------------------------------------------- location


def test_the_folder_is_under_hf_home(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path / "home"))
    assert folder.parent == tmp_path / "home" / "exports" / "timm" / "onnx"
    assert folder.name.startswith("tiny-model-")
    assert not folder.exists()  # found or made later, not by naming it


def test_without_hf_home_the_hugging_face_default_is_used(tmp_path: Path, model_dir: Path, monkeypatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HOME", str(tmp_path / "default-home"))
    assert exports_root(None) == tmp_path / "default-home" / "exports"
    assert export_folder("st", "onnx", model_dir).is_relative_to(tmp_path / "default-home" / "exports" / "st")


def test_the_key_is_stable_and_follows_the_model_and_versions(model_dir: Path) -> None:
    key = export_key(model_dir, ("pytest",), {"opset": 17})
    assert export_key(model_dir, ("pytest",), {"opset": 17}) == key  # the next start finds it
    assert export_key(model_dir, ("pytest",), {"opset": 18}) != key
    assert export_key(model_dir, ("pytest", "numpy"), {"opset": 17}) != key
    (model_dir / "model.safetensors").write_bytes(b"\1" * 1001)
    assert export_key(model_dir, ("pytest",), {"opset": 17}) != key
    (model_dir / ".cache-file").write_text("ignored")  # hidden files do not name a model
    changed = export_key(model_dir, ("pytest",), {"opset": 17})
    (model_dir / ".cache-file").write_text("still ignored")
    assert export_key(model_dir, ("pytest",), {"opset": 17}) == changed


def test_the_key_of_a_hub_snapshot_names_the_repo(tmp_path: Path, model_dir: Path) -> None:
    make_hub_cache(tmp_path / "hub", "org/name", model_dir)
    snapshot = next((tmp_path / "hub" / "models--org--name" / "snapshots").iterdir())
    assert export_key(snapshot).startswith("org--name-")


def test_the_key_survives_a_symlink_loop(model_dir: Path) -> None:
    os.symlink(model_dir, model_dir / "nested" / "loop")
    assert export_key(model_dir)


def test_never_inside_the_model_folder(model_dir: Path) -> None:
    with pytest.raises(OSError, match="inside the model folder"):
        export_folder("timm", "onnx", model_dir, hf_home=str(model_dir / "home"))


# ---------------------------------------------------------------- publishing


def test_publish_then_find_with_private_permissions(tmp_path: Path, model_dir: Path) -> None:
    home = tmp_path / "home"
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(home))
    assert find_export(folder) is None
    before = sorted((p.relative_to(model_dir), p.stat().st_mtime_ns) for p in model_dir.rglob("*"))
    assert publish_export(folder, write_model_onnx(b"onnx")) == folder
    assert find_export(folder) == folder
    assert (folder / "model.onnx").read_bytes() == b"onnx"
    for path in (home / "exports", home / "exports" / "timm", folder.parent, folder, folder / "config"):
        assert mode_of(path) == 0o700, path
    for path in (folder / MANIFEST, folder / "model.onnx", folder / "config" / "settings.json"):
        assert mode_of(path) == 0o600, path
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left behind
    # Nothing was written into the model folder.
    assert sorted((p.relative_to(model_dir), p.stat().st_mtime_ns) for p in model_dir.rglob("*")) == before


def test_the_next_start_reuses_the_export(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))
    publish_export(folder, write_model_onnx(b"first"))
    again = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))  # as a restarted process would
    assert again == folder and find_export(again) == folder


def test_lax_permissions_are_tightened(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / "exports" / "timm").mkdir(parents=True)
    os.chmod(tmp_path / "exports", 0o777)
    os.chmod(tmp_path / "exports" / "timm", 0o755)
    publish_export(export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path)), write_model_onnx(b"x"))
    assert mode_of(tmp_path / "exports") == 0o700 and mode_of(tmp_path / "exports" / "timm") == 0o700


def test_a_symlinked_exports_folder_is_refused(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "home").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "home" / "exports")  # planted to redirect the writes
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path / "home"))
    with pytest.raises(OSError, match="not a folder"):
        publish_export(folder, write_model_onnx(b"x"))
    assert not list((tmp_path / "elsewhere").iterdir())


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a folder away")
def test_a_folder_of_another_user_is_refused(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / "exports").mkdir(mode=0o700)
    os.chown(tmp_path / "exports", 65534, 65534)
    with pytest.raises(OSError, match="another user"):
        publish_export(export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path)), write_model_onnx(b"x"))


def test_an_export_others_may_write_to_is_not_used(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))
    publish_export(folder, write_model_onnx(b"x"))
    os.chmod(folder.parent, 0o777)
    assert find_export(folder) is None
    os.chmod(folder.parent, 0o700)
    assert find_export(folder) == folder
    assert find_export(tmp_path / "model") is None  # not under an exports folder


def test_an_unwritable_home_raises_oserror(tmp_path: Path, model_dir: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where HF_HOME should be")
    with pytest.raises(OSError):
        publish_export(export_folder("timm", "onnx", model_dir, hf_home=str(blocked)), write_model_onnx(b"x"))


def test_a_failed_export_leaves_nothing(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))

    def failing(staging: Path) -> None:
        (staging / "model.onnx").write_bytes(b"half")
        raise RuntimeError("the exporter failed")

    with pytest.raises(RuntimeError):
        publish_export(folder, failing)
    assert not folder.exists() and not list(folder.parent.iterdir())


def test_a_partial_or_damaged_export_is_never_used_and_is_replaced(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"half an exp")  # a crash before the manifest
    assert find_export(folder) is None
    publish_export(folder, write_model_onnx(b"whole export"))
    assert (folder / "model.onnx").read_bytes() == b"whole export"
    (folder / "model.onnx").write_bytes(b"truncated")  # damaged later
    assert find_export(folder) is None
    (folder / "model.onnx").write_bytes(b"whole export")
    assert find_export(folder) == folder


def test_a_manifest_cannot_point_outside(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))
    publish_export(folder, write_model_onnx(b"x"))
    (folder / MANIFEST).write_text('{"files": {"../../../../etc/passwd": 1}}')
    assert find_export(folder) is None


def test_discard_then_export_again(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))
    publish_export(folder, write_model_onnx(b"x"))
    discard_export(folder)
    assert find_export(folder) is None and not list(folder.parent.iterdir())
    discard_export(folder)  # nothing there: nothing to do


def test_stale_staging_folders_are_cleaned(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))
    folder.parent.mkdir(parents=True)
    stale = folder.parent / f"{exports.STAGING_PREFIX}{folder.name}.dead"
    fresh = folder.parent / f"{exports.STAGING_PREFIX}{folder.name}.live"
    stale.mkdir()
    fresh.mkdir()
    old = time.time() - exports.STALE_STAGING_S - 60
    os.utime(stale, (old, old))
    publish_export(folder, write_model_onnx(b"x"))
    assert not stale.exists() and fresh.exists()  # another process may still be writing the fresh one


def test_publish_refuses_a_folder_outside_the_exports_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="export_folder"):
        publish_export(tmp_path / "a" / "b" / "c" / "d" / "e", write_model_onnx(b"x"))


def test_write_atomic_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "file.bin"
    write_atomic(path, b"first")
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second" and mode_of(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


# ---------------------------------------------------------------- two writers and a reader


def _slow_writer(folder: str, byte: int, started, results) -> None:
    def write(staging: Path) -> None:
        started.wait(5)
        with open(staging / "model.onnx", "wb") as file:
            for _ in range(16):
                file.write(bytes([byte]) * (SIZE // 16))
                file.flush()
                time.sleep(0.005)

    results.put(str(publish_export(Path(folder), write)))


def test_two_writers_at_once_publish_one_whole_export(tmp_path: Path, model_dir: Path) -> None:
    folder = export_folder("timm", "onnx", model_dir, hf_home=str(tmp_path))
    context = multiprocessing.get_context("fork")
    started, results = context.Event(), context.Queue()
    writers = [context.Process(target=_slow_writer, args=(str(folder), b, started, results)) for b in (0xAA, 0x55)]
    for writer in writers:
        writer.start()
    started.set()
    seen = set()
    deadline = time.monotonic() + 20
    while any(writer.is_alive() for writer in writers) and time.monotonic() < deadline:
        if find_export(folder) is not None:  # a reader meanwhile: a whole export, or none
            data = (folder / "model.onnx").read_bytes()
            assert len(data) == SIZE and len(set(data)) == 1
            seen.add(data[0])
    for writer in writers:
        writer.join(20)
        assert writer.exitcode == 0
    assert [results.get(timeout=5), results.get(timeout=5)] == [str(folder), str(folder)]
    data = (folder / "model.onnx").read_bytes()
    assert len(data) == SIZE and len(set(data)) == 1 and data[0] in (0xAA, 0x55)
    assert seen <= {data[0]}  # the first published export stayed; the second writer's was dropped
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]
