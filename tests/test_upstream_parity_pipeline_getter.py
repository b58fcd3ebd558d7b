"""Upstream parity: the module-level `get_pipeline()` that upstream image tests import from `app.main`."""

from __future__ import annotations

from typing import Any

import pytest

from api_inference_community import Pipeline
from api_inference_community.compat.pipeline_getter import pipeline_getter
from api_inference_community.runtime.settings import get_settings


class Loaded(Pipeline):
    loads = 0

    def __init__(self, model_id: str) -> None:
        type(self).loads += 1
        self.model_id = model_id
        self.settings = get_settings()

    def __call__(self, inputs: Any, **parameters: Any) -> Any:
        return inputs


@pytest.fixture
def get_pipeline(monkeypatch, tmp_path):
    monkeypatch.setenv("MODEL_ID", str(tmp_path))
    monkeypatch.setenv("TASK", "text-classification")
    Loaded.loads = 0
    return pipeline_getter({"text-classification": Loaded})


@pytest.mark.parametrize("task", ["automatic-speech-recognition", "question-answering", "not-a-task"])
def test_unsupported_task_is_an_environment_error(get_pipeline, monkeypatch, task):
    monkeypatch.setenv("TASK", task)
    monkeypatch.setenv("MODEL_ID", "XX")
    with pytest.raises(EnvironmentError, match=f"{task} is not a valid pipeline for model : XX"):
        get_pipeline()


def test_loads_once_from_the_environment_at_call_time(get_pipeline, tmp_path):
    pipeline = get_pipeline()
    assert isinstance(pipeline, Loaded) and pipeline.model_id == str(tmp_path)
    assert pipeline.settings.task == "text-classification"  # the pipeline sees the settings it was built with
    assert get_pipeline() is pipeline and Loaded.loads == 1


def test_cache_clear_loads_again_with_the_new_environment(get_pipeline, monkeypatch, tmp_path):
    first = get_pipeline()
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("MODEL_ID", str(other))
    assert get_pipeline() is first  # cached
    get_pipeline.cache_clear()
    assert get_pipeline().model_id == str(other) and Loaded.loads == 2


def test_task_and_model_may_be_given(get_pipeline, monkeypatch, tmp_path):
    monkeypatch.delenv("TASK")
    assert get_pipeline("text-classification", str(tmp_path)).model_id == str(tmp_path)
    with pytest.raises(EnvironmentError):
        get_pipeline("fill-mask", model_id="XX")
