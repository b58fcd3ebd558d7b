"""Forwarding a request to a replica: pooled keep-alive connections, bodies streamed both ways.

- The body limit is enforced before forwarding (a declared Content-Length) and while streaming.
- A request is retried on another replica only when it never reached the first: the connection
  could not be made, or it broke before any answer because the replica is gone (a stale
  keep-alive connection to a replica that died; the body, up to 1 MiB, is kept to be sent again).
- The caller's `Authorization` (and other hop-by-hop headers) never reach a replica; every
  request carries an `x-request-id` (the caller's, when it is a sane one), answered back and logged.
- Transport failures are 502, a replica that does not answer in time 504, both as JSON.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple

import httpx2 as httpx
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import StreamingResponse

from ..errors import APIError, PayloadTooLarge
from .backends.base import Replica
from .settings import GatewaySettings

logger = logging.getLogger(__name__)

REQUEST_ID = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade"}
)  # fmt: skip
NOT_FORWARDED = HOP_BY_HOP | {"host", "authorization", "cookie", "content-length"}
NOT_RETURNED = HOP_BY_HOP | {"server", "date"}


class BadGateway(APIError):
    status_code = 502


class GatewayTimeout(APIError):
    status_code = 504


class ClientGone(Exception):
    """The caller left while its body was being forwarded."""


def request_id(request: Request) -> str:
    """The caller's `x-request-id` when it is a sane one, else a new one."""
    given = request.headers.get(REQUEST_ID, "")
    return given if _SANE_ID.match(given) else uuid.uuid4().hex


def forwarded_headers(headers: Iterable[Tuple[str, str]], rid: str) -> List[Tuple[str, str]]:
    kept = [
        (name, value) for name, value in headers if name.lower() not in NOT_FORWARDED and name.lower() != REQUEST_ID
    ]
    return [*kept, (REQUEST_ID, rid)]


REPLAY_BYTES = 1024 * 1024  # bodies up to this size are kept, so they can be sent to another replica


class BodyStream:
    """The caller's body, streamed to a replica, counted against the limit; `started` once read from.

    Its first REPLAY_BYTES are kept: a body no larger can be streamed again (`replay`).
    """

    def __init__(self, request: Request, limit: int) -> None:
        self.request = request
        self.limit = limit
        self.started = False
        self.size = 0
        self.kept: Optional[List[bytes]] = []
        self.complete = False

    @property
    def replayable(self) -> bool:
        return self.kept is not None and (self.complete or not self.started)

    async def replay(self) -> AsyncIterator[bytes]:
        for chunk in self.kept or ():
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        try:
            async for chunk in self.request.stream():
                self.size += len(chunk)
                if self.size > self.limit:
                    raise PayloadTooLarge(f"Request body is larger than the limit of {self.limit} bytes")
                if self.kept is not None:
                    self.kept = self.kept + [chunk] if self.size <= REPLAY_BYTES else None
                if chunk:
                    yield chunk
        except ClientDisconnect:
            raise ClientGone() from None
        self.complete = True


class Proxy:
    """One pooled HTTP client for every replica of every pool."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=1024, max_keepalive_connections=256, keepalive_expiry=30),
            timeout=httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
            follow_redirects=False,
            trust_env=False,  # replicas are reached directly, never through an HTTP proxy
        )
        self.client.headers.clear()  # only the caller's headers go on (no encoding it did not ask for)

    async def close(self) -> None:
        await self.client.aclose()

    async def health(self, replica: Replica) -> bool:
        """Whether the replica can take requests: its `/ready` (server up, pinned models loaded) is 200."""
        try:
            response = await self.client.get(replica.url + "/ready", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def get_json(self, replica: Replica, path: str) -> Tuple[int, bytes]:
        response = await self.client.get(replica.url + path, timeout=10.0)
        return response.status_code, response.content

    async def forward(
        self, request: Request, replicas: List[Replica], rid: str, gone: Callable[[Replica], Awaitable[bool]]
    ) -> Tuple[httpx.Response, Replica]:
        """Send the request to the first replica that can be reached; the answer is streamed back later.

        `gone(replica)`: whether a replica whose connection broke has exited (the request then never ran).
        """
        declared = request.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            raise PayloadTooLarge(f"Request body is larger than the limit of {self.settings.max_body_bytes} bytes")
        body = BodyStream(request, self.settings.max_body_bytes)
        headers = forwarded_headers(request.headers.items(), rid)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        last_error: Optional[Exception] = None
        content: Any = body
        for replica in replicas:
            outgoing = self.client.build_request(request.method, replica.url + path, headers=headers, content=content)
            try:
                return await self.client.send(outgoing, stream=True), replica
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                last_error = error  # the connection was never made
            except httpx.TimeoutException:
                raise GatewayTimeout(f"The model did not answer within {self.settings.request_timeout_s:g} s") from None
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as error:
                if not await gone(replica):  # the replica may have run it: never sent twice
                    raise BadGateway(f"The replica failed while answering ({type(error).__name__})") from None
                replica.healthy = False
                last_error = error
            except httpx.HTTPError as error:
                raise BadGateway(f"The replica failed while answering ({type(error).__name__})") from None
            if not body.replayable:
                break
            content = body.replay() if body.started else body
            logger.warning(
                "Replica %s unreachable (%s); request %s goes to the next one", replica.slot, last_error, rid
            )
        raise BadGateway(f"No replica could be reached ({type(last_error).__name__})")

    @staticmethod
    def streamed(upstream: httpx.Response, rid: str, extra: Optional[Dict[str, str]] = None) -> StreamingResponse:
        """The replica's answer as the caller's, streamed (its encoding untouched)."""
        headers = {name: value for name, value in upstream.headers.items() if name.lower() not in NOT_RETURNED}
        headers[REQUEST_ID] = rid
        headers.update(extra or {})
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers=headers,
            background=BackgroundTask(upstream.aclose),
        )
