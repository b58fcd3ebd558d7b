"""Every library image, built and run on a real Docker engine: the whole user story.

`docker run -e MODEL_ID=... -e TASK=... -v cache:/data -p 8000:80 <image>`, then HTTP: for each
task of the image a container serves the library's own test model (mounted read-only); valid
requests answer 200 with the task's shape, foreign and malformed bodies 200 or a 4xx JSON error
(never a 5xx, never a traceback in the logs), huggingface_hub's InferenceClient works; an unknown
TASK is refused; a restart on the same /data volume resolves a Hub id offline from the cache;
`docker stop` exits 0 within the grace period; the server does not run as root.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Tuple

import docker_harness as dh
import numpy as np
import pytest
import requests
from huggingface_hub import InferenceClient

from api_inference_community.testing import examples as ex
from api_inference_community.testing.hub_cache import make_hub_cache
from api_inference_community.testing.output_checks import OutputError, check_response, media_type_of

pytestmark = pytest.mark.docker

MAX_BODY_BYTES = 256 * 1024  # small, so that the oversized body is cheap to send
SHUTDOWN_GRACE = 10  # seconds
READY_TIMEOUT = 240.0
APP_UID = 1000  # the images' unprivileged user (docker_images/*/Dockerfile)


def env_for(task: str, model_id: str, **extra: str) -> Dict[str, str]:
    return {
        "MODEL_ID": model_id,
        "TASK": task,
        "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "SHUTDOWN_GRACE": str(SHUTDOWN_GRACE),
        **extra,
    }


def post(url: str, body: Any, content_type: str, **kwargs: Any) -> requests.Response:
    return requests.post(url + "/", data=body, headers={"content-type": content_type}, timeout=120, **kwargs)


# ------------------------------------------------------------- the image


def test_image_builds_with_its_metadata(library: str, images: Any, engine: dh.Engine) -> None:
    build = images(library)
    config = engine.client.images.get(build.tag).attrs["Config"]
    labels = config.get("Labels") or {}
    assert labels.get(dh.TASKS_LABEL, "").split(",") == sorted(dh.libraries()[library])
    assert labels.get("org.opencontainers.image.title") == build.tag
    assert labels.get("org.opencontainers.image.version") == dh.project_version()
    assert labels.get("org.opencontainers.image.source", "").startswith("https://")
    assert labels.get("org.opencontainers.image.description")
    user = config.get("User", "")
    assert user and user.split(":")[0] not in ("0", "root"), f"the image runs as `{user or 'root'}`"
    assert config.get("StopSignal") == "SIGTERM"
    assert "/health" in " ".join((config.get("Healthcheck") or {}).get("Test", []))
    assert "/data" in (config.get("Volumes") or {})
    assert "80/tcp" in (config.get("ExposedPorts") or {})
    env = dict(item.split("=", 1) for item in config.get("Env", []))
    assert env.get("HF_HOME") == "/data" and env.get("HOST") == "0.0.0.0" and env.get("PORT") == "80"
    assert config.get("Cmd") == ["python", "-m", "api_inference_community.serve", "app.main:app"]


# -------------------------------------------------------- one container per task


class Served:
    def __init__(self, library: str, task: str, running: dh.Running, model: Dict[str, Any]) -> None:
        self.library, self.task, self.running, self.model = library, task, running, model
        self.url = running.url


@pytest.fixture(scope="module")
def served(
    library_task: Tuple[str, str], engine: dh.Engine, images: Any, test_models: Any, run_id: str
) -> Iterator[Served]:
    library, task = library_task
    build = images(library)
    model = test_models(library)[task]
    with dh.running(engine, build.tag, env_for(task, "/model"), run_id, model_dir=model["path"]) as running:
        dh.REPORT.library(library).ready[task] = running.wait_ready(READY_TIMEOUT)
        yield Served(library, task, running, model)


def test_valid_requests(served: Served) -> None:
    for example in ex.valid_examples(served.task):
        response = post(served.url, example.body, example.content_type)
        what = f"{served.task}: valid request `{example.name}`"
        assert response.status_code == 200, f"{what}: {response.status_code} {response.text[:500]}"
        try:
            check_response(
                served.task,
                response.headers.get("content-type", ""),
                response.content,
                example.inputs,
                example.parameters,
            )
        except OutputError as error:
            pytest.fail(f"{what}: {error}", pytrace=False)
        assert response.headers.get("x-compute-type") == "cpu"
        assert float(response.headers["x-compute-time"]) >= 0


def foreign_bodies() -> Iterator[Tuple[str, bytes, str]]:
    """(name, body, content type) of requests that are not valid for most tasks."""
    png = ex.image_bytes(ex.picture())
    yield "raw text", b"Today is a sunny day", "text/plain"
    yield "PNG image bytes", png, "image/png"
    yield "JPEG image bytes", ex.image_bytes(ex.picture(), "JPEG"), "image/jpeg"
    yield "base64 image in JSON", json.dumps({"inputs": base64.b64encode(png).decode()}).encode(), "application/json"
    yield "WAV audio bytes", ex.audio_bytes(ex.tone(0.5), 16000), "audio/wav"
    yield "FLAC audio bytes", ex.audio_bytes(ex.tone(0.5), 16000, "flac"), "audio/flac"
    yield "garbage bytes", bytes(range(256)) * 8, "application/octet-stream"
    yield "invalid UTF-8 in JSON", b'{"inputs": "\xff\xfe\xfd"}', "application/json"


def test_foreign_and_malformed_requests(served: Served) -> None:
    since = time.time() - 1
    expected = media_type_of(served.task)
    cases = [(name, body, "application/octet-stream") for name, body in ex.malformed_bodies(served.task)]
    cases += list(foreign_bodies())
    clients_errors = 0
    for name, body, content_type in cases:
        response = post(served.url, body, content_type)
        status, answered_as = response.status_code, response.headers.get("content-type", "")
        what = f"{served.task}: `{name}` answered {status} {response.text[:300]!r}"
        assert status == 200 or 400 <= status < 500, what
        if status == 200:
            assert answered_as.startswith(expected), f"{what} as {answered_as}"
            continue
        clients_errors += 1
        assert answered_as.startswith("application/json"), f"{what} as {answered_as}"
        assert "error" in response.json(), what
    assert clients_errors, "no malformed request was refused"
    logs = served.running.logs(since=since)
    assert "Traceback" not in logs, f"a 4xx left a traceback in the logs:\n{logs[-4000:]}"


def test_oversized_body_is_413(served: Served) -> None:
    big = b'{"inputs": "' + b"a" * (MAX_BODY_BYTES + 1024) + b'"}'
    response = post(served.url, big, "application/json")
    assert response.status_code == 413 and response.headers["content-type"].startswith("application/json")
    assert "error" in response.json()
    # without a content-length (chunked): refused while streaming
    response = post(served.url, iter([big[i : i + 65536] for i in range(0, len(big), 65536)]), "application/json")
    assert response.status_code == 413 and "error" in response.json()


def client_calls() -> Dict[str, Callable[[InferenceClient], None]]:
    """What InferenceClient does with each task, and what its answer must be."""

    def feature_extraction(client: InferenceClient) -> None:
        embedding = np.asarray(client.feature_extraction("Today is a sunny day"))
        assert embedding.size > 0 and embedding.dtype.kind == "f" and np.isfinite(embedding).all()

    def sentence_similarity(client: InferenceClient) -> None:
        scores = client.sentence_similarity("That is a happy person", other_sentences=["That is a happy dog", "Hi"])
        assert len(scores) == 2 and all(isinstance(score, float) for score in scores)
        assert scores[0] > scores[1]

    def image_classification(client: InferenceClient) -> None:
        answer = client.image_classification(ex.image_bytes(ex.picture()))
        assert answer and all(isinstance(item.label, str) and 0 <= item.score <= 1 for item in answer)
        assert [item.score for item in answer] == sorted((item.score for item in answer), reverse=True)
        assert len(client.image_classification(ex.image_bytes(ex.picture()), top_k=1)) == 1

    return {
        "feature-extraction": feature_extraction,
        "sentence-similarity": sentence_similarity,
        "image-classification": image_classification,
    }


def test_inference_client(served: Served, test_models: Any) -> None:
    own = test_models.calls(served.library).get(served.task)  # the image's own, from its tests/models.py
    if own is not None:
        own(served.url)
        return
    call = client_calls().get(served.task)
    if call is None:
        pytest.skip(f"no InferenceClient call for {served.task}: list one in the image's tests/models.py CLIENT_CALLS")
    call(InferenceClient(served.url, timeout=120))


def test_operational_routes(served: Served) -> None:
    assert requests.get(served.url + "/health", timeout=10).status_code == 200
    assert requests.get(served.url + "/", timeout=10).json() == {"ok": "ok"}
    info = requests.get(served.url + "/info", timeout=10).json()
    assert info["task"] == served.task and info["model_id"] == "/model" and info["state"] == "ready"
    assert "aic_requests_total" in requests.get(served.url + "/metrics", timeout=10).text


# ----------------------------------------------------------- lifecycle


def test_unknown_task_is_refused(library: str, engine: dh.Engine, images: Any, test_models: Any, run_id: str) -> None:
    build = images(library)
    model = next(iter(test_models(library).values()))
    with dh.running(engine, build.tag, env_for("no-such-task", "/model"), run_id, model_dir=model["path"]) as running:
        running.wait_alive(READY_TIMEOUT)
        ready = requests.get(running.url + "/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["status"] == "failed"
        response = post(running.url, b'{"inputs": "Today is a sunny day"}', "application/json")
        assert response.status_code in (400, 500), response.text
        assert response.headers["content-type"].startswith("application/json")
        assert "no-such-task" in response.json()["error"]


def test_restart_on_the_same_volume_resolves_the_hub_id_offline(
    library: str, engine: dh.Engine, images: Any, test_models: Any, run_id: str, tmp_path: Path
) -> None:
    build = images(library)
    task, model = sorted(test_models(library).items())[0]
    report = dh.REPORT.library(library)
    volume = engine.client.volumes.create(name=f"aic-test-{library}-data-{run_id}", labels=dh.test_labels(run_id))
    example = ex.valid_examples(task)[0]
    try:
        # 1. the model by path, the cache volume fresh: /data belongs to the image's user
        with dh.running(
            engine, build.tag, env_for(task, "/model"), run_id, model_dir=model["path"], data_volume=volume.name
        ) as first:
            first.wait_ready(READY_TIMEOUT)
            owner = first.container.exec_run(["stat", "-c", "%u", "/data"]).output.decode().strip()
            assert owner == str(APP_UID), f"the fresh /data volume belongs to uid {owner}"
            by_path = post(first.url, example.body, example.content_type)
            assert by_path.status_code == 200, by_path.text
            # lay the model out in the volume as the Hub cache does (what a download would leave)
            make_hub_cache(tmp_path / "hub", model["repo_id"], model["path"])
            first.container.put_archive("/data", dh.tar_directory(tmp_path / "hub", "hub", APP_UID, APP_UID))
            cached = first.container.exec_run(["find", "/data/hub", "-printf", "%p %s %U\\n"]).output.decode()
            assert f"{APP_UID}\n" in cached
            code, seconds = first.stop(SHUTDOWN_GRACE + 20)
            report.stops["by path"] = seconds
            assert code == 0, f"docker stop: exit code {code}\n{first.logs()[-3000:]}"
            assert seconds < SHUTDOWN_GRACE, f"docker stop took {seconds:.1f} s (SHUTDOWN_GRACE={SHUTDOWN_GRACE})"

        # 2. the Hub id, offline, on the same volume: resolved from the cache, nothing fetched
        # the image's own HEALTHCHECK command, probed every second instead of every 30
        test = engine.client.images.get(build.tag).attrs["Config"]["Healthcheck"]["Test"]
        healthcheck = {"test": test, "interval": 1_000_000_000, "timeout": 5_000_000_000, "retries": 3}
        hub_env = env_for(task, model["repo_id"], HF_HUB_OFFLINE="1")
        with dh.running(engine, build.tag, hub_env, run_id, data_volume=volume.name, healthcheck=healthcheck) as second:
            report.ready[f"{task} restart (Hub id, offline)"] = second.wait_ready(READY_TIMEOUT)  # reported, not judged
            by_id = post(second.url, example.body, example.content_type)
            assert by_id.status_code == 200, by_id.text
            assert same_answer(by_id.json(), by_path.json()), f"{by_id.text[:300]} != {by_path.text[:300]}"
            info = requests.get(second.url + "/info", timeout=10).json()
            assert info["model_id"] == model["repo_id"] and info["state"] == "ready"
            after = second.container.exec_run(["find", "/data/hub", "-printf", "%p %s %U\\n"]).output.decode()
            assert after == cached, "the Hub cache changed: something was fetched or written"

            # the server is not root
            assert second.container.exec_run(["id", "-u"]).output.decode().strip() == str(APP_UID)
            status = second.container.exec_run(["cat", "/proc/1/status"]).output.decode()
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
            assert "0" not in uids, f"PID 1 runs with uids {uids}"

            # the image's HEALTHCHECK passes
            deadline = time.monotonic() + 30
            while second.container.attrs["State"].get("Health", {}).get("Status") != "healthy":
                assert time.monotonic() < deadline, f"not healthy: {second.container.attrs['State'].get('Health')}"
                time.sleep(0.5)
                second.container.reload()

            code, seconds = second.stop(SHUTDOWN_GRACE + 20)
            report.stops["Hub id"] = seconds
            assert code == 0, f"docker stop: exit code {code}\n{second.logs()[-3000:]}"
            assert seconds < SHUTDOWN_GRACE
            assert "Traceback" not in second.logs()
    finally:
        volume.remove(force=True)


def same_answer(a: Any, b: Any, tolerance: float = 1e-5) -> bool:
    """Equal JSON answers, numbers within `tolerance`."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= tolerance
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_answer(x, y, tolerance) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_answer(a[k], b[k], tolerance) for k in a)
    return a == b
