"""HTTP/1.1 by hand, over a raw socket: for requests that no well-behaved client library would send."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional

from hostile_probes import Answer


def request_head(method: str, path: str, headers: Mapping[str, str]) -> bytes:
    """A request line and headers (Host and `Connection: close` added), up to the blank line."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(parts: Iterable[bytes]) -> List[bytes]:
    """`parts` in chunked transfer coding, with the final empty chunk."""
    return [b"%x\r\n%s\r\n" % (len(part), part) for part in parts if part] + [b"0\r\n\r\n"]


@dataclass
class RawAnswer:
    """What the server sent back; `status` is None when it closed the connection without an answer."""

    status: Optional[int]
    headers: Dict[str, str]
    body: bytes
    send_error: Optional[str] = None  # the server stopped reading before everything was sent

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        return f"{self.status} {self.headers.get('content-type', '?')} {self.body[:200]!r} (send: {self.send_error})"

    def answer(self) -> Answer:
        """As `hostile_probes.Answer`, for its checks (a missing answer reads as status 0)."""
        return Answer(self.status or 0, self.headers, self.body, len(self.body))


def exchange(
    port: int, parts: Iterable[bytes], *, timeout: float = 10.0, half_close: bool = False, pause: float = 0.0
) -> RawAnswer:
    """Send `parts` (sleeping `pause` between them), optionally shut the writing side, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        send_error = None
        try:
            for part in parts:
                sock.sendall(part)
                if pause:
                    time.sleep(pause)
        except OSError as error:  # an early answer (413...) may close the connection while we send
            send_error = type(error).__name__
        if half_close:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        received = _read_all(sock)
    return parse_answer(received, send_error)


def send_and_leave(port: int, parts: Iterable[bytes]) -> None:
    """Send `parts`, then close the connection at once without reading."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for part in parts:
            sock.sendall(part)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:  # reset after the answer, or a timeout: keep what came
        pass
    return b"".join(chunks)


def parse_answer(raw: bytes, send_error: Optional[str] = None) -> RawAnswer:
    """The first HTTP response in `raw` (a chunked body is decoded)."""
    head, separator, rest = raw.partition(b"\r\n\r\n")
    if not separator or not head.startswith(b"HTTP/1."):
        return RawAnswer(None, {}, raw, send_error)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(rest)
    elif headers.get("content-length", "").isdigit():
        body = rest[: int(headers["content-length"])]
    else:
        body = rest
    return RawAnswer(status, headers, body, send_error)


def _dechunk(data: bytes) -> bytes:
    body = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body.append(data[:size])
        data = data[size + 2 :]
    return b"".join(body)


def open_idle(port: int, count: int) -> List[socket.socket]:
    """`count` connections that send nothing."""
    return [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]


def close_all(sockets: Iterable[socket.socket]) -> None:
    for sock in sockets:
        sock.close()
