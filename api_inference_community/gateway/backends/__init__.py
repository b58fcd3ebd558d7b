"""Where a pool's replicas run: behind one small interface (`base.Backend`), one module per engine.

`swarm` and `kubernetes` discover their replicas by DNS (`..discovery.DiscoveredBackend`).
"""

from ..settings import GatewaySettings
from .base import Backend


def make_backend(settings: GatewaySettings) -> Backend:
    """The backend GATEWAY_BACKEND names."""
    if settings.backend == "docker":
        from .docker import DockerBackend

        return DockerBackend(settings)
    if settings.backend == "swarm":
        from .swarm import SwarmBackend

        return SwarmBackend(settings)
    if settings.backend == "kubernetes":
        from .kubernetes import KubernetesBackend

        return KubernetesBackend(settings)
    from .process import ProcessBackend

    return ProcessBackend(settings)
