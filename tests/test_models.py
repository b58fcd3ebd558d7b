"""Many models per server: routes, card decisions, one load per model, eviction under a memory budget."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest
from fakes import Gate, Sized, gated, write_model
from starlette.testclient import TestClient

from api_inference_community import Pipeline, create_app
from api_inference_community.runtime import memory
from api_inference_community.runtime.settings import Settings

MB = 1024 * 1024
WAIT = {"x-wait-for-model": "true"}


@contextlib.contextmanager
def multi(models_dir: Path, tasks=None, **overrides) -> Iterator[TestClient]:
    tasks = tasks or {"feature-extraction": type("SizedFeatures", (Sized,), {"loads": {}})}
    settings = Settings(models_dir=str(models_dir), hf_hub_offline=True, hf_home=str(models_dir / ".hf"), **overrides)
    app = create_app(tasks, settings, library="fake")
    with TestClient(app, raise_server_exceptions=False) as client:
        client.tasks = tasks  # type: ignore[attr-defined]
        yield client


def loads(client: TestClient) -> dict:
    counts = client.tasks["feature-extraction"].loads  # type: ignore[attr-defined]
    return {Path(folder).relative_to(Path(folder).parents[1]).as_posix(): n for folder, n in counts.items()}


# ---------------------------------------------------------------------------- routes


def test_serves_models_by_url_in_each_shape(tmp_path):
    write_model(tmp_path, "org/first")
    write_model(tmp_path, "org/second")
    with multi(tmp_path) as client:
        for path in (
            "/models/org/first",
            "/pipeline/feature-extraction/org/first",
            "/models/org/second/pipeline/feature-extraction",
        ):
            response = client.post(path, json={"inputs": "hello"}, headers=WAIT)
            assert response.status_code == 200, (path, response.text)
            assert response.json() == [5.0, 0.0]
        listed = {m["model_id"]: m for m in client.get("/models").json()["models"]}
        assert set(listed) == {"org/first", "org/second"}
        assert listed["org/first"]["requests"] == 2 and listed["org/first"]["bytes"] > 0
        assert listed["org/first"]["load_seconds"] is not None
        assert client.get("/status/org/first").json() == {
            "loaded": True, "state": "Loaded", "compute_type": "cpu", "framework": "fake"
        }  # fmt: skip
        metrics = client.get("/metrics").text
        assert 'aic_cache_requests_total{model="org/first",result="hit"} 1.0' in metrics
        assert 'aic_model_loads_total{model="org/first",outcome="loaded"} 1.0' in metrics
        assert 'aic_requests_total{model="org/first",status="200"} 2.0' in metrics
        assert "aic_resident_models 2.0" in metrics
        # the single-model route is not there: models are served by URL
        assert client.post("/", json={"inputs": "x"}).status_code == 404


def test_a_cold_model_answers_503_with_an_estimate_unless_the_client_waits(tmp_path):
    write_model(tmp_path, "org/slow", load_seconds=1.0)
    with multi(tmp_path) as client:
        first = client.post("/models/org/slow", json={"inputs": "x"})
        assert first.status_code == 503 and first.json()["estimated_time"] > 0 and "Retry-After" in first.headers
        assert client.post("/models/org/slow", json={"inputs": "x"}, headers=WAIT).status_code == 200
        assert loads(client) == {"org/slow": 1}


@pytest.mark.parametrize(
    "setup, path, status, fragment",
    [
        ({}, "/models/org/missing", 404, "not in the models directory"),
        ({"inference": False}, "/models/org/model", 403, "inference: false"),
        ({"task": "text-classification"}, "/models/org/model", 400, "does not serve task `text-classification`"),
        ({"library": "timm"}, "/models/org/model", 400, "library `timm`"),
        ({}, "/models/org/model/pipeline/image-classification", 400, "does not serve task `image-classification`"),
        ({}, "/models/org/model/pipeline/no-such-task", 400, "Unknown task"),
        ({}, "/models/a%2F..%2F..%2Fetc", 400, "not a valid model id"),
        ({}, "/models/org/.hidden", 400, "not a valid model id"),
        ({}, "/models/a/b/c", 400, "not a valid model id"),
    ],
)
def test_card_decisions(tmp_path, setup, path, status, fragment):
    write_model(tmp_path, "org/model", **setup)
    with multi(tmp_path) as client:
        response = client.post(path, json={"inputs": "x"}, headers=WAIT)
        assert response.status_code == status, response.text
        assert fragment in response.json()["error"]
        assert loads(client) == {}


def test_status_of_models_not_loaded(tmp_path):
    write_model(tmp_path, "org/ok")
    write_model(tmp_path, "org/off", inference=False)
    write_model(tmp_path, "org/huge", weights_mb=50)
    with multi(tmp_path, model_memory_budget=10 * MB) as client:
        assert client.get("/status/org/ok").json()["state"] == "Loadable"
        assert client.get("/status/org/off").json()["state"] == "Error"
        assert client.post("/models/org/huge", json={"inputs": "x"}, headers=WAIT).status_code == 403
        assert client.get("/status/org/huge").json()["state"] == "TooBig"
        assert client.get("/status/org/missing").status_code == 404
        assert loads(client) == {}


# ---------------------------------------------------------------------------- loads


def test_twenty_concurrent_first_requests_share_one_load(tmp_path):
    write_model(tmp_path, "org/model", load_seconds=0.5)
    with multi(tmp_path) as client:
        with ThreadPoolExecutor(20) as pool:
            responses = list(
                pool.map(
                    lambda i: client.post("/models/org/model", json={"inputs": "x" * i}, headers=WAIT), range(1, 21)
                )
            )
        assert [r.status_code for r in responses] == [200] * 20
        assert [r.json()[0] for r in responses] == [float(i) for i in range(1, 21)]
        assert loads(client) == {"org/model": 1}


def test_a_failed_load_is_remembered_then_retried_after_its_backoff(tmp_path):
    folder = write_model(tmp_path, "org/broken", fail=True)
    with multi(tmp_path, load_retry_backoff_s=3.0) as client:
        first = client.post("/models/org/broken", json={"inputs": "x"}, headers=WAIT)
        failed_at = time.monotonic()
        assert first.status_code == 500 and "failed to load" in first.json()["error"]
        for _ in range(5):
            again = client.post("/models/org/broken", json={"inputs": "x"}, headers=WAIT)
            assert again.status_code == 500 and "corrupt" in again.json()["error"]
        assert time.monotonic() - failed_at < 3.0, "the machine is too slow for this test's backoff"
        assert loads(client) == {"org/broken": 1}  # answered from memory, no second load
        assert client.get("/status/org/broken").json()["state"] == "Error"
        (folder / "config.json").write_text("{}")  # repaired
        time.sleep(max(0.0, 3.1 - (time.monotonic() - failed_at)))
        assert client.post("/models/org/broken", json={"inputs": "x"}, headers=WAIT).status_code == 200
        assert loads(client) == {"org/broken": 2}


def test_pinned_models_load_at_start_and_are_never_evicted(tmp_path):
    write_model(tmp_path, "org/pinned", megabytes=8)
    for name in ("a", "b", "c"):
        write_model(tmp_path, f"org/{name}", megabytes=8)
    with multi(tmp_path, pinned_models=("org/pinned",), model_memory_budget=24 * MB, min_residency_s=0) as client:
        deadline = time.monotonic() + 10
        while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.get("/ready").status_code == 200
        for name in ("a", "b", "c", "a", "b", "c"):
            assert client.post(f"/models/org/{name}", json={"inputs": "x"}, headers=WAIT).status_code == 200
        listed = {m["model_id"] for m in client.get("/models").json()["models"]}
        assert "org/pinned" in listed
        assert loads(client)["org/pinned"] == 1


def test_a_busy_model_is_never_evicted(tmp_path):
    gate = Gate()

    class Holding(Sized):
        loads: dict = {}
        batch = Pipeline.batch  # one request at a time, through __call__

        def __call__(self, inputs, **parameters):
            gate.pass_through(inputs)
            return [1.0]

    holding = Holding
    write_model(tmp_path, "org/busy", megabytes=8, weights_mb=8)
    write_model(tmp_path, "org/other", megabytes=8, weights_mb=8)  # its files say it will not fit beside the busy one
    with multi(
        tmp_path, tasks={"feature-extraction": holding}, model_memory_budget=12 * MB, min_residency_s=0
    ) as client:
        worker = threading.Thread(
            target=client.post, args=("/models/org/busy",), kwargs={"json": {"inputs": "x"}, "headers": WAIT}
        )
        worker.start()
        assert gate.entered.wait(10)
        refused = client.post("/models/org/other", json={"inputs": "x"}, headers=WAIT)
        assert refused.status_code == 503 and "Retry-After" in refused.headers
        gate.opened.set()
        worker.join(10)
        assert client.post("/models/org/other", json={"inputs": "x"}, headers=WAIT).status_code == 200
        assert {m["model_id"] for m in client.get("/models").json()["models"]} == {"org/other"}


def test_a_miss_waits_for_the_minimum_residency_instead_of_a_503(tmp_path):
    write_model(tmp_path, "org/first", megabytes=8, weights_mb=8)
    write_model(tmp_path, "org/second", megabytes=8, weights_mb=8)  # its files say it will not fit beside the first
    with multi(tmp_path, model_memory_budget=12 * MB, min_residency_s=1.0) as client:
        for _ in range(2):  # used twice: protected by the residency
            assert client.post("/models/org/first", json={"inputs": "x"}, headers=WAIT).status_code == 200
        started = time.monotonic()
        assert client.post("/models/org/second", json={"inputs": "x"}, headers=WAIT).status_code == 200
        assert time.monotonic() - started < 5
        assert {m["model_id"] for m in client.get("/models").json()["models"]} == {"org/second"}
        assert loads(client) == {"org/first": 1, "org/second": 1}


def test_evicting_a_large_model_gives_its_memory_back(tmp_path):
    write_model(tmp_path, "org/large", megabytes=300)
    write_model(tmp_path, "org/small", megabytes=30)
    with multi(tmp_path, model_memory_budget=320 * MB, min_residency_s=0) as client:
        memory.release_memory()
        baseline = memory.resident_bytes()
        assert client.post("/models/org/large", json={"inputs": "x"}, headers=WAIT).status_code == 200
        with_large = memory.resident_bytes()
        assert with_large - baseline > 250 * MB
        listed = client.get("/models").json()["models"]
        assert listed[0]["bytes"] > 250 * MB  # measured, not guessed from files (it has none)
        assert client.post("/models/org/small", json={"inputs": "x"}, headers=WAIT).status_code == 200
        deadline = time.monotonic() + 5
        while memory.resident_bytes() > baseline + 100 * MB and time.monotonic() < deadline:
            time.sleep(0.05)
        assert memory.resident_bytes() < with_large - 200 * MB
        assert {m["model_id"] for m in client.get("/models").json()["models"]} == {"org/small"}
        assert 'aic_model_evictions_total{model="org/large"} 1.0' in client.get("/metrics").text


def test_max_loaded_models(tmp_path):
    for name in ("a", "b", "c"):
        write_model(tmp_path, f"org/{name}")
    with multi(tmp_path, max_loaded_models=2, min_residency_s=0) as client:
        for name in ("a", "b", "c"):
            assert client.post(f"/models/org/{name}", json={"inputs": "x"}, headers=WAIT).status_code == 200
        assert len(client.get("/models").json()["models"]) == 2


def test_gated_single_model_apps_are_unchanged(tmp_path):
    gate = Gate()
    gate.opened.set()
    app = create_app({"text-classification": gated(gate)}, Settings(model_id=str(tmp_path), task="text-classification"))
    with TestClient(app) as client:
        assert client.post("/", json={"inputs": "x"}, headers=WAIT).status_code == 200
        assert client.get("/models").json() == {"ok": "ok"}  # no model routes in single-model mode


def test_embedding_models_answer_both_shared_tasks_at_their_url(tmp_path):
    class Similarity(Sized):
        loads: dict = {}

        def batch(self, inputs, **parameters):
            return [[float(len(s) == len(item["source_sentence"])) for s in item["sentences"]] for item in inputs]

    features = type("SizedFeatures", (Sized,), {"loads": {}})
    write_model(tmp_path, "org/embedder", task="sentence-similarity")
    tasks = {"feature-extraction": features, "sentence-similarity": Similarity}
    with multi(tmp_path, tasks=tasks) as client:
        pair = {"inputs": {"source_sentence": "abc", "sentences": ["xyz", "long one"]}}
        assert client.post("/models/org/embedder", json=pair, headers=WAIT).json() == [1.0, 0.0]
        assert client.post("/models/org/embedder", json={"inputs": "abc"}, headers=WAIT).json() == [3.0, 1.0]
        assert client.post("/models/org/embedder", json={"inputs": ["a", "bb"]}, headers=WAIT).json() == [
            [1.0, 1.0],
            [2.0, 0.0],
        ]
        bad = client.post("/models/org/embedder", json={"inputs": {"source_sentence": 3}}, headers=WAIT)
        assert bad.status_code == 400 and "source_sentence" in bad.json()["error"]
        keys = {m["key"]: m["task"] for m in client.get("/models").json()["models"]}
        assert keys == {"org/embedder": "sentence-similarity", "org/embedder:feature-extraction": "feature-extraction"}
