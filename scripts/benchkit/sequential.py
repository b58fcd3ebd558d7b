"""One client that sends requests one after another on a keep-alive connection, each timed.

For traces that must reach the server in order (a model cache replayed request by request), where
the closed-loop generator (`loadgen`) would reorder them. Standard library only (`http.client`).
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Answer:
    """One request's outcome: status (0: no answer), seconds from sending to the whole answer, body."""

    status: int
    seconds: float
    body: bytes
    headers: Mapping[str, str]


class Session:
    """A keep-alive HTTP/1.1 connection to 127.0.0.1:`port` (reopened when the server closes it)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 300.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._connection: Optional[http.client.HTTPConnection] = None

    def request(
        self, method: str, path: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None
    ) -> Answer:
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: once more on a new one
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            started = time.perf_counter()
            try:
                self._connection.request(method, path, body=body, headers=headers or {})
                response = self._connection.getresponse()
                content = response.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    return Answer(0, time.perf_counter() - started, b"", {})
                continue
            seconds = time.perf_counter() - started
            if response.will_close:
                self.close()
            return Answer(response.status, seconds, content, {k.lower(): v for k, v in response.getheaders()})
        raise AssertionError("unreachable")

    def post(self, path: str, body: bytes, content_type: str, headers: Optional[Dict[str, str]] = None) -> Answer:
        return self.request("POST", path, body, {"Content-Type": content_type, **(headers or {})})

    def get_json(self, path: str) -> Tuple[int, Any]:
        """GET `path`: (status, parsed JSON body or None)."""
        answer = self.request("GET", path)
        try:
            return answer.status, json.loads(answer.body) if answer.body else None
        except ValueError:
            return answer.status, None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
