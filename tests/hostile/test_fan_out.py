"""Parameters that multiply work, and waiting on a loading model, against live servers of `hostile_app`.

Neither image serves a task that takes `max_new_tokens` or `candidate_labels`: the core's own
factory serves cheap stand-in pipelines instead (hostile_app.py), since the ceilings are the core's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator

import orjson
import pytest
import requests
from hostile_probes import Target, assert_json_error, observe, send
from hostile_servers import HERE, WAIT_FOR_MODEL_TIMEOUT, fan_out_env

from api_inference_community.testing.live import LiveServer

APP = "hostile_app:app"
JSON = {"content-type": "application/json"}
LOADING_REQUEST_TIMEOUT = 1.0


@dataclass
class FanOut:
    servers: Dict[str, LiveServer]
    gate: Path  # while this file exists, the "loading" server's model does not load


@pytest.fixture(scope="module")
def fan_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FanOut]:
    """Three servers, started together: text-generation, zero-shot-classification, and one that stays loading."""
    model_dir = tmp_path_factory.mktemp("stand_in_model")
    home = tmp_path_factory.mktemp("fan_out_home")
    gate = tmp_path_factory.mktemp("gate") / "closed"
    gate.write_text("the model loads once this file is gone")
    envs = {
        "generation": fan_out_env("text-generation", model_dir, home),
        "labels": fan_out_env("zero-shot-classification", model_dir, home),
        "loading": fan_out_env(
            "text-generation",
            model_dir,
            home,
            HOSTILE_LOAD_GATE=str(gate),
            REQUEST_TIMEOUT=str(LOADING_REQUEST_TIMEOUT),
            WAIT_FOR_MODEL_TIMEOUT=str(WAIT_FOR_MODEL_TIMEOUT),
        ),
    }
    servers: Dict[str, LiveServer] = {}
    try:
        for name, env in envs.items():
            servers[name] = LiveServer(APP, env, cwd=HERE)
        yield FanOut(servers, gate)
    finally:
        gate.unlink(missing_ok=True)
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def generation(fan_out: FanOut) -> Target:
    return Target.ready(
        fan_out.servers["generation"], json={"inputs": "Once upon a time", "parameters": {"max_new_tokens": 4}}
    )


@pytest.fixture(scope="module")
def labels(fan_out: FanOut) -> Target:
    body = {"inputs": "I like it", "parameters": {"candidate_labels": ["positive", "negative"]}}
    return Target.ready(fan_out.servers["labels"], json=body)


@pytest.fixture(scope="module")
def loading(fan_out: FanOut) -> FanOut:
    fan_out.servers["loading"].wait_until("/health", 200, 60)
    return fan_out


# Guards against a defect that was: max_new_tokens has no ceiling.
def test_max_new_tokens_of_a_billion(generation: Target) -> None:
    body = orjson.dumps({"inputs": "Once upon a time", "parameters": {"max_new_tokens": 10**9}})
    document = observe(generation, data=body, headers=JSON).assert_error((400,))
    assert "max_new_tokens" in str(document["error"])
    generation.assert_still_serving()


# Guards against a defect that was: candidate_labels are not counted as items against MAX_INPUTS (nor capped
# otherwise).
def test_a_thousand_candidate_labels(labels: Target) -> None:
    """MAX_INPUTS is 16 on this server: 1,000 labels are 1,000 model inputs for one text."""
    parameters = {"candidate_labels": [f"label {i}" for i in range(1000)]}
    body = orjson.dumps({"inputs": "I like it", "parameters": parameters})
    observe(labels, data=body, headers=JSON).assert_error((400,))
    labels.assert_still_serving()


def test_loading_model_answers_503_with_an_estimate(loading: FanOut) -> None:
    answer = send("POST", loading.servers["loading"].url, json={"inputs": "Once upon a time"})
    document = assert_json_error(answer, (503,))
    assert "estimated_time" in document and "retry-after" in answer.headers, answer.describe()


# Guards against a defect that was: x-wait-for-model waits for the model with no limit.
def test_waiting_for_a_loading_model_is_bounded(loading: FanOut) -> None:
    """`x-wait-for-model` on a model that does not load: an answer (503 or 504) once the configured waits pass."""
    patience = max(LOADING_REQUEST_TIMEOUT, WAIT_FOR_MODEL_TIMEOUT) + 2.0
    try:
        answer = send(
            "POST",
            loading.servers["loading"].url,
            json={"inputs": "Once upon a time"},
            headers={"x-wait-for-model": "true"},
            timeout=patience,
        )
    except requests.Timeout:
        pytest.fail(f"no answer within {patience:.0f} s while the model loads")
    assert_json_error(answer, (503, 504))
    assert answer.seconds <= patience


def test_loading_server_serves_once_loaded(loading: FanOut) -> None:
    """After the waits above, the gate opens: the model loads and requests are served."""
    loading.gate.unlink(missing_ok=True)
    target = Target.ready(
        loading.servers["loading"], json={"inputs": "Once upon a time", "parameters": {"max_new_tokens": 2}}
    )
    assert target.baseline == [{"generated_text": "Once upon a time and and"}]
    target.assert_still_serving()
