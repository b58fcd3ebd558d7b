"""The route handlers. An inference request travels one way: read → parse → validate → queue → run → encode.

- read: `request.read_body` (bounded), the output format negotiated once (`encoding.output_format`);
- parse and validate: `tasks.validation` (`open_envelope`, then `validate_envelope`, which decodes media);
- queue, batch and run: the model's `runtime.engine.InferenceEngine`;
- encode: `encoding.encode_output`, then the usage headers (`headers`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ..errors import APIError, InferenceFailed
from ..runtime.engine import ModelState
from ..runtime.metrics import Metrics
from ..runtime.service import Service
from ..tasks.registry import InputKind
from ..tasks.validation import open_envelope, validate_envelope
from . import headers as answer_headers
from .encoding import MEDIA_OUTPUTS, encode_output, output_format
from .request import ClientDisconnected, header_asks_to_wait, read_body, unless_disconnected
from .responses import error_response, json_response

logger = logging.getLogger(__name__)

OFF_LOOP_BODY_BYTES = 64 * 1024  # text bodies larger than this are parsed in a worker thread
MEDIA_INPUTS = (InputKind.IMAGE, InputKind.AUDIO, InputKind.TENSOR)
CLIENT_GONE = 499  # recorded in metrics only: nobody is left to read it

T = TypeVar("T")


async def off_loop(heavy: bool, function: Callable[..., T], *args: Any) -> T:
    """Run `function` in a worker thread when `heavy`, else right here on the event loop."""
    if heavy:
        return await anyio.to_thread.run_sync(function, *args)
    return function(*args)


# ----------------------------------------------------------------- operations


async def status_ok(request: Request) -> Response:
    return json_response({"ok": "ok"})


async def liveness(request: Request) -> Response:
    return json_response({"status": "alive"})


async def readiness(request: Request) -> Response:
    service: Service = request.app.state.service
    engine = service.engine
    body: Dict[str, Any] = {"model_id": service.settings.model_id, "task": service.settings.task}
    if engine is None:
        return json_response({**body, "status": "failed", "error": service.unknown_task().message}, 503)
    if engine.state == ModelState.READY:
        return json_response({**body, "status": "ready"})
    if engine.state == ModelState.LOADING:
        return json_response({**body, "status": "loading", "estimated_time": engine.progress.estimated_time()}, 503)
    return json_response({**body, "status": "failed", "error": engine.load_error}, 503)


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.service.metrics
    return Response(metrics.render(), media_type=metrics.content_type)


async def info(request: Request) -> Response:
    service: Service = request.app.state.service
    engine = service.engine
    return json_response(
        {
            "model_id": service.settings.model_id,
            "task": service.settings.task,
            "tasks": sorted(service.allowed_tasks),
            "state": engine.state.value if engine else "failed",
            "batching": bool(engine and engine.batching),
            "max_batch_size": service.settings.max_batch_size,
            "backend": service.settings.backend,
            "compute_type": service.settings.compute_type,
        }
    )


# ------------------------------------------------------------------ inference


async def inference(request: Request) -> Response:
    service: Service = request.app.state.service
    started = time.perf_counter()
    headers = answer_headers.base_headers(service.settings.compute_type)
    status = 200
    try:
        response = await answer(request, service, headers)
    except APIError as error:
        response = error_response(error, headers)
    except ClientDisconnected:
        status = CLIENT_GONE
        response = Response(status_code=CLIENT_GONE)
    except Exception:
        logger.exception("Unexpected error while answering a request")
        response = error_response(InferenceFailed("Internal error; the server log has the details"), headers)
    finally:
        service.metrics.requests.labels(status=str(status if status == CLIENT_GONE else response.status_code)).inc()
        service.metrics.request_seconds.observe(time.perf_counter() - started)
    answer_headers.stamp_compute_time(response, started)
    return response


async def answer(request: Request, service: Service, headers: Dict[str, str]) -> Response:
    """Answer one inference request, each step once and in order; raises APIError."""
    spec, engine = service.spec, service.engine
    if spec is None or engine is None:
        raise service.unknown_task()
    body = await read_body(request, service.settings.max_body_bytes)
    fmt = output_format(spec, request.headers.get("accept"))
    engine.check_available(wait_for_model=True)  # fail fast on a failed load or shutdown
    heavy = spec.input_kind in MEDIA_INPUTS or len(body) > OFF_LOOP_BODY_BYTES
    envelope = await off_loop(heavy, open_envelope, body, spec)
    wait = header_asks_to_wait(request) or envelope.options.wait_for_model
    limits = service.limits()
    if limits.sampling_rate is None and spec.input_kind == InputKind.AUDIO and engine.state == ModelState.LOADING:
        # the pipeline tells its sampling rate only once loaded: decoding must wait for it
        engine.check_available(wait_for_model=wait)
        await engine.wait_loaded()
        limits = service.limits()
    payload = await off_loop(heavy, validate_envelope, envelope, spec, limits)
    result = await unless_disconnected(request, engine.infer(payload.inputs, payload.parameters, wait_for_model=wait))
    content, media_type = await off_loop(spec.output_kind in MEDIA_OUTPUTS, encode_output, spec, result, fmt)
    headers.update(answer_headers.usage_headers(spec, payload.inputs, limits.sampling_rate))
    return Response(content, status_code=200, headers=headers, media_type=media_type)
