"""The models the tests serve, one per task: tiny random-weight models built by `tiny_models`.

`TEST_MODELS` is what the shared contract tests read; `build_test_models` is read by the Docker
harness (tests/docker), which mounts each folder into a container and serves it as its Hub id
from a Hub cache too, and calls each task's container with `CLIENT_CALLS` (InferenceClient).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Dict

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # tiny_models, the builders of this image's test models
    sys.path.insert(0, str(TESTS_DIR))

import tiny_models  # noqa: E402
from client_calls import CLIENT_CALLS  # noqa: E402, F401  (the Docker harness calls each task's server with them)

from api_inference_community.testing.contract import ModelsByTask  # noqa: E402


def builder(task: str) -> Callable[[Path], Path]:
    """Builds the tiny model of `task` into the folder it is given."""

    def build(folder: Path) -> Path:
        tiny_models.BUILDERS[tiny_models.TASK_MODELS[task]](folder)
        return folder

    return build


TEST_MODELS: ModelsByTask = {task: builder(task) for task in tiny_models.TASK_MODELS}


def build_test_models(root: Path) -> Dict[str, Dict[str, object]]:
    """{task: {"path": model folder, "repo_id": Hub id}}, every model built once under `root`."""
    folders = tiny_models.build(root)
    return {
        task: {"path": folders[name], "repo_id": tiny_models.repo_id(name)}
        for task, name in tiny_models.TASK_MODELS.items()
    }
