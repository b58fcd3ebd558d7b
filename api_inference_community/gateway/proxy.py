"""Forwarding a request to a replica: pooled keep-alive connections, bodies streamed both ways.

- The body limit is enforced before forwarding (a declared Content-Length) and while streaming.
- A request is retried on another replica only when it never reached the first: the connection
  could not be made, or it broke before any answer because the replica is gone (a stale
  keep-alive connection to a replica that died; the body, up to 1 MiB, is kept to be sent again).
- The caller's `Authorization` (and other hop-by-hop headers) never reach a replica; every
  request carries an `x-request-id` (the caller's, when it is a sane one), answered back and logged.
- Transport failures are 502, a replica that does not answer in time 504, both as JSON.
- Small bodies travel whole (fewer writes, no chunked encoding, no streaming machinery): a request
  body of a declared length up to SMALL_BODY is read before it is sent, with its Content-Length;
  an answer of a declared length up to SMALL_ANSWER is read, then sent in one piece. Anything
  larger, or of no declared length (a streamed answer), is streamed both ways.
"""

from __future__ import annotations

import asyncio
import logging
import re
import select
import uuid
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple

import httpcore2
import httpx2 as httpx
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

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
_NOT_FORWARDED_RAW = frozenset(name.encode() for name in NOT_FORWARDED | {REQUEST_ID})
_NOT_RETURNED_RAW = frozenset(name.encode() for name in NOT_RETURNED | {REQUEST_ID})
SMALL_BODY = 64 * 1024  # request bodies of a declared length up to this are read whole, then sent
SMALL_ANSWER = 256 * 1024  # answers of a declared length up to this are read whole, then sent
URL_CACHE = 4096  # replica URLs kept parsed


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


def forwarded_headers(headers: Iterable[Tuple[bytes, bytes]], rid: str) -> List[Tuple[bytes, bytes]]:
    """The caller's headers (raw, as ASGI gives them) that go on to a replica, and the request id."""
    kept = [(name, value) for name, value in headers if name.lower() not in _NOT_FORWARDED_RAW]
    kept.append((b"x-request-id", rid.encode()))
    return kept


def returned_headers(
    headers: Iterable[Tuple[bytes, bytes]], rid: str, extra: Optional[Dict[str, str]] = None
) -> List[Tuple[bytes, bytes]]:
    """A replica's answer headers (raw) that go back to the caller, with the request id and `extra`."""
    kept = [(name.lower(), value) for name, value in headers if name.lower() not in _NOT_RETURNED_RAW]
    kept.append((b"x-request-id", rid.encode()))
    for name, value in (extra or {}).items():
        lowered = name.lower().encode("latin-1")
        kept = [(n, v) for n, v in kept if n != lowered]
        kept.append((lowered, value.encode("latin-1")))
    return kept


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
                    if self.size <= REPLAY_BYTES:
                        self.kept.append(chunk)
                    else:
                        self.kept = None
                if chunk:
                    yield chunk
        except ClientDisconnect:
            raise ClientGone() from None
        self.complete = True

    async def read(self) -> bytes:
        """The whole body (up to REPLAY_BYTES: it stays replayable), under the same limit and checks."""
        return b"".join([chunk async for chunk in self])


READ_BUFFER = 256 * 1024  # bytes a replica connection buffers before it stops reading from its socket


