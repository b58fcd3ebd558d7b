"""Reading a request: its body (bounded, counted), what it asks for in headers, whether its client is still there."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Awaitable, Optional

from starlette.requests import ClientDisconnect, Request

from ..errors import PayloadTooLarge
from ..runtime.admission import MemoryBudget

WAIT_FOR_MODEL_HEADER = "x-wait-for-model"


class ClientDisconnected(Exception):
    """The client went away before its answer was ready."""


def _declared_length(request: Request, limit: int) -> int:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes")
    return int(declared) if declared.isdigit() else 0


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes `limit` bytes."""
    async with held_body(request, limit, None) as body:
        return body


@contextlib.asynccontextmanager
async def held_body(request: Request, limit: int, budget: Optional[MemoryBudget]) -> AsyncIterator[bytes]:
    """The request body while the block runs, its bytes counted against `budget` until the block ends.

    413 as soon as the body passes `limit` bytes; 503 (Overloaded) when the budget cannot hold it
    (a declared Content-Length is reserved before reading); ClientDisconnected if the client leaves.
    """
    held = 0
    try:
        declared = _declared_length(request, limit)
        if budget is not None and declared:
            budget.reserve(declared)
            held = declared
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes")
                if budget is not None and size > held:
                    budget.reserve(size - held)
                    held = size
                chunks.append(chunk)
        except ClientDisconnect:
            raise ClientDisconnected() from None
        body = b"".join(chunks)
        del chunks
        yield body
    finally:
        if budget is not None:
            budget.release(held)


def header_asks_to_wait(request: Request) -> bool:
    """Whether the `x-wait-for-model` header asks to wait while the model loads."""
    return request.headers.get(WAIT_FOR_MODEL_HEADER, "").strip().lower() in {"1", "true", "yes"}


async def wait_for_disconnect(request: Request) -> None:
    """Return when the client goes away (call only after the body was read)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def unless_disconnected(request: Request, work: Awaitable[Any]) -> Any:
    """Run `work`, cancelling it (its job is dropped) if the client disconnects first.

    If this coroutine is itself cancelled (the server's shutdown timed out), `work` is cancelled too.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(wait_for_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait({task})  # let the work drop its job before this coroutine ends
        raise
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise ClientDisconnected()
    return task.result()
