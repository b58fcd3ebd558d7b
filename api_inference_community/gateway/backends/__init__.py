"""Where a pool's replicas run: behind one small interface (`base.Backend`), one module per engine."""

from ..settings import GatewaySettings
from .base import Backend


def make_backend(settings: GatewaySettings) -> Backend:
    """The backend GATEWAY_BACKEND names."""
    if settings.backend == "docker":
        from .docker import DockerBackend

        return DockerBackend(settings)
    from .process import ProcessBackend

    return ProcessBackend(settings)
