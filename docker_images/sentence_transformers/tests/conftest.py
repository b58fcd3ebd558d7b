"""Fixtures of the sentence_transformers image: the real all-MiniLM-L6-v2, by path and in a Hub cache.

Everything that copies or exports a model is session-scoped: built once, shared by every test.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Type

import pytest

TESTS_DIR = Path(__file__).resolve().parent
for path in (TESTS_DIR.parent, TESTS_DIR):  # `app` (the image's package) and the test helpers
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from st_testing import PROMPTS, REPO_ID  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from api_inference_community import Pipeline, create_app  # noqa: E402
from api_inference_community.maintainers.bundled import bundled_model_dir  # noqa: E402
from api_inference_community.runtime.settings import Settings, use_settings  # noqa: E402
from api_inference_community.testing.hub_cache import make_hub_cache  # noqa: E402


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return bundled_model_dir()


@pytest.fixture(scope="session")
def hf_home(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """An HF_HOME whose Hub cache holds sentence-transformers/all-MiniLM-L6-v2 (refs/main, a snapshot)."""
    home = tmp_path_factory.mktemp("hf_home")
    make_hub_cache(home / "hub", REPO_ID, model_dir)
    return home


@pytest.fixture(scope="session")
def prompt_model_dir(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """all-MiniLM-L6-v2 with named prompts: links to its files, and a config declaring the prompts."""
    folder = tmp_path_factory.mktemp("minilm_with_prompts")
    for entry in model_dir.iterdir():
        if entry.name != "config_sentence_transformers.json":
            (folder / entry.name).symlink_to(entry)
    config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    config.update(prompts=PROMPTS, default_prompt_name=None)
    (folder / "config_sentence_transformers.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="session")
def reference(model_dir: Path) -> Any:
    """sentence-transformers itself, on the same files: what the image must answer."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def load_pipeline() -> Callable[..., Pipeline]:
    """Build a pipeline as the engine does: `get_settings()` inside it returns these settings."""

    def load(pipeline_class: Type[Pipeline], model_dir: Path, **settings: Any) -> Pipeline:
        with use_settings(Settings(**settings)):
            return pipeline_class(str(model_dir))

    return load


@pytest.fixture(scope="session")
def torch_pipeline(load_pipeline: Callable[..., Pipeline], model_dir: Path) -> Pipeline:
    from app.pipelines import FeatureExtractionPipeline

    return load_pipeline(FeatureExtractionPipeline, model_dir)


@pytest.fixture(scope="session")
def export_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HF_HOME of the ONNX/OpenVINO tests: exports of the bundled model are stored here once."""
    return tmp_path_factory.mktemp("export_home")


@pytest.fixture(scope="session")
def onnx_pipeline(load_pipeline: Callable[..., Pipeline], model_dir: Path, export_home: Path) -> Pipeline:
    """BACKEND=onnx on the bundled model: exported on first use in the session, stored in export_home."""
    from app.pipelines import FeatureExtractionPipeline

    return load_pipeline(FeatureExtractionPipeline, model_dir, backend="onnx", hf_home=str(export_home))


@contextlib.contextmanager
def serve_app(**settings: Any) -> Iterator[TestClient]:
    """A TestClient of this image's app with these settings, once its model is loaded."""
    from app.main import ALLOWED_TASKS

    app = create_app(ALLOWED_TASKS, Settings(**settings))
    with TestClient(app) as client:
        deadline = time.monotonic() + 120
        while client.get("/ready").status_code != 200:
            if time.monotonic() > deadline or client.get("/ready").json().get("status") == "failed":
                pytest.fail(f"the model did not load: {client.get('/ready').json()}")
            time.sleep(0.05)
        yield client


@pytest.fixture(scope="session")
def app_client() -> Callable[..., contextlib.AbstractContextManager]:
    """`with app_client(model_id=..., task=...) as client:` a loaded app (module fixtures use it)."""
    return serve_app
