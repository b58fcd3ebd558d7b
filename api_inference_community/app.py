"""The app factory: one call builds the server of an image from its ALLOWED_TASKS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Mapping, Optional, Type

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hub, outputs
from .config import Settings, get_settings
from .engine import InferenceEngine, ModelState
from .errors import APIError, InferenceFailed, PayloadTooLarge, UnknownTask
from .logs import configure_logging
from .metrics import Metrics
from .pipelines import Pipeline
from .responses import json_response
from .tasks import TASKS, InputKind, OutputKind, TaskSpec
from .validation import Limits, Payload, json_options, parse_payload

logger = logging.getLogger(__name__)

OFF_LOOP_BODY_BYTES = 64 * 1024  # text bodies larger than this are parsed in a worker thread
MEDIA_INPUTS = (InputKind.IMAGE, InputKind.AUDIO, InputKind.TENSOR)
MEDIA_OUTPUTS = (OutputKind.IMAGE, OutputKind.AUDIO, OutputKind.AUDIO_LIST)
CLIENT_GONE = 499  # recorded in metrics only: nobody is left to read it


class Service:
    """What the routes need: settings, the task, the engine and the metrics."""

    def __init__(self, allowed_tasks: Mapping[str, Type[Pipeline]], settings: Settings) -> None:
        for task in allowed_tasks:
            if task not in TASKS:
                raise ValueError(f"ALLOWED_TASKS names `{task}`, which is not a known task")
        self.settings = settings
        self.allowed_tasks = dict(allowed_tasks)
        self.metrics = Metrics()
        self.spec: Optional[TaskSpec] = TASKS[settings.task] if settings.task in allowed_tasks else None
        self.engine: Optional[InferenceEngine] = None
        if self.spec is not None:
            self.engine = InferenceEngine(
                self.spec,
                allowed_tasks[settings.task],
                settings,
                self.metrics,
                resolve=lambda: hub.resolve_model(settings),
            )
        else:
            self.metrics.set_state("failed")

    @property
    def sampling_rate(self) -> Optional[int]:
        engine = self.engine
        if engine is not None and engine.pipeline is not None:
            return engine.pipeline.sampling_rate
        return self.allowed_tasks[self.settings.task].sampling_rate if self.spec else None

    def unknown_task(self) -> UnknownTask:
        known = ", ".join(sorted(self.allowed_tasks)) or "none"
        task = self.settings.task or "(TASK is not set)"
        return UnknownTask(f"The task `{task}` is not supported by this image; it supports: {known}")

    def limits(self) -> Limits:
        return Limits.from_settings(self.settings, self.sampling_rate)


# ---------------------------------------------------------------- helpers


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def wait_for_disconnect(request: Request) -> None:
    """Return when the client goes away (call only after the body was read)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


class ClientDisconnected(Exception):
    """The client went away before its answer was ready."""


async def unless_disconnected(request: Request, work: Awaitable[Any]) -> Any:
    """Run `work`, cancelling it (its job is dropped) if the client disconnects first."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(wait_for_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise ClientDisconnected()
    return task.result()


def wants_to_wait(request: Request, payload: Optional[Payload] = None, body: bytes = b"") -> bool:
    """Whether the client asked to wait for the model (header, or `options` in the body)."""
    header = request.headers.get("x-wait-for-model", "").strip().lower()
    if header in {"1", "true", "yes"}:
        return True
    if payload is not None:
        return payload.options.wait_for_model
    return body.lstrip()[:1] == b"{" and json_options(body).get("wait_for_model") is True


# ----------------------------------------------------------------- routes


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


async def inference(request: Request) -> Response:
    service: Service = request.app.state.service
    settings = service.settings
    started = time.perf_counter()
    headers = outputs.base_headers(settings.compute_type)
    status = 200
    try:
        response = await _answer(request, service, headers, started)
    except APIError as error:
        response = error.response(headers)
    except ClientDisconnected:
        status = CLIENT_GONE
        response = Response(status_code=CLIENT_GONE)
    except Exception:
        logger.exception("Unexpected error while answering a request")
        response = InferenceFailed("Internal error; the server log has the details").response(headers)
    finally:
        service.metrics.requests.labels(status=str(status if status == CLIENT_GONE else response.status_code)).inc()
        service.metrics.request_seconds.observe(time.perf_counter() - started)
    outputs.stamp_compute_time(response, started)
    return response


async def _answer(request: Request, service: Service, headers: Dict[str, str], started: float) -> Response:
    spec, engine = service.spec, service.engine
    if spec is None or engine is None:
        raise service.unknown_task()
    body = await read_body(request, service.settings.max_body_bytes)
    accept = request.headers.get("accept")
    outputs.check_acceptable(spec, accept)
    engine.check_available(wait_for_model=True)  # fail fast on a failed load or shutdown
    limits = service.limits()
    if limits.sampling_rate is None and spec.input_kind == InputKind.AUDIO and engine.state == ModelState.LOADING:
        # the pipeline tells its sampling rate only once loaded: decoding must wait for it
        engine.check_available(wait_for_model=wants_to_wait(request, body=body))
        await engine.wait_loaded()
        limits = service.limits()
    if spec.input_kind in MEDIA_INPUTS or len(body) > OFF_LOOP_BODY_BYTES:
        payload = await anyio.to_thread.run_sync(parse_payload, body, spec, limits)
    else:
        payload = parse_payload(body, spec, limits)
    result = await unless_disconnected(
        request, engine.infer(payload.inputs, payload.parameters, wait_for_model=wants_to_wait(request, payload))
    )
    if spec.output_kind in MEDIA_OUTPUTS:
        content, media_type = await anyio.to_thread.run_sync(outputs.encode_output, spec, result, accept)
    else:
        content, media_type = outputs.encode_output(spec, result, accept)
    headers.update(outputs.usage_headers(spec, payload.inputs, limits.sampling_rate))
    return Response(content, status_code=200, headers=headers, media_type=media_type)


# ---------------------------------------------------------------- factory


def create_app(
    allowed_tasks: Mapping[str, Type[Pipeline]],
    settings: Optional[Settings] = None,
) -> Starlette:
    """Build the server for an image: `ALLOWED_TASKS` maps task names to Pipeline classes."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    service = Service(allowed_tasks, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if service.engine is not None:
            service.engine.start()
        else:
            logger.error(service.unknown_task().message)
        yield
        if service.engine is not None:
            await service.engine.stop(settings.shutdown_grace_s)

    middleware = [Middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes)]
    if settings.cors_allow_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_allow_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["*"],
                expose_headers=outputs.EXPOSED_HEADERS.split(", "),
            )
        )
    routes = [
        Route("/health", liveness, methods=["GET"]),
        Route("/ready", readiness, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/info", info, methods=["GET"]),
        Route("/{path:path}", status_ok, methods=["GET"]),
        Route("/{path:path}", inference, methods=["POST"]),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.service = service
    app.get_pipeline = _pipeline_getter(service)  # upstream compatibility
    return app


def _pipeline_getter(service: Service) -> Callable[[], Pipeline]:
    def get_pipeline() -> Pipeline:
        """The loaded pipeline (upstream apps call `app.get_pipeline()`)."""
        engine = service.engine
        if engine is None:
            raise OSError(service.unknown_task().message)
        if engine.pipeline is None:
            raise OSError(f"Model {service.settings.model_id} is {engine.state.value}")
        return engine.pipeline

    return get_pipeline
