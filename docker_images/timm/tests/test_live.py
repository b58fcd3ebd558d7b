"""A real server process (uvicorn) answering huggingface_hub's InferenceClient, as users call it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests
from huggingface_hub import InferenceClient
from huggingface_hub.errors import BadRequestError
from PIL import Image
from timm_testing import IMAGENET_ID, LABELED_ID, LABELS, make_pipeline

from api_inference_community.testing.live import live_server

IMAGE_DIR = Path(__file__).resolve().parents[1]


def server_env(models, model_id, **extra):
    return {
        "MODEL_ID": model_id,
        "TASK": "image-classification",
        "HF_HOME": str(models.hf_home),
        "HF_HUB_OFFLINE": "1",
        "BACKEND": "torch",
        "LOG_LEVEL": "warning",
        **extra,
    }


def scores(output):
    return [(item.label, item.score) for item in output]


def test_inference_client_against_a_live_server(models, images, tmp_path, labeled_pipeline):
    path = tmp_path / "picture.jpg"
    path.write_bytes(images["jpeg-rgb"])
    expected = labeled_pipeline(Image.open(io.BytesIO(images["jpeg-rgb"])))
    with live_server("app.main:app", server_env(models, LABELED_ID), cwd=IMAGE_DIR) as server:
        client = InferenceClient(server.url, timeout=60)
        by_bytes = client.image_classification(images["jpeg-rgb"])  # raw bytes on the wire
        assert [item.label for item in by_bytes] == [item["label"] for item in expected]
        assert [item.score for item in by_bytes] == pytest.approx([item["score"] for item in expected], abs=1e-5)
        assert sorted(item.label for item in by_bytes) == sorted(LABELS)
        assert scores(client.image_classification(path)) == scores(by_bytes)
        assert scores(client.image_classification(str(path))) == scores(by_bytes)
        top = client.image_classification(images["png-rgba"], top_k=2)  # base64 JSON with parameters
        assert len(top) == 2 and top[0].score >= top[1].score
        raw = client.image_classification(images["jpeg-rgb"], top_k=3, function_to_apply="none")
        assert [item.label for item in raw] == [item.label for item in by_bytes[:3]]
        with pytest.raises(BadRequestError, match="cannot identify image") as error:
            client.image_classification(b"not an image")
        assert error.value.response.status_code == 400
        assert client.image_classification(images["webp-rgb"])  # and the server is still up
    assert server.process.returncode == 0, server.logs()


def test_onnx_backend_on_a_live_server(models, images):
    expected = make_pipeline(models.imagenet)(Image.open(io.BytesIO(images["png-rgb"])), top_k=3)
    env = server_env(models, IMAGENET_ID, BACKEND="onnx")
    with live_server("app.main:app", env, cwd=IMAGE_DIR) as server:
        info = requests.get(server.url + "/info", timeout=10).json()
        assert info["backend"] == "onnx"
        output = InferenceClient(server.url, timeout=60).image_classification(images["png-rgb"], top_k=3)
        assert [item.label for item in output] == [item["label"] for item in expected]
        assert [item.score for item in output] == pytest.approx([item["score"] for item in expected], abs=1e-4)
    assert list((models.hf_home / "exports" / "timm" / "onnx").glob("*/model.onnx"))  # stored for the next start
