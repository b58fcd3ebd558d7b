"""The models the tests serve, one per task: the real all-MiniLM-L6-v2, by path.

`TEST_MODELS` is read by the contract tests (test_contract.py), `build_test_models` by the Docker
harness (tests/docker), which mounts the folder into the container and serves it as `REPO_ID`
from a Hub cache too.
"""

from pathlib import Path
from typing import Dict

from st_testing import REPO_ID

from api_inference_community.maintainers.bundled import bundled_model_dir
from api_inference_community.testing.contract import ModelsByTask

TEST_MODELS: ModelsByTask = {
    "feature-extraction": bundled_model_dir(),
    "sentence-similarity": bundled_model_dir(),
}


def build_test_models(root: Path) -> Dict[str, Dict[str, object]]:
    """{task: {"path": model folder, "repo_id": Hub id}}; nothing is written under `root`."""
    return {task: {"path": Path(model), "repo_id": REPO_ID} for task, model in TEST_MODELS.items()}
