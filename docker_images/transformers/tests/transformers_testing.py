"""Helpers of the transformers image's tests: the tiny models (as folders and in an offline Hub
cache), apps served in-process or over real HTTP, generated media."""

from __future__ import annotations

import base64
import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Type

import numpy as np
import requests
import tiny_models
from PIL import Image
from starlette.testclient import TestClient

from api_inference_community import Pipeline, create_app
from api_inference_community.runtime.settings import Settings, use_settings
from api_inference_community.testing.environment import environment
from api_inference_community.testing.examples import picture, tone
from api_inference_community.testing.hub_cache import make_hub_cache
from api_inference_community.testing.live import ThreadedServer as CoreThreadedServer

IMAGE_DIR = Path(__file__).resolve().parents[1]  # servers run from here (`app.main:app`)
LOAD_TIMEOUT = 120.0


@dataclass(frozen=True)
class Models:
    """Every tiny model, as a folder and as a Hub id in the offline cache of `hf_home`."""

    folders: Dict[str, Path]
    hf_home: Path

    def folder(self, task: str) -> Path:
        return self.folders[tiny_models.TASK_MODELS[task]]

    def repo_id(self, task: str) -> str:
        return tiny_models.repo_id(tiny_models.TASK_MODELS[task])


def build_models(root: Path) -> Models:
    folders = tiny_models.build(root / "models")
    hf_home = root / "hf_home"
    for name, folder in folders.items():
        make_hub_cache(hf_home / "hub", tiny_models.repo_id(name), folder)
    return Models(folders, hf_home)


# ------------------------------------------------------------ environment


def load(pipeline_class: Type[Pipeline], folder: Path, env: Optional[Dict[str, Optional[str]]] = None, **settings: Any):
    """A pipeline built as the engine builds it: under these settings (and image variables in `env`)."""
    with environment(**(env or {})), use_settings(Settings(**settings)):
        return pipeline_class(str(folder))


# ------------------------------------------------------------------ apps


def wait_ready(client: Any, url: str = "", timeout: float = LOAD_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ready = client.get(url + "/ready")
        if ready.status_code == 200:
            return
        if ready.json().get("status") == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"the model did not load: {ready.json()}")
        time.sleep(0.02)


def app_settings(task: str, model_id: str, hf_home: Path, **overrides: Any) -> Settings:
    return Settings(model_id=model_id, task=task, hf_home=str(hf_home), hf_hub_offline=True, **overrides)


@contextlib.contextmanager
def serving(task: str, model_id: str, hf_home: Path, **overrides: Any) -> Iterator[TestClient]:
    """This image's app for `task`, in-process, once its model is loaded."""
    from app.main import ALLOWED_TASKS

    app = create_app(ALLOWED_TASKS, app_settings(task, model_id, hf_home, **overrides))
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


class ThreadedServer(CoreThreadedServer):
    """This image's app for one task behind a real uvicorn server on 127.0.0.1, in a thread."""

    def __init__(self, task: str, model_id: str, hf_home: Path, **overrides: Any) -> None:
        from app.main import ALLOWED_TASKS

        app = create_app(ALLOWED_TASKS, app_settings(task, model_id, hf_home, **overrides))
        super().__init__(app, name=f"server-{task}", timeout=LOAD_TIMEOUT)
        wait_ready(requests, self.url)


# ------------------------------------------------------------------ media


def png(image: Optional[Image.Image] = None) -> bytes:
    buffer = io.BytesIO()
    (image or picture()).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    from api_inference_community.media import encode_audio

    return encode_audio(tone(seconds, rate), rate, "wav")


def decode_png(text: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(text)))


def speech(seconds: float = 1.0, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A deterministic noisy waveform (float32 mono), richer than a tone."""
    noise = np.random.RandomState(seed).standard_normal(int(seconds * rate)).astype(np.float32)
    return (0.3 * noise + tone(seconds, rate)).astype(np.float32)


# ---------------------------------------------------------------- requests


def answer(client: Any, inputs: Any, **parameters: Any) -> Any:
    """POST `{"inputs", "parameters"}`; the JSON answer of a 200 (fails the test otherwise)."""
    body: Dict[str, Any] = {"inputs": inputs}
    if parameters:
        body["parameters"] = parameters
    response = client.post("/", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def refused(client: Any, body: Any, *fragments: str) -> str:
    """POST `body`: it must be a 400 whose JSON error holds every fragment (a field's name)."""
    response = client.post("/", json=body) if not isinstance(body, bytes) else client.post("/", content=body)
    assert response.status_code == 400, f"{response.status_code}: {response.text}"
    error = response.json()["error"]
    message = error if isinstance(error, str) else " ".join(error)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in message
    return message


def same(a: Any, b: Any, tolerance: float = 1e-5) -> bool:
    """Equal JSON answers, numbers within `tolerance` (the thread count may change the last digits)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= tolerance
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, tolerance) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], tolerance) for k in a)
    return a == b
