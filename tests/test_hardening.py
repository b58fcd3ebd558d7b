"""The request path under hostile or unlucky conditions: bounded cost, supervision, cancellation, HTTP edges.

Each test names the defect it guards against; behaviour is asserted, never wall-clock speed
(time bounds here are generous multiples of what the behaviour needs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from fakes import Classifier, Gate, ItemCounting, gated, recorder, serving, slow_loading

from api_inference_community import create_app
from api_inference_community.runtime.settings import Settings
from api_inference_community.testing.live import LiveServer, free_port, live_server

HERE = Path(__file__).parent


def metric(client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


# ----------------------------------------------------------- cost bounded before work


def test_huge_list_is_refused_by_count_before_validation_with_a_small_error(tmp_path):
    # defect: pydantic validated all 1M items, then answered a 25 MB list of errors
    with serving({"feature-extraction": recorder()}, "feature-extraction", tmp_path) as client:
        body = b'{"inputs": [' + b",".join([b"1"] * 1_000_000) + b"]}"
        response = client.post("/", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert len(response.content) < 300
        assert "too many items (1000000)" in response.json()["error"]


def test_many_unknown_parameters_are_refused_by_count(tmp_path):
    with serving({"feature-extraction": recorder()}, "feature-extraction", tmp_path) as client:
        parameters = {f"p{i}": i for i in range(50_000)}
        response = client.post("/", json={"inputs": "x", "parameters": parameters})
        assert response.status_code == 400
        assert len(response.content) < 300
        assert "too many parameters (50000)" in response.json()["error"]


def test_error_list_is_capped(tmp_path):
    with serving({"feature-extraction": recorder()}, "feature-extraction", tmp_path) as client:
        response = client.post("/", json={"inputs": [1] * 200})  # 200 bad items, within MAX_INPUTS
        assert response.status_code == 400
        message = response.json()["error"]
        assert message.count("`inputs[") == 5 and "and 195 more errors" in message
        assert len(response.content) < 1000


def test_deep_nesting_and_huge_text_are_refused(tmp_path):
    with serving({"feature-extraction": recorder()}, "feature-extraction", tmp_path) as client:
        deep = client.post("/", content=b'{"inputs": ' + b"[" * 500 + b"]" * 500 + b"}")
        assert deep.status_code == 400 and "nested deeper" in deep.json()["error"]
        deep_parameters = {"inputs": "x", "parameters": {"a": json.loads("[" * 100 + "]" * 100)}}
        assert client.post("/", json=deep_parameters).status_code == 400
    with serving(
        {"feature-extraction": recorder()}, "feature-extraction", tmp_path, max_input_characters=100
    ) as client:
        response = client.post("/", json={"inputs": ["x" * 60, "y" * 60]})
        assert response.status_code == 400 and "MAX_INPUT_CHARACTERS" in response.json()["error"]


def test_invalid_json_declared_as_json_is_400_whatever_its_first_character(tmp_path):
    # defect: `[not json` sent as application/json was embedded as raw text (200)
    with serving({"feature-extraction": recorder()}, "feature-extraction", tmp_path) as client:
        for body in (b"[1, 2", b"[not json", b'"unterminated', b"tru"):
            response = client.post("/", content=body, headers={"content-type": "application/json; charset=utf-8"})
            assert response.status_code == 400, body
            assert response.json() == {"error": "Request body is not valid JSON"}
        raw = client.post("/", content=b"[citation needed] is raw text", headers={"content-type": "text/plain"})
        assert raw.status_code == 200


def test_generation_lengths_have_a_ceiling():
    from api_inference_community.tasks.registry import get_task
    from api_inference_community.tasks.validation import Limits, parse_payload

    spec = get_task("text-generation")
    limits = Limits(max_new_tokens=64, max_sequences=2)
    with pytest.raises(Exception, match=r"`parameters.max_new_tokens`: at most 64 .*MAX_NEW_TOKENS"):
        parse_payload(b'{"inputs": "x", "parameters": {"max_new_tokens": 1000000000}}', spec, limits)
    with pytest.raises(Exception, match="num_beams"):  # an open parameter the pipeline would pass on
        parse_payload(b'{"inputs": "x", "parameters": {"num_beams": 50}}', spec, limits)
    assert parse_payload(b'{"inputs": "x", "parameters": {"max_new_tokens": 64}}', spec, limits).parameters


def test_candidate_labels_and_rows_count_as_items():
    from api_inference_community.tasks.registry import get_task
    from api_inference_community.tasks.validation import Limits, parse_payload

    limits = Limits(max_inputs=10)
    labels = json.dumps({"inputs": "x", "parameters": {"candidate_labels": [f"l{i}" for i in range(11)]}})
    with pytest.raises(Exception, match=r"too many items \(11\)"):
        parse_payload(labels.encode(), get_task("zero-shot-classification"), limits)
    rows = json.dumps({"inputs": {"data": {"a": list(range(11)), "b": list(range(11))}}})
    with pytest.raises(Exception, match=r"too many items \(11\)"):
        parse_payload(rows.encode(), get_task("tabular-classification"), limits)


def test_a_request_larger_than_the_batch_size_runs_as_several_model_calls(tmp_path):
    # defect: 200 items ran as one model call although MAX_BATCH_SIZE was 4
    pipeline = type("Counting", (ItemCounting,), {"items_per_call": []})
    with serving({"feature-extraction": pipeline}, "feature-extraction", tmp_path, max_batch_size=4) as client:
        texts = [f"text {i}" + "a" * (i % 3) for i in range(30)]
        response = client.post("/", json={"inputs": texts})
        assert response.status_code == 200
        assert response.json() == [[float(len(t)), float(t.count("a"))] for t in texts]
    assert pipeline.items_per_call == [4] * 7 + [2]


def test_sentence_similarity_is_split_with_its_source_sentence():
    from api_inference_community.tasks.registry import get_task

    spec = get_task("sentence-similarity")
    parts = spec.split({"source_sentence": "s", "sentences": list("abcde")}, 3)
    assert [part["sentences"] for part in parts] == [["a", "b"], ["c", "d"], ["e"]]
    assert all(part["source_sentence"] == "s" for part in parts)
    assert spec.join([[0.1, 0.2], [0.3, 0.4], [0.5]]) == [0.1, 0.2, 0.3, 0.4, 0.5]


def test_wait_for_model_is_bounded(tmp_path):
    # defect: `x-wait-for-model` waited with no limit while the model loaded
    gate = Gate()
    tasks = {"feature-extraction": slow_loading(gate)}
    with serving(tasks, "feature-extraction", tmp_path, wait=False, wait_for_model_timeout_s=0.3) as client:
        started = time.monotonic()
        response = client.post("/", json={"inputs": "x"}, headers={"x-wait-for-model": "true"})
        assert response.status_code == 503 and "estimated_time" in response.json()
        assert time.monotonic() - started < 10
        gate.opened.set()


# ------------------------------------------------------------------- supervision


def test_abandoned_jobs_leave_the_queue_at_once(tmp_path):
    # defect: timed-out jobs kept their queue slots: live clients got 503 "queue full" while nobody waited
    gate = Gate()
    tasks = {"text-classification": gated(gate)}
    with serving(tasks, "text-classification", tmp_path, max_queue_size=2, request_timeout_s=0.5) as client:
        holder = threading.Thread(target=client.post, args=("/",), kwargs={"json": {"inputs": "holder"}})
        holder.start()
        assert gate.entered.wait(5)
        with ThreadPoolExecutor(2) as pool:
            late = list(pool.map(lambda i: client.post("/", json={"inputs": f"late {i}"}), range(2)))
        assert [r.status_code for r in late] == [504, 504]
        assert metric(client, "aic_queue_depth") == 0
        # the queue has room again although the worker is still busy
        waiting = threading.Thread(target=client.post, args=("/",), kwargs={"json": {"inputs": "next"}})
        waiting.start()
        time.sleep(0.1)
        assert client.post("/", json={"inputs": "also"}).status_code != 503
        gate.opened.set()
        holder.join(5)
        waiting.join(5)
    assert "late 0" not in gate.calls and "late 1" not in gate.calls


def test_a_cancelled_handler_drops_its_job_and_answers_nothing_broken(tmp_path):
    # defect: a cancelled handler read an unset `response` (UnboundLocalError), and its job stayed queued
    from api_inference_community.http.handlers import inference

    gate = Gate()
    app = create_app({"text-classification": gated(gate)}, Settings(task="text-classification", model_id=str(tmp_path)))
    service = app.state.service

    async def scenario():
        service.engine.start()
        await service.engine.wait_loaded()
        holder = asyncio.ensure_future(service.engine.infer("holder", {}))
        while not gate.entered.is_set():
            await asyncio.sleep(0.01)
        messages = [{"type": "http.request", "body": b'{"inputs": "cancelled"}', "more_body": False}]

        async def receive():
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)

        scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b"", "app": app}
        from starlette.requests import Request

        handler = asyncio.ensure_future(inference(Request(scope, receive)))
        while service.engine.queue_depth == 0:
            await asyncio.sleep(0.01)
        handler.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handler
        assert service.engine.queue_depth == 0  # out of the queue at once
        gate.opened.set()
        await holder
        await service.engine.stop(5)

    asyncio.run(scenario())
    assert gate.calls == ["holder"]
    rendered = service.metrics.render().decode()
    assert f'aic_requests_total{{model="{tmp_path}",status="499"}} 1.0' in rendered


def test_a_worker_killed_by_the_pipeline_fails_readiness_and_answers_503(tmp_path, caplog):
    # defect: SystemExit in a pipeline killed the worker thread unseen; /ready stayed 200, requests waited for 504
    with serving({"text-classification": Classifier}, "text-classification", tmp_path, request_timeout_s=30) as client:
        with caplog.at_level(logging.CRITICAL, logger="api_inference_community"):
            response = client.post("/", json={"inputs": "exit"})
        assert response.status_code == 500
        started = time.monotonic()
        later = client.post("/", json={"inputs": "fine"})
        assert later.status_code == 503 and "restarting" in later.json()["error"]
        assert time.monotonic() - started < 5
        assert client.get("/ready").status_code == 503 and client.get("/ready").json()["status"] == "dead"
        assert client.get("/health").status_code == 503
    assert any("inference worker" in record.getMessage() for record in caplog.records)


def test_a_dead_worker_makes_the_process_exit_non_zero(tmp_path):
    env = {"MODEL_ID": str(tmp_path), "TASK": "text-classification"}
    with live_server("fake_app:app", env, cwd=HERE) as server:
        assert requests.post(server.url, json={"inputs": "exit"}, timeout=10).status_code == 500
        assert server.process.wait(20) == 70
    assert "inference worker" in server.logs()


def test_shutdown_takes_one_grace_period_in_total(tmp_path):
    # defect: uvicorn waited SHUTDOWN_GRACE, then the lifespan waited it again: `docker stop` killed the process
    gate = tmp_path / "gate"
    gate.touch()
    env = {"MODEL_ID": str(tmp_path), "TASK": "feature-extraction", "FAKE_GATE": str(gate), "SHUTDOWN_GRACE": "3"}
    server = LiveServer("fake_app:app", env, cwd=HERE)
    try:
        server.wait_until("/ready", 200, 60)
        results = []

        def call(text):
            try:
                results.append(requests.post(server.url, json={"inputs": text}, timeout=30).status_code)
            except requests.RequestException as error:
                results.append(type(error).__name__)

        threads = [threading.Thread(target=call, args=(f"stuck {i}",)) for i in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        started = time.monotonic()
        server.process.terminate()
        code = server.process.wait(15)
        elapsed = time.monotonic() - started
        assert elapsed < 3 * 1.6, f"shutdown took {elapsed:.1f} s for a 3 s grace"
        assert code == 0
        for thread in threads:
            thread.join(5)
    finally:
        gate.unlink(missing_ok=True)
        server.stop()
    assert "UnboundLocalError" not in server.logs()


def test_the_app_can_start_again_after_a_stop(tmp_path):
    # upstream tests open a TestClient several times on one app
    from starlette.testclient import TestClient

    app = create_app({"feature-extraction": recorder()}, Settings(task="feature-extraction", model_id=str(tmp_path)))
    for _ in range(2):
        with TestClient(app) as client:
            response = client.post("/", json={"inputs": "x"}, headers={"x-wait-for-model": "1"})
            assert response.status_code == 200


# ------------------------------------------------------------- errors and logging


def test_internal_value_errors_are_400_without_their_message_and_logged(tmp_path, caplog):
    # defect: any ValueError deep inside a library became a 400 showing paths and shapes, logged nowhere
    with serving({"text-classification": Classifier}, "text-classification", tmp_path) as client:
        with caplog.at_level(logging.WARNING, logger="api_inference_community"):
            response = client.post("/", json={"inputs": "odd"})
        assert response.status_code == 400
        assert "/srv/model" not in response.text and "shape" not in response.text
        assert any("/srv/model" in (record.exc_text or "") or record.exc_info for record in caplog.records)
        shown = client.post("/", json={"inputs": "bad"})  # InvalidInput: the documented client error
        assert shown.status_code == 400 and shown.json() == {"error": "`bad` is not a sentence"}


def test_a_failing_batch_is_logged_and_counted(tmp_path, caplog):
    pipeline = recorder(delay=0.05)
    with serving({"feature-extraction": pipeline}, "feature-extraction", tmp_path) as client:
        with caplog.at_level(logging.WARNING, logger="api_inference_community"):
            with ThreadPoolExecutor(8) as pool:
                bodies = [{"inputs": "bad" if i == 3 else f"ok {i}"} for i in range(16)]
                statuses = [r.status_code for r in pool.map(lambda b: client.post("/", json=b), bodies)]
        assert statuses.count(400) == 1 and statuses.count(200) == 15
        assert metric(client, "aic_batch_failures_total") >= 1
    assert any(record.exc_info and "one by one" in record.getMessage() for record in caplog.records)


def test_the_images_loggers_reach_the_log(tmp_path):
    # defect: the images' own loggers (`app.*`) lost their INFO records
    program = (
        "from api_inference_community.runtime.logs import configure_logging\n"
        "import logging\n"
        "configure_logging('info')\n"
        "logging.getLogger('app.pipelines.encoder').info('image record')\n"
        "logging.getLogger('api_inference_community.x').info('core record')\n"
        "logging.getLogger('some.library').info('library chatter')\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert "image record" in result.stderr and "core record" in result.stderr
    assert "library chatter" not in result.stderr


def test_invalid_settings_stop_the_server_with_a_clear_message(tmp_path):
    # defect: LOG_LEVEL=verbose crashed at import with a traceback
    env = {"MODEL_ID": str(tmp_path), "TASK": "feature-extraction", "LOG_LEVEL": "verbose", "PORT": str(free_port())}
    result = subprocess.run(
        [sys.executable, "-m", "api_inference_community.serve", "fake_app:app"],
        cwd=HERE,
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "LOG_LEVEL" in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------- HTTP edges


def test_every_error_is_json_405_included(tmp_path):
    with serving({"feature-extraction": recorder()}, "feature-extraction", tmp_path) as client:
        for method in ("PUT", "DELETE", "PATCH"):
            response = client.request(method, "/")
            assert response.status_code == 405
            assert response.headers["content-type"].startswith("application/json")
            assert "error" in response.json()


def test_reserved_paths_never_run_inference(tmp_path):
    pipeline = recorder()
    with serving({"feature-extraction": pipeline}, "feature-extraction", tmp_path) as client:
        for path in ("/health", "/ready", "/metrics", "/info"):
            response = client.post(path, json={"inputs": "x"})
            assert response.status_code == 405, path
            assert response.headers["content-type"].startswith("application/json")
    assert pipeline.seen == []


def test_json_tasks_honour_accept(tmp_path):
    with serving({"feature-extraction": recorder()}, "feature-extraction", tmp_path) as client:
        refused = client.post("/", json={"inputs": "x"}, headers={"accept": "image/png"})
        assert refused.status_code == 406 and "application/json" in refused.json()["error"]
        for accept in ("application/json", "*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "application/*"):
            assert client.post("/", json={"inputs": "x"}, headers={"accept": accept}).status_code == 200


# ------------------------------------------------------------------- memory bounds


def test_bodies_held_at_once_are_bounded(tmp_path):
    # defect: 50 MB bodies were buffered with no bound on how many at once
    env = {
        "MODEL_ID": str(tmp_path),
        "TASK": "feature-extraction",
        "MAX_BODY_BYTES": "1000000",
        "BODY_MEMORY_BUDGET": "1500000",
    }
    with live_server("fake_app:app", env, cwd=HERE) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as slow:
            slow.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
            )
            slow.sendall(b'{"inputs": "' + b"a" * 1000)  # the rest never comes: the body is held
            time.sleep(0.3)
            second = requests.post(server.url, data=b'{"inputs": "' + b"b" * 600_000 + b'"}', timeout=10)
            assert second.status_code == 503 and "Retry-After" in second.headers
            assert second.json()["error"].startswith("Too much request body data")
            small = requests.post(server.url, json={"inputs": "small"}, timeout=10)
            assert small.status_code == 200
        time.sleep(0.3)  # the slow client left: its reservation is released
        again = requests.post(server.url, data=b'{"inputs": "' + b"b" * 600_000 + b'"}', timeout=10)
        assert again.status_code in (200, 400)  # admitted (the fake's answer does not matter)
