"""The gateway end to end with the `process` backend: real replicas of both images, a models directory.

One gateway for the module (its pools start on demand); InferenceClient by model URL, refusals,
a killed replica replaced, affinity on real replicas. Marked slow: replicas import PyTorch.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from fakes import write_model
from PIL import Image

from api_inference_community.testing.live import LiveServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TEXT = "sentence-transformers/all-MiniLM-L6-v2"
IMAGE = "timm/tiny-demo-classifier"
WAIT = {"x-wait-for-model": "true"}


def build_models_dir(directory: Path) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import demo_models
    finally:
        sys.path.pop(0)
    demo_models.link_text_model(directory / TEXT)
    demo_models.link_text_model(directory / "org/mini-copy")  # the same files under other ids
    demo_models.link_text_model(directory / "org/mini-copy-2")
    demo_models.build_image_model(directory / IMAGE)
    write_model(
        directory, "org/turned-off", task="feature-extraction", library="sentence-transformers", inference=False
    )
    write_model(directory, "org/speech", task="automatic-speech-recognition", library="sentence-transformers")
    return directory


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    models = build_models_dir(tmp_path_factory.mktemp("models"))
    env = {
        "MODELS_DIR": str(models),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path_factory.mktemp("hf")),
        "GATEWAY_REPLICAS": "2",
        "GATEWAY_LIBRARIES": "sentence_transformers,timm",
        "POOL_HEALTH_INTERVAL": "0.5",
        "SHUTDOWN_GRACE": "5",
        # as `make serve`: the text model for both its tasks and the image model, loaded at start
        "PINNED_MODELS": f"{TEXT},{TEXT}:feature-extraction,{IMAGE}",
    }
    server = LiveServer("", env, command=[sys.executable, "-m", "api_inference_community", "gateway"])
    try:
        server.wait_until("/ready", 200, 300)
        yield server
    finally:
        code = server.stop(60)
        assert code == 0, server.logs()


def pools(gateway) -> dict:
    return requests.get(gateway.url + "/ready", timeout=10).json()["pools"]


def wait_healthy(gateway, library: str, count: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while pools(gateway)[library]["healthy"] < count:
        assert time.monotonic() < deadline, pools(gateway)
        time.sleep(0.5)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8")).save(buffer, "PNG")
    return buffer.getvalue()


def test_inference_client_by_model_url(gateway):
    from huggingface_hub import InferenceClient

    text = InferenceClient(f"{gateway.url}/models/{TEXT}")
    assert text.feature_extraction("Today is a sunny day").shape == (384,)
    scores = text.sentence_similarity("A cat sleeps", other_sentences=["A cat naps", "Stocks fell sharply"])
    assert len(scores) == 2 and scores[0] > scores[1]
    labels = InferenceClient(f"{gateway.url}/models/{IMAGE}").image_classification(png())
    assert {label.label for label in labels} <= {"cat", "dog", "bird", "fish"} and labels
    assert set(pools(gateway)) == {"sentence_transformers", "timm"}


@pytest.mark.parametrize(
    "model, status",
    [("org/turned-off", 403), ("org/speech", 400), ("org/missing", 404)],
)
def test_refusals(gateway, model, status):
    response = requests.post(gateway.url + f"/models/{model}", json={"inputs": "x"}, headers=WAIT, timeout=30)
    assert response.status_code == status and response.json()["error"]


def loaded_on(replica_urls, model: str):
    return [
        url
        for url in replica_urls
        if any(m["model_id"] == model for m in requests.get(url + "/models", timeout=10).json()["models"])
    ]


def replica_urls(gateway, library: str):
    return [r["url"] for r in requests.get(gateway.url + "/pools", timeout=10).json()[library]["replicas"]]


def test_affinity_keeps_each_model_on_one_replica(gateway):
    wait_healthy(gateway, "sentence_transformers", 2)
    for _ in range(6):
        for model in ("org/mini-copy", "org/mini-copy-2"):  # not pinned: each loads where it is routed
            response = requests.post(gateway.url + f"/models/{model}", json={"inputs": "x"}, headers=WAIT, timeout=300)
            assert response.status_code == 200
    urls = replica_urls(gateway, "sentence_transformers")
    assert len(loaded_on(urls, "org/mini-copy")) == 1 and len(loaded_on(urls, "org/mini-copy-2")) == 1
    assert len(loaded_on(urls, TEXT)) == 2  # pinned: every replica loads it at start


def test_a_killed_replica_is_replaced_and_its_models_reload(gateway):
    wait_healthy(gateway, "timm", 2)
    requests.post(gateway.url + f"/models/{IMAGE}", data=png(), headers=WAIT, timeout=300)
    before = requests.get(gateway.url + "/pools", timeout=10).json()["timm"]["replicas"]
    holder = loaded_on([r["url"] for r in before], IMAGE)[0]
    pid = next(r["pid"] for r in before if r["url"] == holder)
    os.kill(pid, signal.SIGKILL)
    # meanwhile the model is answered by the other replica (it loads it there)
    response = requests.post(gateway.url + f"/models/{IMAGE}", data=png(), headers=WAIT, timeout=300)
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 180
    while True:
        after = requests.get(gateway.url + "/pools", timeout=10).json()["timm"]["replicas"]
        if len(after) == 2 and all(r["healthy"] for r in after) and pid not in [r["pid"] for r in after]:
            break
        assert time.monotonic() < deadline, after
        time.sleep(0.5)
    assert 'reason="exited"' in requests.get(gateway.url + "/metrics", timeout=10).text
