"""The autoscaler in the gateway: sampling, applying decisions through Pool.scale, metrics, and pools whose
replicas are discovered by DNS (a Swarm-like engine that scales, a Kubernetes-like one that does not)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
from fakes import write_model
from starlette.testclient import TestClient
from test_gateway import EchoServer

from api_inference_community.gateway.app import create_gateway_app
from api_inference_community.gateway.autoscale.controller import Autoscaler, queue_depth
from api_inference_community.gateway.autoscale.meter import ConcurrencyMeter
from api_inference_community.gateway.autoscale.policy import TO_ZERO, Decision, History
from api_inference_community.gateway.backends.base import Replica
from api_inference_community.gateway.discovery import DiscoveredBackend
from api_inference_community.gateway.metrics import GatewayMetrics
from api_inference_community.gateway.pools import Pool
from api_inference_community.gateway.settings import GatewaySettings

FAST = {
    "autoscale": True,
    "autoscale_target": 4,
    "autoscale_stable_window_s": 1.0,
    "autoscale_panic_window_s": 0.2,
    "autoscale_interval_s": 0.05,
    "health_interval_s": 0.05,
    "idle_timeout_s": 1.5,
}


class FakeBackend:
    """Replicas that are nothing but records (the pool's health check says they answer)."""

    name = "fake"

    def __init__(self) -> None:
        self.started: List[str] = []
        self.stopped: List[str] = []

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        self.started.append(slot)
        return Replica(slot, library, f"http://fake/{slot}")

    def exited(self, replica: Replica) -> bool:
        return False

    def stop(self, replica: Replica, grace: float) -> None:
        self.stopped.append(replica.slot)

    def logs(self, replica: Replica) -> str:
        return ""

    def close(self) -> None:
        pass


async def answers(replica: Replica) -> bool:
    return True


def make_pool(settings: GatewaySettings, backend=None, pinned: str = "") -> Pool:
    return Pool("echo", backend or FakeBackend(), settings, GatewayMetrics(), answers, pinned)


async def until(condition, timeout: float = 10.0, step: float = 0.02) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition not met in time"
        await asyncio.sleep(step)
    return time.monotonic() - started


async def follow(pool: Pool, autoscaler: Autoscaler, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await pool.supervise()
        await asyncio.sleep(0.05)


def test_the_autoscaler_follows_the_load_up_down_and_to_zero():
    async def scenario() -> None:
        settings = GatewaySettings(**FAST)
        pool = make_pool(settings)
        metrics = GatewayMetrics()
        autoscaler = Autoscaler({"echo": pool}, settings, metrics.registry)
        await pool.scale(1)
        stop = asyncio.Event()
        supervisor = asyncio.get_running_loop().create_task(follow(pool, autoscaler, stop))
        autoscaler.start()
        assert pool.autoscaled
        await until(lambda: len(pool.healthy) == 1)
        replica = pool.healthy[0]
        for _ in range(12):  # 12 requests in flight: 3 replicas at 4 each
            pool.begin(replica)
        up = await until(lambda: pool.desired == 3)
        assert up < 1.0  # within the panic window and a few samples
        await until(lambda: len(pool.healthy) == 3)
        await asyncio.sleep(0.5)
        assert pool.desired == 3  # held while the load lasts
        for _ in range(12):
            pool.end(replica)
        pool.begin(replica)  # one left
        down = await until(lambda: pool.desired == 1)
        assert 0.7 < down < 3.0  # the stable window (1 s), not before
        pool.end(replica)
        zero = await until(lambda: pool.desired == 0)
        assert zero > 1.0  # the idle period (1.5 s) from the last request
        text = metrics.render().decode()
        for series in (
            'aic_autoscale_decisions_total{library="echo",reason="scale-up"}',
            'aic_autoscale_decisions_total{library="echo",reason="scale-down"}',
            'aic_autoscale_decisions_total{library="echo",reason="to-zero"}',
            'aic_autoscale_desired_replicas{library="echo"} 0.0',
            'aic_gateway_concurrency{library="echo"} 0.0',
        ):
            assert series in text
        stop.set()
        await autoscaler.stop()
        await supervisor

    asyncio.run(scenario())


def test_the_autoscaler_is_off_unless_asked_and_never_drives_an_engine_that_scales_itself():
    async def scenario() -> None:
        off = Autoscaler({"echo": make_pool(GatewaySettings())}, GatewaySettings(), GatewayMetrics().registry)
        assert off.driven == {}
        settings = GatewaySettings(**FAST)
        kube = make_pool(settings, DnsEchoBackend(settings, scales=False))
        on = Autoscaler({"echo": kube}, settings, GatewayMetrics().registry)
        on.start()
        assert on.driven == {} and not kube.autoscaled and on._loop is None
        await on.stop()

    asyncio.run(scenario())


def test_a_pool_of_pinned_models_never_goes_to_zero():
    settings = GatewaySettings(**FAST)
    autoscaler = Autoscaler({}, settings, GatewayMetrics().registry)
    assert autoscaler.policy_of(make_pool(settings, pinned="org/a")).min_replicas == 1
    assert autoscaler.policy_of(make_pool(settings)).min_replicas == 0


def test_going_to_zero_is_called_off_when_a_request_came_in_meanwhile():
    async def scenario() -> None:
        settings = GatewaySettings(**FAST)
        pool = make_pool(settings)
        await pool.scale(1)
        autoscaler = Autoscaler({"echo": pool}, settings, GatewayMetrics().registry)
        pool.waiting = 1
        await autoscaler.apply(pool, Decision(0, TO_ZERO, 0.0, 0.0, False, History()))
        assert pool.desired == 1
        pool.waiting = 0
        await autoscaler.apply(pool, Decision(0, TO_ZERO, 0.0, 0.0, False, History()))
        assert pool.desired == 0

    asyncio.run(scenario())


REPLICA_METRICS = """# HELP aic_queue_depth Requests waiting for the model
# TYPE aic_queue_depth gauge
aic_queue_depth{model="org/a"} 5.0
aic_queue_depth{model="org/b"} 2.0
# HELP aic_queue_time_seconds Time a request waited
# TYPE aic_queue_time_seconds histogram
aic_queue_time_seconds_count{model="org/a"} 9.0
"""


def test_the_replicas_queue_depth_counts_when_it_is_larger_than_what_the_gateway_sees():
    assert queue_depth(REPLICA_METRICS) == 7.0

    async def scenario() -> None:
        settings = GatewaySettings(**FAST)
        pool = make_pool(settings)
        await pool.scale(2)
        for replica in pool.replicas.values():
            replica.healthy = True

        async def scrape(replica: Replica, path: str):
            assert path == "/metrics"
            if replica.slot == "echo-1":
                raise ConnectionError("a replica that does not answer counts for nothing")
            return 200, REPLICA_METRICS.encode()

        autoscaler = Autoscaler({"echo": pool}, settings, GatewayMetrics().registry, scrape=scrape)
        assert await autoscaler.observe(pool) == 7.0  # nothing in flight through the gateway
        for _ in range(20):
            pool.begin(pool.healthy[0])
        pool.concurrency.average()
        await asyncio.sleep(0.05)
        assert await autoscaler.observe(pool) == pytest.approx(20.0, rel=0.05)  # the gateway's view is larger

    asyncio.run(scenario())


def test_the_meter_averages_over_time():
    now = [0.0]
    meter = ConcurrencyMeter(clock=lambda: now[0])
    meter.change(1)
    now[0] = 0.25
    meter.change(-1)  # one request for a quarter of a second
    now[0] = 1.0
    assert meter.average() == pytest.approx(0.25)
    meter.change(4)
    now[0] = 2.0
    assert meter.average() == pytest.approx(4.0)
    assert meter.average() == 4.0  # no time passed: what is held now


# ------------------------------------------------------------------ discovered replicas


class DnsEchoBackend(DiscoveredBackend):
    """An engine stand-in: echo servers on 127.0.0.1, "resolved" by name. `scales`: like Swarm (the
    gateway asks for replicas) or like Kubernetes (the test starts them, as KEDA would)."""

    name = "dns-echo"

    def __init__(self, settings: GatewaySettings, scales: bool = True) -> None:
        super().__init__(settings)
        self.scales = scales
        self.servers: Dict[str, List[EchoServer]] = {}
        self.lingering: List[EchoServer] = []  # stopped by the engine, still in DNS (Swarm: about 2 s)
        self.asked: List[int] = []
        self.started = 0
        self.lock = threading.Lock()

    def scale(self, library: str, replicas: int, pinned: str = "") -> None:
        if not self.scales:
            raise AssertionError("an engine that scales itself is never asked to")
        self.asked.append(replicas)
        self.resize(library, replicas)

    def resize(self, library: str, replicas: int, linger: bool = False) -> None:
        with self.lock:
            servers = self.servers.setdefault(library, [])
            while len(servers) < replicas:
                self.started += 1
                servers.append(EchoServer(f"{library}-{self.started}"))
            while len(servers) > replicas:
                server = servers.pop()
                self.lingering.append(server) if linger else server.stop()

    def addresses(self, library: str) -> List[str]:
        with self.lock:
            listed = [*self.servers.get(library, []), *self.lingering]
            return [f"http://127.0.0.1:{server.port}" for server in listed]

    def close(self) -> None:
        for server in [*self.lingering, *(s for servers in self.servers.values() for s in servers)]:
            server.stop()


@contextlib.contextmanager
def gateway(tmp_path: Path, scales: bool, **overrides) -> Iterator[tuple]:
    write_model(tmp_path, "org/text", task="feature-extraction", library="echo")
    settings = GatewaySettings(models_dir=str(tmp_path), hf_hub_offline=True, **{**FAST, **overrides})
    backend = DnsEchoBackend(settings, scales=scales)
    app = create_gateway_app(settings, backend=backend, libraries={"echo": ["feature-extraction"]})
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, backend


WAIT = {"x-wait-for-model": "true"}


def pools(client: TestClient) -> dict:
    return client.get("/pools").json()["echo"]


def test_a_swarm_like_pool_is_scaled_through_the_engine_and_followed_by_dns(tmp_path):
    with gateway(tmp_path, scales=True, idle_timeout_s=0.5) as (client, backend):
        cold = client.post("/models/org/text", json={"inputs": "x"})
        assert cold.status_code == 503 and cold.json()["estimated_time"] >= 1
        assert backend.asked == [1]  # the first request asked the engine for a replica
        answer = client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT)
        assert answer.status_code == 200, answer.text
        replicas = pools(client)["replicas"]
        assert len(replicas) == 1 and replicas[0]["url"] in backend.addresses("echo") and replicas[0]["healthy"]
        metrics = client.get("/metrics").text
        assert 'aic_gateway_cold_requests_total{library="echo"} 1.0' in metrics
        # the engine replaces a replica: DNS follows, the old one is gone, the new one is used
        old = replicas[0]["url"]
        backend.resize("echo", 0)
        backend.resize("echo", 1)
        deadline = time.monotonic() + 10
        while [r["url"] for r in pools(client)["replicas"] if r["healthy"]] in ([], [old]):
            assert time.monotonic() < deadline, pools(client)
            time.sleep(0.05)
        assert client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT).status_code == 200
        # idle: the autoscaler takes the pool to zero through the engine
        deadline = time.monotonic() + 10
        while pools(client)["desired"] != 0 or pools(client)["replicas"]:
            assert time.monotonic() < deadline, pools(client)
            time.sleep(0.05)
        assert backend.asked[-1] == 0 and backend.addresses("echo") == []


