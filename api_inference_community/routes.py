"""Upstream-compatible routes: `pipeline_route` and `status_ok` for apps written for upstream.

New images should use `create_app`; these keep apps that build their own Starlette app with
`Route("/{whatever:path}", pipeline_route, methods=["POST"])` and `app.get_pipeline` working.
Each call runs in a worker thread, one at a time, never on the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from . import outputs
from .app import read_body, status_ok
from .compat import install_event_handlers
from .config import Settings, get_settings
from .engine import as_client_error
from .errors import APIError, InferenceFailed, UnknownTask
from .outputs import HEADER_COMPUTE_TIME, HEADER_COMPUTE_TYPE  # noqa: F401  (upstream names)
from .tasks import TASKS
from .validation import Limits, parse_payload

__all__ = ["pipeline_route", "status_ok"]

logger = logging.getLogger(__name__)
install_event_handlers()

_call_lock = threading.Lock()  # upstream pipelines are not assumed to be thread-safe


def _settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


def _call_pipeline(pipe: Any, inputs: Any, parameters: dict) -> Any:
    with _call_lock:
        return pipe(inputs, **parameters)


async def pipeline_route(request: Request) -> Response:
    """POST handler of upstream apps: validate, call `request.app.get_pipeline()`, encode."""
    started = time.perf_counter()
    settings = _settings(request)
    headers = outputs.base_headers(settings.compute_type)
    try:
        spec = TASKS.get(settings.task)
        if spec is None:
            raise UnknownTask(f"The task `{settings.task}` is not recognized by api-inference-community")
        body = await read_body(request, settings.max_body_bytes)
        try:
            pipe = await run_in_threadpool(request.app.get_pipeline)
        except Exception as error:
            logger.exception("The pipeline cannot be loaded")
            raise InferenceFailed(f"The model cannot be loaded: {error}") from None
        sampling_rate = getattr(pipe, "sampling_rate", None)
        payload = await run_in_threadpool(parse_payload, body, spec, Limits.from_settings(settings, sampling_rate))
        accept = request.headers.get("accept")
        outputs.check_acceptable(spec, accept)
        try:
            result = await run_in_threadpool(_call_pipeline, pipe, payload.inputs, payload.parameters)
        except Exception as error:
            client_error = as_client_error(error)
            if client_error.status_code >= 500:
                logger.exception("Inference failed")
            raise client_error from None
        content, media_type = await run_in_threadpool(outputs.encode_output, spec, result, accept)
        headers.update(outputs.usage_headers(spec, payload.inputs, sampling_rate))
        response = Response(content, headers=headers, media_type=media_type)
    except APIError as error:
        response = error.response(headers)
    outputs.stamp_compute_time(response, started)
    return response
