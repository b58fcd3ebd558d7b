"""The backends whose replicas are found by DNS: resolution, the Swarm services (against a stand-in of
the Docker SDK), the Kubernetes mode, and the settings they read."""

from __future__ import annotations

import socket
from typing import Any, Dict, List, Optional

import docker.errors
import pytest

from api_inference_community.gateway.backends import make_backend
from api_inference_community.gateway.backends.base import Replica
from api_inference_community.gateway.backends.docker import LABEL
from api_inference_community.gateway.backends.kubernetes import KubernetesBackend
from api_inference_community.gateway.backends.swarm import SwarmBackend
from api_inference_community.gateway.discovery import accepts_connections, resolve, service_name, url_of
from api_inference_community.gateway.settings import GatewaySettings, GatewaySettingsError


def test_resolution_gives_the_addresses_of_a_name_or_none():
    assert resolve("localhost") and all(address in ("127.0.0.1", "::1") for address in resolve("localhost"))
    assert resolve("no-such-service.invalid") == []
    assert isinstance(resolve("bad..name"), list)  # never raises


def test_names_and_urls():
    assert service_name("aic-{library}", "sentence_transformers") == "aic-sentence-transformers"
    assert service_name("aic-{library}.inference.svc", "timm") == "aic-timm.inference.svc"
    assert url_of("10.0.1.7", 80) == "http://10.0.1.7:80"
    assert url_of("fd00::7", 8080) == "http://[fd00::7]:8080"


def test_a_replica_is_gone_when_it_leaves_dns_or_refuses_connections():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        names = {"aic-echo": ["127.0.0.1"]}
        backend = KubernetesBackend(GatewaySettings(replica_port=port), resolver=lambda name: names.get(name, []))
        replica = Replica("echo@x", "echo", f"http://127.0.0.1:{port}")
        assert backend.addresses("echo") == [replica.url]
        assert accepts_connections(replica.url) and not backend.exited(replica)
        names["aic-echo"] = []
        assert backend.exited(replica)  # out of DNS
    names["aic-echo"] = ["127.0.0.1"]
    assert backend.exited(replica)  # in DNS, but nothing listens any more


# ------------------------------------------------------------------ swarm, against a stand-in SDK


class FakeService:
    def __init__(self, client: FakeClient, name: str, spec: Dict[str, Any]) -> None:
        self.client, self.name, self.spec = client, name, spec
        mode = {key.lower(): value for key, value in dict(spec.get("mode") or {}).items()}
        self.replicas = mode["replicated"]["Replicas"]  # the SDK's ServiceMode, as the engine reads it
        self.version = 1
        self.removed = False

    @property
    def attrs(self) -> Dict[str, Any]:
        mode = {"Replicated": {"Replicas": self.replicas}}
        return {"Spec": {"Name": self.name, "Mode": mode, "Labels": self.spec["labels"]}, "Version": self.version}

    def scale(self, replicas: int) -> bool:
        if self.client.conflicts:  # another update landed first: this one was built on a stale version
            self.client.conflicts -= 1
            raise docker.errors.APIError("rpc error: update out of sequence")
        self.replicas = replicas
        self.version += 1
        return True

    def remove(self) -> None:
        self.removed = True
        del self.client.services.items[self.name]


class FakeServices:
    def __init__(self, client: FakeClient) -> None:
        self.client = client
        self.items: Dict[str, FakeService] = {}

    def get(self, name: str) -> FakeService:
        if name not in self.items:
            raise docker.errors.NotFound(f"service {name} not found")
        return self.items[name]

    def create(self, image: str, **kwargs: Any) -> FakeService:
        spec = {**kwargs, "image": image}
        service = FakeService(self.client, kwargs["name"], spec)
        self.items[kwargs["name"]] = service
        return service


class FakeApi:
    def __init__(self, client: FakeClient) -> None:
        self.client = client

    def create_service(self, task_template: Dict[str, Any], **kwargs: Any) -> Dict[str, str]:
        spec = {**kwargs, "task_template": task_template}
        self.client.services.items[kwargs["name"]] = FakeService(self.client, kwargs["name"], spec)
        return {"ID": kwargs["name"]}


class FakeClient:
    def __init__(self) -> None:
        self.services = FakeServices(self)
        self.api = FakeApi(self)
        self.conflicts = 0
        self.closed = False

    def close(self) -> None:
        self.closed = True


def swarm(**overrides: Any) -> SwarmBackend:
    settings = GatewaySettings(
        backend="swarm",
        docker_network="aic-net",
        docker_labels=("org.example.run=abc",),
        models_dir="/srv/models",
        hf_hub_offline=True,
        **overrides,
    )
    return SwarmBackend(settings, client=FakeClient(), resolver=lambda name: {"tasks.aic-timm": ["10.0.9.3"]}[name])


