"""Session fixtures of the Docker harness: engine, base image, PyTorch wheels, one build per image.

Tests marked `docker` run when asked for: `pytest tests/docker -m docker` (`make test-docker`)
or AIC_DOCKER_TESTS=1; a plain `pytest tests` skips them (the unmarked static checks of the
Dockerfiles still run). Build and run times per image are printed at the end of the session.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import docker.errors
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import docker_harness as dh  # noqa: E402

LIBRARIES = dh.libraries()
LIBRARY_TASKS = [(library, task) for library, tasks in LIBRARIES.items() for task in tasks]
_LIBRARY_OF: Dict[str, str] = {}  # test node id -> library, for the timings


def docker_requested(config: pytest.Config) -> bool:
    return "docker" in (config.option.markexpr or "") or os.environ.get("AIC_DOCKER_TESTS") == "1"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # module scope: the tests of one library (or one task) run together, on one container
    if "library" in metafunc.fixturenames:
        metafunc.parametrize("library", sorted(LIBRARIES), scope="module")
    elif "library_task" in metafunc.fixturenames:
        ids = [f"{library}-{task}" for library, task in LIBRARY_TASKS]
        metafunc.parametrize("library_task", LIBRARY_TASKS, ids=ids, scope="module")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    requested = docker_requested(config)
    skip = pytest.mark.skip(reason="Docker tests run on request: `pytest tests/docker -m docker` (make test-docker)")
    for item in items:
        if item.get_closest_marker("docker") is None:
            continue
        if not requested:
            item.add_marker(skip)
        params = getattr(getattr(item, "callspec", None), "params", {})
        library = params.get("library") or (params.get("library_task") or (None,))[0]
        if library:
            _LIBRARY_OF[item.nodeid] = library


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    library = _LIBRARY_OF.get(report.nodeid)
    if library and not report.skipped:
        dh.REPORT.library(library).test_seconds += report.duration


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if dh.REPORT.unavailable:
        terminalreporter.write_sep("!", "DOCKER TESTS SKIPPED: " + dh.REPORT.unavailable, red=True, bold=True)
        return
    if not dh.REPORT.engine:
        return
    terminalreporter.write_sep("=", "Docker images: build and run times")
    for line in dh.REPORT.lines():
        terminalreporter.write_line(line)


# ---------------------------------------------------------------- session


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def engine(run_id: str) -> Iterator[dh.Engine]:
    try:
        found = dh.acquire_engine()
    except dh.Unavailable as why:
        dh.REPORT.unavailable = str(why)
        message = f"DOCKER TESTS SKIPPED: {why}"
        print(f"\n{'!' * 20} {message} {'!' * 20}", file=sys.stderr, flush=True)
        if os.environ.get("AIC_REQUIRE_DOCKER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    how = "started by this session, stopped at its end" if found.started else "already running, left running"
    dh.REPORT.engine = f"{found.host} (Docker {found.version}; {how})"
    dh.log(f"engine: {dh.REPORT.engine}")
    dh.remove_leftovers(found)
    try:
        yield found
    finally:
        dh.remove_leftovers(found, run_id)
        dh.release_engine(found)


@pytest.fixture(scope="session")
def build_args(engine: dh.Engine) -> Iterator[Dict[str, str]]:
    base = dh.ensure_base_image(engine)
    dh.REPORT.base = f"{base.name} ({base.how})"
    dh.log(f"base image: {dh.REPORT.base}")
    torch = dh.torch_source()
    dh.REPORT.torch = torch.how
    dh.log(f"PyTorch: {torch.how}")
    try:
        yield dh.build_args(base, torch)
    finally:
        torch.stop()


@pytest.fixture(scope="session")
def images(engine: dh.Engine, build_args: Dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`images(library)`: the image's tag, built once per session (layers reused across sessions)."""
    built: Dict[str, dh.Build] = {}
    log_dir = tmp_path_factory.mktemp("docker-logs")

    def get(library: str) -> dh.Build:
        if library not in built:
            try:
                built[library] = dh.build_image(engine, library, build_args, log_dir)
            except dh.BuildFailed as error:
                pytest.fail(str(error), pytrace=False)
            dh.REPORT.library(library).build = built[library]
        return built[library]

    return get


