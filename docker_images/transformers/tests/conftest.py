"""Fixtures of the transformers image's tests: the tiny models are built once per session, and
each task's app (in-process or behind a real server) is started once and shared."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Tuple

import pytest

TESTS_DIR = Path(__file__).resolve().parent
for path in (TESTS_DIR.parent, TESTS_DIR):  # `app` (the image's package) and the test helpers
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from transformers_testing import Models, ThreadedServer, build_models, load, serving  # noqa: E402

from api_inference_community import Pipeline  # noqa: E402
from api_inference_community.testing.hub_cache import online_hub_client  # noqa: E402


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    """Every tiny model, built once: folders, and Hub ids in an offline cache."""
    return build_models(tmp_path_factory.mktemp("transformers"))


@pytest.fixture(scope="session")
def served(models: Models) -> Iterator[Callable[..., Any]]:
    """`served(task, **settings)`: a TestClient of the task's app on its tiny model (by Hub id), shared."""
    clients: Dict[Tuple[str, Tuple[Tuple[str, Any], ...]], Any] = {}
    with contextlib.ExitStack() as stack:

        def get(task: str, **overrides: Any) -> Any:
            key = (task, tuple(sorted(overrides.items())))
            if key not in clients:
                clients[key] = stack.enter_context(serving(task, models.repo_id(task), models.hf_home, **overrides))
            return clients[key]

        yield get


@pytest.fixture(scope="session")
def live(models: Models) -> Iterator[Callable[[str], str]]:
    """`live(task)`: the URL of the task's app behind a real HTTP server (uvicorn, 127.0.0.1), shared."""
    servers: Dict[str, ThreadedServer] = {}

    def get(task: str) -> str:
        if task not in servers:
            servers[task] = ThreadedServer(task, models.repo_id(task), models.hf_home)
        return servers[task].url

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def pipeline(models: Models) -> Callable[[str], Pipeline]:
    """`pipeline(task)`: the task's pipeline on its tiny model (torch), loaded once."""
    from app.main import ALLOWED_TASKS

    loaded: Dict[str, Pipeline] = {}

    def get(task: str) -> Pipeline:
        if task not in loaded:
            loaded[task] = load(ALLOWED_TASKS[task], models.folder(task), hf_home=str(models.hf_home))
        return loaded[task]

    return get


@pytest.fixture(scope="module", autouse=True)
def online_client():
    """InferenceClient against the live servers here, although HF_HUB_OFFLINE is set in this process."""
    with online_hub_client():
        yield
