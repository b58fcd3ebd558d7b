"""The server under test: its image folder, model and environment, its limits, and starting it on
127.0.0.1 as a real process (the core's `live_server`, imported when a benchmark starts one)."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Sequence

ROOT = Path(__file__).resolve().parent.parent.parent  # the checkout


def image_folder(name: str) -> Path:
    """An image folder given relative to the working directory or to the checkout, or absolute."""
    image = Path(name)
    if not image.is_absolute():
        image = (Path.cwd() / image) if (Path.cwd() / image).is_dir() else ROOT / image
    if not image.is_dir():
        raise SystemExit(f"no image folder {image}")
    return image.resolve()


def display_path(path: Path) -> str:
    """`path` relative to the checkout where it lies inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def model_argument(model: str) -> str:
    """MODEL_ID: the given model (a folder made absolute) or the bundled all-MiniLM-L6-v2."""
    if not model:
        from api_inference_community.maintainers.bundled import BundledModelMissing, bundled_model_dir

        try:
            model = str(bundled_model_dir())
        except BundledModelMissing:
            raise SystemExit("--model is required (the bundled all-MiniLM-L6-v2 is not installed)") from None
    return str(Path(model).resolve()) if Path(model).exists() else model


def parse_env(pairs: Sequence[str]) -> Dict[str, str]:
    """KEY=VALUE pairs (the server's extra environment) as a dict."""
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env expects KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def settings_of(env: Mapping[str, str]) -> Any:
    """The core's Settings that a server with environment `env` runs with (its limits)."""
    from api_inference_community.runtime.settings import Settings

    return Settings.from_env(env)


def items_of(bodies: Sequence[str], task: str) -> List[int]:
    """How many items the server counts in each JSON body of `task`."""
    from api_inference_community.tasks.registry import TASKS
    from api_inference_community.tasks.validation import parse_payload

    spec = TASKS[task]
    return [spec.count_items(parse_payload(body.encode(), spec).inputs) for body in bodies]


def input_kind(task: str) -> str:
    """The task's input kind in the core's registry ("text", "image", "audio"...)."""
    from api_inference_community.tasks.registry import TASKS

    return TASKS[task].input_kind.value


def exit_on_signals() -> None:
    """Stopped by a signal (even from a background shell, where SIGINT is ignored): unwind, so that
    the server started by `running_server` is stopped by its pid."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def running_server(app: str, env: Dict[str, str], image: Path, timeout: float) -> Iterator[Any]:
    """The app served from `image` on a free port of 127.0.0.1 until the block ends (a core LiveServer)."""
    from api_inference_community.testing.live import live_server

    with live_server(app, env, cwd=image, timeout=timeout) as server:
        yield server


@contextlib.contextmanager
def started_server(app: str, env: Dict[str, str], image: Path) -> Iterator[Any]:
    """The app starting from `image` on a free port of 127.0.0.1 (not awaited: call its `wait_until`),
    stopped by its pid when the block ends; lets several servers start at once."""
    from api_inference_community.testing.live import LiveServer

    server = LiveServer(app, env, cwd=image)
    try:
        yield server
    finally:
        server.stop()
