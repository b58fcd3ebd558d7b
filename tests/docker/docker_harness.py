"""Build and run the library images on a real Docker engine (the machinery of tests/docker).

Engine, base image and PyTorch wheels are found or made here, once per test session:
- engine: the one DOCKER_HOST (or the default socket, or scripts/docker_engine.sh's private
  socket) points to if it answers; else, as root on Debian, scripts/docker_engine.sh installs
  and starts one, and the session stops it at the end;
- base image: AIC_BASE_IMAGE if set; else the official python:3.11-slim if present; else the
  local stand-in if an earlier run built it; else python:3.11-slim pulled; else the stand-in,
  built by scripts/base_image.sh (once: the engine keeps it);
- PyTorch: scripts/wheelhouse.sh's wheelhouse, served over http on 127.0.0.1 during builds on
  a fixed port (the URL is a build argument, so part of the layer cache key); or, with
  AIC_TORCH_INDEX_URL set, that index.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import docker
import docker.errors
import requests

from api_inference_community.hub.libraries import TEMPLATE, discover

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
IMAGES_DIR = ROOT / "docker_images"
IMAGE_PREFIX = "api-inference/"
OFFICIAL_BASE = "python:3.11-slim"
STAND_IN_BASE = "aic-base/python:3.11-slim-bookworm"
# below the ephemeral range (32768-60999), where servers on "any free port" never land
WHEELHOUSE_PORT = int(os.environ.get("AIC_WHEELHOUSE_PORT", "29871"))
TEST_LABEL = "org.huggingface.api-inference.test"  # on every container and volume the tests create
OWNER_LABEL = "org.huggingface.api-inference.test.pid"  # the pytest process that created it
TASKS_LABEL = "org.huggingface.api-inference.tasks"
GATEWAY_DOCKERFILE = "deploy/gateway/Dockerfile"
GATEWAY_TAG = IMAGE_PREFIX + "gateway"
GATEWAY_BUILD_ARGS = ("BASE_IMAGE", "VERSION", "REVISION")
CLIENT_TIMEOUT_S = 900  # a layer of several GB can take minutes to commit without output


def log(message: str) -> None:
    """A progress line (visible with `pytest -s`)."""
    print(f"[docker] {message}", flush=True)


def libraries() -> Dict[str, List[str]]:
    """{library: tasks} of every docker_images/<library>/ with a Dockerfile (not the template)."""
    return {
        library: tasks
        for library, tasks in discover(ROOT).items()
        if library != TEMPLATE and (IMAGES_DIR / library / "Dockerfile").is_file()
    }


def image_tag(library: str) -> str:
    return IMAGE_PREFIX + library


def project_version() -> str:
    text = (ROOT / "setup.py").read_text()
    found = re.search(r"""version\s*=\s*["']([^"']+)["']""", text)
    return found.group(1) if found else "0"


def git_revision() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        if done.returncode == 0:
            return done.stdout.strip()
    return ""


# ------------------------------------------------------------------ engine


class Unavailable(Exception):
    """No Docker engine can be had on this machine."""


@dataclass
class Engine:
    client: docker.DockerClient
    host: str
    started: bool  # started by this session: stopped at its end
    version: str = ""


def _script(name: str, *args: str, timeout: float, env: Optional[Mapping[str, str]] = None) -> Tuple[int, str, str]:
    done = subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return done.returncode, done.stdout, done.stderr


def _exported_host(stdout: str) -> Optional[str]:
    found = re.search(r"export DOCKER_HOST=(\S+)", stdout)
    return found.group(1) if found else None


def _connect(host: str) -> docker.DockerClient:
    client = docker.DockerClient(base_url=host, timeout=CLIENT_TIMEOUT_S)
    client.ping()
    return client


def acquire_engine() -> Engine:
    """An engine that answers: one already running, else one started here (root, Debian)."""
    candidates = [os.environ.get("DOCKER_HOST", "")]
    if shutil.which("docker") and (SCRIPTS / "docker_engine.sh").is_file():
        code, out, _ = _script("docker_engine.sh", "env", timeout=120)
        candidates.append((_exported_host(out) or "") if code == 0 else "")
    candidates += ["unix:///var/run/docker.sock", "unix:///run/aic-docker/docker.sock"]
    for host in filter(None, dict.fromkeys(candidates)):
        with contextlib.suppress(Exception):
            client = _connect(host)
            return Engine(client, host, started=False, version=client.version().get("Version", ""))
    if os.geteuid() != 0:
        raise Unavailable("no Docker engine answers (DOCKER_HOST, /var/run/docker.sock) and only root can start one")
    if not (shutil.which("dockerd") or shutil.which("apt-get")):
        raise Unavailable("no Docker engine answers, dockerd is not installed and apt-get is not available")
    log("no engine answers: starting one with scripts/docker_engine.sh (installs docker.io if needed)")
    try:
        code, out, err = _script("docker_engine.sh", "start", timeout=900)
    except subprocess.TimeoutExpired:
        raise Unavailable("scripts/docker_engine.sh start did not finish within 15 minutes") from None
    host = _exported_host(out)
    if code != 0 or not host:
        raise Unavailable(f"scripts/docker_engine.sh start failed: {err.strip().splitlines()[-3:]}")
    try:
        client = _connect(host)
    except Exception as error:
        raise Unavailable(f"the engine started at {host} does not answer: {error}") from None
    return Engine(client, host, started=True, version=client.version().get("Version", ""))


def release_engine(engine: Engine) -> None:
    """Stop the engine if this session started it (scripts/docker_engine.sh stops only its own)."""
    engine.client.close()
    if engine.started:
        log("stopping the engine this session started")
        code, _, err = _script("docker_engine.sh", "stop", timeout=120)
        if code != 0:
            log(f"scripts/docker_engine.sh stop failed: {err.strip()}")


# -------------------------------------------------------------- base image


@dataclass
class BaseImage:
    name: str
    how: str  # for the report


def _has_image(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def _pull(client: docker.DockerClient, name: str) -> Optional[str]:
    """None when pulled, else why not."""
    repository, _, tag = name.partition(":")
    try:
        client.images.pull(repository, tag=tag or "latest")
        return None
    except docker.errors.APIError as error:
        return str(error.explanation or error).strip()


def ensure_base_image(engine: Engine) -> BaseImage:
    client = engine.client
    wanted = os.environ.get("AIC_BASE_IMAGE", "").strip()
    if wanted:
        if _has_image(client, wanted) or _pull(client, wanted) is None:
            return BaseImage(wanted, "AIC_BASE_IMAGE")
        raise RuntimeError(f"AIC_BASE_IMAGE={wanted} is neither present nor pullable")
    if _has_image(client, OFFICIAL_BASE):
        return BaseImage(OFFICIAL_BASE, "official, present in the engine")
    if _has_image(client, STAND_IN_BASE):  # made by an earlier run, when the pull failed: no retry
        return BaseImage(STAND_IN_BASE, "local stand-in, built by an earlier run")
    why = _pull(client, OFFICIAL_BASE)
    if why is None:
        return BaseImage(OFFICIAL_BASE, "official, pulled")
    log(f"{OFFICIAL_BASE} cannot be pulled ({why}); building the stand-in {STAND_IN_BASE} (about a minute)")
    started = time.monotonic()
    code, _, err = _script("base_image.sh", STAND_IN_BASE, timeout=1800, env={"DOCKER_HOST": engine.host})
    if code != 0:
        raise RuntimeError(f"scripts/base_image.sh failed:\n{err[-3000:]}")
    return BaseImage(STAND_IN_BASE, f"local stand-in, built in {time.monotonic() - started:.0f} s")


# ---------------------------------------------------------------- PyTorch


def _port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port` (connections of an earlier server that linger
    in TIME_WAIT do not count: http.server binds with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _serves(url: str, folder: Path) -> bool:
    """Whether `url` lists exactly the wheels of `folder`."""
    try:
        listing = requests.get(url, timeout=5).text
    except requests.RequestException:
        return False
    wheels = {path.name for path in folder.glob("*.whl")}
    return bool(wheels) and set(re.findall(r'href="([^"]+\.whl)"', listing)) == wheels


@dataclass
class TorchSource:
    build_args: Dict[str, str]
    how: str
    server: Optional[subprocess.Popen] = None

    def stop(self) -> None:
        """Stop the wheelhouse's http server, by its pid."""
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()


