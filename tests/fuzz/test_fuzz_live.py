"""The contract fuzzed: schemathesis, from each server's own /openapi.json, against real servers of the images.

Each target is a real uvicorn process on 127.0.0.1 (the core's `testing.live`) of an image, serving
its own test model: sentence_transformers with the bundled all-MiniLM-L6-v2 (feature-extraction,
sentence-similarity) and timm with its tiny generated model (image-classification). Valid
requests (positive) and invalid ones (negative) are generated from the document; every answer
must be documented (status, content type, headers, body schema). Hostile requests (any method,
path, content type, Accept and body) go beyond the document. No answer may be a 5xx, every error
must be JSON with an `error`, and the server must still be alive and healthy at the end.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Tuple

import pytest
import requests
import schemathesis
from fuzz_strategies import any_bytes, fuzz_settings, image_files, json_bodies
from hypothesis import given, note
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi_checks

from api_inference_community.testing.live import LiveServer

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

IMAGES_DIR = Path(__file__).resolve().parents[2] / "docker_images"
TARGETS: Tuple[Tuple[str, str], ...] = (  # (image, task)
    ("sentence_transformers", "feature-extraction"),
    ("sentence_transformers", "sentence-similarity"),
    ("timm", "image-classification"),
)
INFERENCE_EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 60}
OPERATION_EXAMPLES = 2  # the GET routes take no input
HOSTILE_EXAMPLES = 40
MAX_BODY_BYTES = 256 * 1024  # low, so that bodies above it (413) are cheap to send
RESERVED_PATHS = ("/health", "/ready", "/metrics", "/info", "/openapi.json")

# Raw image bodies: generated files in many modes and formats, whole or damaged, and noise.
schemathesis.openapi.media_type("image/*", st.one_of(image_files(), st.binary(max_size=512)))
schemathesis.openapi.media_type("application/octet-stream", st.one_of(image_files(), st.binary(max_size=512)))


def check_error(status: int, content_type: str, read_json: Callable[[], Any]) -> None:
    """A 4xx or 5xx answer is a JSON object with an `error` (a string or a list of strings)."""
    if status < 400:
        return
    assert content_type.startswith("application/json"), f"{status} answered as {content_type!r}"
    body = read_json()
    assert isinstance(body, dict) and "error" in body, f"{status} without `error`: {body!r}"
    error = body["error"]
    assert isinstance(error, str) or (isinstance(error, list) and all(isinstance(e, str) for e in error)), body


@schemathesis.check
def json_error(ctx: Any, response: Any, case: Any) -> None:
    """Every error answer is JSON with an `error`."""
    check_error(response.status_code, response.headers.get("content-type", [""])[0], response.json)


CHECKS = [
    not_a_server_error,
    json_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


# ------------------------------------------------------------------- servers


def image_test_models(image: str, root: Path) -> Dict[str, Dict[str, Any]]:
    """{task: {"path", "repo_id"}}: the models an image's own tests serve (its tests/models.py)."""
    tests_dir = IMAGES_DIR / image / "tests"
    if str(tests_dir) not in sys.path:  # the image's test helpers (st_testing, timm_testing)
        sys.path.append(str(tests_dir))
    spec = importlib.util.spec_from_file_location(f"aic_fuzz_models_{image}", tests_dir / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.build_test_models(root)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[Tuple[str, str], LiveServer]]:
    """A live server per target, started together (they load at once), stopped by their pids."""
    models: Dict[str, Dict[str, Dict[str, Any]]] = {}
    started: Dict[Tuple[str, str], LiveServer] = {}
    with contextlib.ExitStack() as stack:
        for image, task in TARGETS:
            if image not in models:
                models[image] = image_test_models(image, tmp_path_factory.mktemp(f"models-{image}"))
            env = {
                "MODEL_ID": str(models[image][task]["path"]),
                "TASK": task,
                "HF_HOME": str(tmp_path_factory.mktemp("hf_home")),
                "HF_HUB_OFFLINE": "1",
                "LOG_LEVEL": "warning",
                "MAX_INPUTS": "16",
                "NUM_THREADS": "1",  # three servers and the fuzzer share the CPUs
                "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            }
            server = LiveServer("app.main:app", env, cwd=IMAGES_DIR / image)
            stack.callback(server.stop)
            started[(image, task)] = server
        for server in started.values():
            server.wait_until("/ready", 200, timeout=120)
        yield started


# --------------------------------------------------------------------- tests


def fuzz(server: LiveServer, mode: GenerationMode) -> Counter:
    """Run schemathesis over every operation of the server's document; counts answers by operation and status."""
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    answers: Counter = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        inference = operation.method.upper() == "POST"
        if mode == GenerationMode.NEGATIVE and not inference:
            continue  # nothing to negate in a GET without parameters
        count = INFERENCE_EXAMPLES[mode] if inference else OPERATION_EXAMPLES

        @fuzz_settings(count)
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            response = case.call(base_url=server.url, timeout=60)
            answers[(f"{case.method.upper()} {case.path}", response.status_code)] += 1
            case.validate_response(response, checks=CHECKS)

        run()
    return answers


def mostly(usual: Any, *others: Any) -> st.SearchStrategy[Any]:
    """`usual` four times in five, else one of `others`."""
    return st.one_of(st.just(usual), st.just(usual), st.just(usual), st.just(usual), st.sampled_from(others))


hostile_requests = st.fixed_dictionaries(
    {
        "method": mostly("POST", "PUT", "DELETE", "PATCH"),
        "path": mostly("/", "/models/org/name", "/pipeline/task/org/name", *RESERVED_PATHS),
        "content_type": st.sampled_from(
            (None, "application/json", "text/plain", "image/png", "application/octet-stream", "audio/wav")
        ),
        "accept": mostly(None, "*/*", "application/json", "image/png", "text/html", "audio/*;q=0"),
        "body": st.one_of(
            json_bodies(),
            any_bytes(),
            image_files(),
            st.integers(MAX_BODY_BYTES + 1, MAX_BODY_BYTES + 4096).map(lambda size: b"x" * size),
        ),
    }
)


def alive_and_healthy(server: LiveServer) -> None:
    assert server.process.poll() is None, f"the server died:\n{server.logs()[-4000:]}"
    assert requests.get(server.url + "/health", timeout=5).status_code == 200
    assert requests.get(server.url + "/ready", timeout=5).status_code == 200


def no_traceback_answered(server: LiveServer) -> None:
    logs = server.logs()
    assert "Exception in ASGI application" not in logs, logs[-4000:]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t[0]}-{t[1]}")
