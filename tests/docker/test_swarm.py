"""Autoscaling on Docker Swarm (one node, the harness's engine): the gateway's image, on the attachable
overlay network of the library services, drives a service of a library image by its load.

One scenario, in order: a request at zero is held while the first replica starts; 1 client, then a
step to 16 clients (the pool scales up within the panic window); the load stops (it scales down after
the stable window); idle, it goes to zero; the next request is held and answered. No request fails.
Short windows (seconds, through the settings): this judges the control loop, not throughput (more
replicas add no CPU on 2 cores). The figures are printed (`-s`) and written to $AIC_SWARM_FIGURES.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import docker_harness as dh
import pytest
import requests
from test_services import body_for, models_directory

from api_inference_community.gateway.discovery import service_name

pytestmark = pytest.mark.docker

LIBRARY, TASK = "sentence_transformers", "feature-extraction"
MODEL = f"org/{LIBRARY}-first"
TARGET, MAX_REPLICAS, CLIENTS = 4, 4, 16
STABLE_S, PANIC_S, IDLE_S, INTERVAL_S = 10.0, 3.0, 20.0, 1.0
COLD_START_LIMIT_S = 240.0
GATEWAY_PORT = "8000/tcp"
WAIT = {"x-wait-for-model": "true"}
FIGURES: Dict[str, Any] = {}


@dataclass
class LiveGateway:
    url: str
    container: Any
    service: str
    engine: dh.Engine

    def pool(self) -> Dict[str, Any]:
        return requests.get(self.url + "/pools", timeout=10).json()[LIBRARY]

    def healthy(self) -> int:
        return sum(1 for replica in self.pool()["replicas"] if replica["healthy"])

    def running_tasks(self) -> int:
        """The service's tasks that run and are meant to (not those Swarm is stopping)."""
        try:
            service = self.engine.client.services.get(self.service)
        except Exception:
            return 0
        return sum(1 for task in service.tasks() if task["DesiredState"] == task["Status"]["State"] == "running")

    def live_tasks(self) -> int:
        """The service's tasks whose container still runs (those Swarm is stopping too)."""
        try:
            service = self.engine.client.services.get(self.service)
        except Exception:
            return 0
        return sum(1 for task in service.tasks() if task["Status"]["State"] == "running")

    def logs(self) -> str:
        return self.container.logs(tail=200).decode("utf-8", "replace")

    def post(self, wait: bool = True, timeout: float = COLD_START_LIMIT_S) -> requests.Response:
        example = body_for(TASK)
        headers = {"content-type": example.content_type, **(WAIT if wait else {})}
        return requests.post(f"{self.url}/models/{MODEL}", data=example.body, headers=headers, timeout=timeout)