@pytest.fixture(scope="session")
def gateway_image(engine: dh.Engine, build_args: Dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dh.Build:
    """The gateway's image (deploy/gateway/Dockerfile), built once per session."""
    try:
        build = dh.build_gateway_image(engine, build_args, tmp_path_factory.mktemp("docker-logs-gateway"))
    except dh.BuildFailed as error:
        pytest.fail(str(error), pytrace=False)
    dh.REPORT.library("gateway").build = build
    return build


@pytest.fixture(scope="session")
def swarm(engine: dh.Engine, run_id: str) -> Iterator[dh.Swarm]:
    """A one-node swarm and this run's attachable overlay network; afterwards, this run's services and
    network are removed and the engine leaves the swarm if this session made it join."""
    dh.remove_swarm_leftovers(engine)  # those of interrupted runs
    try:
        joined = dh.join_swarm(engine, run_id)
    except (dh.Unavailable, docker.errors.APIError) as why:
        pytest.skip(f"no swarm on this engine: {why}")
    try:
        network = dh.overlay_network(engine, f"aic-test-{run_id}", run_id)
        yield dh.Swarm(network, joined)
    finally:
        dh.remove_swarm_leftovers(engine, run_id)
        if joined:
            dh.leave_swarm(engine)


@pytest.fixture(scope="session")
def test_models(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`test_models(library)`: {task: {"path", "repo_id"}} from docker_images/<library>/tests/models.py."""
    cache: Dict[str, Dict[str, Dict[str, Any]]] = {}

    def get(library: str) -> Dict[str, Dict[str, Any]]:
        if library not in cache:
            cache[library] = load_test_models(library, tmp_path_factory.mktemp(f"models-{library}"))
        return cache[library]

    def calls(library: str) -> Dict[str, Any]:
        """{task: call(url)}: the image's own InferenceClient calls (`CLIENT_CALLS` of its tests/models.py)."""
        get(library)
        return getattr(sys.modules.get(f"aic_test_models_{library}"), "CLIENT_CALLS", {})

    get.calls = calls  # type: ignore[attr-defined]
    return get


def load_test_models(library: str, root: Path) -> Dict[str, Dict[str, Any]]:
    """The models the image's own tests use: `build_test_models(root)`, or a template's TEST_MODELS."""
    tests_dir = dh.IMAGES_DIR / library / "tests"
    path = tests_dir / "models.py"
    if not path.is_file():
        pytest.fail(f"docker_images/{library}/tests/models.py is missing: it gives the harness its test models")
    for folder in (tests_dir, tests_dir.parent):  # its helpers, and its `app` package
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(f"aic_test_models_{library}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # type: ignore[union-attr]  (its CLIENT_CALLS are read later)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    if hasattr(module, "build_test_models"):
        models = module.build_test_models(root)
    elif hasattr(module, "TEST_MODELS"):  # the template's form: task -> folder, Hub id or builder
        models = {}
        for task, source in module.TEST_MODELS.items():
            model = source(root / task) if callable(source) else source
            models[task] = {"path": Path(model), "repo_id": f"aic-test/{library}-{task}"}
    else:
        pytest.fail(f"{path} defines neither build_test_models(root) nor TEST_MODELS")
    for task, entry in models.items():
        entry["path"] = Path(entry["path"]).resolve()
        if not entry["path"].is_dir():
            pytest.fail(f"{library}: the test model of {task} is not a folder: {entry['path']}")
        if root.resolve() in entry["path"].parents:  # made by the tests: tmp folders are 0700
            dh.readable_by_all(entry["path"])
    return models
