"""Fixtures of the timm image's tests (session-scoped: the models are built once)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

import pytest

TESTS_DIR = Path(__file__).resolve().parent
for path in (TESTS_DIR.parent, TESTS_DIR):  # `app` (the image's package) and the test helpers
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from timm_testing import Models, build_models, make_pipeline, sample_images  # noqa: E402


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return build_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def labeled_pipeline(models: Models):
    return make_pipeline(models.labeled)


@pytest.fixture(scope="session")
def images() -> Dict[str, bytes]:
    return sample_images()
