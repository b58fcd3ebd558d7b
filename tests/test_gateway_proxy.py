"""The gateway's proxy against a replica that misbehaves on request: small and large bodies and
answers, answers that stream, stall or break off, stale keep-alive connections, one log line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from fakes import write_model
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api_inference_community.gateway import proxy
from api_inference_community.gateway.app import create_gateway_app
from api_inference_community.gateway.backends.base import Replica
from api_inference_community.gateway.server import LoggedByTheGateway
from api_inference_community.gateway.settings import GatewaySettings
from api_inference_community.testing.live import ThreadedServer

WAIT = {"x-wait-for-model": "true"}
BIG = 600 * 1024  # above proxy.SMALL_ANSWER: streamed


class Replica_:
    """A replica whose answer is chosen by the request's `inputs`; it records what it received."""

    def __init__(self) -> None:
        self.received: List[Dict[str, object]] = []

        async def answer(request: Request) -> Response:
            body = await request.body()
            self.received.append({"headers": dict(request.headers), "length": len(body)})
            what = body.decode(errors="replace")
            if '"stream"' in what:

                async def chunks():
                    for i in range(3):
                        yield f"chunk{i};".encode()
                        await asyncio.sleep(0.2)

                return StreamingResponse(chunks(), media_type="text/plain")
            if '"big"' in what:
                return Response(b"x" * BIG, media_type="application/octet-stream")
            if '"slow"' in what:
                await asyncio.sleep(3)
                return JSONResponse({"late": True})
            if '"breaks"' in what:

                async def broken():
                    yield b"partial"
                    raise RuntimeError("the replica breaks off")

                return StreamingResponse(broken(), headers={"content-length": "1000"})
            return JSONResponse({"length": len(body)}, headers={"x-compute-characters": str(len(body))})

        async def ok(request: Request) -> Response:
            return JSONResponse({"status": "ok"})

        app = Starlette(
            routes=[Route("/health", ok), Route("/ready", ok), Route("/{path:path}", answer, methods=["POST"])]
        )
        self.server = ThreadedServer(app, name="proxy-replica", log_level="critical")


class OneReplicaBackend:
    """One replica, the server above; `restart` puts a fresh server behind the same replica."""

    name = "one"

    def __init__(self) -> None:
        self.replica = Replica_()

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        return Replica(slot, library, self.replica.server.url, handle=self.replica)

    def exited(self, replica: Replica) -> bool:
        return False

    def stop(self, replica: Replica, grace: float) -> None:
        pass

    def logs(self, replica: Replica) -> str:
        return ""

    def close(self) -> None:
        self.replica.server.stop()


@contextlib.contextmanager
def gateway(tmp_path: Path) -> Iterator[tuple]:
    write_model(tmp_path, "org/text", task="feature-extraction", library="one")
    settings = GatewaySettings(
        models_dir=str(tmp_path), hf_hub_offline=True, health_interval_s=0.05, replicas=1, request_timeout_s=1.0
    )
    backend = OneReplicaBackend()
    app = create_gateway_app(settings, backend=backend, libraries={"one": ["feature-extraction"]})
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.post("/models/org/text", json={"inputs": "warm"}, headers=WAIT).status_code == 200
            yield client, backend.replica
    finally:
        backend.close()


def test_small_and_large_bodies_arrive_whole_with_their_length(tmp_path):
    with gateway(tmp_path) as (client, replica):
        small = b'{"inputs": "' + b"a" * 1000 + b'"}'
        large = b'{"inputs": "' + b"a" * (proxy.SMALL_BODY * 3) + b'"}'
        for body in (small, large):
            response = client.post("/models/org/text", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 200 and response.json() == {"length": len(body)}
        assert replica.received[-2]["headers"]["content-length"] == str(len(small))  # sent whole, not chunked

        def chunked():
            yield b'{"inputs": "'
            yield b"b" * 5000
            yield b'"}'

        response = client.post("/models/org/text", content=chunked(), headers={"content-type": "application/json"})
        assert response.status_code == 200 and response.json() == {"length": 5000 + 14}


def test_large_and_streamed_answers_arrive_intact_and_in_pieces(tmp_path):
    with gateway(tmp_path) as (client, replica):
        big = client.post("/models/org/text", json={"inputs": "big"})
        assert big.status_code == 200 and big.content == b"x" * BIG
        arrivals = []
        started = time.monotonic()
        with client.stream("POST", "/models/org/text", json={"inputs": "stream"}) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                arrivals.append((time.monotonic() - started, chunk))
        assert b"".join(c for _, c in arrivals) == b"chunk0;chunk1;chunk2;"
        assert arrivals[0][0] < arrivals[-1][0] - 0.2  # the first piece came before the replica finished


def test_a_stalled_replica_is_a_504_and_a_broken_answer_a_502(tmp_path):
    with gateway(tmp_path) as (client, replica):
        slow = client.post("/models/org/text", json={"inputs": "slow"})
        assert slow.status_code == 504 and "did not answer within 1 s" in slow.json()["error"]
        broken = client.post("/models/org/text", json={"inputs": "breaks"})
        assert broken.status_code == 502 and "failed while answering" in broken.json()["error"]
        assert client.post("/models/org/text", json={"inputs": "after"}).status_code == 200


def test_a_replica_restarted_on_its_port_is_reached_again(tmp_path):
    """Keep-alive connections to a replica that went away are not reused."""
    with gateway(tmp_path) as (client, replica):
        assert client.post("/models/org/text", json={"inputs": "one"}).status_code == 200
        port = int(replica.server.url.rsplit(":", 1)[1])
        replica.server.stop()
        replica.server = ThreadedServer(replica.server.app, name="proxy-replica-2", log_level="critical", port=port)
        # (the health checks may have replaced the replica meanwhile: the request waits for it)
        assert client.post("/models/org/text", json={"inputs": "two"}, headers=WAIT).status_code == 200


@pytest.mark.parametrize(
    "method, path, kept",
    [
        ("POST", "/models/org/text", False),
        ("POST", "/pipeline/feature-extraction/org/text", False),
        ("GET", "/models", True),
        ("POST", "/usage", True),
    ],
)
def test_uvicorn_s_access_line_is_dropped_only_for_inference_requests(method, path, kept):
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", method, path, "1.1", 200),
        None,
    )
    assert LoggedByTheGateway().filter(record) is kept