@pytest.fixture(scope="module")
def gateway(
    engine: dh.Engine,
    swarm: dh.Swarm,
    images: Any,
    gateway_image: dh.Build,
    test_models: Any,
    run_id: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveGateway]:
    if not engine.host.startswith("unix://"):
        pytest.skip("the gateway container needs the engine's socket (DOCKER_HOST is not a unix socket)")
    socket_path = engine.host[len("unix://") :]
    images(LIBRARY)
    models_dir = tmp_path_factory.mktemp("swarm-models")
    models_directory(models_dir, test_models, {LIBRARY: TASK})
    labels = dh.test_labels(run_id)
    template = f"aic-t{run_id}-{{library}}"
    env = {
        "GATEWAY_BACKEND": "swarm",
        "DOCKER_HOST": "unix:///var/run/docker.sock",
        "GATEWAY_DOCKER_NETWORK": swarm.network,
        "GATEWAY_DOCKER_IMAGE": dh.image_tag("{library}"),
        "GATEWAY_DOCKER_VOLUME": f"aic-test-swarm-{run_id}",
        "GATEWAY_DOCKER_LABELS": ",".join(f"{key}={value}" for key, value in labels.items()),
        "GATEWAY_SERVICE_NAME": template,
        "GATEWAY_LIBRARIES": LIBRARY,
        "GATEWAY_MODELS_SOURCE": str(models_dir),
        "MODELS_DIR": "/models",
        "HF_HUB_OFFLINE": "1",
        "POOL_HEALTH_INTERVAL": "0.5",
        "POOL_IDLE_TIMEOUT": str(IDLE_S),
        "GATEWAY_SWARM_HEALTH_INTERVAL": "1",
        "AUTOSCALE": "1",
        "AUTOSCALE_TARGET": str(TARGET),
        "AUTOSCALE_MAX_REPLICAS": str(MAX_REPLICAS),
        "AUTOSCALE_STABLE_WINDOW": str(STABLE_S),
        "AUTOSCALE_PANIC_WINDOW": str(PANIC_S),
        "AUTOSCALE_INTERVAL": str(INTERVAL_S),
        "SHUTDOWN_GRACE": "10",
        "GATEWAY_AUTH": "off",  # no tokens nor per-caller limits in this test
    }
    container = engine.client.containers.run(
        gateway_image.tag,
        detach=True,
        name=f"aic-test-gateway-{run_id}",
        environment=env,
        volumes={
            socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"},
            str(models_dir): {"bind": "/models", "mode": "ro"},
        },
        ports={GATEWAY_PORT: ("127.0.0.1",)},
        group_add=[str(os.stat(socket_path).st_gid)],  # the engine's socket, for its unprivileged user
        labels=labels,
    )
    live = None
    try:
        engine.client.networks.get(swarm.network).connect(container)
        live = LiveGateway(published(container), container, service_name(template, LIBRARY), engine)
        wait_for(lambda: requests.get(live.url + "/health", timeout=2).status_code == 200, 60, live.logs)
        yield live
    finally:
        container.stop(timeout=60)  # SIGTERM: the gateway removes its services on the way out
        code = container.wait(timeout=90).get("StatusCode")
        logs = container.logs().decode("utf-8", "replace")
        container.remove(v=True, force=True)
        (tmp_path_factory.getbasetemp() / "swarm-gateway.log").write_text(logs)
        assert code == 0, logs[-3000:]
        assert "Traceback" not in logs, logs[-3000:]
        left = [s.name for s in engine.client.services.list(filters={"label": dh.TEST_LABEL}) if run_id in s.name]
        assert not left, f"the gateway left its services behind: {left}"


def published(container: Any) -> str:
    deadline = time.monotonic() + 30
    while True:
        container.reload()
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(GATEWAY_PORT)
        if bindings:
            return f"http://127.0.0.1:{bindings[0]['HostPort']}"
        assert time.monotonic() < deadline and container.status not in ("exited", "dead"), container.logs()[-3000:]
        time.sleep(0.1)


