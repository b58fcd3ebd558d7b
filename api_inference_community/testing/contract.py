"""The contract tests every image runs: its pipelines, served by the core, answer as the API must.

An image's `tests/test_contract.py` subclasses `ContractSuite` with its ALLOWED_TASKS and a
test model per task. For each task the app is built with `create_app`, the model is loaded,
then the task's valid example requests must answer 200 with a well-formed output, and a fixed
battery of malformed bodies must answer 200 or a 4xx JSON error, never a 5xx.

A pipeline that is still a stub makes the tests fail with its "not implemented" message.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Type, Union

import pytest
from starlette.testclient import TestClient

from ..http.app import create_app
from ..hub.libraries import TEMPLATE
from ..pipelines import Pipeline
from ..runtime.engine import logger as engine_logger
from ..runtime.settings import Settings
from . import examples as ex
from .output_checks import OutputError, check_response, media_type_of

ModelSource = Union[str, os.PathLike, Callable[[Path], Union[str, os.PathLike]]]
ModelsByTask = Mapping[str, ModelSource]


def placeholder_model(directory: Path) -> str:
    """An empty folder: the stand-in test model of a scaffolded task, until a real one is listed."""
    return str(directory)


def recording(pipeline_class: Type[Pipeline], errors: List[BaseException]) -> Type[Pipeline]:
    """`pipeline_class`, unchanged, except that it appends what it raises to `errors`."""

    def record(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except BaseException as error:
                errors.append(error)
                raise

        return wrapper

    namespace: Dict[str, Any] = {
        "__init__": record(pipeline_class.__init__),
        "__call__": record(pipeline_class.__call__),
        "__module__": pipeline_class.__module__,
        "__qualname__": pipeline_class.__qualname__,
    }
    if pipeline_class.supports_batching():
        namespace["batch"] = record(pipeline_class.batch)
    return type(pipeline_class.__name__, (pipeline_class,), namespace)


def explain(errors: Sequence[BaseException], fallback: str) -> str:
    """Why a request failed: a stub's "not implemented" message first, else what the pipeline raised."""
    for error in errors:
        if isinstance(error, NotImplementedError):
            return str(error) or f"{type(error).__name__} raised by the pipeline"
    if errors:
        error = errors[-1]
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return f"{fallback}\nThe pipeline raised:\n{trace}"
    return fallback


def output_problem(task: str, content_type: str, body: bytes, example: ex.Example) -> Optional[str]:
    """What is wrong with an answer to `example`, or None."""
    try:
        check_response(task, content_type, body, example.inputs, example.parameters)
    except OutputError as error:
        return str(error)
    return None


def expect(condition: bool, message: str) -> None:
    if not condition:
        pytest.fail(message, pytrace=False)


@dataclass
class Served:
    """A task's app in a TestClient, with the errors its pipeline raised."""

    task: str
    client: TestClient
    errors: List[BaseException]

    def post(self, body: bytes, content_type: str) -> Any:
        self.errors.clear()
        return self.client.post("/", content=body, headers={"content-type": content_type})

    def fail_server_error(self, what: str, response: Any) -> None:
        pytest.fail(explain(self.errors, f"{what}: HTTP {response.status_code} {response.text[:500]}"), pytrace=False)


def not_implemented_record(record: logging.LogRecord) -> bool:
    """False for the engine's log of a stub's NotImplementedError: the test failure says it already."""
    return not (record.exc_info and isinstance(record.exc_info[1], NotImplementedError))


@contextlib.contextmanager
def log_filter(logger: logging.Logger, keep: Callable[[logging.LogRecord], bool]) -> Iterator[None]:
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


@contextlib.contextmanager
def serve(
    allowed_tasks: Mapping[str, Type[Pipeline]], task: str, model_id: str, load_timeout_s: float
) -> Iterator[Served]:
    """Serve `task` with `model_id` in-process; fail the test if the model does not load."""
    errors: List[BaseException] = []
    pipelines = {**allowed_tasks, task: recording(allowed_tasks[task], errors)}
    app = create_app(pipelines, Settings.from_env(model_id=model_id, task=task))
    with log_filter(engine_logger, not_implemented_record), TestClient(app, raise_server_exceptions=False) as client:
        deadline = time.monotonic() + load_timeout_s
        while True:
            ready = client.get("/ready")
            if ready.status_code == 200:
                break
            state = ready.json()
            if state.get("status") == "failed":
                pytest.fail(
                    explain(errors, f"{model_id} failed to load for {task}: {state.get('error')}"), pytrace=False
                )
            if time.monotonic() > deadline:
                pytest.fail(f"{model_id} did not load for {task} within {load_timeout_s:g} s", pytrace=False)
            time.sleep(0.02)
        yield Served(task, client, errors)


class ContractSuite:
    """Subclass as `TestContract` in an image's tests, setting `allowed_tasks` and `models`."""

    allowed_tasks: Mapping[str, Type[Pipeline]] = {}
    #: task -> a local folder, a Hub id in the cache, or a function building a model in a folder
    models: ModelsByTask = {}
    #: task -> requests replacing the core's examples (e.g. a fill-mask model's own mask token)
    examples: Mapping[str, Sequence[ex.Example]] = {}
    load_timeout_s: float = 600.0

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "task" not in metafunc.fixturenames:
            return
        image = Path(str(metafunc.module.__file__)).resolve().parents[1]
        template = pytest.mark.skip(reason=f"docker_images/{TEMPLATE} is the template of new libraries, not an image")
        marks = [template] if image.name == TEMPLATE else []
        tasks = [pytest.param(task, marks=marks) for task in sorted(self.allowed_tasks)]
        metafunc.parametrize("task", tasks, scope="class")

    @pytest.fixture(scope="class")
    @classmethod
    def served(cls, task: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
        source: Optional[ModelSource] = cls.models.get(task)
        if source is None:
            pytest.fail(f"no test model for `{task}`: add one to TEST_MODELS in tests/models.py", pytrace=False)
        model = source(tmp_path_factory.mktemp(task)) if callable(source) else source
        with serve(cls.allowed_tasks, task, os.fspath(model), cls.load_timeout_s) as served:
            yield served

    def test_valid_requests(self, served: Served, task: str) -> None:
        for example in self.examples.get(task) or ex.valid_examples(task):
            response = served.post(example.body, example.content_type)
            what = f"{task}: valid request `{example.name}`"
            if response.status_code >= 500:
                served.fail_server_error(what, response)
            expect(response.status_code == 200, f"{what} answered {response.status_code}: {response.text[:500]}")
            content_type = response.headers.get("content-type", "")
            problem = output_problem(task, content_type, response.content, example)
            expect(problem is None, f"{what}: malformed output: {problem}")

    def test_malformed_requests(self, served: Served, task: str) -> None:
        expected = media_type_of(task)
        for name, body in ex.malformed_bodies(task):
            response = served.post(body, "application/octet-stream")
            status, content_type = response.status_code, response.headers.get("content-type", "")
            what = f"{task}: malformed request `{name}`"
            if status >= 500:
                served.fail_server_error(what, response)
            if status == 200:
                expect(content_type.startswith(expected), f"{what} answered 200 as {content_type!r}, not {expected}")
                continue
            expect(400 <= status < 500, f"{what} answered {status}, not 200 or a 4xx")
            expect(content_type.startswith("application/json"), f"{what} answered {status} as {content_type!r}")
            expect("error" in response.json(), f"{what} answered {status} without an `error`: {response.text[:500]}")
