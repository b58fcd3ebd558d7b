"""JSON responses, serialized with orjson (numpy arrays and scalars included)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import APIError

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _fallback(value: Any) -> Any:
    """Serialize what orjson does not know natively (numpy scalars, tensors)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_fallback, option=_OPTIONS)


def json_response(content: Any, status_code: int = 200, headers: Optional[Mapping[str, str]] = None) -> Response:
    return Response(dumps(content), status_code=status_code, headers=dict(headers or {}), media_type="application/json")


def error_response(error: APIError, extra_headers: Optional[Mapping[str, str]] = None) -> Response:
    """The JSON answer of an error: its body, its status, and its headers over `extra_headers`."""
    headers = {**(extra_headers or {}), **error.headers}
    return json_response(error.body(), status_code=error.status_code, headers=headers)


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's own errors (404, 405...) as JSON, like every other answer (an exception handler)."""
    assert isinstance(error, HTTPException)
    return json_response({"error": error.detail}, error.status_code, headers=error.headers)
