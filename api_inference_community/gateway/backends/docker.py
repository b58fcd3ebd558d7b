"""The `docker` backend: each replica is a container of `api-inference/<library>` on a Docker engine.

Started with the Docker SDK for Python (the engine `DOCKER_HOST` names, or the default socket).
Replicas share one `/data` volume (the Hub cache) and mount the models directory read-only at
`/models`; each publishes its port 80 on 127.0.0.1 (a random host port) for the gateway.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Dict

from ..settings import GatewaySettings
from .base import Replica

LABEL = "org.huggingface.api-inference.gateway"
CONTAINER_PORT = "80/tcp"


class DockerBackend:
    name = "docker"

    def __init__(self, settings: GatewaySettings, client: Any = None) -> None:
        import docker

        self.settings = settings
        self.client = client or docker.from_env()

    def environment(self, library: str, pinned: str) -> Dict[str, str]:
        env = dict(self.settings.replica_environment())
        env.update({"MULTI_MODEL": "1", "LIBRARY_NAME": library, "HF_HOME": "/data"})
        if self.settings.models_dir:
            env["MODELS_DIR"] = "/models"
        if self.settings.hf_hub_offline:
            env["HF_HUB_OFFLINE"] = "1"
        if pinned:
            env["PINNED_MODELS"] = pinned
        return env

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        volumes: Dict[str, Dict[str, str]] = {self.settings.docker_volume: {"bind": "/data", "mode": "rw"}}
        if self.settings.models_dir:
            volumes[str(Path(self.settings.models_dir).resolve())] = {"bind": "/models", "mode": "ro"}
        container = self.client.containers.run(
            self.settings.docker_image.format(library=library),
            detach=True,
            name=f"aic-{slot}-{uuid.uuid4().hex[:8]}",
            environment=self.environment(library, pinned),
            volumes=volumes,
            ports={CONTAINER_PORT: ("127.0.0.1", None)},
            labels={LABEL: "1", f"{LABEL}.library": library, f"{LABEL}.slot": slot},
            network=self.settings.docker_network,
        )
        container.reload()
        host_port = container.attrs["NetworkSettings"]["Ports"][CONTAINER_PORT][0]["HostPort"]
        return Replica(slot, library, f"http://127.0.0.1:{host_port}", handle=container)

    def exited(self, replica: Replica) -> bool:
        import docker.errors

        try:
            replica.handle.reload()
        except docker.errors.NotFound:
            return True
        return replica.handle.status in ("exited", "dead", "removing")

    def stop(self, replica: Replica, grace: float) -> None:
        import docker.errors

        try:
            replica.handle.stop(timeout=int(grace) + 1)
            replica.handle.remove(force=True)
        except docker.errors.NotFound:
            pass

    def logs(self, replica: Replica) -> str:
        try:
            return replica.handle.logs(tail=100).decode(errors="replace")
        except Exception:  # the container is gone: nothing to show
            return ""

    def close(self) -> None:
        self.client.close()
