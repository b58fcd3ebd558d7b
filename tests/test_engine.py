"""The serving engine: batching, loading state, backpressure, deadlines (behaviour, not timings)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fakes import Gate, gated, recorder, serving, slow_loading


def post_many(client, bodies, workers=16):
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda body: client.post("/", json=body), bodies))


def test_concurrent_requests_form_batches_and_results_stay_with_their_requests(tmp_path):
    pipeline = recorder(delay=0.05)
    with serving({"feature-extraction": pipeline}, "feature-extraction", tmp_path) as client:
        texts = ["a" * i + "b" * (40 - i) for i in range(40)]
        responses = post_many(client, [{"inputs": t} for t in texts])
        for text, response in zip(texts, responses):
            assert response.status_code == 200
            assert response.json() == [40.0, float(text.count("a"))]
    assert max(pipeline.batches) > 1
    assert sum(pipeline.batches) == 40


def test_concurrency_one_runs_alone(tmp_path):
    pipeline = recorder()
    with serving({"feature-extraction": pipeline}, "feature-extraction", tmp_path) as client:
        for i in range(10):
            assert client.post("/", json={"inputs": "x" * (i + 1)}).json() == [float(i + 1), 0.0]
    assert pipeline.batches == [1] * 10


def test_batch_size_counts_items_of_list_requests(tmp_path):
    pipeline = recorder(delay=0.05)
    with serving({"feature-extraction": pipeline}, "feature-extraction", tmp_path, max_batch_size=8) as client:
        responses = post_many(client, [{"inputs": [f"{i}-{j}" for j in range(3)]} for i in range(20)])
        assert all(r.status_code == 200 and len(r.json()) == 3 for r in responses)
    # the pipeline sees requests; each holds 3 items: at most two requests fit in 8 items
    assert max(pipeline.batches) == 2


def test_mixed_parameters_never_share_a_batch(tmp_path):
    pipeline = recorder(delay=0.05)
    with serving({"feature-extraction": pipeline}, "feature-extraction", tmp_path) as client:
        bodies = [{"inputs": f"n={flag}", "parameters": {"normalize": flag}} for flag in [True, False] * 15]
        responses = post_many(client, bodies)
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert max(pipeline.batches) > 1
    for inputs, parameters in pipeline.seen:  # every text says which value its request sent
        assert all(text == f"n={parameters['normalize']}" for text in inputs), (inputs, parameters)


def test_one_bad_item_fails_only_its_own_request(tmp_path):
    pipeline = recorder(delay=0.05)
    with serving({"feature-extraction": pipeline}, "feature-extraction", tmp_path) as client:
        bodies = [{"inputs": "bad" if i == 7 else f"ok {i}"} for i in range(24)]
        responses = post_many(client, bodies)
    assert [r.status_code for r in responses].count(400) == 1
    assert responses[7].status_code == 400 and "bad" in responses[7].json()["error"]
    assert all(r.json()[0] == float(len(f"ok {i}")) for i, r in enumerate(responses) if i != 7)


def test_loading_answers_503_with_estimate_then_wait_for_model(tmp_path):
    gate = Gate()
    (tmp_path / "weights.bin").write_bytes(b"\0" * 100_000)
    with serving({"feature-extraction": slow_loading(gate)}, "feature-extraction", tmp_path, wait=False) as client:
        assert gate.entered.wait(10)
        assert client.get("/").json() == {"ok": "ok"}
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "loading"
        response = client.post("/", json={"inputs": "x"})
        assert response.status_code == 503
        assert response.json()["error"] == f"Model {tmp_path} is currently loading"
        assert response.json()["estimated_time"] > 0
        assert int(response.headers["retry-after"]) >= 1
        with ThreadPoolExecutor(2) as pool:
            by_header = pool.submit(client.post, "/", json={"inputs": "ab"}, headers={"x-wait-for-model": "true"})
            by_option = pool.submit(client.post, "/", json={"inputs": "abc", "options": {"wait_for_model": True}})
            gate.entered.clear()
            threading.Timer(0.3, gate.opened.set).start()
            assert by_header.result(10).json() == [2.0, 1.0]
            assert by_option.result(10).json() == [3.0, 1.0]
        assert client.get("/ready").status_code == 200


def test_queue_full_is_503_with_retry_after(tmp_path):
    gate = Gate()
    with serving({"text-classification": gated(gate)}, "text-classification", tmp_path, max_queue_size=2) as client:
        with ThreadPoolExecutor(4) as pool:
            running = pool.submit(client.post, "/", json={"inputs": "first"})
            assert gate.entered.wait(10)
            queued = [pool.submit(client.post, "/", json={"inputs": f"q{i}"}) for i in range(2)]
            for _ in range(500):  # until both wait in the queue
                if f'aic_queue_depth{{model="{tmp_path}"}} 2.0' in client.get("/metrics").text:
                    break
            response = client.post("/", json={"inputs": "overflow"})
            assert response.status_code == 503
            assert "retry-after" in response.headers and "Too many requests" in response.json()["error"]
            gate.opened.set()
            assert running.result(10).status_code == 200
            assert all(f.result(10).status_code == 200 for f in queued)


def test_deadline_is_504_and_queued_work_is_dropped(tmp_path):
    gate = Gate()
    tasks = {"text-classification": gated(gate)}
    with serving(tasks, "text-classification", tmp_path, request_timeout_s=0.5) as client:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(client.post, "/", json={"inputs": "first"})
            assert gate.entered.wait(10)
            second = pool.submit(client.post, "/", json={"inputs": "second"})
            assert second.result(10).status_code == 504
            assert "did not finish within" in second.result().json()["error"]
            assert first.result(10).status_code == 504  # still running past its deadline
            gate.opened.set()
        assert client.post("/", json={"inputs": "third"}).status_code == 200
    assert gate.calls == ["first", "third"]  # `second` expired in the queue and never ran


def test_health_answers_while_the_pipeline_is_busy(tmp_path):
    gate = Gate()
    with serving({"text-classification": gated(gate)}, "text-classification", tmp_path) as client:
        with ThreadPoolExecutor(2) as pool:
            busy = pool.submit(client.post, "/", json={"inputs": "busy"})
            assert gate.entered.wait(10)
            for path in ("/health", "/ready", "/", "/metrics"):
                assert client.get(path).status_code == 200
            assert not busy.done()
            gate.opened.set()
            assert busy.result(10).status_code == 200


@pytest.mark.parametrize("max_batch_size", [1])
def test_batching_can_be_turned_off(tmp_path, max_batch_size):
    pipeline = recorder(delay=0.02)
    with serving(
        {"feature-extraction": pipeline}, "feature-extraction", tmp_path, max_batch_size=max_batch_size
    ) as client:
        assert client.get("/info").json()["batching"] is False
        post_many(client, [{"inputs": "x"}] * 10)
    assert pipeline.batches == [1] * 10


def test_max_batch_wait_gathers_sequentially_arriving_requests(tmp_path):
    pipeline = recorder()
    with serving(
        {"feature-extraction": pipeline}, "feature-extraction", tmp_path, max_batch_wait_ms=300, max_batch_size=4
    ) as client:
        responses = post_many(client, [{"inputs": "x"}] * 4, workers=4)
        assert all(r.status_code == 200 for r in responses)
    assert max(pipeline.batches) > 1


def test_audio_pipeline_that_sets_its_rate_at_load_still_answers_503_while_loading(tmp_path):
    from fakes import Transcriber

    gate = Gate()

    class RateAtLoad(Transcriber):
        sampling_rate = None

        def __init__(self, model_id):
            gate.pass_through("load")
            self.sampling_rate = 16000

    from test_app import wav_bytes

    tasks = {"automatic-speech-recognition": RateAtLoad}
    with serving(tasks, "automatic-speech-recognition", tmp_path, wait=False) as client:
        assert gate.entered.wait(10)
        assert client.post("/", content=wav_bytes()).status_code == 503
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(client.post, "/", content=wav_bytes(), headers={"x-wait-for-model": "1"})
            threading.Timer(0.2, gate.opened.set).start()
            response = waiting.result(10)
        assert response.status_code == 200 and response.json()["text"].startswith("8000 samples")


def test_loaded_objects_are_frozen_out_of_the_garbage_collector(tmp_path):
    import gc

    gc.unfreeze()
    with serving({"feature-extraction": recorder()}, "feature-extraction", tmp_path):
        assert gc.get_freeze_count() > 0
    gc.unfreeze()
