"""The `kubernetes` mode: the gateway only discovers a library's replicas; KEDA scales them.

Each library is a Deployment of its image in multi-model mode behind a headless Service
(`clusterIP: None`, GATEWAY_SERVICE_NAME, `aic-{library}` by default): its name resolves to the
address of every ready pod (readiness on `/ready`). KEDA scales each Deployment from the gateway's
`aic_gateway_concurrency{library}` metric (deploy/kubernetes/); the gateway never creates, scales
nor stops a pod, and holds the requests that arrive while a library is at zero (bounded by
WAIT_FOR_MODEL_TIMEOUT) until a pod is in DNS.
"""

from __future__ import annotations

from ..discovery import DiscoveredBackend


class KubernetesBackend(DiscoveredBackend):
    name = "kubernetes"
    scales = False  # KEDA (the HPA underneath) scales the Deployments
