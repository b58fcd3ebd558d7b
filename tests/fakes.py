"""Small fake pipelines for testing the core's HTTP behaviour (no real model)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
from PIL import Image

from api_inference_community import Pipeline
from api_inference_community.errors import InvalidInput


class Features(Pipeline):
    """feature-extraction: embeds a text as [len(text), number of 'a'], batching capable."""

    batches: List[int] = []  # batch sizes seen (a fresh list per subclass, see `recorder`)
    seen: List[Any] = []  # (inputs, parameters) of every call
    delay = 0.0

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id

    @staticmethod
    def embed(text: str) -> List[float]:
        return [float(len(text)), float(text.count("a"))]

    def __call__(self, inputs: Any, **parameters: Any) -> Any:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[Any], **parameters: Any) -> List[Any]:
        type(self).batches.append(len(inputs))
        type(self).seen.append((list(inputs), parameters))
        if self.delay:
            time.sleep(self.delay)
        outputs = []
        for item in inputs:
            texts = item if isinstance(item, list) else [item]
            if "bad" in texts:
                raise InvalidInput("the input `bad` is not accepted")
            if "crash" in texts:
                raise RuntimeError("secret internal detail")
            vectors = [self.embed(t) for t in texts]
            outputs.append(vectors if isinstance(item, list) else vectors[0])
        return outputs


class ItemCounting(Features):
    """Features recording the number of items (texts) of every model call."""

    items_per_call: List[int] = []

    def batch(self, inputs: List[Any], **parameters: Any) -> List[Any]:
        type(self).items_per_call.append(sum(len(i) if isinstance(i, list) else 1 for i in inputs))
        return super().batch(inputs, **parameters)


def recorder(delay: float = 0.0) -> type:
    """A Features subclass with its own records."""
    return type("RecordingFeatures", (Features,), {"batches": [], "seen": [], "delay": delay})


class Gate:
    """A pipeline gate: calls block until it is opened."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.calls: List[Any] = []

    def pass_through(self, item: Any) -> None:
        self.calls.append(item)
        self.entered.set()
        if not self.opened.wait(30):
            raise RuntimeError("gate never opened")


def gated(gate: Gate, task_base: type = None) -> type:
    """A non-batching text-classification pipeline that waits at `gate` on every call."""

    class Gated(Pipeline):
        def __init__(self, model_id: str) -> None:
            pass

        def __call__(self, inputs: Any, **parameters: Any) -> Any:
            gate.pass_through(inputs)
            return [{"label": inputs, "score": 1.0}]

    return Gated


def slow_loading(gate: Gate) -> type:
    class SlowLoading(Features):
        def __init__(self, model_id: str) -> None:
            gate.pass_through("load")

    return SlowLoading


class FailsToLoad(Pipeline):
    def __init__(self, model_id: str) -> None:
        raise OSError("weights file is corrupt")

    def __call__(self, inputs: Any, **parameters: Any) -> Any:  # pragma: no cover
        raise AssertionError


class Classifier(Pipeline):
    """text-classification without batching; `crash` raises, `bad` is a client error."""

    def __init__(self, model_id: str) -> None:
        pass

    def __call__(self, inputs: str, **parameters: Any) -> Any:
        if inputs == "crash":
            raise RuntimeError("secret internal detail")
        if inputs == "bad":
            raise InvalidInput("`bad` is not a sentence")
        if inputs == "exit":
            raise SystemExit(3)  # what a misbehaving library may do: it must not kill the worker unseen
        if inputs == "odd":
            raise ValueError("tensor of shape (1, 7) at /srv/model/weights.bin")
        labels = [{"label": "LONG", "score": 0.7}, {"label": "SHORT", "score": 0.3}]
        return labels[: parameters.get("top_k", 2)]


class ImageLabels(Pipeline):
    """image-classification: reports the decoded image's mode and size."""

    def __init__(self, model_id: str) -> None:
        pass

    def __call__(self, image: Image.Image, **parameters: Any) -> Any:
        return [{"label": f"{image.mode}:{image.width}x{image.height}", "score": 1.0}][: parameters.get("top_k", 5)]


