"""deploy/kubernetes: every object valid for Kubernetes (kubernetes-validate) and KEDA (the ScaledObject
schema in deploy/kubernetes/schemas), and in agreement with the code: names, labels, ports, probe paths,
environment variables and the metrics the ScaledObjects query."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fake_app import app as library_app

from api_inference_community.gateway.app import create_gateway_app
from api_inference_community.gateway.discovery import service_name
from api_inference_community.gateway.settings import ENVIRONMENT_VARIABLES as GATEWAY_VARIABLES
from api_inference_community.gateway.settings import GatewaySettings
from api_inference_community.hub.libraries import TEMPLATE, discover
from api_inference_community.runtime.settings import ENVIRONMENT_VARIABLES as SERVER_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.32.0"  # kubernetes-validate ships its schemas
KEDA_SCHEMA = json.loads((DEPLOY / "schemas" / "keda-scaledobject-v1alpha1.schema.json").read_text())
LIBRARIES = sorted(library for library in discover(ROOT) if library != TEMPLATE)
PROMETHEUS_KEYS = {
    "serverAddress", "query", "threshold", "activationThreshold", "namespace", "customHeaders",
    "ignoreNullValues", "queryParameters", "unsafeSsl", "timeout",
}  # fmt: skip
NAMESPACED = {"Deployment", "Service", "PodDisruptionBudget", "PersistentVolumeClaim", "ScaledObject"}


# ------------------------------------------------------------------ rendering (kustomize's subset we use)


def _documents(path: Path) -> List[Dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _pointer(path: str) -> List[Any]:
    parts: List[Any] = [part.replace("~1", "/").replace("~0", "~") for part in path.strip("/").split("/")]
    return [int(part) if part.isdigit() else part for part in parts]


def _patch(document: Dict[str, Any], operations: List[Dict[str, Any]]) -> None:
    for operation in operations:
        *parents, last = _pointer(operation["path"])
        node: Any = document
        for key in parents:
            node = node[key]
        if operation["op"] in ("add", "replace"):
            node[last] = operation["value"]
        elif operation["op"] == "remove":
            del node[last]
        else:
            raise AssertionError(f"patch operation {operation['op']} is not rendered here")


def _matches(document: Dict[str, Any], target: Dict[str, Any]) -> bool:
    return all(
        (document.get("kind") if key == "kind" else document["metadata"].get(key)) == value
        for key, value in target.items()
    )


def _containers(document: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    yield from document.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])


def render(folder: Path) -> List[Dict[str, Any]]:
    """`kubectl kustomize FOLDER` for the fields our kustomizations use (resources, namespace, images,
    JSON 6902 patches); any other field fails, so this stays true to kustomize."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
    assert set(kustomization) <= known, f"{folder}: fields this renderer does not know: {set(kustomization) - known}"
    documents: List[Dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        path = folder / resource
        documents += render(path) if path.is_dir() else _documents(path)
    documents = copy.deepcopy(documents)
    for document in documents:
        if kustomization.get("namespace") and document["kind"] in NAMESPACED:
            document["metadata"]["namespace"] = kustomization["namespace"]
        for image in kustomization.get("images", []):
            for container in _containers(document):
                if container["image"].split(":")[0] == image["name"]:
                    container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    for patch in kustomization.get("patches", []):
        for document in documents:
            if _matches(document, patch["target"]):
                _patch(document, yaml.safe_load(patch["patch"]))
    return documents


FOLDERS = {"base": DEPLOY / "base", "example": DEPLOY / "overlays" / "example"}
RENDERED = {name: render(folder) for name, folder in FOLDERS.items()}


def by_kind(documents: List[Dict[str, Any]], kind: str) -> Dict[str, Dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def env_of(container: Dict[str, Any]) -> Dict[str, Any]:
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container.get("env", [])}


def key(document: Dict[str, Any]) -> str:
    return f"{document['kind']}/{document['metadata']['name']}"


# ------------------------------------------------------------------ validity


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its kustomize) is not installed")
@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_the_rendering_is_kustomizes(name: str):
    built = subprocess.run(["kubectl", "kustomize", str(FOLDERS[name])], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    theirs = {key(doc): doc for doc in yaml.safe_load_all(built.stdout) if doc}
    ours = {key(doc): doc for doc in RENDERED[name]}
    assert theirs == ours


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_every_object_is_valid_for_kubernetes_and_keda(name: str):
    documents = RENDERED[name]
    assert documents
    for document in documents:
        if document["kind"] == "ScaledObject":
            jsonschema.validate(document, KEDA_SCHEMA)
        else:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda so: so["spec"]["triggers"][0]["metadata"].update(threshold=4), "is not of type 'string'"),
        (lambda so: so["spec"].update(minReplicas=0), "Additional properties"),
        (lambda so: so["spec"]["triggers"][0].update(metricType="Average"), "is not one of"),
        (lambda so: so["spec"]["scaleTargetRef"].pop("name"), "'name' is a required property"),
    ],
)
def test_the_keda_schema_refuses_what_keda_would_not_take(change, fragment: str):
    scaled = copy.deepcopy(next(iter(by_kind(RENDERED["base"], "ScaledObject").values())))
    change(scaled)
    with pytest.raises(jsonschema.ValidationError, match=re.escape(fragment)):
        jsonschema.validate(scaled, KEDA_SCHEMA)


