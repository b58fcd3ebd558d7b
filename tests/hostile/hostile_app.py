"""An app of the core's factory for the tasks whose parameters fan work out (neither image serves them).

Served by real server processes (`hostile_app:app`, run from this folder). The pipelines are cheap
stand-ins: what the tests check is what the core lets through to them. `HOSTILE_LOAD_GATE` names
a file; while it exists, loading a model waits (at most a minute), so the server stays "loading".
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Dict, List, Type

from api_inference_community import Pipeline, create_app


def wait_at_load_gate() -> None:
    gate = os.environ.get("HOSTILE_LOAD_GATE")
    deadline = time.monotonic() + 60
    while gate and Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)


class Writer(Pipeline):
    """text-generation: appends at most four words, whatever `max_new_tokens` asks for."""

    def __init__(self, model_id: str) -> None:
        wait_at_load_gate()

    def __call__(self, inputs: str, **parameters: Any) -> Any:
        words = min(int(parameters.get("max_new_tokens", 4)), 4)
        return [{"generated_text": inputs + " and" * words}]


class Labeler(Pipeline):
    """zero-shot-classification: equal scores for every candidate label."""

    def __init__(self, model_id: str) -> None:
        wait_at_load_gate()

    def __call__(self, inputs: str, **parameters: Any) -> Any:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[str], **parameters: Any) -> List[Any]:
        labels = parameters["candidate_labels"]
        labels = [labels] if isinstance(labels, str) else list(labels)
        return [{"sequence": text, "labels": labels, "scores": [1 / len(labels)] * len(labels)} for text in inputs]


ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {
    "text-generation": Writer,
    "zero-shot-classification": Labeler,
}

app = create_app(ALLOWED_TASKS)