class Transcriber(Pipeline):
    """automatic-speech-recognition: reports the number of samples received."""

    sampling_rate = 16000

    def __init__(self, model_id: str) -> None:
        pass

    def __call__(self, audio: np.ndarray, **parameters: Any) -> Any:
        return {"text": f"{audio.shape[0]} samples {audio.dtype}"}


class Speaker(Pipeline):
    """text-to-speech: a sine wave as long as the text."""

    def __init__(self, model_id: str) -> None:
        pass

    def __call__(self, text: str, **parameters: Any) -> Any:
        t = np.arange(int(16000 * 0.1 * len(text))) / 16000
        return np.sin(2 * np.pi * 440 * t).astype(np.float32), 16000


class Painter(Pipeline):
    """text-to-image: a solid image."""

    def __init__(self, model_id: str) -> None:
        pass

    def __call__(self, text: str, **parameters: Any) -> Any:
        return Image.new("RGB", (8, 8), (255, 0, 0))


class FileGated(Features):
    """For real server processes: waits while the file named by FAKE_GATE exists; logs calls."""

    def batch(self, inputs: List[Any], **parameters: Any) -> List[Any]:
        gate = os.environ.get("FAKE_GATE")
        log = os.environ.get("FAKE_LOG")
        if log:
            with open(log, "a") as handle:
                handle.write(repr(inputs) + "\n")
        deadline = time.monotonic() + 30
        while gate and Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return super().batch(inputs, **parameters)


def serving(tasks: Dict[str, type], task: str, model_dir: Any, wait: bool = True, **overrides: Any):
    """A TestClient around an app of `tasks` serving `task`; waits for readiness by default."""
    import contextlib

    from starlette.testclient import TestClient

    from api_inference_community import create_app
    from api_inference_community.runtime.settings import Settings

    @contextlib.contextmanager
    def _serving():
        app = create_app(tasks, Settings(model_id=str(model_dir), task=task, **overrides))
        with TestClient(app, raise_server_exceptions=False) as client:
            if wait:
                deadline = time.monotonic() + 10
                while client.get("/ready").status_code != 200:
                    if time.monotonic() > deadline:
                        raise TimeoutError(client.get("/ready").text)
                    time.sleep(0.01)
            yield client

    return _serving()


class Sized(Features):
    """feature-extraction for the model cache: holds `megabytes` of memory (from the folder's config.json),
    fails to load when it says `fail`, and counts its loads by folder in `Sized.loads`."""

    loads: Dict[str, int] = {}

    def __init__(self, model_id: str) -> None:
        import json

        type(self).loads[model_id] = type(self).loads.get(model_id, 0) + 1
        config = json.loads((Path(model_id) / "config.json").read_text())
        time.sleep(config.get("load_seconds", 0))
        if config.get("fail"):
            raise OSError("the weights are corrupt")
        self.weights = np.ones(int(config.get("megabytes", 1) * 1024 * 1024 // 8))  # pages touched: resident
        self.model_id = model_id


def write_model(models_dir: Path, model_id: str, *, task: str = "feature-extraction", library: str = "fake",
                inference: bool = True, weights_mb: float = 0.0, **config: Any) -> Path:  # fmt: skip
    """A model folder of a models directory: its card, its config, and a weights file of `weights_mb`."""
    import json

    folder = models_dir / model_id
    folder.mkdir(parents=True, exist_ok=True)
    card = f"---\npipeline_tag: {task}\nlibrary_name: {library}\n" + ("inference: false\n" if not inference else "")
    (folder / "README.md").write_text(card + "---\n# A test model\n")
    (folder / "config.json").write_text(json.dumps(config))
    if weights_mb:
        with open(folder / "model.safetensors", "wb") as handle:
            handle.truncate(int(weights_mb * 1024 * 1024))
    return folder
