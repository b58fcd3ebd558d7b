"""The widget's static files (`static/`, package data), served by the gateway itself.

Only the files the package ships are served, by name (no paths); each answer carries its content
type, the security headers and an ETag (its content's hash): the browser revalidates and gets 304
while the file is unchanged.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from typing import Dict, Tuple

from starlette.requests import Request
from starlette.responses import Response

from ...http.responses import json_response
from .security import SECURITY_HEADERS

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
PREFIX = "/widget/static/"


@functools.cache
def assets() -> Dict[str, Tuple[bytes, str, str]]:
    """{name: (content, content type, etag)} of every file in static/."""
    found = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            content = entry.read_bytes()
            found[entry.name] = (content, CONTENT_TYPES[suffix], '"' + hashlib.sha256(content).hexdigest()[:16] + '"')
    return found


def url(name: str) -> str:
    """The URL of an asset (KeyError for a file the package does not ship)."""
    assets()[name]
    return PREFIX + name


async def static_asset(request: Request) -> Response:
    """GET /widget/static/{name}: a file of static/, or a JSON 404."""
    found = assets().get(request.path_params["name"])
    if found is None:
        return json_response({"error": "Not Found"}, 404)
    content, content_type, etag = found
    headers = {**SECURITY_HEADERS, "cache-control": "no-cache", "etag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content, headers=headers, media_type=content_type)
