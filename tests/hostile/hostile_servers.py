"""The servers the hostile suite attacks: both images, and the core around fan-out pipelines, with small limits."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict

HERE = Path(__file__).resolve().parent
IMAGES = HERE.parents[1] / "docker_images"
SENTENCE_TRANSFORMERS = IMAGES / "sentence_transformers"
TIMM = IMAGES / "timm"

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_INPUTS = 64
MAX_BATCH_SIZE = 4
MAX_QUEUE_SIZE = 8
FAN_OUT_MAX_INPUTS = 16
# Budgets and waits of the hardened core; a server that does not know these settings ignores them.
QUEUE_MEMORY_BUDGET = 768 * 1024 * 1024  # decoded inputs waiting for the timm model: two 88-megapixel images
WAIT_FOR_MODEL_TIMEOUT = 1.0


def common_env(hf_home: Path) -> Dict[str, str]:
    return {"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "LOG_LEVEL": "warning"}


def sentence_transformers_env(model_dir: Path, hf_home: Path) -> Dict[str, str]:
    """feature-extraction on all-MiniLM-L6-v2; small queue and batches so that abandoned work shows."""
    return {
        **common_env(hf_home),
        "MODEL_ID": str(model_dir),
        "TASK": "feature-extraction",
        "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "MAX_INPUTS": str(MAX_INPUTS),
        "MAX_BATCH_SIZE": str(MAX_BATCH_SIZE),
        "MAX_QUEUE_SIZE": str(MAX_QUEUE_SIZE),
        "REQUEST_TIMEOUT": "30",
    }


def timm_env(model_id: str, hf_home: Path) -> Dict[str, str]:
    """image-classification on a tiny timm model; the default pixel limit, so 88-megapixel images are legal."""
    return {
        **common_env(hf_home),
        "MODEL_ID": model_id,
        "TASK": "image-classification",
        "BACKEND": "torch",
        "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "QUEUE_MEMORY_BUDGET": str(QUEUE_MEMORY_BUDGET),
    }


def fan_out_env(task: str, model_dir: Path, hf_home: Path, **extra: str) -> Dict[str, str]:
    """`hostile_app` serving `task`."""
    return {
        **common_env(hf_home),
        "MODEL_ID": str(model_dir),
        "TASK": task,
        "MAX_INPUTS": str(FAN_OUT_MAX_INPUTS),
        **extra,
    }


def timm_testing() -> ModuleType:
    """The timm image's test helpers (tiny models in the Hub format), imported by path."""
    name = "timm_testing"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TIMM / "tests" / "timm_testing.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