def torch_source() -> TorchSource:
    index = os.environ.get("AIC_TORCH_INDEX_URL", "").strip()
    if index:
        return TorchSource({"TORCH_INDEX_URL": index}, f"index {index}")
    code, out, err = _script("wheelhouse.sh", timeout=1800)
    if code != 0:
        raise RuntimeError(f"scripts/wheelhouse.sh failed:\n{err[-3000:]}")
    folder = Path(out.strip().splitlines()[-1])
    port = WHEELHOUSE_PORT
    if not _port_free(port) and _serves(f"http://127.0.0.1:{port}/", folder):
        # another test run beside this one serves the same wheelhouse: same URL, same layer cache
        return TorchSource(
            {"TORCH_FIND_LINKS": f"http://127.0.0.1:{port}/"}, f"wheelhouse served by another process on {port}"
        )
    if not _port_free(port):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        log(f"port {WHEELHOUSE_PORT} is taken: serving the wheelhouse on {port} (the PyTorch layer is rebuilt)")
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    shown = folder.relative_to(ROOT) if ROOT in folder.parents else folder
    source = TorchSource({"TORCH_FIND_LINKS": url}, f"wheelhouse {shown} served at {url}", server)
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).ok:
                return source
        if server.poll() is not None or time.monotonic() > deadline:
            source.stop()
            raise RuntimeError(f"the wheelhouse http server did not answer at {url}")
        time.sleep(0.1)


