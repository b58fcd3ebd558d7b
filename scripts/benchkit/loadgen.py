"""The closed-loop HTTP load generator: N keep-alive clients on one asyncio loop, over raw sockets.

Each client sends its next request as soon as the previous one answered. No HTTP library sits on
the hot path, so that the generator costs the cores it shares with the server as little as
possible (its CPU is measured and reported).
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import List, Optional, Sequence, Tuple

# (sent at, answered at, HTTP status, items), perf_counter seconds
Record = Tuple[float, float, int, int]


def post_request(port: int, path: str, body: bytes, content_type: str = "application/json") -> bytes:
    """The bytes of one HTTP/1.1 POST to 127.0.0.1:`port` (keep-alive)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def post_requests(port: int, path: str, bodies: Sequence[str]) -> List[bytes]:
    """One JSON POST per body."""
    return [post_request(port, path, body.encode()) for body in bodies]


class _Connection(asyncio.Protocol):
    """One keep-alive connection of the closed loop: one request in flight at a time."""

    def __init__(self, generator: LoadGenerator) -> None:
        self.generator = generator
        self.transport: Optional[asyncio.Transport] = None
        self.buffer = bytearray()
        self.need = -1  # bytes of the response being read (headers + body), once headers are in
        self.status = 0
        self.close_after = False
        self.sent_at = 0.0
        self.in_flight = False
        self.items = 0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            if self.need < 0:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                lines = bytes(buffer[:end]).split(b"\r\n")
                self.status = int(lines[0].split(b" ", 2)[1])
                length, self.close_after = None, False
                for line in lines[1:]:
                    key, _, value = line.partition(b":")
                    key = key.strip().lower()
                    if key == b"content-length":
                        length = int(value)
                    elif key == b"connection" and value.strip().lower() == b"close":
                        self.close_after = True
                if length is None:  # chunked answers are not expected from this server
                    self.status = -1
                    self.close_after = True
                    length = len(buffer) - end - 4
                self.need = end + 4 + length
            if len(buffer) < self.need:
                return
            del buffer[: self.need]
            self.need = -1
            self.in_flight = False
            self.generator.completed(self, self.status)
            if self.closed or self.in_flight:
                return

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.closed = True
        self.generator.lost(self)


class LoadGenerator:
    """N closed-loop clients on one asyncio loop; records (sent, answered, status, items)."""

    def __init__(
        self,
        host: str,
        port: int,
        requests: Sequence[bytes],
        items: Sequence[int],
        concurrency: int,
        stop_at: float,
        drain_timeout: float = 60.0,
    ) -> None:
        self.host, self.port = host, port
        self.requests, self.items = list(requests), list(items)
        self.concurrency = concurrency
        self.stop_at = stop_at
        self.drain_timeout = drain_timeout
        self.records: List[Record] = []
        self.connection_errors: List[float] = []
        self._next = 0
        self._active = 0
        self._done: Optional[asyncio.Future] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._connections: List[_Connection] = []

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._done = self._loop.create_future()
        self._active = self.concurrency
        for _ in range(self.concurrency):
            self._loop.create_task(self._open_and_send())
        try:
            await asyncio.wait_for(asyncio.shield(self._done), timeout=self.stop_at - time.perf_counter() + 60)
        except asyncio.TimeoutError:
            pass
        for connection in self._connections:
            if connection.transport is not None and not connection.closed:
                connection.transport.close()

    async def _open_and_send(self) -> None:
        loop = self._loop
        assert loop is not None, "run() sets the loop"
        while time.perf_counter() < self.stop_at:
            try:
                _, connection = await loop.create_connection(lambda: _Connection(self), self.host, self.port)
            except OSError:
                self.connection_errors.append(time.perf_counter())
                await asyncio.sleep(0.05)
                continue
            self._connections.append(connection)
            self.send(connection)
            return
        self._finish_one()

    def send(self, connection: _Connection) -> None:
        index = self._next % len(self.requests)
        self._next += 1
        connection.items = self.items[index]
        connection.in_flight = True
        connection.sent_at = time.perf_counter()
        assert connection.transport is not None, "sent on an open connection"
        connection.transport.write(self.requests[index])

    def completed(self, connection: _Connection, status: int) -> None:
        now = time.perf_counter()
        self.records.append((connection.sent_at, now, status, connection.items))
        if connection.close_after:
            assert connection.transport is not None
            connection.transport.close()  # connection_lost reopens it
            return
        if now < self.stop_at:
            self.send(connection)
        else:
            self._finish_one()

    def lost(self, connection: _Connection) -> None:
        now = time.perf_counter()
        if connection.in_flight:
            connection.in_flight = False
            self.connection_errors.append(now)
        elif not connection.close_after:
            return  # closed by us after it finished
        if now < self.stop_at:
            assert self._loop is not None
            self._loop.create_task(self._open_and_send())
        else:
            self._finish_one()

    def _finish_one(self) -> None:
        self._active -= 1
        if self._active <= 0 and self._done is not None and not self._done.done():
            self._done.set_result(None)