def test_kubernetes_validate_refuses_a_broken_deployment():
    deployment = copy.deepcopy(by_kind(RENDERED["base"], "Deployment")["aic-gateway"])
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


# ------------------------------------------------------------------ agreement with the code


def gateway_container() -> Dict[str, Any]:
    return next(_containers(by_kind(RENDERED["base"], "Deployment")["aic-gateway"]))


def test_every_library_image_has_its_pool_and_the_gateway_serves_them_all():
    base = yaml.safe_load((DEPLOY / "base" / "kustomization.yaml").read_text())
    assert sorted(base["resources"]) == sorted(
        ["model-cache.yaml", "gateway.yaml", *(f"libraries/{library}.yaml" for library in LIBRARIES)]
    )
    env = env_of(gateway_container())
    assert sorted(env["GATEWAY_LIBRARIES"].split(",")) == LIBRARIES
    assert env["GATEWAY_BACKEND"] == "kubernetes"


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_pool_agrees_with_the_gateway_and_the_image(library: str):
    documents = RENDERED["base"]
    env = env_of(gateway_container())
    settings = GatewaySettings.from_env({name: str(value) for name, value in env.items() if isinstance(value, str)})
    name = service_name(settings.service_name, library)  # what the gateway resolves
    deployment = by_kind(documents, "Deployment")[name]
    service = by_kind(documents, "Service")[name]
    scaled = by_kind(documents, "ScaledObject")[name]
    pdb = by_kind(documents, "PodDisruptionBudget")[name]
    container = next(_containers(deployment))
    server_env = env_of(container)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert container["image"] == f"api-inference/{library}"
    assert server_env["LIBRARY_NAME"] == library and server_env["MULTI_MODEL"] == "1"
    assert labels["api-inference.huggingface.co/library"] == library
    # the headless Service: the name the gateway resolves, on the port the server listens to
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    port = container["ports"][0]
    assert int(server_env["PORT"]) == port["containerPort"] == service["spec"]["ports"][0]["port"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert settings.replica_port == port["containerPort"]
    # KEDA scales this Deployment, on this library's series of the gateway's metrics
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] == 0  # to zero: the gateway holds requests meanwhile
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "prometheus" and set(trigger["metadata"]) <= PROMETHEUS_KEYS
    assert {"serverAddress", "query", "threshold"} <= set(trigger["metadata"])
    assert float(trigger["metadata"]["threshold"]) > 0 and float(trigger["metadata"]["activationThreshold"]) == 0
    query = trigger["metadata"]["query"]
    assert set(re.findall(r'library="([^"]+)"', query)) == {library}
    exported = gateway_metrics(library)
    for metric in re.findall(r"(aic_[a-z_]+)\{", query):
        assert f'{metric}{{library="{library}"}}' in exported, f"{metric} is not exported by the gateway"


def gateway_metrics(library: str) -> str:
    """The gateway's /metrics text (its collectors are registered when the app is made)."""
    app = create_gateway_app(GatewaySettings(backend="kubernetes"), libraries={library: ["feature-extraction"]})
    return app.state.gateway.metrics.render().decode()


def test_probe_paths_are_routes_of_the_servers_they_probe():
    gateway_routes = {route.path for route in create_gateway_app(GatewaySettings(), libraries={}).routes}
    server_routes = {route.path for route in library_app.routes}
    for document in RENDERED["base"]:
        for container in _containers(document):
            routes = gateway_routes if container["name"] == "gateway" else server_routes
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe in container:
                    assert container[probe]["httpGet"]["path"] in routes, (key(document), probe)
            assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    annotations = by_kind(RENDERED["base"], "Deployment")["aic-gateway"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics" and "/metrics" in gateway_routes
    assert int(annotations["prometheus.io/port"]) == gateway_container()["ports"][0]["containerPort"]


def test_environment_variables_are_settings_the_code_reads():
    gateway_names = set(GATEWAY_VARIABLES.values())
    server_names = set(SERVER_VARIABLES.values())
    for document in RENDERED["base"]:
        for container in _containers(document):
            known = gateway_names if container["name"] == "gateway" else server_names
            unknown = set(env_of(container)) - known
            assert not unknown, f"{key(document)}: {sorted(unknown)} are read by no setting"
    gateway_env = env_of(gateway_container())
    settings = GatewaySettings.from_env({k: v for k, v in gateway_env.items() if isinstance(v, str)})
    assert settings.backend == "kubernetes" and settings.port == gateway_container()["ports"][0]["containerPort"]


def test_every_pod_runs_unprivileged_with_resources_and_a_disruption_budget():
    documents = RENDERED["base"]
    claims = by_kind(documents, "PersistentVolumeClaim")
    budgets = by_kind(documents, "PodDisruptionBudget").values()
    for deployment in by_kind(documents, "Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        for volume in pod.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets), key(deployment)
    assert by_kind(documents, "PersistentVolumeClaim")["aic-model-cache"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_example_overlay_sets_namespace_images_and_prometheus():
    documents = RENDERED["example"]
    assert {doc["metadata"].get("namespace") for doc in documents if doc["kind"] in NAMESPACED} == {"inference"}
    for document in by_kind(documents, "Deployment").values():
        assert all(container["image"].startswith("registry.example.com/") for container in _containers(document))
    for scaled in by_kind(documents, "ScaledObject").values():
        assert scaled["spec"]["triggers"][0]["metadata"]["serverAddress"].startswith("http://prometheus-operated.")