# ------------------------------------------------------------------ builds


class BuildFailed(RuntimeError):
    pass


@dataclass
class Build:
    library: str
    tag: str
    seconds: float
    steps: int
    cached: int
    size: int
    log_path: Path
    slow_steps: List[Tuple[str, float]] = field(default_factory=list)  # (instruction, seconds) of 10 s or more


def build_image(engine: Engine, library: str, build_args: Mapping[str, str], log_dir: Path) -> Build:
    """`docker build -f docker_images/<library>/Dockerfile .` from the repository root."""
    return build_dockerfile(
        engine, library, f"docker_images/{library}/Dockerfile", image_tag(library), build_args, log_dir
    )


def build_gateway_image(engine: Engine, build_args: Mapping[str, str], log_dir: Path) -> Build:
    """`docker build -f deploy/gateway/Dockerfile .`: the gateway's image (no PyTorch: only its own arguments)."""
    wanted = {key: value for key, value in build_args.items() if key in GATEWAY_BUILD_ARGS}
    return build_dockerfile(engine, "gateway", GATEWAY_DOCKERFILE, GATEWAY_TAG, wanted, log_dir)


def build_dockerfile(
    engine: Engine, library: str, dockerfile: str, tag: str, build_args: Mapping[str, str], log_dir: Path
) -> Build:
    """`docker build -f DOCKERFILE -t TAG .` from the repository root, step by step in the log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{library}-build.log"
    tail: List[str] = []
    steps: List[Tuple[str, float, bool]] = []  # (instruction, started, cached)
    slow: List[Tuple[str, float]] = []
    started = time.monotonic()
    log(f"building {tag} (log: {log_path})")

    def close_step(now: float) -> None:
        if steps:
            text, since, cached = steps[-1]
            took = now - since
            log(f"  {library}: {text[:100]} ({'cached' if cached else f'{took:.1f} s'})")
            if took >= 10:
                slow.append((text, took))

    with open(log_path, "w") as out:
        stream = engine.client.api.build(
            path=str(ROOT),
            dockerfile=dockerfile,
            tag=tag,
            buildargs=dict(build_args),
            network_mode="host",  # RUN steps reach the wheelhouse server on 127.0.0.1
            rm=True,
            forcerm=True,
            pull=False,
            nocache=os.environ.get("AIC_DOCKER_NO_CACHE") == "1",
            decode=True,
            timeout=CLIENT_TIMEOUT_S,
        )
        for chunk in stream:
            if "error" in chunk:
                out.write(f"ERROR: {chunk['error']}\n")
                raise BuildFailed(f"docker build of {tag} failed: {chunk['error']}\n" + "".join(tail[-40:]))
            text = chunk.get("stream", "")
            if not text:
                continue
            now = time.monotonic()
            out.write(f"[{now - started:6.1f}s] {text}" if text.strip() else text)
            tail = (tail + [text])[-200:]
            if text.startswith("Step "):
                close_step(now)
                steps.append((text.strip(), now, False))
            elif "Using cache" in text and steps:
                steps[-1] = (steps[-1][0], steps[-1][1], True)
        close_step(time.monotonic())
    seconds = time.monotonic() - started
    size = engine.client.images.get(tag).attrs.get("Size", 0)
    prune_replaced(engine, tag)
    cached = sum(1 for _, _, was_cached in steps if was_cached)
    log(f"built {tag} in {seconds:.1f} s ({cached} of {len(steps)} steps cached, {size / 1e9:.2f} GB)")
    return Build(library, tag, seconds, len(steps), cached, size, log_path, slow)


def prune_replaced(engine: Engine, tag: str) -> int:
    """Remove the earlier builds of `tag` that a new build left untagged (keeps the engine's disk
    bounded across runs; the layers the current image still uses stay, as its parents)."""
    filters = {"dangling": True, "label": f"org.opencontainers.image.title={tag}"}
    with contextlib.suppress(docker.errors.APIError):
        return int(engine.client.images.prune(filters=filters).get("SpaceReclaimed") or 0)
    return 0


def build_args(base: BaseImage, torch: TorchSource) -> Dict[str, str]:
    return {"BASE_IMAGE": base.name, **torch.build_args, "VERSION": project_version(), "REVISION": git_revision()}


# -------------------------------------------------------------- containers


class NotReady(AssertionError):
    pass


@dataclass
class Running:
    """A container of an image under test, published on 127.0.0.1."""

    container: Any
    url: str
    started: float = field(default_factory=time.monotonic)

    def logs(self, since: Optional[float] = None) -> str:
        kwargs = {"since": int(since)} if since is not None else {}
        return self.container.logs(**kwargs).decode("utf-8", errors="replace")

    def status(self) -> str:
        self.container.reload()
        return self.container.status

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Seconds until GET /ready answers 200; NotReady (with the logs) if it fails or exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status() in ("exited", "dead"):
                raise NotReady(f"the container exited:\n{self.logs()[-4000:]}")
            with contextlib.suppress(requests.RequestException):
                response = requests.get(self.url + "/ready", timeout=2)
                if response.status_code == 200:
                    return time.monotonic() - self.started
                if response.headers.get("content-type", "").startswith("application/json"):
                    if response.json().get("status") == "failed":
                        raise NotReady(f"the model failed to load: {response.text}\n{self.logs()[-4000:]}")
            time.sleep(0.2)
        raise NotReady(f"not ready within {timeout:.0f} s:\n{self.logs()[-4000:]}")

    def wait_alive(self, timeout: float = 120.0) -> float:
        """Seconds until GET /health answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status() in ("exited", "dead"):
                raise NotReady(f"the container exited:\n{self.logs()[-4000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return time.monotonic() - self.started
            time.sleep(0.2)
        raise NotReady(f"/health did not answer within {timeout:.0f} s:\n{self.logs()[-4000:]}")

    def stop(self, timeout: float) -> Tuple[int, float]:
        """`docker stop` (SIGTERM, then SIGKILL after `timeout`): (exit code, seconds it took)."""
        started = time.monotonic()
        self.container.stop(timeout=int(timeout))
        result = self.container.wait(timeout=int(timeout) + 30)
        return int(result.get("StatusCode", -1)), time.monotonic() - started

    def remove(self) -> None:
        with contextlib.suppress(docker.errors.APIError):
            self.container.remove(v=True, force=True)  # with its anonymous /data volume


def run_container(
    engine: Engine,
    tag: str,
    env: Mapping[str, str],
    run_id: str,
    *,
    model_dir: Optional[Path] = None,
    models_dir: Optional[Path] = None,
    data_volume: Optional[str] = None,
    healthcheck: Optional[Dict[str, Any]] = None,
) -> Running:
    """`docker run -d -e ... [-v model:/model:ro] [-v models:/models:ro] [-v volume:/data] -p 127.0.0.1::80 tag`."""
    volumes: Dict[str, Dict[str, str]] = {}
    if model_dir is not None:
        volumes[str(model_dir)] = {"bind": "/model", "mode": "ro"}
    if models_dir is not None:
        volumes[str(models_dir)] = {"bind": "/models", "mode": "ro"}
    if data_volume is not None:
        volumes[data_volume] = {"bind": "/data", "mode": "rw"}
    container = engine.client.containers.run(
        tag,
        detach=True,
        name=f"aic-test-{tag.rsplit('/', 1)[-1]}-{uuid.uuid4().hex[:8]}",
        environment=dict(env),
        volumes=volumes,
        ports={"80/tcp": ("127.0.0.1",)},  # a free host port, on the loopback only
        labels=test_labels(run_id),
        healthcheck=healthcheck,
    )
    started = time.monotonic()
    deadline = started + 30
    while True:
        container.reload()
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get("80/tcp")
        if bindings:
            return Running(container, f"http://127.0.0.1:{bindings[0]['HostPort']}", started)
        if container.status in ("exited", "dead") or time.monotonic() > deadline:
            logs = container.logs().decode(errors="replace")
            container.remove(v=True, force=True)
            raise NotReady(f"{tag} did not publish port 80 (status {container.status}):\n{logs[-4000:]}")
        time.sleep(0.1)


@contextlib.contextmanager
def running(engine: Engine, tag: str, env: Mapping[str, str], run_id: str, **kwargs: Any) -> Iterator[Running]:
    """A container for the duration of the block, removed afterwards."""
    handle = run_container(engine, tag, env, run_id, **kwargs)
    try:
        yield handle
    finally:
        handle.remove()


def test_labels(run_id: str) -> Dict[str, str]:
    return {TEST_LABEL: run_id, OWNER_LABEL: str(os.getpid())}


def _owner_gone(labels: Mapping[str, str]) -> bool:
    try:
        os.kill(int(labels.get(OWNER_LABEL, "")), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False


def remove_leftovers(engine: Engine, run_id: Optional[str] = None) -> None:
    """The containers and volumes of this run (`run_id`), or else those of earlier, interrupted
    runs whose pytest process is gone (never those of a run going on beside this one)."""

    def ours(labels: Mapping[str, str]) -> bool:
        return labels.get(TEST_LABEL) == run_id if run_id else _owner_gone(labels)

    for container in engine.client.containers.list(all=True, filters={"label": TEST_LABEL}):
        if ours(container.labels):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(v=True, force=True)
    for volume in engine.client.volumes.list(filters={"label": TEST_LABEL}):
        if ours(volume.attrs.get("Labels") or {}):
            with contextlib.suppress(docker.errors.APIError):
                volume.remove(force=True)


# ------------------------------------------------------------------ swarm

SWARM_LISTEN = "127.0.0.1:2377"
NETWORK_GONE_TIMEOUT_S = 90.0


@dataclass
class Swarm:
    """A one-node swarm on the harness's engine, and the attachable overlay network of one test run."""

    network: str
    joined: bool  # this session made the engine a swarm manager: it leaves the swarm at its end


def join_swarm(engine: Engine, run_id: str) -> bool:
    """Make the engine a one-node swarm manager (`docker swarm init --advertise-addr 127.0.0.1`) unless it
    is one; True when this session did it (or an interrupted run of the harness did: its node is labelled)."""
    state = engine.client.info().get("Swarm") or {}
    if state.get("LocalNodeState") == "active" and not state.get("NodeID"):
        log("the engine is half out of a swarm (a leave that timed out): leaving it")
        leave_swarm(engine)
        state = engine.client.info().get("Swarm") or {}
    if state.get("LocalNodeState") == "active":
        if not state.get("ControlAvailable"):
            raise Unavailable("the engine is a swarm worker: services can only be created on a manager")
        node = engine.client.nodes.get(state.get("NodeID", ""))
        labels = node.attrs.get("Spec", {}).get("Labels") or {}
        if TEST_LABEL in labels and _owner_gone(labels):  # left behind by an interrupted run
            _label_node(node, run_id)
            return True
        return False
    engine.client.swarm.init(advertise_addr="127.0.0.1", listen_addr=SWARM_LISTEN)
    state = engine.client.info().get("Swarm") or {}
    _label_node(engine.client.nodes.get(state.get("NodeID", "")), run_id)
    log("the engine is now a one-node swarm manager (advertised on 127.0.0.1)")
    return True


def _label_node(node: Any, run_id: str) -> None:
    spec = dict(node.attrs.get("Spec") or {})
    spec["Labels"] = {**(spec.get("Labels") or {}), **test_labels(run_id)}
    node.update(spec)


def leave_swarm(engine: Engine, attempts: int = 5) -> None:
    """`docker swarm leave --force`, again until the engine says it is out (a busy engine may time out)."""
    for attempt in range(attempts):
        with contextlib.suppress(docker.errors.APIError):
            engine.client.swarm.leave(force=True)
        if (engine.client.info().get("Swarm") or {}).get("LocalNodeState") == "inactive":
            log("the engine left the swarm")
            return
        time.sleep(2 * (attempt + 1))
    log("the engine could not leave the swarm: run `docker swarm leave --force`")


def overlay_network(engine: Engine, name: str, run_id: str) -> str:
    """`docker network create -d overlay --attachable NAME`, labelled as this run's."""
    engine.client.networks.create(name, driver="overlay", attachable=True, labels=test_labels(run_id))
    return name


def remove_swarm_leftovers(engine: Engine, run_id: Optional[str] = None) -> None:
    """The services and overlay networks of this run (`run_id`), or else those of interrupted runs whose
    pytest process is gone; a network goes once its services' tasks have stopped."""

    def ours(labels: Mapping[str, str]) -> bool:
        return labels.get(TEST_LABEL) == run_id if run_id else _owner_gone(labels)

    with contextlib.suppress(docker.errors.APIError):
        for service in engine.client.services.list(filters={"label": TEST_LABEL}):
            if ours(service.attrs.get("Spec", {}).get("Labels") or {}):
                with contextlib.suppress(docker.errors.APIError):
                    service.remove()
    networks = [
        network
        for network in engine.client.networks.list(filters={"label": TEST_LABEL, "driver": "overlay"})
        if ours(network.attrs.get("Labels") or {})
    ]
    deadline = time.monotonic() + NETWORK_GONE_TIMEOUT_S
    for network in networks:
        while True:
            try:
                network.remove()
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:  # tasks still attached: they are stopping
                if time.monotonic() > deadline:
                    log(f"the network {network.name} could not be removed: it still has endpoints")
                    break
                time.sleep(1)


def tar_directory(source: Path, arcname: str, uid: int, gid: int) -> bytes:
    """`source` as a tar archive (symlinks kept) whose entries belong to uid:gid."""

    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(str(source), arcname=arcname, filter=owned)
    return buffer.getvalue()


def readable_by_all(path: Path) -> None:
    """Let the container's unprivileged user read a model folder made by the tests (tmp dirs are 0700)."""
    for entry in [path, *path.rglob("*")]:
        if entry.is_symlink():
            continue
        mode = entry.stat().st_mode
        entry.chmod(mode | (0o755 if entry.is_dir() else 0o644))


# ------------------------------------------------------------------ report


@dataclass
class LibraryReport:
    build: Optional[Build] = None
    ready: Dict[str, float] = field(default_factory=dict)  # what -> seconds to ready
    stops: Dict[str, float] = field(default_factory=dict)  # what -> seconds docker stop took
    test_seconds: float = 0.0  # setup + call + teardown of its tests, build included


@dataclass
class SessionReport:
    engine: str = ""
    base: str = ""
    torch: str = ""
    unavailable: str = ""
    libraries: Dict[str, LibraryReport] = field(default_factory=dict)

    def library(self, name: str) -> LibraryReport:
        return self.libraries.setdefault(name, LibraryReport())

    def lines(self) -> List[str]:
        out = [f"engine: {self.engine}", f"base image: {self.base}", f"PyTorch: {self.torch}"]
        for name, lib in sorted(self.libraries.items()):
            build = lib.build
            run = lib.test_seconds - (build.seconds if build else 0.0)
            head = f"{name}: "
            if build:
                head += (
                    f"build {build.seconds:.1f} s ({build.cached}/{build.steps} steps cached), "
                    f"image {build.size / 1e9:.2f} GB, "
                )
            head += f"run {run:.1f} s" if lib.test_seconds else "(used by other tests)"
            out.append(head)
            for text, took in build.slow_steps if build else []:
                out.append(f"    {took:5.1f} s  {text[:90]}")
            if lib.ready:
                out.append("    ready after: " + ", ".join(f"{k} {v:.1f} s" for k, v in lib.ready.items()))
            if lib.stops:
                out.append("    docker stop: " + ", ".join(f"{k} {v:.1f} s" for k, v in lib.stops.items()))
        return out


REPORT = SessionReport()
