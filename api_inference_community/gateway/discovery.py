"""Replicas found by DNS: a pool's replicas are the addresses of one name, whatever engine runs them.

On Docker Swarm the name is `tasks.<service>` (a service with `--endpoint-mode dnsrr` on an
attachable overlay network: one A record per running, healthy task); on Kubernetes it is a headless
Service (one A record per ready pod). The engine starts, replaces and stops the replicas; the
gateway only resolves the name (`socket.getaddrinfo`, the standard library) and checks each address.
`DiscoveredBackend` is the part both engines share: addresses, and whether a replica is gone.
"""

from __future__ import annotations

import socket
from typing import Callable, List
from urllib.parse import urlsplit

from .backends.base import Replica
from .settings import GatewaySettings

Resolver = Callable[[str], List[str]]
CONNECT_TIMEOUT_S = 1.0


def resolve(name: str) -> List[str]:
    """The addresses `name` resolves to, sorted (none when it does not resolve: no replica yet)."""
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def service_name(template: str, library: str) -> str:
    """A library's service name: `template` with `{library}` as a DNS label (`sentence_transformers` ->
    `sentence-transformers`)."""
    return template.format(library=library.replace("_", "-").lower())


def url_of(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


def accepts_connections(url: str, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """Whether a TCP connection to `url`'s host and port can be made now."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


class DiscoveredBackend:
    """A backend whose replicas are discovered by DNS; subclasses name the DNS name and scale (or not).

    `discovers` tells the pool to find its replicas (`addresses`) instead of starting them one by
    one; `scales` whether `scale` changes anything (False: an outside autoscaler does, e.g. KEDA).
    """

    name = "discovered"
    discovers = True
    scales = False

    def __init__(self, settings: GatewaySettings, resolver: Resolver = resolve) -> None:
        self.settings = settings
        self.resolver = resolver

    def service(self, library: str) -> str:
        return service_name(self.settings.service_name, library)

    def dns_name(self, library: str) -> str:
        return self.service(library)

    def addresses(self, library: str) -> List[str]:
        """The base URLs of the library's replicas in DNS now."""
        return [url_of(address, self.settings.replica_port) for address in self.resolver(self.dns_name(library))]

    def scale(self, library: str, replicas: int, pinned: str = "") -> None:
        """Ask the engine for `replicas` replicas of the library (nothing here: the engine decides)."""

    def exited(self, replica: Replica) -> bool:
        """Whether the replica is gone: out of DNS, or refusing connections (it is shutting down)."""
        return replica.url not in self.addresses(replica.library) or not accepts_connections(replica.url)

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        raise NotImplementedError(f"the {self.name} backend discovers its replicas: they are never started one by one")

    def stop(self, replica: Replica, grace: float) -> None:
        """Nothing: the engine stops its replicas."""

    def logs(self, replica: Replica) -> str:
        return ""

    def close(self) -> None:
        pass
