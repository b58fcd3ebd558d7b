"""The route handlers. An inference request travels one way: read → parse → validate → queue → run → encode.

- read: `request.held_body` (bounded, counted against BODY_MEMORY_BUDGET), the answer's format
  negotiated once from `Accept` (`encoding.output_format`);
- parse and validate: `tasks.validation` (`open_envelope`, then `validate_envelope`, which decodes
  media), off the event loop on the decode threads for anything but a tiny body;
- queue, batch and run: the model's `runtime.engine.InferenceEngine`;
- encode: `encoding.encode_output`, then the usage headers (`headers`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from .. import media
from ..errors import APIError, InferenceFailed, MethodNotAllowed, NotFound, NotServed
from ..media.images import BYTES_PER_PIXEL_BUDGET
from ..runtime.admission import Reservation
from ..runtime.engine import ModelState
from ..runtime.metrics import Metrics, ModelMetrics
from ..runtime.service import Service
from ..runtime.target import Target
from ..tasks.registry import SHARED_INPUT_TASKS, TASKS, InputKind, task_for_inputs
from ..tasks.validation import Limits, Payload, is_json_content_type, open_envelope, validate_envelope
from . import headers as answer_headers
from .encoding import MEDIA_OUTPUTS, encode_output, output_format
from .request import ClientDisconnected, header_asks_to_wait, held_body, unless_disconnected
from .responses import error_response, json_response

logger = logging.getLogger(__name__)

OFF_LOOP_BODY_BYTES = 4 * 1024  # bodies up to this size are parsed on the event loop (cheaper than a thread hop)
OFF_LOOP_OUTPUT_ITEMS = 16  # answers of more items are encoded in a decode thread
MEDIA_INPUTS = (InputKind.IMAGE, InputKind.AUDIO, InputKind.TENSOR)
CLIENT_GONE = 499  # recorded in metrics only: nobody is left to read it
RESERVED_PATHS = ("/health", "/ready", "/metrics", "/info", "/openapi.json")

T = TypeVar("T")


# ----------------------------------------------------------------- operations


async def status_ok(request: Request) -> Response:
    return json_response({"ok": "ok"})


async def liveness(request: Request) -> Response:
    """200 while the process can serve; 503 once an inference worker died (restart it)."""
    service: Service = request.app.state.service
    engines = [service.engine] if service.engine is not None else []
    if service.models is not None:
        engines = [entry.engine for entry in service.models.entries.values()]
    for engine in engines:
        if engine.state == ModelState.DEAD:
            return json_response({"status": "dead", "error": engine.load_error}, 503)
    return json_response({"status": "alive"})


async def readiness(request: Request) -> Response:
    service: Service = request.app.state.service
    if service.models is not None:  # multi-model: ready once the pinned models are loaded
        pinned = list(service.settings.pinned_models)
        if service.models.ready:
            return json_response({"status": "ready", "pinned": pinned})
        return json_response({"status": "loading", "pinned": pinned}, 503)
    engine = service.engine
    body: Dict[str, Any] = {"model_id": service.settings.model_id, "task": service.settings.task}
    if engine is None:
        return json_response({**body, "status": "failed", "error": service.unknown_task().message}, 503)
    if engine.state == ModelState.READY:
        return json_response({**body, "status": "ready"})
    if engine.state == ModelState.LOADING:
        return json_response({**body, "status": "loading", "estimated_time": engine.progress.estimated_time()}, 503)
    return json_response({**body, "status": engine.state.value, "error": engine.load_error}, 503)


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.service.metrics
    return Response(metrics.render(), media_type=metrics.content_type)


async def list_models(request: Request) -> Response:
    """`GET /models`: the loaded models, their size, load time, last use and request counts."""
    service: Service = request.app.state.service
    assert service.models is not None
    cache = service.models
    return json_response(
        {
            "models": cache.loaded(),
            "budget_bytes": cache.budget,
            "max_loaded_models": service.settings.max_loaded_models,
        }
    )


async def model_status(request: Request) -> Response:
    """`GET /status/{model_id}`: loaded or not, and whether it could be (Loadable, TooBig, Error)."""
    service: Service = request.app.state.service
    assert service.models is not None
    try:
        return json_response(await service.models.status(request.path_params["model_id"]))
    except APIError as error:
        return error_response(error)


async def info(request: Request) -> Response:
    service: Service = request.app.state.service
    if service.models is not None:
        return json_response(
            {
                "mode": "multi-model",
                "library": service.models.library,
                "tasks": sorted(service.allowed_tasks),
                "models": [entry["model_id"] for entry in service.models.loaded()],
                "max_batch_size": service.settings.max_batch_size,
                "backend": service.settings.backend,
                "compute_type": service.settings.compute_type,
            }
        )
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

Answerer = Callable[[Dict[str, str]], Awaitable[Tuple[Response, ModelMetrics]]]


async def inference(request: Request) -> Response:
    """POST on any path of a single-model server."""
    service: Service = request.app.state.service

    async def run(headers: Dict[str, str]) -> Tuple[Response, ModelMetrics]:
        if request.url.path in RESERVED_PATHS:  # POST /health and the like never run inference
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
        if service.models is not None:
            raise NotFound("This server serves models by their URL: POST /models/{org/name}")
        target = service.target()
        return await answer(request, service, target, headers), target.metrics

    return await respond(request, service, run)


async def model_inference(request: Request) -> Response:
    """POST /models/{model_id}, /pipeline/{task}/{model_id}, /models/{model_id}/pipeline/{task}."""
    service: Service = request.app.state.service
    cache = service.models
    assert cache is not None
    model_id, task = request.path_params["model_id"], request.path_params.get("task")

    async def run(headers: Dict[str, str]) -> Tuple[Response, ModelMetrics]:
        if task is not None and task not in TASKS:
            raise NotServed(
                f"Unknown task `{task[:100]}`; this server serves: {', '.join(sorted(cache.allowed_tasks))}"
            )
        default = None if task is not None else await cache.default_task(model_id)
        if default is not None and SHARED_INPUT_TASKS.get(default) in cache.allowed_tasks:
            # the card's task has a sibling this library serves: the inputs' shape tells which one is asked
            async with held_body(request, service.settings.max_body_bytes, service.bodies) as body:
                entry = await cache.acquire(model_id, task_for_inputs(default, body))
                with cache.using(entry):
                    return await answer(request, service, entry.target, headers, body), entry.metrics
        entry = await cache.acquire(model_id, task)
        with cache.using(entry):
            return await answer(request, service, entry.target, headers), entry.metrics

    return await respond(request, service, run)


async def respond(request: Request, service: Service, run: Answerer) -> Response:
    """Run one inference request: its errors as JSON, its count and duration in the metrics."""
    started = time.perf_counter()
    headers = answer_headers.base_headers(service.settings.compute_type)
    response: Optional[Response] = None
    metrics: ModelMetrics = service.metrics  # until the request's model is known
    try:
        response, metrics = await run(headers)
    except APIError as error:
        response = error_response(error, headers)
    except ClientDisconnected:
        return Response(status_code=CLIENT_GONE)  # recorded below as 499; nobody reads it
    except Exception:
        logger.exception("Unexpected error while answering a request")
        response = error_response(InferenceFailed("Internal error; the server log has the details"), headers)
    finally:  # also when cancelled: the request is counted, never a second error
        status = response.status_code if response is not None else CLIENT_GONE
        metrics.requests.labels(status=str(status)).inc()
        metrics.request_seconds.observe(time.perf_counter() - started)
    answer_headers.stamp_compute_time(response, started)
    return response


async def answer(
    request: Request, service: Service, target: Target, headers: Dict[str, str], body: Optional[bytes] = None
) -> Response:
    """Answer one inference request with `target`, each step once and in order; raises APIError.

    `body`: the request's body when the caller read it already (and holds it in the body budget).
    """
    spec, engine = target.spec, target.engine
    fmt = output_format(spec, request.headers.get("accept"))
    engine.check_available(wait_for_model=True)  # fail fast on a failed load or shutdown
    with service.inputs.holding() as held:  # the decoded inputs' memory, from decoding to the model's answer
        if body is None:
            async with held_body(request, service.settings.max_body_bytes, service.bodies) as read:
                payload, wait = await validate(request, service, target, read, held)
        else:
            payload, wait = await validate(request, service, target, body, held)
        result = await unless_disconnected(
            request, engine.infer(payload.inputs, payload.parameters, wait_for_model=wait)
        )
        headers.update(answer_headers.usage_headers(spec, payload.inputs, target.sampling_rate))
        items = spec.count_items(payload.inputs, payload.parameters)
        del payload
    heavy = spec.output_kind in MEDIA_OUTPUTS or items > OFF_LOOP_OUTPUT_ITEMS
    content, media_type = await off_loop(service, heavy, encode_output, spec, result, fmt)
    return Response(content, status_code=200, headers=headers, media_type=media_type)


async def validate(
    request: Request, service: Service, target: Target, body: bytes, held: Reservation
) -> Tuple[Payload, bool]:
    """The validated payload of `body`, and whether the client waits for the model.

    An image is counted in `held` from its header (what decoding and conversion need) before it is
    decoded; other decoded inputs once decoded.
    """
    spec, engine = target.spec, target.engine
    limits = service.limits(target.sampling_rate, target.image_size)
    declared_json = is_json_content_type(request.headers.get("content-type"))
    heavy = spec.input_kind in MEDIA_INPUTS or len(body) > OFF_LOOP_BODY_BYTES
    envelope = await off_loop(service, heavy, open_envelope, body, spec, limits, declared_json)
    wait = header_asks_to_wait(request) or envelope.options.wait_for_model
    if limits.sampling_rate is None and spec.input_kind == InputKind.AUDIO and engine.state == ModelState.LOADING:
        # the pipeline tells its sampling rate only once loaded: decoding must wait for it
        engine.check_available(wait_for_model=wait)
        await engine.wait_loaded()
        limits = service.limits(target.sampling_rate, target.image_size)
    if spec.input_kind == InputKind.IMAGE and isinstance(envelope.inputs, bytes):
        held.set(await off_loop(service, heavy, decoding_cost, envelope.inputs, limits))
    payload = await off_loop(service, heavy, validate_envelope, envelope, spec, limits)
    held.set(max(held.nbytes, media.decoded_nbytes(payload.inputs)))
    return payload, wait


def decoding_cost(data: bytes, limits: Limits) -> int:
    """The memory decoding an image will take, from its header; 0 when the header is unreadable
    (decoding then refuses it with the reason)."""
    try:
        cost = media.estimate_decoding_bytes(data, limits.max_image_pixels, target_size=limits.image_size)
    except media.MediaError:
        return 0
    largest = limits.max_image_bytes or BYTES_PER_PIXEL_BUDGET * limits.max_image_pixels
    return min(cost, largest)  # beyond it, decoding refuses the image (and the reservation ends)


async def off_loop(service: Service, heavy: bool, function: Callable[..., T], *args: Any) -> T:
    """Run `function` on the decode threads when `heavy`, else right here on the event loop."""
    if heavy:
        return await service.decoders.run(function, *args)
    return function(*args)
