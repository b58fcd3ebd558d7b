"""One HTTP request on its own connection, sent whole or the way a hostile client sends it:
trickled, shorter than announced, or abandoned before the answer. The answer's status and size are measured."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class Delivery:
    """How a request's bytes reach the server."""

    trickle_bytes: int = 0  # > 0: send this many bytes at a time...
    trickle_interval: float = 0.0  # ...this many seconds apart
    half_close: bool = False  # close the sending side once the bytes are sent
    give_up_after: Optional[float] = None  # close the connection if no answer came within this many seconds


@dataclass(frozen=True)
class Outcome:
    """What came back: the status (0: none), the body's size in bytes, and why there was none."""

    status: int
    body_bytes: int
    seconds: float
    content_type: str = ""
    failure: str = ""  # "", "gave up", "timeout", "closed", "reset"


def request_bytes(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str = "application/json",
    content_length: Optional[int] = None,
) -> bytes:
    """An HTTP/1.1 request to 127.0.0.1:`port` that asks the server to close the connection after it."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if method != "GET":
        length = len(body) if content_length is None else content_length
        head += f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n"
    return (head + "\r\n").encode() + body


async def _send(writer: asyncio.StreamWriter, data: bytes, delivery: Delivery) -> None:
    step = delivery.trickle_bytes or len(data) or 1
    for start in range(0, len(data), step):
        if start and delivery.trickle_interval:
            await asyncio.sleep(delivery.trickle_interval)
        writer.write(data[start : start + step])
        await writer.drain()
    if delivery.half_close and writer.can_write_eof():
        writer.write_eof()


async def _read_answer(reader: asyncio.StreamReader) -> Tuple[int, int, str]:
    """(status, body bytes, content type) of one answer; the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, content_type = None, ""
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"content-type":
            content_type = value.strip().decode(errors="replace")
    if length is not None:
        await reader.readexactly(length)
        return status, length, content_type
    return status, len(await reader.read()), content_type  # chunked: counted with its framing


async def exchange(
    host: str, port: int, request: bytes, delivery: Delivery = Delivery(), timeout: float = 30.0
) -> Outcome:
    """Send `request` on a new connection as `delivery` says; wait (at most `timeout` s) for the answer."""
    started = time.perf_counter()

    def outcome(status: int = 0, size: int = 0, content_type: str = "", failure: str = "") -> Outcome:
        return Outcome(status, size, time.perf_counter() - started, content_type, failure)

    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return outcome(failure="refused")
    try:
        try:
            await asyncio.wait_for(_send(writer, request, delivery), timeout)
        except (ConnectionError, OSError):
            pass  # the server may answer (413...) and close before reading everything: read its answer
        wait = timeout if delivery.give_up_after is None else delivery.give_up_after
        wait = max(0.0, wait - (time.perf_counter() - started))
        try:
            return outcome(*await asyncio.wait_for(_read_answer(reader), wait))
        except asyncio.TimeoutError:
            return outcome(failure="timeout" if delivery.give_up_after is None else "gave up")
        except asyncio.IncompleteReadError:
            return outcome(failure="closed")
        except (ConnectionError, OSError):
            return outcome(failure="reset")
        except (ValueError, IndexError, asyncio.LimitOverrunError):
            return outcome(failure="malformed answer")
    finally:
        writer.close()


async def http_get(host: str, port: int, path: str, timeout: float = 10.0) -> Tuple[int, bytes]:
    """A one-off GET on its own connection, without blocking the loop; (status, body)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(request_bytes(port, "GET", path))
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body
