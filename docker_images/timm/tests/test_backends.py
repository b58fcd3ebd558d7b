"""The faster backends: ONNX Runtime (exported once, cached) and channels-last torch agree with torch."""

from __future__ import annotations

import logging

import pytest
from timm_testing import make_pipeline, picture

from app.pipelines.image_classification import ONNX_CACHE_DIR


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
    exports = list((tmp_path / ONNX_CACHE_DIR).glob("*/model.onnx"))
    assert len(exports) == 1 and "Stored the ONNX export" in caplog.text
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


def test_onnx_export_next_to_the_model_when_hf_home_is_not_writable(models, tmp_path, pictures):
    import shutil

    model_dir = shutil.copytree(models.plain, tmp_path / "model")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")  # nothing can be created under it
    onnx = make_pipeline(model_dir, BACKEND="onnx", HF_HOME=str(blocked))
    assert list((model_dir / ONNX_CACHE_DIR).glob("*/model.onnx"))
    assert_same(onnx.batch(pictures), make_pipeline(model_dir).batch(pictures))


def test_channels_last_agrees_with_torch(models, pictures):
    reference = make_pipeline(models.labeled)
    channels_last = make_pipeline(models.labeled, BACKEND="torch-channels-last")
    assert_same(channels_last.batch(pictures), reference.batch(pictures))


def test_a_broken_cached_export_is_made_again(models, tmp_path, pictures):
    make_pipeline(models.labeled, BACKEND="onnx", HF_HOME=str(tmp_path))
    (export,) = (tmp_path / ONNX_CACHE_DIR).glob("*/model.onnx")
    export.write_bytes(b"not an onnx model")
    onnx = make_pipeline(models.labeled, BACKEND="onnx", HF_HOME=str(tmp_path))
    assert export.stat().st_size > 1000
    assert_same(onnx.batch(pictures), make_pipeline(models.labeled).batch(pictures))
