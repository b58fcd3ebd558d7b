"""Reading a request: its body (bounded), what it asks for in headers, and whether its client is still there."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Awaitable

from starlette.requests import Request

from ..errors import PayloadTooLarge

WAIT_FOR_MODEL_HEADER = "x-wait-for-model"


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


def header_asks_to_wait(request: Request) -> bool:
    """Whether the `x-wait-for-model` header asks to wait while the model loads."""
    return request.headers.get(WAIT_FOR_MODEL_HEADER, "").strip().lower() in {"1", "true", "yes"}


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
