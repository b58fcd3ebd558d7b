"""Safe loading: safetensors only unless pickle weights are allowed, remote code only for the model
ids the operator lists; configuration errors; which files are fetched; card-driven availability."""

from __future__ import annotations

import shutil
import textwrap

import pytest
import tiny_models
from transformers_testing import environment, load, serving

from api_inference_community.hub.availability import decide
from api_inference_community.hub.cards import CardMetadata
from api_inference_community.hub.libraries import discover
from api_inference_community.runtime.settings import Settings
from app.main import ALLOWED_TASKS
from app.pipelines.policy import LoadPolicy
from app.pipelines.text_classification import TextClassificationPipeline


@pytest.fixture(scope="module")
def pickled(models, tmp_path_factory):
    """The text classifier with `pytorch_model.bin` (pickle) weights only."""
    from transformers import AutoModelForSequenceClassification

    folder = tmp_path_factory.mktemp("pickled")
    source = models.folder("text-classification")
    for path in source.iterdir():
        if path.name != "model.safetensors":
            shutil.copy(path, folder / path.name)
    AutoModelForSequenceClassification.from_pretrained(str(source)).save_pretrained(
        str(folder), safe_serialization=False
    )
    assert (folder / "pytorch_model.bin").is_file() and not (folder / "model.safetensors").exists()
    return folder


def test_pickle_weights_only_when_allowed(pickled, pipeline):
    with pytest.raises(ValueError, match="ALLOW_PICKLE_WEIGHTS"):
        load(TextClassificationPipeline, pickled)
    allowed = load(TextClassificationPipeline, pickled, env={"ALLOW_PICKLE_WEIGHTS": "1"})
    assert allowed("I like you") == pipeline("text-classification")("I like you")


@pytest.fixture(scope="module")
def custom_code(models, tmp_path_factory):
    """A model whose config and class come from Python files in its folder (`trust_remote_code`)."""
    folder = tmp_path_factory.mktemp("custom")
    for path in models.folder("text-classification").iterdir():
        shutil.copy(path, folder / path.name)
    (folder / "configuration_tiny.py").write_text(
        textwrap.dedent(
            """
            from transformers import BertConfig

            class TinyConfig(BertConfig):
                model_type = "tiny-custom"
            """
        )
    )
    (folder / "modeling_tiny.py").write_text(
        textwrap.dedent(
            """
            from transformers import BertForSequenceClassification

            from .configuration_tiny import TinyConfig

            class TinyClassifier(BertForSequenceClassification):
                config_class = TinyConfig
            """
        )
    )
    import json

    config = json.loads((folder / "config.json").read_text())
    config.update(
        model_type="tiny-custom",
        auto_map={
            "AutoConfig": "configuration_tiny.TinyConfig",
            "AutoModelForSequenceClassification": "modeling_tiny.TinyClassifier",
        },
    )
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_remote_code_only_for_listed_models(custom_code, tmp_path):
    with environment(HF_MODULES_CACHE=str(tmp_path / "modules")):
        with pytest.raises(ValueError, match="trust_remote_code"):
            load(TextClassificationPipeline, custom_code, model_id=str(custom_code))
        listed = {"TRUST_REMOTE_CODE_MODELS": f"org/other, {custom_code}"}
        trusted = load(TextClassificationPipeline, custom_code, env=listed, model_id=str(custom_code))
        assert type(trusted.pipe.model).__name__ == "TinyClassifier"
        assert len(trusted("I like you")[0]) == len(tiny_models.LABELS)
        other = {"TRUST_REMOTE_CODE_MODELS": "org/other"}
        with pytest.raises(ValueError, match="trust_remote_code"):
            load(TextClassificationPipeline, custom_code, env=other, model_id=str(custom_code))


def test_a_model_that_cannot_load_is_reported(models, tmp_path):
    cases = [
        (tmp_path, {}, "not a transformers model folder"),
        (models.folder("text-classification"), {"backend": "tensorflow"}, "BACKEND `tensorflow`"),
    ]
    for folder, overrides, message in cases:
        with pytest.raises(RuntimeError, match="did not load"):
            with serving("text-classification", str(folder), models.hf_home, **overrides):
                pass
        app_settings = Settings(model_id=str(folder), task="text-classification", **overrides)
        from starlette.testclient import TestClient

        from api_inference_community import create_app

        with TestClient(create_app(ALLOWED_TASKS, app_settings)) as client:
            import time

            while (ready := client.get("/ready")).json()["status"] == "loading":
                time.sleep(0.05)
            assert ready.status_code == 503 and message in ready.json()["error"]
    with environment(QUANTIZE="int4"), pytest.raises(ValueError, match="QUANTIZE"):
        LoadPolicy.from_env()


def test_the_files_fetched_for_a_hub_id():
    settings = Settings(model_id="org/model")
    patterns = TextClassificationPipeline.model_files(settings)
    assert "*.safetensors" in patterns and "*.json" in patterns
    assert not {"*.bin", "*.py", "*.onnx", "*.h5", "*.msgpack"} & set(patterns)
    with environment(ALLOW_PICKLE_WEIGHTS="1", TRUST_REMOTE_CODE_MODELS="org/model"):
        patterns = TextClassificationPipeline.model_files(settings)
    assert "*.bin" in patterns and "*.py" in patterns


def test_card_driven_availability():
    libraries = discover()
    assert sorted(libraries["transformers"]) == sorted(ALLOWED_TASKS)
    served = decide(CardMetadata(library_name="transformers", pipeline_tag="token-classification"), libraries)
    assert served.served and served.library == "transformers"
    refused = decide(CardMetadata(library_name="transformers", pipeline_tag="text-to-image"), libraries)
    assert not refused.served and "does not serve task `text-to-image`" in refused.reason