def test_the_contract_holds_under_fuzzing(servers, target, mode):
    server = servers[target]
    answers = fuzz(server, mode)
    print(target, mode.value, dict(answers))
    exercised = {operation for operation, _ in answers}
    assert "POST /" in exercised
    if mode == GenerationMode.POSITIVE:  # the document was read from the server: /openapi.json answered
        assert {"GET /", "GET /health", "GET /ready", "GET /info", "GET /metrics"} <= exercised
        assert answers[("POST /", 200)] > 0, "no valid request was generated from the document"
    else:
        assert answers[("POST /", 400)] > 0, "no invalid request was refused"
    alive_and_healthy(server)
    no_traceback_answered(server)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t[0]}-{t[1]}")
def test_hostile_requests_get_a_json_answer_below_500(servers, target):
    """Any method, path, content type, Accept and body, in or out of the document: never a 5xx, every
    error JSON, and the reserved paths never run inference."""
    server = servers[target]
    session = requests.Session()
    answers: Counter = Counter()

    @fuzz_settings(HOSTILE_EXAMPLES)
    @given(request=hostile_requests)
    def run(request: Dict[str, Any]) -> None:
        headers = {name: request[key] for name, key in (("content-type", "content_type"), ("accept", "accept"))}
        note(f"{request['method']} {request['path']} {headers} body={request['body'][:200]!r}")
        response = session.request(
            request["method"],
            server.url + request["path"],
            data=request["body"],
            headers={name: value for name, value in headers.items() if value is not None},
            timeout=60,
        )
        answers[response.status_code] += 1
        assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
        check_error(response.status_code, response.headers.get("content-type", ""), response.json)
        if request["path"] in RESERVED_PATHS:  # only GET: never inference, whatever the body
            assert response.status_code == 405, f"{request['method']} {request['path']} answered {response.status_code}"

    run()
    print(target, "hostile", dict(answers))
    alive_and_healthy(server)
    no_traceback_answered(server)
