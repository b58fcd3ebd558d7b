"""The gateway in-process, over replicas that echo what they receive: routing, affinity, proxy rules."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from fakes import write_model
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from api_inference_community.gateway import affinity, pools
from api_inference_community.gateway.app import create_gateway_app
from api_inference_community.gateway.backends.base import Replica
from api_inference_community.gateway.settings import GatewaySettings
from api_inference_community.testing.live import ThreadedServer

READY_AFTER = 0.3  # seconds
LIBRARIES = {"echo": ["feature-extraction", "text-classification"], "other": ["image-classification"]}


class EchoServer:
    """A replica stand-in: a real HTTP server recording each request's headers and answering them back."""

    def __init__(self, slot: str) -> None:
        self.slot = slot
        self.seen: List[Dict[str, str]] = []

        async def echo(request: Request) -> Response:
            self.seen.append(dict(request.headers))
            body = await request.body()
            return JSONResponse(
                {"slot": slot, "path": request.url.path, "body": body.decode()},
                headers={"x-compute-characters": str(len(body)), "x-compute-time": "0.001"},
            )

        started = time.monotonic()

        async def health(request: Request) -> Response:
            return JSONResponse({"status": "alive"})

        async def ready(request: Request) -> Response:  # ready a little after its start, as a real server
            return JSONResponse({}, status_code=200 if time.monotonic() - started > READY_AFTER else 503)

        app = Starlette(
            routes=[
                Route("/health", health),
                Route("/ready", ready),
                Route("/{path:path}", echo, methods=["GET", "POST"]),
            ]
        )
        self.server = ThreadedServer(app, name=f"echo-{slot}", log_level="error")
        self.port = int(self.server.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.server.stop()


class EchoBackend:
    """Replicas that are echo servers in this process (`dead` makes one look exited)."""

    name = "echo"

    def __init__(self) -> None:
        self.servers: Dict[str, EchoServer] = {}
        self.started: List[str] = []
        self.dead: set = set()

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        server = EchoServer(slot)
        self.servers[slot] = server
        self.started.append(slot)
        return Replica(slot, library, f"http://127.0.0.1:{server.port}", handle=server)

    def exited(self, replica: Replica) -> bool:
        return replica.slot in self.dead

    def stop(self, replica: Replica, grace: float) -> None:
        replica.handle.stop()
        self.dead.discard(replica.slot)

    def logs(self, replica: Replica) -> str:
        return ""

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


@contextlib.contextmanager
def gateway(tmp_path: Path, **overrides) -> Iterator[tuple]:
    for name, task in (("org/text", "feature-extraction"), ("org/other-text", "text-classification")):
        write_model(tmp_path, name, task=task, library="echo")
    write_model(tmp_path, "org/picture", task="image-classification", library="other")
    write_model(tmp_path, "org/off", task="feature-extraction", library="echo", inference=False)
    write_model(tmp_path, "org/speech", task="automatic-speech-recognition", library="echo")
    settings = GatewaySettings(
        models_dir=str(tmp_path), hf_hub_offline=True, health_interval_s=0.05, **{"replicas": 2, **overrides}
    )
    backend = EchoBackend()
    app = create_gateway_app(settings, backend=backend, libraries=LIBRARIES)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, backend


WAIT = {"x-wait-for-model": "true"}


def wait_until_ready(client: TestClient, replicas: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/ready").json()["pools"]["echo"]["healthy"] < replicas:
        assert time.monotonic() < deadline, client.get("/ready").json()
        time.sleep(0.02)


def test_routes_by_card_and_forwards_every_url_shape(tmp_path):
    with gateway(tmp_path) as (client, backend):
        cold = client.post("/models/org/text", json={"inputs": "x"})
        assert cold.status_code == 503 and cold.json()["estimated_time"] >= 1 and "Retry-After" in cold.headers
        for path in (
            "/models/org/text",
            "/pipeline/feature-extraction/org/text",
            "/models/org/text/pipeline/feature-extraction",
        ):
            response = client.post(path, json={"inputs": "hello"}, headers=WAIT)
            assert response.status_code == 200, response.text
            assert response.json()["path"] == path
            assert response.headers["x-compute-characters"] == str(len(response.json()["body"]))  # passed through
            assert len(response.headers["x-request-id"]) == 32
        assert sorted(backend.started) == ["echo-0", "echo-1"]  # only the library asked for
        assert client.get("/libraries").json() == LIBRARIES


@pytest.mark.parametrize(
    "path, status, fragment",
    [
        ("/models/org/missing", 404, "not in the models directory"),
        ("/models/org/off", 403, "inference: false"),
        ("/models/org/speech", 400, "does not serve task `automatic-speech-recognition`"),
        ("/models/org/text/pipeline/image-classification", 400, "does not serve task `image-classification`"),
        ("/pipeline/no-such-task/org/text", 400, "Unknown task"),
        ("/models/a/b/c", 400, "not a valid model id"),
    ],
)
def test_refusals_never_start_a_pool(tmp_path, path, status, fragment):
    with gateway(tmp_path) as (client, backend):
        response = client.post(path, json={"inputs": "x"}, headers=WAIT)
        assert response.status_code == status and fragment in response.json()["error"]
        assert backend.started == []
        assert f'aic_gateway_requests_total{{library="none",status="{status}"}} 1.0' in client.get("/metrics").text


def test_authorization_and_hop_by_hop_headers_never_reach_a_replica(tmp_path):
    with gateway(tmp_path) as (client, backend):
        headers = {
            **WAIT,
            "authorization": "Bearer secret-token",
            "cookie": "session=1",
            "x-request-id": "abc-123",
            "x-custom": "kept",
        }
        response = client.post("/models/org/text", json={"inputs": "x"}, headers=headers)
        assert response.status_code == 200 and response.headers["x-request-id"] == "abc-123"
        seen = [h for server in backend.servers.values() for h in server.seen if h.get("x-custom")]
        assert len(seen) == 1
        assert "authorization" not in seen[0] and "cookie" not in seen[0]
        assert seen[0]["x-request-id"] == "abc-123" and seen[0]["x-custom"] == "kept"
        weird = client.post("/models/org/text", json={"inputs": "x"}, headers={**WAIT, "x-request-id": "a b\x7f" * 40})
        assert len(weird.headers["x-request-id"]) == 32  # not echoed: replaced


def test_affinity_keeps_a_model_on_one_replica(tmp_path):
    with gateway(tmp_path) as (client, backend):
        client.post("/models/org/text", json={"inputs": "start"}, headers=WAIT)
        wait_until_ready(client, 2)
        # a model seen first now goes to its rendezvous choice, and stays there
        post = lambda: client.post("/models/org/other-text", json={"inputs": "x"}, headers=WAIT)  # noqa: E731
        slots = {post().json()["slot"] for _ in range(10)}
        assert slots == {affinity.ranked("org/other-text", ["echo-0", "echo-1"], lambda slot: slot)[0]}
        # the model warmed up during the start stays where it was answered (no reload elsewhere)
        assert (
            len({client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT).json()["slot"] for _ in range(5)})
            == 1
        )


def test_rendezvous_moves_only_the_models_of_a_replica_that_goes_away():
    replicas = [f"r{i}" for i in range(4)]
    models = [f"org/m{i}" for i in range(400)]
    before = {m: affinity.ranked(m, replicas, str)[0] for m in models}
    after = {m: affinity.ranked(m, replicas[:3], str)[0] for m in models}
    moved = {m for m in models if before[m] != after[m]}
    assert moved == {m for m in models if before[m] == "r3"}
    assert 60 < len(moved) < 140  # about a quarter


def test_a_busy_model_spills_to_its_second_replica():
    class R:
        def __init__(self, name, load):
            self.name, self.load = name, load

    first, second = affinity.ranked("org/hot", [R("a", 0), R("b", 0)], lambda r: r.name)
    first.load = 16
    chosen = affinity.choose("org/hot", [first, second], lambda r: r.name, lambda r: r.load, spill_at=16)
    assert chosen is second
    first.load = 15
    assert affinity.choose("org/hot", [first, second], lambda r: r.name, lambda r: r.load, spill_at=16) is first


def test_an_unreachable_replica_is_skipped_before_the_request_reaches_it(tmp_path):
    with gateway(tmp_path) as (client, backend):
        assert client.post("/models/org/text", json={"inputs": "warm"}, headers=WAIT).status_code == 200
        wait_until_ready(client, 2)
        pool = client.app.state.gateway.pools["echo"]
        best = pool.replicas[pool.placement["org/text"]]  # where the model is warm: its first choice
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            best.url = f"http://127.0.0.1:{closed.getsockname()[1]}"  # nobody listens there
        response = client.post("/models/org/text", json={"inputs": "retried"}, headers=WAIT)
        assert response.status_code == 200 and response.json()["slot"] != best.slot
        assert 'aic_gateway_retries_total{library="echo"} 1.0' in client.get("/metrics").text


def test_a_broken_connection_waits_a_moment_for_the_replica_s_exit(tmp_path, monkeypatch):
    """A killed process's sockets close before it can be reaped: its exit is awaited, not missed."""
    with gateway(tmp_path) as (client, backend):
        assert client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT).status_code == 200
        pool = client.app.state.gateway.pools["echo"]
        replica = next(iter(pool.replicas.values()))
        killed_at = time.monotonic()
        monkeypatch.setattr(backend, "exited", lambda r: time.monotonic() - killed_at > 0.3)
        assert asyncio.run(pool.gone(replica))  # the exit shows 0.3 s after the connection broke
        monkeypatch.setattr(backend, "exited", lambda r: False)
        monkeypatch.setattr(pools, "EXIT_NOTICE_SECONDS", 0.2)
        assert not asyncio.run(pool.gone(replica))  # alive: the failure is the replica's own


