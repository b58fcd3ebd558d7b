"""Upstream parity: `routes.pipeline_route` in an app built as upstream apps build theirs.

The app sets `app.get_pipeline` in a startup hook and TASK comes from the environment, read on
every request. Answers are upstream's; the request still takes the core's path (bounded body,
an InferenceEngine with its queue bound and deadline, metrics).
"""

from __future__ import annotations

import base64
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional

import numpy as np
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from api_inference_community import media
from api_inference_community.errors import ShuttingDown
from api_inference_community.routes import pipeline_route, status_ok
from api_inference_community.runtime.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore:app.on_event is deprecated:DeprecationWarning")

SR = 16000


def upstream_app(get_pipeline: Callable[[], Any], settings: Optional[Settings] = None) -> Starlette:
    """An app shaped like upstream's template: its own routes, `get_pipeline` set at startup."""
    routes = [
        Route("/{whatever:path}", status_ok),
        Route("/{whatever:path}", pipeline_route, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    if settings is not None:
        app.state.settings = settings

    @app.on_event("startup")
    async def startup() -> None:
        app.get_pipeline = get_pipeline

    return app


def returning(output: Any, sampling_rate: Optional[int] = None) -> Callable[[], Any]:
    """A `get_pipeline` whose pipeline records its calls and returns `output`."""

    class Echo:
        calls: List[Any] = []

        def __init__(self) -> None:
            if sampling_rate is not None:
                self.sampling_rate = sampling_rate

        def __call__(self, inputs: Any, **parameters: Any) -> Any:
            Echo.calls.append((inputs, parameters, threading.current_thread().name))
            return output(inputs, parameters) if callable(output) else output

    pipe = Echo()
    return lambda: pipe


def post(app: Starlette, **kwargs: Any):
    with TestClient(app, raise_server_exceptions=False) as client:
        return client.post("/", **kwargs)


def jpeg(width: int = 30, height: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def task(monkeypatch):
    def set_task(name: str) -> None:
        monkeypatch.setenv("TASK", name)

    return set_task


# ---------------------------------------------------------------- answers


def test_text_task_answers_the_pipelines_json(task):
    task("text-classification")
    response = post(upstream_app(returning({"some": "json serializable"})), content=b"Some")
    assert response.status_code == 200
    assert response.content == b'{"some":"json serializable"}'
    assert response.headers["x-compute-characters"] == "4"
    assert response.headers["x-compute-type"] == "cpu"
    assert float(response.headers["x-compute-time"]) >= 0


def test_unknown_task_is_400_before_loading(task):
    task("invalid")
    loads: List[int] = []
    response = post(upstream_app(lambda: loads.append(1)), content=b"")
    assert response.status_code == 400
    assert response.content == b'{"error":"The task `invalid` is not recognized by api-inference-community"}'
    assert loads == []


def test_get_pipeline_failure_is_500_with_its_message_and_the_next_request_retries(task):
    task("text-generation")
    attempts: List[int] = []

    def get_pipeline() -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise Exception("We cannot load the pipeline")
        return returning([{"generated_text": "ok"}])()

    with TestClient(upstream_app(get_pipeline), raise_server_exceptions=False) as client:
        response = client.post("/", content=b"")
        assert response.status_code == 500
        assert response.content == b'{"error":"We cannot load the pipeline"}'
        assert client.post("/", content=b"hello").json() == [{"generated_text": "ok"}]
    assert len(attempts) == 2


@pytest.mark.parametrize(
    "accept, fmt",
    [
        (None, "flac"),
        ("audio/wav", "wav"),
        ("audio/ogg", "ogg"),
        ("audio/webm, audio/wav", "webm"),  # the first one listed that is known
        ("audio/x-unknown", "flac"),  # never a 406
    ],
)
def test_text_to_speech_format_from_accept(task, accept, fmt):
    task("text-to-speech")
    headers = {"accept": accept} if accept else {}
    waveform = np.zeros(SR // 10, dtype=np.int64)  # integers, as upstream's tests return them
    response = post(upstream_app(returning((waveform, SR))), content=b"2222", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == media.AUDIO_MIME[fmt]
    assert media.decode_audio(response.content, SR).shape[0] > 0


@pytest.mark.parametrize("accept, fmt", [(None, "flac"), ("audio/wav", "wav")])
def test_audio_to_audio_blobs_and_audio_length(task, accept, fmt):
    task("audio-to-audio")
    waveform = np.zeros(219040, dtype=np.float32)  # 13.69 s at 16 kHz
    headers = {"accept": accept} if accept else {}
    app = upstream_app(returning((np.array([[0, 0, 0]]), SR, ["label_0"]), sampling_rate=SR))
    response = post(app, content=media.encode_audio(waveform, SR, "flac"), headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-compute-audio-length"] == "13.69"
    [item] = response.json()
    assert set(item) == {"blob", "label", "content-type"}
    assert item["label"] == "label_0" and item["content-type"] == f"audio/{fmt}"
    assert media.decode_audio(base64.b64decode(item["blob"]), SR).shape[0] > 0


@pytest.mark.parametrize(
    "accept, mime",
    [(None, "image/jpeg"), ("*/*", "image/jpeg"), ("image/png", "image/png"), ("image/gif", "image/jpeg")],
)
def test_text_to_image_format_from_accept_and_empty_prompt(task, accept, mime):
    task("text-to-image")
    headers = {"accept": accept} if accept else {}
    response = post(upstream_app(returning(Image.new("RGB", (8, 6)))), content=b"", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == mime
    assert Image.open(io.BytesIO(response.content)).size == (8, 6)


def test_unchecked_parameters_reach_the_pipeline(task):
    task("text-classification")
    app = upstream_app(returning(lambda inputs, params: {"some": "json serializable", **params}))
    response = post(app, json={"inputs": "Some", "parameters": {"candidate_labels": ["a", "b"]}})
    assert response.status_code == 200
    assert response.headers["x-compute-characters"] == "4"
    assert response.content == b'{"some":"json serializable","candidate_labels":["a","b"]}'


def test_image_task_with_base64_and_parameters(task):
    task("zero-shot-image-classification")
    app = upstream_app(returning(lambda inputs, params: {"size": list(inputs.size), **params}))
    document = {"inputs": base64.b64encode(jpeg()).decode(), "parameters": {"candidate_labels": ["a", "b"]}}
    response = post(app, json=document)
    assert response.status_code == 200
    assert response.headers["x-compute-images"] == "1"
    assert response.json() == {"size": [30, 20], "candidate_labels": ["a", "b"]}


def test_image_task_with_raw_bytes(task):
    task("image-classification")
    response = post(upstream_app(returning([{"label_0": 1.0}])), content=jpeg())
    assert response.status_code == 200
    assert response.headers["x-compute-images"] == "1"
    assert response.json() == [{"label_0": 1.0}]


def test_lora_header_becomes_a_parameter(task):
    task("text-to-image")
    get_pipeline = returning(Image.new("RGB", (4, 4)))
    assert post(upstream_app(get_pipeline), content=b"a cat", headers={"lora": "org/adapter"}).status_code == 200
    inputs, parameters, _ = get_pipeline().calls[-1]
    assert inputs == "a cat" and parameters == {"lora_adapter": "org/adapter"}


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name, document, messages",
    [
        (
            "fill-mask",
            {"inputs": "x", "parameters": {"top_k": "many"}},
            ["Input should be a valid integer: received `top_k` in `parameters`"],
        ),
        (
            "summarization",
            {"inputs": "x", "parameters": {"min_length": 20, "max_length": 10}},
            ["Value error, min_length cannot be larger than max_length: received `max_length` in `parameters`"],
        ),
        (
            "sentence-similarity",
            {"inputs": {"source_sentence": "a"}},
            ["Field required: received `sentences` in `parameters`"],
        ),
        ("text-classification", {"inputs": 12}, ["Input should be a valid string: received `12` in `parameters`"]),
    ],
)
def test_refused_payload_lists_its_problems(task, name, document, messages):
    task(name)
    get_pipeline = returning("never")
    response = post(upstream_app(get_pipeline), json=document)
    assert response.status_code == 400
    assert response.json() == {"error": messages}
    assert get_pipeline().calls == []


def test_body_that_is_not_utf8(task):
    task("text-classification")
    response = post(upstream_app(returning("never")), content=b"\xc3\x28")
    assert response.status_code == 400
    assert response.content == (
        b'{"error":"\'utf-8\' codec can\'t decode byte 0xc3 in position 0: invalid continuation byte"}'
    )


def test_raw_text_is_an_input_but_invalid_json_sent_as_json_is_refused(task):
    task("text-classification")
    app = upstream_app(returning(lambda inputs, params: {"inputs": inputs}))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/", content=b"[MASK] is here").json() == {"inputs": "[MASK] is here"}
        response = client.post("/", content=b'{"inputs": "x"', headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json() == {"error": "Request body is not valid JSON"}


def test_malformed_audio(task):
    task("automatic-speech-recognition")
    response = post(upstream_app(returning({"text": "never"}, sampling_rate=SR)), content=b"fLaC" + bytes(64))
    assert response.status_code == 400
    assert response.content == b'{"error":"Malformed soundfile"}'


def test_audio_pipeline_without_sampling_rate_is_500(task):
    task("automatic-speech-recognition")
    response = post(upstream_app(returning({"text": "never"})), content=b"anything")
    assert response.status_code == 500
    message = "Sampling rate is expected for model for audio task automatic-speech-recognition"
    assert response.json() == {"error": message}


@pytest.mark.parametrize("error", [ValueError("too long"), TypeError("too long"), AssertionError("too long")])
def test_pipeline_client_errors_show_their_message(task, error):
    task("text-classification")

    def fail(inputs: Any, parameters: Any) -> Any:
        raise error

    response = post(upstream_app(returning(fail)), content=b"text")
    assert response.status_code == 400
    assert response.json() == {"error": "too long"}


def test_pipeline_failure_is_500_without_its_details(task, caplog):
    task("text-classification")

    def fail(inputs: Any, parameters: Any) -> Any:
        raise RuntimeError("secret internal detail")

    response = post(upstream_app(returning(fail)), content=b"text")
    assert response.status_code == 500
    assert "secret" not in response.text and response.json()["error"]
    assert "secret internal detail" in caplog.text


# ------------------------------------------------------- the core's path


class Gate:
    """A pipeline that blocks until opened, recording what it ran."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.calls: List[str] = []

    def __call__(self, inputs: Any, **parameters: Any) -> Any:
        self.calls.append(inputs)
        self.entered.set()
        assert self.opened.wait(10)
        return [{"label": "ok", "score": 1.0}]


def test_the_model_runs_in_the_engines_worker_not_on_the_event_loop(task):
    task("text-classification")
    get_pipeline = returning([])
    assert post(upstream_app(get_pipeline), content=b"x").status_code == 200
    assert get_pipeline().calls[-1][2] == "inference-worker"


def test_body_limit_is_413(task):
    task("text-classification")
    app = upstream_app(returning([]), Settings(max_body_bytes=100))
    response = post(app, content=b"x" * 101)
    assert response.status_code == 413 and "limit" in response.json()["error"]


def test_too_many_inputs_are_refused_before_validation(task):
    task("feature-extraction")
    get_pipeline = returning([[0.0]])
    response = post(upstream_app(get_pipeline, Settings(max_inputs=2)), json={"inputs": ["a", "b", 3]})
    assert response.status_code == 400
    assert response.json() == {"error": "Too many inputs (3); the maximum is 2"}
    assert get_pipeline().calls == []


def test_queue_bound_is_503_with_retry_after(task):
    task("text-classification")
    gate = Gate()
    app = upstream_app(lambda: gate, Settings(max_queue_size=1))
    with TestClient(app, raise_server_exceptions=False) as client, ThreadPoolExecutor(2) as pool:
        running = pool.submit(client.post, "/", content=b"first")
        assert gate.entered.wait(10)
        queued = pool.submit(client.post, "/", content=b"second")
        models = app.state.legacy_models
        for _ in range(500):
            if models.models["text-classification"].engine.queue_depth == 1:
                break
            threading.Event().wait(0.01)
        response = client.post("/", content=b"overflow")
        assert response.status_code == 503 and "retry-after" in response.headers
        gate.opened.set()
        assert running.result(10).status_code == 200 and queued.result(10).status_code == 200
    assert gate.calls == ["first", "second"]


def test_deadline_is_504_and_expired_work_never_runs(task):
    task("text-classification")
    gate = Gate()
    app = upstream_app(lambda: gate, Settings(request_timeout_s=0.5))
    with TestClient(app, raise_server_exceptions=False) as client, ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, "/", content=b"first")
        assert gate.entered.wait(10)
        second = client.post("/", content=b"second")
        assert second.status_code == 504 and "did not finish within" in second.json()["error"]
        gate.opened.set()
        assert first.result(10).status_code == 504
        assert client.post("/", content=b"third").status_code == 200
    assert gate.calls == ["first", "third"]


def test_requests_are_counted_in_the_metrics(task):
    task("text-classification")
    app = upstream_app(returning([]))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.post("/", content=b"fine")
        client.post("/", content=b"\xc3\x28")
        rendered = app.state.legacy_models.metrics.render().decode()
    counted = {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(rendered)
        for sample in family.samples
        if sample.name == "aic_requests_total"
    }
    assert counted == {"200": 1.0, "400": 1.0}


def test_task_is_read_on_every_request_with_an_engine_per_task(task):
    get_pipeline = returning(lambda inputs, params: {"inputs": inputs})
    app = upstream_app(get_pipeline)
    with TestClient(app, raise_server_exceptions=False) as client:
        task("text-classification")
        assert client.post("/", json={"inputs": "a", "parameters": {"top_k": 0}}).status_code == 200
        task("fill-mask")  # top_k is checked for this task
        assert client.post("/", json={"inputs": "a", "parameters": {"top_k": 0}}).status_code == 400
        assert client.post("/", json={"inputs": "b"}).json() == {"inputs": "b"}
        models = app.state.legacy_models.models
        assert set(models) == {"text-classification", "fill-mask"}
        engines = [model.engine for model in models.values()]
    assert app.state.legacy_models.models == {}  # stopped with the app
    for engine in engines:
        with pytest.raises(ShuttingDown):
            engine.check_available(wait_for_model=True)


def test_json_error_bodies_for_every_refusal(task):
    task("table-question-answering")
    response = post(upstream_app(returning("never")), content=json.dumps({"inputs": {"query": "q"}}).encode())
    assert response.status_code == 400 and isinstance(response.json()["error"], list)