def test_a_kubernetes_like_pool_holds_requests_at_zero_until_a_replica_is_in_dns(tmp_path):
    with gateway(tmp_path, scales=False) as (client, backend):
        assert client.post("/models/org/text", json={"inputs": "x"}).status_code == 503  # nothing in DNS
        answers: List[Optional[int]] = []

        def send() -> None:
            answers.append(client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT).status_code)

        held = threading.Thread(target=send)
        held.start()
        deadline = time.monotonic() + 10
        while 'aic_gateway_concurrency{library="echo"} 1.0' not in client.get("/metrics").text:
            assert time.monotonic() < deadline  # the held request is the demand KEDA scales on
            time.sleep(0.05)
        assert not answers
        backend.resize("echo", 2)  # KEDA scaled the Deployment: two pods in the headless Service
        held.join(20)
        assert answers == [200]
        assert pools(client)["desired"] == 2 and backend.asked == []
        assert 'aic_gateway_cold_requests_total{library="echo"} 1.0' in client.get("/metrics").text


def test_the_replicas_of_a_pool_scaled_to_zero_are_not_taken_for_new_ones_while_still_in_dns(tmp_path):
    with gateway(tmp_path, scales=True, autoscale=False) as (client, backend):
        first = client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT)
        assert first.status_code == 200 and first.json()["slot"] == "echo-1"
        pool = client.app.state.gateway.pools["echo"]
        backend.scale = lambda library, replicas, pinned="": backend.resize(library, replicas, linger=True)
        client.portal.call(pool.scale, 0)  # the engine stops echo-1: it stays in DNS a while
        assert backend.addresses("echo")
        again = client.post("/models/org/text", json={"inputs": "x"}, headers=WAIT)
        assert again.status_code == 200 and again.json()["slot"] == "echo-2"  # a new replica, not the stopping one
        assert [r["url"] for r in pools(client)["replicas"]] == [backend.addresses("echo")[0]]