def test_a_dead_replica_is_replaced_in_its_slot(tmp_path):
    with gateway(tmp_path) as (client, backend):
        assert client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT).status_code == 200
        backend.dead.add("echo-0")
        deadline = time.monotonic() + 10
        while backend.started.count("echo-0") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert backend.started.count("echo-0") == 2
        assert 'reason="exited"' in client.get("/metrics").text


def test_an_idle_pool_stops_and_starts_again(tmp_path):
    with gateway(tmp_path, idle_timeout_s=0.3) as (client, backend):
        assert client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT).status_code == 200
        deadline = time.monotonic() + 10
        while client.app.state.gateway.pools["echo"].replicas and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.app.state.gateway.pools["echo"].replicas == {}
        assert client.post("/models/org/text", json={"inputs": "x"}).status_code == 503  # cold again
        assert client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT).status_code == 200
        assert backend.started.count("echo-0") == 2


def test_the_body_limit_is_enforced_before_forwarding(tmp_path):
    with gateway(tmp_path, max_body_bytes=100) as (client, backend):
        client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT)
        response = client.post("/models/org/text", content=b"x" * 1000, headers=WAIT)
        assert response.status_code == 413 and "limit" in response.json()["error"]
        assert all(len(h) for server in backend.servers.values() for h in server.seen)  # nothing of it arrived
        assert not [h for server in backend.servers.values() for h in server.seen if h.get("content-length") == "1000"]


def test_status_from_the_card_then_from_the_replica(tmp_path):
    with gateway(tmp_path) as (client, backend):
        assert client.get("/status/org/text").json()["state"] == "Loadable"
        assert client.get("/status/org/off").json()["state"] == "Error"
        assert client.get("/status/org/missing").status_code == 404
