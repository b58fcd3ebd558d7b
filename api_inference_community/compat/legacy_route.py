"""The upstream package's POST route, `pipeline_route`, for apps that build their own Starlette app.

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

from ..errors import APIError, InferenceFailed, UnknownTask
from ..http import headers as answer_headers
from ..http.encoding import encode_output, output_format
from ..http.handlers import status_ok
from ..http.request import read_body
from ..http.responses import error_response
from ..runtime.engine import as_client_error
from ..runtime.settings import Settings, get_settings
from ..tasks.registry import TASKS
from ..tasks.validation import Limits, parse_payload

__all__ = ["pipeline_route", "status_ok"]

logger = logging.getLogger(__name__)

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
    headers = answer_headers.base_headers(settings.compute_type)
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
        fmt = output_format(spec, request.headers.get("accept"))
        try:
            result = await run_in_threadpool(_call_pipeline, pipe, payload.inputs, payload.parameters)
        except Exception as error:
            client_error = as_client_error(error)
            if client_error.status_code >= 500:
                logger.exception("Inference failed")
            raise client_error from None
        content, media_type = await run_in_threadpool(encode_output, spec, result, fmt)
        headers.update(answer_headers.usage_headers(spec, payload.inputs, sampling_rate))
        response = Response(content, headers=headers, media_type=media_type)
    except APIError as error:
        response = error_response(error, headers)
    answer_headers.stamp_compute_time(response, started)
    return response
