"""The servers under attack, started once per session (both images) or per module (the fan-out app)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the hostile_* helpers
    sys.path.insert(0, str(HERE))

from hostile_payloads import picture  # noqa: E402
from hostile_probes import Target  # noqa: E402
from hostile_servers import (  # noqa: E402
    SENTENCE_TRANSFORMERS,
    TIMM,
    sentence_transformers_env,
    timm_env,
    timm_testing,
)

from api_inference_community.maintainers.bundled import bundled_model_dir  # noqa: E402
from api_inference_community.testing.live import LiveServer  # noqa: E402

READY_TIMEOUT = 120.0


@pytest.fixture(scope="session")
def image_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, LiveServer]]:
    """A server of each image; the sentence_transformers one loads while the timm models are built."""
    started = []
    try:
        env = sentence_transformers_env(bundled_model_dir(), tmp_path_factory.mktemp("st_home"))
        started.append(LiveServer("app.main:app", env, cwd=SENTENCE_TRANSFORMERS))
        helpers = timm_testing()
        models = helpers.build_models(tmp_path_factory.mktemp("timm_models"))
        started.append(LiveServer("app.main:app", timm_env(helpers.LABELED_ID, models.hf_home), cwd=TIMM))
        yield {"sentence_transformers": started[0], "timm": started[1]}
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="session")
def st_target(image_servers: Dict[str, LiveServer]) -> Target:
    """feature-extraction on all-MiniLM-L6-v2; its normal request is one sentence."""
    return Target.ready(
        image_servers["sentence_transformers"], READY_TIMEOUT, json={"inputs": "The server still answers."}
    )


@pytest.fixture(scope="session")
def timm_target(image_servers: Dict[str, LiveServer]) -> Target:
    """image-classification on a tiny timm model; its normal request is a small PNG."""
    return Target.ready(image_servers["timm"], READY_TIMEOUT, data=picture(), headers={"content-type": "image/png"})
