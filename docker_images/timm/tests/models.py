"""The models the tests serve, one per task: tiny timm models with random weights, in the Hub
format (config.json + model.safetensors), built by `timm_testing.build_models` as conftest.py does.

`TEST_MODELS` is the form the shared contract tests read; `build_test_models` is read by the Docker
harness (tests/docker), which mounts the folder into the container and serves it as its Hub id
from a Hub cache too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # timm_testing, the helpers of this image's tests
    sys.path.insert(0, str(TESTS_DIR))

from timm_testing import LABELED_ID, build_models  # noqa: E402

from api_inference_community.testing.contract import ModelsByTask  # noqa: E402


def labeled_model(root: Path) -> Path:
    """The 4-class test_resnet (named labels, its own data config), built under `root`."""
    return build_models(Path(root)).labeled


TEST_MODELS: ModelsByTask = {"image-classification": labeled_model}


def build_test_models(root: Path) -> Dict[str, Dict[str, object]]:
    """{task: {"path": model folder, "repo_id": Hub id}}, the models built under `root`."""
    return {"image-classification": {"path": labeled_model(root), "repo_id": LABELED_ID}}
