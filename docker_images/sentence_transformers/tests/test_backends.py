"""BACKEND=onnx and BACKEND=openvino: the same embeddings as torch, exported once and stored."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from st_testing import LONG, TEXTS

from api_inference_community.runtime.exports import exports_root
from api_inference_community.runtime.settings import Settings
from app.pipelines import FeatureExtractionPipeline
from app.pipelines import encoder as encoder_module

FIXED_SET = [*TEXTS, "hello", "A longer sentence about the weather in Paris, which is rainy today.", LONG]
HAS_OPENVINO = (
    importlib.util.find_spec("openvino") is not None and importlib.util.find_spec("optimum.intel") is not None
)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def stored(home, backend="onnx", main_file="onnx/model.onnx"):
    """The exports of the model stored under this HF_HOME for `backend`."""
    return list((exports_root(str(home)) / encoder_module.LIBRARY / backend).glob(f"*/{main_file}"))


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
    (export,) = stored(export_home)
    assert not (model_dir / "onnx").exists()  # the model folder (site-packages here) is left alone
    folder = export.parent.parent
    assert folder.stat().st_mode & 0o777 == 0o700 and (export_home / "exports").stat().st_mode & 0o777 == 0o700
    assert export.stat().st_mode & 0o777 == 0o600


def test_onnx_is_not_exported_again_on_the_next_start(
    onnx_pipeline, load_pipeline, model_dir, export_home, monkeypatch
):
    forbid_export(monkeypatch)
    again = load_pipeline(FeatureExtractionPipeline, model_dir, backend="onnx", hf_home=str(export_home))
    np.testing.assert_allclose(again(TEXTS), onnx_pipeline(TEXTS), atol=1e-6)


def test_onnx_export_of_a_hub_snapshot_is_stored_in_hf_home_not_in_the_snapshot(
    load_pipeline, tmp_path, model_dir, torch_pipeline, monkeypatch
):
    from api_inference_community.hub.resolve import resolve_model
    from api_inference_community.testing.hub_cache import make_hub_cache

    home = tmp_path / "hf_home"
    make_hub_cache(home / "hub", "org/minilm", model_dir)
    snapshot = resolve_model(Settings(model_id="org/minilm", hf_home=str(home), hf_hub_offline=True))
    before = sorted(path.name for path in snapshot.rglob("*"))
    first = load_pipeline(FeatureExtractionPipeline, snapshot, backend="onnx", hf_home=str(home))
    assert sorted(path.name for path in snapshot.rglob("*")) == before  # the Hub cache is left as it is
    (export,) = stored(home)
    assert export.parent.parent.name.startswith("org--minilm-")
    assert cosines(first(TEXTS), torch_pipeline(TEXTS)).min() >= 0.999
    forbid_export(monkeypatch)
    second = load_pipeline(FeatureExtractionPipeline, snapshot, backend="onnx", hf_home=str(home))
    np.testing.assert_allclose(second(TEXTS), first(TEXTS), atol=1e-6)


def test_an_unwritable_hf_home_keeps_the_export_in_memory_only(load_pipeline, tmp_path, model_dir, monkeypatch, caplog):
    import tempfile

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where HF_HOME should be: nothing can be stored under it")
    shared = tmp_path / "tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    pipeline = load_pipeline(FeatureExtractionPipeline, model_dir, backend="onnx", hf_home=str(blocked))
    assert pipeline("hello").shape == (384,)
    assert "the next start exports again" in caplog.text
    # Nothing stored or looked up in the shared temporary folder: the exporter's own working files
    # there are in a private, randomly named folder of its own.
    assert all(path.parent.stat().st_mode & 0o077 == 0 for path in shared.rglob("*.onnx"))
    assert not [path for path in shared.rglob("*") if "export" in path.name]
    assert not (model_dir / "onnx").exists()  # nor in the model folder


def test_a_shipped_onnx_file_is_used_as_is(load_pipeline, tmp_path, model_dir, onnx_pipeline, export_home, monkeypatch):
    folder = tmp_path / "model"
    folder.mkdir()
    for entry in model_dir.iterdir():
        (folder / entry.name).symlink_to(entry)
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx").symlink_to(stored(export_home)[0])
    forbid_export(monkeypatch)
    pipeline = load_pipeline(FeatureExtractionPipeline, folder, backend="onnx", hf_home=str(tmp_path / "home"))
    np.testing.assert_allclose(pipeline(TEXTS), onnx_pipeline(TEXTS), atol=1e-6)
    assert not (tmp_path / "home").exists()


@pytest.mark.skipif(not HAS_OPENVINO, reason="OpenVINO (optimum-intel[openvino]) is not installed")
def test_openvino_agrees_with_torch(load_pipeline, model_dir, export_home, torch_pipeline, monkeypatch):
    pipeline = load_pipeline(FeatureExtractionPipeline, model_dir, backend="openvino", hf_home=str(export_home))
    assert cosines(pipeline(FIXED_SET), torch_pipeline(FIXED_SET)).min() >= 0.999
    assert stored(export_home, "openvino", "openvino/openvino_model.xml")
    forbid_export(monkeypatch)
    again = load_pipeline(FeatureExtractionPipeline, model_dir, backend="openvino", hf_home=str(export_home))
    np.testing.assert_allclose(again(TEXTS), pipeline(TEXTS), atol=1e-5)


def test_an_unknown_backend_is_refused(load_pipeline, model_dir):
    with pytest.raises(ValueError, match="BACKEND `tensorrt` is not supported .* torch, onnx, openvino"):
        load_pipeline(FeatureExtractionPipeline, model_dir, backend="tensorrt")