def wait_for(condition: Callable[[], bool], timeout: float, logs: Callable[[], str], step: float = 0.25) -> float:
    """Seconds until `condition()` holds (exceptions count as not yet)."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except requests.RequestException:
            pass
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f} s; the gateway's log:\n{logs()[-4000:]}")
        time.sleep(step)


@dataclass
class Load:
    """Closed-loop clients, each sending waiting requests one after the other until stopped."""

    gateway: LiveGateway
    results: List[Tuple[float, int, float]] = field(default_factory=list)  # (sent at, status, seconds)
    threads: List[threading.Thread] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, clients: int) -> None:
        for _ in range(clients):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self.threads.append(thread)

    def _client(self) -> None:
        example = body_for(TASK)
        headers = {"content-type": example.content_type, **WAIT}
        with requests.Session() as session:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    status = session.post(
                        f"{self.gateway.url}/models/{MODEL}", data=example.body, headers=headers, timeout=120
                    ).status_code
                except requests.RequestException:
                    status = 0
                with self.lock:
                    self.results.append((sent, status, time.monotonic() - sent))

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(150)

    def failures(self) -> List[Tuple[float, int, float]]:
        return [result for result in self.results if result[1] != 200]


def test_a_pool_follows_its_load_up_down_and_to_zero_on_swarm(gateway: LiveGateway) -> None:
    logs = gateway.logs
    started = time.monotonic()

    # ---- at zero: a request that does not wait gets 503 and starts the pool; one that waits is held
    cold = gateway.post(wait=False, timeout=30)
    assert cold.status_code == 503 and cold.json()["estimated_time"] > 0, cold.text
    held = gateway.post()
    assert held.status_code == 200, held.text
    FIGURES["first cold start, held request answered after (s)"] = round(time.monotonic() - started, 1)

    # ---- 1 client: one replica is enough
    load = Load(gateway)
    load.add(1)
    time.sleep(STABLE_S)
    assert gateway.pool()["desired"] == 1, gateway.pool()

    # ---- a step to 16 clients: up within the panic window
    load.add(CLIENTS - 1)
    step = time.monotonic()
    FIGURES["step 1 -> 16 clients: desired 4 after (s)"] = round(
        wait_for(lambda: gateway.pool()["desired"] >= MAX_REPLICAS, 60, logs, step=0.1), 1
    )
    assert FIGURES["step 1 -> 16 clients: desired 4 after (s)"] <= PANIC_S + 2 * INTERVAL_S + 1.0
    FIGURES["step: 4 replicas healthy in the gateway after (s)"] = round(
        time.monotonic() - step + wait_for(lambda: gateway.healthy() == MAX_REPLICAS, COLD_START_LIMIT_S, logs), 1
    )
    assert gateway.running_tasks() == MAX_REPLICAS
    time.sleep(3)
    assert gateway.pool()["desired"] == MAX_REPLICAS  # held while the load lasts
    spread = {replica["url"] for replica in gateway.pool()["replicas"]}
    assert len(spread) == MAX_REPLICAS  # four addresses found by DNS

    # ---- the load stops: down after the stable window, in the gateway and in Swarm
    load.finish()
    stopped = time.monotonic()
    down = wait_for(lambda: gateway.pool()["desired"] == 1, STABLE_S + 30, logs, step=0.1)
    FIGURES["load stopped: desired 1 after (s)"] = round(down, 1)
    assert STABLE_S - 2 * INTERVAL_S <= down <= STABLE_S + PANIC_S + 3 * INTERVAL_S
    wait_for(lambda: gateway.running_tasks() == 1 and len(gateway.pool()["replicas"]) == 1, 60, logs)
    FIGURES["load stopped: 1 task running, 1 replica in DNS after (s)"] = round(time.monotonic() - stopped, 1)

    # ---- idle: to zero (the service kept at 0 tasks, nothing left in DNS)
    wait_for(lambda: gateway.pool()["desired"] == 0, IDLE_S + 30, logs)
    idle = time.monotonic() - stopped
    FIGURES["idle: desired 0 after the last request (s)"] = round(idle, 1)
    assert IDLE_S - 2 * INTERVAL_S <= idle <= IDLE_S + 3 * INTERVAL_S + 2
    wait_for(lambda: gateway.live_tasks() == 0 and gateway.pool()["replicas"] == [], 60, logs)  # all stopped

    # ---- the next request is held while a replica starts, then answered
    again = time.monotonic()
    answer = gateway.post()
    assert answer.status_code == 200, answer.text
    FIGURES["from zero: held request answered after (s)"] = round(time.monotonic() - again, 1)

    # ---- no request failed during any of it
    FIGURES["requests under load"] = len(load.results)
    FIGURES["failed requests"] = len(load.failures())
    latencies = sorted(seconds for _, status, seconds in load.results if status == 200)
    FIGURES["latency p50 / p99 under load (ms)"] = (
        round(1000 * latencies[len(latencies) // 2]),
        round(1000 * latencies[int(len(latencies) * 0.99)]),
    )
    metrics = requests.get(gateway.url + "/metrics", timeout=10).text
    FIGURES["decisions"] = {
        line.split('reason="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("aic_autoscale_decisions_total{")
    }
    FIGURES["whole scenario (s)"] = round(time.monotonic() - started, 1)
    report = json.dumps(FIGURES, indent=2)
    print(f"\n[swarm] {report}")
    if os.environ.get("AIC_SWARM_FIGURES"):
        Path(os.environ["AIC_SWARM_FIGURES"]).write_text(report)
    assert not load.failures(), load.failures()[:10]