def test_the_swarm_backend_creates_one_dnsrr_service_per_library_on_the_overlay_network():
    backend = swarm(swarm_health_interval_s=1.5)
    backend.scale("timm", 2, pinned="org/a")
    service = backend.client.services.items["aic-timm"]
    spec, template = service.spec, service.spec["task_template"]
    container = template["ContainerSpec"]
    assert container["Image"] == "api-inference/timm"
    assert template["Networks"] == [{"Target": "aic-net"}] and dict(spec["endpoint_spec"])["Mode"] == "dnsrr"
    assert service.replicas == 2
    env = dict(entry.split("=", 1) for entry in container["Env"])
    assert env["MULTI_MODEL"] == "1" and env["LIBRARY_NAME"] == "timm" and env["PINNED_MODELS"] == "org/a"
    assert env["MODELS_DIR"] == "/models" and env["HF_HOME"] == "/data" and env["HF_HUB_OFFLINE"] == "1"
    mounts = {m["Target"]: m for m in container["Mounts"]}
    assert mounts["/data"]["Source"] == "aic-cache" and mounts["/data"]["Type"] == "volume"
    assert mounts["/data"]["VolumeOptions"]["Labels"] == {"org.example.run": "abc"}  # the volume is labelled too
    assert mounts["/models"] == {**mounts["/models"], "Source": "/srv/models", "Type": "bind", "ReadOnly": True}
    assert spec["labels"][LABEL] == "1" and spec["labels"]["org.example.run"] == "abc"
    assert container["Labels"] == spec["labels"]
    health = dict(container["Healthcheck"])
    assert "Test" not in health or health["Test"] is None  # the image's own check...
    assert health["Interval"] == 1_500_000_000  # ...more often
    # given at creation, as the engine fills them in on an update: scaling never replaces running tasks
    assert template["Resources"] == {} and template["Placement"] == {} and container["DNSConfig"] == {}
    assert backend.addresses("timm") == ["http://10.0.9.3:80"]


def test_the_swarm_backend_scales_and_retries_updates_out_of_sequence():
    backend = swarm()
    backend.scale("timm", 1)
    backend.client.conflicts = 2
    backend.scale("timm", 4)
    service = backend.client.services.items["aic-timm"]
    assert service.replicas == 4
    backend.client.conflicts = 100
    with pytest.raises(RuntimeError, match="concurrently"):
        backend.scale("timm", 2)
    backend.client.conflicts = 0
    backend.scale("timm", 0)
    assert service.replicas == 0  # kept at zero: scaling up again is fast


def test_a_service_at_zero_is_not_created_and_close_removes_only_what_the_gateway_managed():
    backend = swarm()
    backend.scale("sentence_transformers", 0)
    assert backend.client.services.items == {}
    backend.scale("timm", 1)
    backend.client.services.create("other", name="someone-else", labels={}, mode={"Replicated": {"Replicas": 1}})
    backend.close()
    assert list(backend.client.services.items) == ["someone-else"] and backend.client.closed


def test_models_source_may_be_a_volume():
    backend = swarm(models_source="aic-models")
    backend.scale("timm", 1)
    mounts = {
        m["Target"]: m
        for m in backend.client.services.items["aic-timm"].spec["task_template"]["ContainerSpec"]["Mounts"]
    }
    assert mounts["/models"]["Type"] == "volume" and mounts["/models"]["Source"] == "aic-models"


def test_swarm_needs_its_network_and_each_engine_is_named_by_the_settings():
    with pytest.raises(GatewaySettingsError, match="GATEWAY_DOCKER_NETWORK"):
        SwarmBackend(GatewaySettings(backend="swarm"), client=FakeClient())
    assert isinstance(make_backend(GatewaySettings(backend="kubernetes")), KubernetesBackend)
    kubernetes = KubernetesBackend(GatewaySettings(service_name="aic-{library}.inference.svc"))
    assert kubernetes.dns_name("timm") == "aic-timm.inference.svc" and kubernetes.scales is False


@pytest.mark.parametrize(
    "environ, fragment",
    [
        ({"GATEWAY_BACKEND": "nomad"}, "GATEWAY_BACKEND"),
        ({"GATEWAY_SERVICE_NAME": "aic"}, "GATEWAY_SERVICE_NAME"),
        ({"GATEWAY_DOCKER_LABELS": "novalue"}, "GATEWAY_DOCKER_LABELS"),
        ({"AUTOSCALE_TARGET": "0"}, "AUTOSCALE_TARGET"),
        ({"AUTOSCALE_MIN_REPLICAS": "5", "AUTOSCALE_MAX_REPLICAS": "2"}, "AUTOSCALE_MIN_REPLICAS"),
        ({"AUTOSCALE_PANIC_WINDOW": "90"}, "AUTOSCALE_PANIC_WINDOW"),
        ({"GATEWAY_REPLICA_PORT": "70000"}, "GATEWAY_REPLICA_PORT"),
    ],
)
def test_bad_settings_are_refused_by_name(environ: Dict[str, str], fragment: str):
    with pytest.raises(GatewaySettingsError, match=fragment):
        GatewaySettings.from_env(environ)


def test_settings_from_the_environment():
    settings = GatewaySettings.from_env(
        {
            "GATEWAY_BACKEND": "swarm",
            "AUTOSCALE": "true",
            "AUTOSCALE_TARGET": "2.5",
            "AUTOSCALE_STABLE_WINDOW": "30",
            "GATEWAY_DOCKER_LABELS": "a=1, b=x=y",
        }
    )
    assert settings.autoscale and settings.autoscale_target == 2.5 and settings.autoscale_stable_window_s == 30
    assert settings.labels() == {"a": "1", "b": "x=y"}
    none: Optional[List[str]] = None
    assert GatewaySettings.from_env({"GATEWAY_MODELS_SOURCE": ""}).models_source is none