class LoopStream(asyncio.Protocol, httpcore2.AsyncNetworkStream):
    """A connection to a replica on the event loop's own transport: httpcore's reads and writes, no extra layer.

    The loop reads eagerly: a connection that is idle yet has data or an end of stream waiting is
    seen without a system call (`is_readable`, which keeps stale keep-alive connections out of use).
    """

    def __init__(self) -> None:
        self.transport: Optional[asyncio.Transport] = None
        self.socket: Any = None
        self.buffer = bytearray()
        self.eof = False
        self.lost: Optional[BaseException] = None
        self.read_paused = False
        self.write_paused = False
        self._waiter: Optional[asyncio.Future[None]] = None

    # the transport's callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.socket = transport.get_extra_info("socket")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > READ_BUFFER and not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.eof = True
        self.lost = exc
        self.write_paused = False
        self._wake()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self, timeout: Optional[float]) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        finally:
            self._waiter = None

    # httpcore's network stream

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        while not self.buffer and not self.eof:
            try:
                await self._wait(timeout)
            except TimeoutError:
                raise httpcore2.ReadTimeout("read timed out") from None
        if self.buffer:
            if len(self.buffer) <= max_bytes:
                data = bytes(self.buffer)
                self.buffer.clear()
            else:
                data = bytes(self.buffer[:max_bytes])
                del self.buffer[:max_bytes]
            if self.read_paused and len(self.buffer) <= READ_BUFFER // 4 and self.transport is not None:
                self.read_paused = False
                self.transport.resume_reading()
            return data
        if self.lost is not None:
            raise httpcore2.ReadError(str(self.lost) or type(self.lost).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        if not buffer:
            return
        if self.transport is None or self.transport.is_closing():
            raise httpcore2.WriteError(str(self.lost) if self.lost else "the connection is closed")
        while self.write_paused and not self.transport.is_closing():
            try:
                await self._wait(timeout)
            except TimeoutError:
                raise httpcore2.WriteTimeout("write timed out") from None
        if self.lost is not None:
            raise httpcore2.WriteError(str(self.lost) or type(self.lost).__name__)
        self.transport.write(buffer)

    async def aclose(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def start_tls(
        self, ssl_context: Any, server_hostname: Optional[str] = None, timeout: Optional[float] = None
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("replicas are reached over plain HTTP")

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return bool(self.buffer) or self.eof or _readable(self.socket)
        if info == "socket":
            return self.socket
        if info in ("client_addr", "server_addr") and self.transport is not None:
            return self.transport.get_extra_info("sockname" if info == "client_addr" else "peername")
        return None


def _readable(sock: Any) -> bool:
    """Whether a socket has data or an end of stream waiting (a closed socket counts as readable)."""
    fd = sock.fileno() if sock is not None else -1
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class LoopBackend(httpcore2.AsyncNetworkBackend):
    """Opens LoopStream connections (TCP_NODELAY, as every asyncio TCP connection)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> httpcore2.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, stream = await loop.create_connection(
                    LoopStream, host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError:
            raise httpcore2.ConnectTimeout("connection timed out") from None
        except OSError as error:
            raise httpcore2.ConnectError(str(error)) from None
        for option in socket_options or ():
            stream.socket.setsockopt(*option)
        return stream

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def replica_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport, its connection pool over LoopBackend (plain HTTP/1.1 to replicas)."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), httpcore2.AsyncConnectionPool):
        return transport  # another httpx: its own network backend
    transport._pool = httpcore2.AsyncConnectionPool(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=LoopBackend(),
    )
    return transport


class Proxy:
    """One pooled HTTP client for every replica of every pool."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(
            transport=replica_transport(
                httpx.Limits(max_connections=1024, max_keepalive_connections=256, keepalive_expiry=30)
            ),
            timeout=httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
            follow_redirects=False,
            trust_env=False,  # replicas are reached directly, never through an HTTP proxy
        )
        self.client.headers.clear()  # only the caller's headers go on (no encoding it did not ask for)
        self._urls: Dict[str, httpx.URL] = {}

    def _url(self, text: str) -> httpx.URL:
        """`text` parsed once (the same replicas and models come back): bounded, emptied when full."""
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) >= URL_CACHE:
                self._urls.clear()
            url = self._urls[text] = httpx.URL(text)
        return url

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
        length = int(declared) if declared.isdigit() else None
        if length is not None and length > self.settings.max_body_bytes:
            raise PayloadTooLarge(f"Request body is larger than the limit of {self.settings.max_body_bytes} bytes")
        body = BodyStream(request, self.settings.max_body_bytes)
        headers = forwarded_headers(request.scope["headers"], rid)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        last_error: Optional[Exception] = None
        content: Any = await body.read() if length is not None and length <= SMALL_BODY else body
        for replica in replicas:
            outgoing = self.client.build_request(
                request.method, self._url(replica.url + path), headers=headers, content=content
            )
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
            if not isinstance(content, bytes):
                content = body.replay() if body.started else body
            logger.warning(
                "Replica %s unreachable (%s); request %s goes to the next one", replica.slot, last_error, rid
            )
        raise BadGateway(f"No replica could be reached ({type(last_error).__name__})")

    async def answer(self, upstream: httpx.Response, rid: str, extra: Optional[Dict[str, str]] = None) -> Response:
        """The replica's answer as the caller's (its encoding untouched): whole when small, else streamed.

        Reading a small answer can fail as forwarding does: 502, or 504 when the replica stalls.
        """
        declared = upstream.headers.get("content-length", "")
        if not (declared.isdigit() and int(declared) <= SMALL_ANSWER):
            return self.streamed(upstream, rid, extra)
        try:
            body = b"".join([chunk async for chunk in upstream.aiter_raw()])
        except httpx.TimeoutException:
            raise GatewayTimeout(f"The model did not answer within {self.settings.request_timeout_s:g} s") from None
        except httpx.HTTPError as error:
            raise BadGateway(f"The replica failed while answering ({type(error).__name__})") from None
        finally:
            await upstream.aclose()
        return WholeAnswer(body, upstream.status_code, returned_headers(upstream.headers.raw, rid, extra))

    @staticmethod
    def streamed(upstream: httpx.Response, rid: str, extra: Optional[Dict[str, str]] = None) -> StreamingResponse:
        """The replica's answer as the caller's, streamed (its encoding untouched)."""
        response = StreamingResponse(
            upstream.aiter_raw(), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose)
        )
        response.raw_headers = returned_headers(upstream.headers.raw, rid, extra)
        return response


class WholeAnswer(Response):
    """A replica's answer read whole: its status, body and raw headers, sent as they are."""

    def __init__(self, body: bytes, status_code: int, raw_headers: List[Tuple[bytes, bytes]]) -> None:
        self.body = body
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.background = None
