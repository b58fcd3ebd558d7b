"""The `swarm` backend: each library pool is a Docker Swarm service of its image in multi-model mode.

The gateway creates, scales and removes the services with the Docker SDK; Swarm starts, places,
restarts and stops the tasks (on any node of the swarm). Each service uses `--endpoint-mode dnsrr`
on an attachable overlay network (GATEWAY_DOCKER_NETWORK): no virtual IP nor ingress (they need
IPVS), and `tasks.<service>` resolves to the address of every running task whose HEALTHCHECK passed
(the image's own check, run every GATEWAY_SWARM_HEALTH_INTERVAL seconds). The gateway runs on that
network too (as a container or a service) and finds the replicas there (`discovery`).

Replicas get the docker backend's environment, the `/data` volume (GATEWAY_DOCKER_VOLUME, one per
node) and the models directory read-only at `/models` (GATEWAY_MODELS_SOURCE: a folder present on
every node, or a volume).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Optional, Set

from ..discovery import DiscoveredBackend, Resolver, resolve
from ..settings import GatewaySettings, GatewaySettingsError
from .docker import LABEL, DockerBackend

logger = logging.getLogger(__name__)

UPDATE_ATTEMPTS = 8  # a scale that meets "update out of sequence" reloads the service and tries again
HEALTH_TIMEOUT_S = 5.0
HEALTH_RETRIES = 3
NS = 1_000_000_000


class SwarmBackend(DiscoveredBackend):
    name = "swarm"
    scales = True

    def __init__(self, settings: GatewaySettings, client: Any = None, resolver: Resolver = resolve) -> None:
        if not settings.docker_network:
            raise GatewaySettingsError(
                "The swarm backend needs GATEWAY_DOCKER_NETWORK: an attachable overlay network the gateway is on"
            )
        super().__init__(settings, resolver)
        import docker

        self.client = client or docker.from_env()
        # its replicas get the same variables as the docker backend's containers (multi-model mode, /data, ...)
        self.containers = DockerBackend(settings, client=self.client)
        self.managed: Set[str] = set()  # the services this gateway created or scaled

    def dns_name(self, library: str) -> str:
        return f"tasks.{self.service(library)}"

    # ------------------------------------------------------------------ services

    def find(self, library: str) -> Optional[Any]:
        """The library's service, fresh from the engine (None if there is none)."""
        import docker.errors

        try:
            return self.client.services.get(self.service(library))
        except docker.errors.NotFound:
            return None

    def scale(self, library: str, replicas: int, pinned: str = "") -> None:
        """Create the library's service with `replicas` tasks, or scale it; a service updated meanwhile
        ("update out of sequence") is read again and the scale tried again."""
        import docker.errors

        name = self.service(library)
        for attempt in range(UPDATE_ATTEMPTS):
            service = self.find(library)
            if service is None:
                if replicas > 0:
                    self.create(library, replicas, pinned)
                return
            self.managed.add(name)
            if replicated(service) == replicas:
                return
            try:
                service.scale(replicas)
                logger.info("Service %s scaled to %d", name, replicas)
                return
            except docker.errors.APIError as error:
                if "out of sequence" not in str(error):
                    raise
                logger.info("Service %s changed meanwhile; reading it again (%d)", name, attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"Service {name} could not be scaled to {replicas}: updated concurrently each time")

    def create(self, library: str, replicas: int, pinned: str = "") -> None:
        from docker.types import (
            ContainerSpec,
            EndpointSpec,
            Healthcheck,
            Mount,
            RestartPolicy,
            ServiceMode,
            TaskTemplate,
        )

        settings = self.settings
        name, image = self.service(library), settings.docker_image.format(library=library)
        labels = {LABEL: "1", f"{LABEL}.library": library, **settings.labels()}
        mounts = [Mount("/data", settings.docker_volume, type="volume", labels=settings.labels() or None)]
        source = settings.models_source or (str(Path(settings.models_dir).resolve()) if settings.models_dir else None)
        if source:
            kind = "bind" if source.startswith("/") else "volume"
            mounts.append(Mount("/models", source, type=kind, read_only=True))
        container = ContainerSpec(
            image,
            env=[f"{key}={value}" for key, value in self.containers.environment(library, pinned).items()],
            mounts=mounts,
            labels=labels,
            # the image's HEALTHCHECK command, run more often: a task is in DNS once it passes
            healthcheck=Healthcheck(
                interval=int(settings.swarm_health_interval_s * NS),
                timeout=int(HEALTH_TIMEOUT_S * NS),
                retries=HEALTH_RETRIES,
                start_period=int(settings.start_timeout_s * NS),
            ),
            stop_grace_period=int((settings.shutdown_grace_s + 5) * NS),
        )
        template = TaskTemplate(
            container, restart_policy=RestartPolicy(condition="any", delay=NS), networks=[settings.docker_network]
        )
        # what the engine fills in when a service is updated, given at creation: a scale then leaves the
        # task template as it is (a changed template makes Swarm replace every running task)
        template["Resources"] = {}
        template["Placement"] = {}
        container["DNSConfig"] = {}
        self.client.api.create_service(
            template,
            name=name,
            labels=labels,
            mode=ServiceMode("replicated", replicas=replicas),
            endpoint_spec=EndpointSpec(mode="dnsrr"),
        )
        self.managed.add(name)
        logger.info("Service %s created (%d replicas of %s)", name, replicas, image)

    def close(self) -> None:
        """Remove the services this gateway managed (their tasks stop with their grace period)."""
        import docker.errors

        for name in sorted(self.managed):
            try:
                service = self.client.services.get(name)
                if service.attrs.get("Spec", {}).get("Labels", {}).get(LABEL) == "1":
                    service.remove()
                    logger.info("Service %s removed", name)
            except docker.errors.APIError as error:
                logger.warning("Service %s could not be removed: %s", name, error)
        self.managed.clear()
        self.client.close()


def replicated(service: Any) -> Optional[int]:
    """The replicas a service asks for (None for a global service)."""
    mode = service.attrs.get("Spec", {}).get("Mode", {})
    return mode["Replicated"].get("Replicas", 0) if "Replicated" in mode else None
