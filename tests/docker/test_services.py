"""The service layer on a real Docker engine: a library container in multi-model mode, and the gateway
with its `docker` backend, whose replicas are containers of the images built by the harness."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import docker_harness as dh
import pytest
import requests
from huggingface_hub import InferenceClient

from api_inference_community.gateway.backends.docker import LABEL
from api_inference_community.testing import examples as ex
from api_inference_community.testing.live import LiveServer

pytestmark = pytest.mark.docker

READY_TIMEOUT = 240.0
WAIT = {"x-wait-for-model": "true"}
CARD = "---\nlibrary_name: {library}\npipeline_tag: {task}\n{extra}---\n# A test model\n"


def models_directory(root: Path, test_models: Any, libraries: Dict[str, str]) -> Dict[str, str]:
    """A models directory of real test models: two per library (copies), and one turned off.

    Returns {model id: task}."""
    found: Dict[str, str] = {}
    for library, task in libraries.items():
        source = test_models(library)[task]["path"]
        for name in ("first", "second", "off"):
            model_id = f"org/{library}-{name}"
            target = root / model_id
            shutil.copytree(source, target, symlinks=False)
            extra = "inference: false\n" if name == "off" else ""
            (target / "README.md").write_text(CARD.format(library=library, task=task, extra=extra))
            found[model_id] = task
    dh.readable_by_all(root)
    return found


def body_for(task: str) -> Any:
    return ex.valid_examples(task)[0]


def test_a_library_container_serves_several_models_by_url(
    library: str, engine: dh.Engine, images: Any, test_models: Any, run_id: str, tmp_path: Path
) -> None:
    build = images(library)
    task = sorted(test_models(library))[0]
    models = models_directory(tmp_path / "models", test_models, {library: task})
    env = {"MULTI_MODEL": "1", "MODELS_DIR": "/models", "HF_HUB_OFFLINE": "1", "MIN_RESIDENCY": "0"}
    with dh.running(engine, build.tag, env, run_id, models_dir=tmp_path / "models") as running:
        running.wait_alive(READY_TIMEOUT)
        example = body_for(task)
        for model_id in (f"org/{library}-first", f"org/{library}-second"):
            answer = requests.post(
                f"{running.url}/models/{model_id}",
                data=example.body,
                headers={**WAIT, "content-type": example.content_type},
                timeout=READY_TIMEOUT,
            )
            assert answer.status_code == 200, answer.text
            status = requests.get(f"{running.url}/status/{model_id}", timeout=10).json()
            assert status["loaded"] is True and status["state"] == "Loaded" and status["framework"] == library
        loaded = requests.get(f"{running.url}/models", timeout=10).json()["models"]
        assert {m["model_id"] for m in loaded} == {f"org/{library}-first", f"org/{library}-second"}
        assert all(m["bytes"] > 0 and m["measured"] for m in loaded)
        off = requests.post(f"{running.url}/models/org/{library}-off", data=example.body, headers=WAIT, timeout=30)
        assert off.status_code == 403 and "inference: false" in off.json()["error"]
        assert requests.post(f"{running.url}/models/org/missing", data=b"x", timeout=30).status_code == 404
        assert len(models) == 3
        assert "Traceback" not in running.logs()


@pytest.fixture(scope="module")
def gateway(
    engine: dh.Engine, images: Any, test_models: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    libraries = {"sentence_transformers": "feature-extraction", "timm": "image-classification"}
    for library in libraries:
        images(library)
    models_dir = tmp_path_factory.mktemp("gateway-models")
    models_directory(models_dir, test_models, libraries)
    env = {
        "DOCKER_HOST": engine.host,
        "GATEWAY_BACKEND": "docker",
        "GATEWAY_DOCKER_IMAGE": dh.image_tag("{library}"),
        "GATEWAY_DOCKER_VOLUME": f"aic-test-gateway-{time.time_ns()}",
        "GATEWAY_LIBRARIES": ",".join(libraries),
        "MODELS_DIR": str(models_dir),
        "HF_HUB_OFFLINE": "1",
        "POOL_HEALTH_INTERVAL": "0.5",
        "SHUTDOWN_GRACE": "10",
    }
    server = LiveServer("", env, command=[sys.executable, "-m", "api_inference_community", "gateway"])
    try:
        server.wait_until("/health", 200, 60)
        yield server
    finally:
        code = server.stop(120)
        leftovers = engine.client.containers.list(all=True, filters={"label": LABEL})
        for container in leftovers:
            container.remove(force=True)
        engine.client.volumes.get(env["GATEWAY_DOCKER_VOLUME"]).remove(force=True)
        assert code == 0, server.logs()[-3000:]
        assert not leftovers, "the gateway left replicas running"


def test_the_gateway_serves_every_library_through_docker_replicas(gateway: Any) -> None:
    text, image = "org/sentence_transformers-first", "org/timm-first"
    for model_id, example in ((text, body_for("feature-extraction")), (image, body_for("image-classification"))):
        answer = requests.post(
            f"{gateway.url}/models/{model_id}",
            data=example.body,
            headers={**WAIT, "content-type": example.content_type},
            timeout=READY_TIMEOUT,
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-request-id"]
    embedding = InferenceClient(f"{gateway.url}/models/{text}", timeout=120).feature_extraction("Today is sunny")
    assert embedding.size > 0
    labels = InferenceClient(f"{gateway.url}/models/{image}", timeout=120).image_classification(
        ex.image_bytes(ex.picture())
    )
    assert labels and all(0 <= label.score <= 1 for label in labels)
    pools = requests.get(gateway.url + "/pools", timeout=10).json()
    assert all(pools[library]["replicas"][0]["container"] for library in ("sentence_transformers", "timm"))


@pytest.mark.parametrize("model_id, status", [("org/timm-off", 403), ("org/nothing-here", 404)])
def test_the_gateway_refuses_as_the_card_says(gateway: Any, model_id: str, status: int) -> None:
    assert requests.post(f"{gateway.url}/models/{model_id}", data=b"x", headers=WAIT, timeout=30).status_code == status


def test_a_dead_replica_container_is_replaced(gateway: Any, engine: dh.Engine) -> None:
    image = "org/timm-first"
    example = body_for("image-classification")
    requests.post(f"{gateway.url}/models/{image}", data=example.body, headers=WAIT, timeout=READY_TIMEOUT)
    before = requests.get(gateway.url + "/pools", timeout=10).json()["timm"]["replicas"][0]["container"]
    engine.client.containers.get(before).kill()
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        replicas = requests.get(gateway.url + "/pools", timeout=10).json()["timm"]["replicas"]
        if replicas and replicas[0]["healthy"] and replicas[0]["container"] != before:
            break
        assert time.monotonic() < deadline, replicas
        time.sleep(0.5)
    answer = requests.post(f"{gateway.url}/models/{image}", data=example.body, headers=WAIT, timeout=READY_TIMEOUT)
    assert answer.status_code == 200, answer.text
