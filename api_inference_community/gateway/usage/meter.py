"""Measuring an inference request as the client sees it (an ASGI middleware).

The middleware counts the request's body bytes as they are received and the answer's bytes as
they are sent, reads its status and usage headers (`x-compute-*`, from the replica) from its
start, and, once the app has finished with it (the streamed body sent, or the client gone, or a
failure), hands one usage record to the recorder and gives back the caller's place in its count
in flight. Only requests that the `inference` handler admitted (`Measurement.caller` set) are
recorded: a request refused with 401 belongs to nobody.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import timedelta
from typing import Callable, Dict, Iterable, Optional, Tuple

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...http.headers import HEADER_AUDIO_LENGTH, HEADER_CHARACTERS, HEADER_COMPUTE_TIME, HEADER_IMAGES
from .admission import Caller
from .limits import Slot
from .records import EPOCH, UsageRecord

logger = logging.getLogger(__name__)

SCOPE_KEY = "aic.usage"
USAGE_HEADERS = {name.encode(): name for name in (HEADER_COMPUTE_TIME, HEADER_CHARACTERS, HEADER_IMAGES,
                                                   HEADER_AUDIO_LENGTH)}  # fmt: skip
NO_LIBRARY = "none"
CLIENT_GONE = 499  # the status recorded when the client left before an answer started


class Measurement:
    """What is known of one request while it runs (slotted: one is made per request)."""

    __slots__ = ("arrived", "started", "model", "task", "library", "routed", "caller", "slot", "status",
                 "request_bytes", "response_bytes", "headers")  # fmt: skip

    def __init__(self, arrived: float, started: float) -> None:
        self.arrived = arrived  # time.time(): made a datetime only once the request has ended
        self.started = started  # perf_counter
        self.model = ""
        self.task = ""
        self.library = NO_LIBRARY
        self.routed = False
        self.caller: Optional[Caller] = None
        self.slot: Optional[Slot] = None
        self.status = 0
        self.request_bytes = 0
        self.response_bytes = 0
        self.headers: Iterable[Tuple[bytes, bytes]] = ()

    def record(self, ended: float) -> UsageRecord:
        assert self.caller is not None
        figures: Dict[str, bytes] = {}
        for name, value in self.headers:
            known = USAGE_HEADERS.get(name) or USAGE_HEADERS.get(name.lower())
            if known is not None:
                figures[known] = value
        compute = _number(figures.get(HEADER_COMPUTE_TIME))
        return UsageRecord(
            ts=EPOCH + timedelta(seconds=self.arrived),
            token_id=self.caller.token_id,
            model=self.model,
            task=self.task,
            library=self.library,
            status=self.status or CLIENT_GONE,
            latency_ms=(ended - self.started) * 1000.0,
            compute_ms=None if compute is None else compute * 1000.0,
            characters=int(_number(figures.get(HEADER_CHARACTERS)) or 0),
            images=int(_number(figures.get(HEADER_IMAGES)) or 0),
            audio_seconds=_number(figures.get(HEADER_AUDIO_LENGTH)) or 0.0,
            request_bytes=self.request_bytes,
            response_bytes=self.response_bytes,
        )


def _number(value: Optional[bytes]) -> Optional[float]:
    """A usage header's value; None when absent or not a finite, non-negative number."""
    if value is None or len(value) > 32:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def measurement(request: Request) -> Optional[Measurement]:
    """The measurement of the request being handled (None when the middleware is not installed)."""
    return request.scope.get(SCOPE_KEY)


class UsageMiddleware:
    """Measures POST requests; `finish(measurement, ended)` is called once each admitted one has ended."""

    def __init__(self, app: ASGIApp, finish: Callable[[Measurement, float], None]) -> None:
        self.app = app
        self.finish = finish

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        measured = Measurement(time.time(), time.perf_counter())
        scope[SCOPE_KEY] = measured

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                measured.request_bytes += len(message.get("body", b""))
            return message

        async def counted_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.body":
                measured.response_bytes += len(message.get("body", b""))
            elif kind == "http.response.start":
                measured.status = message["status"]
                measured.headers = message.get("headers", ())
            await send(message)

        try:
            await self.app(scope, counted_receive, counted_send)
        except asyncio.CancelledError:
            measured.status = measured.status or CLIENT_GONE
            raise
        except Exception:
            measured.status = measured.status or 500
            raise
        finally:
            self._end(measured)

    def _end(self, measured: Measurement) -> None:
        ended = time.perf_counter()
        if measured.slot is not None:
            measured.slot.release()
        if measured.caller is None:
            return
        try:
            self.finish(measured, ended)
        except Exception:  # accounting must never break an answer
            logger.exception("Recording the usage of a request failed")
