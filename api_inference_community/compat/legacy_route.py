"""The upstream package's POST route, `pipeline_route`, for apps that build their own Starlette app.

New images use `create_app`; this keeps apps written for the upstream package working
(`Route("/{whatever:path}", pipeline_route, methods=["POST"])` and `app.get_pipeline`), with
upstream's answers: TASK read on every request; 400 `{"error": [...]}` listing the problems of
a payload upstream's checks refuse (`compat.checks`), `{"error": "..."}` for other bad payloads;
500 with the message of a failing `get_pipeline()`; media formats and usage headers as upstream
writes them (`compat.answers`); the `lora` header passed as the `lora_adapter` parameter.

The request takes the core's path: the body is bounded and counted (`http.request.held_body`),
decoded and encoded on the decode threads, and the model runs in an `InferenceEngine`
(`compat.legacy_engine`): bounded queue, deadline, jobs dropped when their client leaves, metrics.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Dict, Optional, Tuple

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from ..errors import APIError, InferenceFailed, InvalidInput, ModelLoadFailed, UnknownTask
from ..http import headers as answer_headers
from ..http.encoding import encode_output
from ..http.handlers import CLIENT_GONE, status_ok
from ..http.request import ClientDisconnected, held_body, unless_disconnected
from ..http.responses import error_response
from ..runtime.engine import ModelState
from ..tasks.registry import TASKS, InputKind, TaskSpec
from ..tasks.validation import Limits, is_json_content_type
from .answers import legacy_output_format, legacy_usage_headers
from .checks import validation_messages
from .legacy_engine import LegacyModels, legacy_models
from .normalize import normalize_payload

__all__ = ["pipeline_route", "status_ok"]

logger = logging.getLogger(__name__)

LORA_HEADER = "lora"


async def pipeline_route(request: Request) -> Response:
    """POST handler of upstream apps: check, load (`app.get_pipeline()`), normalize, queue, encode."""
    started = time.perf_counter()
    models = legacy_models(request.app)
    headers = answer_headers.base_headers(models.settings.compute_type)
    response: Optional[Response] = None
    try:
        response = await _answer(request, models, headers)
    except APIError as error:
        response = error_response(error, headers)
    except ClientDisconnected:
        return Response(status_code=CLIENT_GONE)  # counted below as 499; nobody reads it
    except Exception:
        logger.exception("Unexpected error while answering a request")
        response = error_response(InferenceFailed("Internal error; the server log has the details"), headers)
    finally:
        status = response.status_code if response is not None else CLIENT_GONE
        models.metrics.requests.labels(status=str(status)).inc()
        models.metrics.request_seconds.observe(time.perf_counter() - started)
    answer_headers.stamp_compute_time(response, started)
    return response


async def _answer(request: Request, models: LegacyModels, headers: Dict[str, str]) -> Response:
    task = os.environ.get("TASK", "")
    spec = TASKS.get(task)
    if spec is None:
        raise UnknownTask(f"The task `{task}` is not recognized by api-inference-community")
    model = models.engine(spec)
    engine = model.engine
    await engine.wait_loaded()  # upstream waits for get_pipeline(); bounded by WAIT_FOR_MODEL_TIMEOUT
    if engine.state != ModelState.READY:
        models.forget(spec, model)  # the next request calls get_pipeline() again
        if model.load_error is not None:
            raise ModelLoadFailed(model.load_error)
        engine.check_available(wait_for_model=True)
    sampling_rate = engine.pipeline.sampling_rate if engine.pipeline is not None else None
    if spec.input_kind == InputKind.AUDIO and sampling_rate is None:
        raise ModelLoadFailed(f"Sampling rate is expected for model for audio task {task}")
    limits = Limits.from_settings(models.settings, sampling_rate)
    declared_json = is_json_content_type(request.headers.get("content-type"))
    async with held_body(request, models.settings.max_body_bytes, models.bodies) as body:
        inputs, parameters = await models.decoders.run(_normalize, body, spec, limits, declared_json)
    lora = request.headers.get(LORA_HEADER)
    if lora:
        parameters["lora_adapter"] = lora
    fmt = legacy_output_format(spec, request.headers.get("accept"))
    result = await unless_disconnected(request, engine.infer(inputs, parameters, wait_for_model=True))
    content, media_type = await models.decoders.run(encode_output, spec, result, fmt)
    headers.update(legacy_usage_headers(spec, inputs, sampling_rate))
    return Response(content, status_code=200, headers=headers, media_type=media_type)


def _normalize(body: bytes, spec: TaskSpec, limits: Limits, declared_json: bool) -> Tuple[Any, Dict[str, Any]]:
    """Upstream's `normalize_payload`, its errors as upstream answers them (400)."""
    try:
        return normalize_payload(body, spec.name, limits.sampling_rate, limits, declared_json)
    except ValidationError as error:
        refusal = InvalidInput(validation_messages(error))
    except APIError:
        raise
    except ValueError as error:  # not UTF-8, audio that cannot be decoded...
        refusal = InvalidInput(str(error))
    logger.info("Refused a request for %s: %s", spec.name, refusal)
    raise refusal
