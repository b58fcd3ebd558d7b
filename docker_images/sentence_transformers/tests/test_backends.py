"""BACKEND=onnx and BACKEND=openvino: the same embeddings as torch, exported once and stored."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from st_testing import LONG, TEXTS

from api_inference_community.runtime.settings import Settings
from app.pipelines import FeatureExtractionPipeline
from app.pipelines import encoder as encoder_module

FIXED_SET = [*TEXTS, "hello", "A longer sentence about the weather in Paris, which is rainy today.", LONG]
HAS_OPENVINO = (
    importlib.util.find_spec("openvino") is not None and importlib.util.find_spec("optimum.intel") is not None
)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def forbid_export(monkeypatch):
    def export(*args, **kwargs):
        raise AssertionError("the model was exported again")

    monkeypatch.setattr(encoder_module, "export_model", export)


def test_onnx_agrees_with_torch(onnx_pipeline, torch_pipeline):
    assert cosines(onnx_pipeline(FIXED_SET), torch_pipeline(FIXED_SET)).min() >= 0.999
    for parameters in ({"normalize": False}, {"dimensions": 32}, {"truncation_direction": "left"}):
        got, expected = onnx_pipeline(FIXED_SET, **parameters), torch_pipeline(FIXED_SET, **parameters)
        assert got.shape == expected.shape
        assert cosines(got, expected).min() >= 0.999


def test_onnx_export_of_a_local_folder_is_stored_in_hf_home(onnx_pipeline, model_dir, export_home):
    stored = list((export_home / encoder_module.EXPORT_DIR / "onnx").glob("*/onnx/model.onnx"))
    assert len(stored) == 1
    assert not (model_dir / "onnx").exists()  # the model folder (site-packages here) is left alone


def test_onnx_is_not_exported_again_on_the_next_start(
    onnx_pipeline, load_pipeline, model_dir, export_home, monkeypatch
):
    forbid_export(monkeypatch)
    again = load_pipeline(FeatureExtractionPipeline, model_dir, backend="onnx", hf_home=str(export_home))
    np.testing.assert_allclose(again(TEXTS), onnx_pipeline(TEXTS), atol=1e-6)


def test_onnx_export_of_a_hub_snapshot_is_stored_next_to_the_model(
    load_pipeline, tmp_path, model_dir, torch_pipeline, monkeypatch
):
    from api_inference_community.hub.resolve import resolve_model
    from api_inference_community.testing.hub_cache import make_hub_cache

    home = tmp_path / "hf_home"
    make_hub_cache(home / "hub", "org/minilm", model_dir)
    snapshot = resolve_model(Settings(model_id="org/minilm", hf_home=str(home), hf_hub_offline=True))
    first = load_pipeline(FeatureExtractionPipeline, snapshot, backend="onnx", hf_home=str(home))
    assert (snapshot / "onnx" / "model.onnx").is_file()
    assert not (home / encoder_module.EXPORT_DIR).exists()
    assert cosines(first(TEXTS), torch_pipeline(TEXTS)).min() >= 0.999
    forbid_export(monkeypatch)
    second = load_pipeline(FeatureExtractionPipeline, snapshot, backend="onnx", hf_home=str(home))
    np.testing.assert_allclose(second(TEXTS), first(TEXTS), atol=1e-6)


def test_unwritable_places_fall_back_to_the_next(load_pipeline, tmp_path, model_dir, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where HF_HOME should be: nothing can be stored under it")
    fallback = tmp_path / "tmp"
    fallback.mkdir()
    monkeypatch.setattr(encoder_module.tempfile, "tempdir", str(fallback))
    pipeline = load_pipeline(FeatureExtractionPipeline, model_dir, backend="onnx", hf_home=str(blocked))
    assert pipeline("hello").shape == (384,)
    assert list((fallback / encoder_module.EXPORT_DIR / "onnx").glob("*/onnx/model.onnx"))


def test_a_shipped_onnx_file_is_used_as_is(load_pipeline, tmp_path, model_dir, onnx_pipeline, export_home, monkeypatch):
    folder = tmp_path / "model"
    folder.mkdir()
    for entry in model_dir.iterdir():
        (folder / entry.name).symlink_to(entry)
    (folder / "onnx").mkdir()
    stored = next((export_home / encoder_module.EXPORT_DIR / "onnx").glob("*/onnx/model.onnx"))
    (folder / "onnx" / "model.onnx").symlink_to(stored)
    forbid_export(monkeypatch)
    pipeline = load_pipeline(FeatureExtractionPipeline, folder, backend="onnx", hf_home=str(tmp_path / "home"))
    np.testing.assert_allclose(pipeline(TEXTS), onnx_pipeline(TEXTS), atol=1e-6)
    assert not (tmp_path / "home").exists()


@pytest.mark.skipif(not HAS_OPENVINO, reason="OpenVINO (optimum-intel[openvino]) is not installed")
def test_openvino_agrees_with_torch(load_pipeline, model_dir, export_home, torch_pipeline, monkeypatch):
    pipeline = load_pipeline(FeatureExtractionPipeline, model_dir, backend="openvino", hf_home=str(export_home))
    assert cosines(pipeline(FIXED_SET), torch_pipeline(FIXED_SET)).min() >= 0.999
    assert list((export_home / encoder_module.EXPORT_DIR / "openvino").glob("*/openvino/openvino_model.xml"))
    forbid_export(monkeypatch)
    again = load_pipeline(FeatureExtractionPipeline, model_dir, backend="openvino", hf_home=str(export_home))
    np.testing.assert_allclose(again(TEXTS), pipeline(TEXTS), atol=1e-5)


def test_an_unknown_backend_is_refused(load_pipeline, model_dir):
    with pytest.raises(ValueError, match="BACKEND `tensorrt` is not supported .* torch, onnx, openvino"):
        load_pipeline(FeatureExtractionPipeline, model_dir, backend="tensorrt")
