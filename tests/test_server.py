"""A real uvicorn process on 127.0.0.1: the contract over TCP, disconnects and SIGTERM draining."""

import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from api_inference_community.testing.live import LiveServer, live_server

HERE = Path(__file__).parent


@pytest.fixture
def gate(tmp_path):
    path = tmp_path / "gate"
    path.touch()
    return path


def env_for(tmp_path, gate, **extra):
    return {
        "MODEL_ID": str(tmp_path),
        "TASK": "feature-extraction",
        "FAKE_GATE": str(gate),
        "FAKE_LOG": str(tmp_path / "calls.log"),
        **extra,
    }


def calls(tmp_path):
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_contract_over_tcp(tmp_path):
    env = env_for(tmp_path, tmp_path / "no-gate")
    with live_server("fake_app:app", env, cwd=HERE) as server:
        response = requests.post(server.url, json={"inputs": "hello"}, timeout=10)
        assert response.status_code == 200 and response.json() == [5.0, 0.0]
        assert "x-compute-time" in response.headers
        response = requests.post(server.url + "/any/path", data=b"\xff\xfe", timeout=10)
        assert response.status_code == 400 and "UTF-8" in response.json()["error"]
        assert requests.get(server.url + "/whatever", timeout=10).json() == {"ok": "ok"}
        assert "aic_requests_total" in requests.get(server.url + "/metrics", timeout=10).text
    assert "Traceback" not in server.logs()


def test_disconnected_client_work_is_dropped(tmp_path, gate):
    with live_server("fake_app:app", env_for(tmp_path, gate), cwd=HERE) as server:
        first = threading.Thread(target=requests.post, args=(server.url,), kwargs={"json": {"inputs": "first"}})
        first.start()
        assert wait_for(lambda: len(calls(tmp_path)) == 1)
        body = b'{"inputs": "gone"}'
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            time.sleep(0.3)  # the request is queued behind `first`
        assert wait_for(lambda: "499" in requests.get(server.url + "/metrics", timeout=5).text)
        gate.unlink()
        first.join(10)
        assert requests.post(server.url, json={"inputs": "third"}, timeout=10).status_code == 200
        assert calls(tmp_path) == ["['first']", "['third']"]


def test_sigterm_finishes_in_flight_work_and_exits_zero(tmp_path, gate):
    server = LiveServer("fake_app:app", env_for(tmp_path, gate, SHUTDOWN_GRACE="20"), cwd=HERE)
    try:
        server.wait_until("/ready", 200, 60)
        result = {}

        def call():
            result["response"] = requests.post(server.url, json={"inputs": "inflight"}, timeout=30)

        thread = threading.Thread(target=call)
        thread.start()
        assert wait_for(lambda: len(calls(tmp_path)) == 1)
        server.process.terminate()
        time.sleep(0.5)
        assert server.process.poll() is None  # still draining
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/health", timeout=2)  # no longer accepting
        gate.unlink()
        thread.join(20)
        assert result["response"].status_code == 200 and result["response"].json() == [8.0, 0.0]
        assert server.process.wait(20) == 0
    finally:
        server.stop()
    assert "Traceback" not in server.logs()
