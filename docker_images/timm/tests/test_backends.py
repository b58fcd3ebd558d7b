"""The faster backends: ONNX Runtime (exported once, cached) and channels-last torch agree with torch."""

from __future__ import annotations

import logging

import pytest
from timm_testing import make_pipeline, picture

from api_inference_community.runtime.exports import exports_root
from app.pipelines.image_classification import LIBRARY


def stored(home):
    """The ONNX exports stored under this HF_HOME."""
    return list((exports_root(str(home)) / LIBRARY / "onnx").glob("*/model.onnx"))


def assert_same(outputs, expected, tolerance=1e-4):
    for output, reference in zip(outputs, expected):
        assert [x["label"] for x in output] == [x["label"] for x in reference]
        assert [x["score"] for x in output] == pytest.approx([x["score"] for x in reference], abs=tolerance)


@pytest.fixture(scope="module")
def pictures():
    return [picture(size=(90 + 15 * i, 70 + 11 * i), seed=i) for i in range(4)]


@pytest.mark.parametrize("which", ["labeled", "imagenet"])
def test_onnx_agrees_with_torch_and_is_reused(which, models, pictures, tmp_path, caplog):
    model_dir = getattr(models, which)
    reference = make_pipeline(model_dir)
    with caplog.at_level(logging.INFO, logger="app.pipelines.image_classification"):
        onnx = make_pipeline(model_dir, BACKEND="onnx", HF_HOME=str(tmp_path))
    exports = stored(tmp_path)
    assert len(exports) == 1 and "Stored the ONNX export" in caplog.text
    assert exports[0].stat().st_mode & 0o777 == 0o600 and exports[0].parent.stat().st_mode & 0o777 == 0o700
    for parameters in ({}, {"top_k": 3, "function_to_apply": "none"}):
        assert_same(onnx.batch(pictures, **parameters), reference.batch(pictures, **parameters))  # dynamic batch
        assert_same([onnx(pictures[0], **parameters)], [reference(pictures[0], **parameters)])
    # the next start finds the export instead of exporting again
    modified = exports[0].stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="app.pipelines.image_classification"):
        again = make_pipeline(model_dir, BACKEND="onnx", HF_HOME=str(tmp_path))
    assert "Using the ONNX export" in caplog.text and exports[0].stat().st_mtime_ns == modified
    assert_same(again.batch(pictures), reference.batch(pictures))


def test_an_unwritable_hf_home_runs_the_export_from_memory(models, tmp_path, pictures, caplog, monkeypatch):
    import shutil
    import tempfile

    model_dir = shutil.copytree(models.plain, tmp_path / "model")
    before = sorted(path.name for path in model_dir.rglob("*"))
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")  # nothing can be created under it
    shared = tmp_path / "tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    with caplog.at_level(logging.WARNING, logger="app.pipelines.image_classification"):
        onnx = make_pipeline(model_dir, BACKEND="onnx", HF_HOME=str(blocked))
    assert "the next start exports again" in caplog.text
    assert sorted(path.name for path in model_dir.rglob("*")) == before  # nothing written into the model folder
    assert not list(shared.iterdir())  # nor into the shared temporary folder
    assert_same(onnx.batch(pictures), make_pipeline(model_dir).batch(pictures))


def test_channels_last_agrees_with_torch(models, pictures):
    reference = make_pipeline(models.labeled)
    channels_last = make_pipeline(models.labeled, BACKEND="torch-channels-last")
    assert_same(channels_last.batch(pictures), reference.batch(pictures))


def test_a_broken_cached_export_is_made_again(models, tmp_path, pictures):
    make_pipeline(models.labeled, BACKEND="onnx", HF_HOME=str(tmp_path))
    (export,) = stored(tmp_path)
    export.write_bytes(b"not an onnx model")
    onnx = make_pipeline(models.labeled, BACKEND="onnx", HF_HOME=str(tmp_path))
    assert export.stat().st_size > 1000
    assert_same(onnx.batch(pictures), make_pipeline(models.labeled).batch(pictures))


def test_a_damaged_export_of_the_same_size_is_made_again(models, tmp_path, pictures, caplog):
    make_pipeline(models.labeled, BACKEND="onnx", HF_HOME=str(tmp_path))
    (export,) = stored(tmp_path)
    export.write_bytes(b"\0" * export.stat().st_size)  # complete by its manifest, but not a model
    with caplog.at_level(logging.WARNING, logger="app.pipelines.image_classification"):
        onnx = make_pipeline(models.labeled, BACKEND="onnx", HF_HOME=str(tmp_path))
    assert "cannot be loaded" in caplog.text
    (again,) = stored(tmp_path)
    assert again.read_bytes() != b"\0" * again.stat().st_size
    assert_same(onnx.batch(pictures), make_pipeline(models.labeled).batch(pictures))
