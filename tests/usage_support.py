"""Shared by the tests of tokens, usage and the dashboard: replicas that report usage, gateways over
them (in-process, or as a real process: `python tests/usage_support.py`), and the databases.

A replica answers `{"inputs": TEXT, "status": N, "images": N, "audio": SECONDS, "delay": SECONDS}`
with status N and the usage headers of those figures (characters: len(TEXT)), as a library
container does. Databases: `database_urls` gives a fresh SQLite file or a fresh database on the
session's private PostgreSQL cluster (`scripts/postgres.sh`, started on first use, stopped at the
end of the session; the PostgreSQL tests are skipped with one line when none can be had, and fail
instead with AIC_REQUIRE_POSTGRES=1).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from fakes import write_model  # noqa: E402

from api_inference_community.gateway.app import create_gateway_app  # noqa: E402
from api_inference_community.gateway.backends.base import Replica  # noqa: E402
from api_inference_community.gateway.settings import GatewaySettings  # noqa: E402
from api_inference_community.testing.live import ThreadedServer  # noqa: E402

LIBRARIES = {"usage": ["feature-extraction", "image-classification", "automatic-speech-recognition"]}
TEXT_MODEL, IMAGE_MODEL, AUDIO_MODEL = "org/text", "org/image", "org/audio"
VECTOR_MODEL = "org/vector"  # answers an embedding, for InferenceClient.feature_extraction
WAIT = {"x-wait-for-model": "true"}


# ------------------------------------------------------------------ replicas


def replica_app() -> Starlette:
    """A library container stand-in that answers with the usage figures its body asks for."""

    async def answer(request: Request) -> Response:
        body = await request.json()
        if request.url.path.endswith(VECTOR_MODEL):
            characters = str(len(body.get("inputs", "")))
            return JSONResponse([0.5, 0.25, 0.125], headers={"x-compute-characters": characters})
        if body.get("delay"):
            await asyncio.sleep(float(body["delay"]))
        headers = {"x-compute-time": "0.002", "x-compute-characters": str(len(body.get("inputs", "")))}
        if body.get("images"):
            headers["x-compute-images"] = str(body["images"])
        if body.get("audio"):
            headers["x-compute-audio-length"] = f"{float(body['audio']):.3f}"
        seen = {"authorization": "authorization" in request.headers, "cookie": "cookie" in request.headers}
        content = {"echo": body.get("inputs", ""), "seen": seen}
        return JSONResponse(content, status_code=int(body.get("status", 200)), headers=headers)

    async def ok(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    return Starlette(
        routes=[Route("/health", ok), Route("/ready", ok), Route("/{path:path}", answer, methods=["POST"])]
    )


class UsageBackend:
    """Replicas that are `replica_app` servers in this process."""

    name = "usage"

    def __init__(self) -> None:
        self.servers: Dict[str, ThreadedServer] = {}

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        server = ThreadedServer(replica_app(), name=f"replica-{slot}", log_level="error")
        self.servers[slot] = server
        return Replica(slot, library, server.url, handle=server)

    def exited(self, replica: Replica) -> bool:
        return False

    def stop(self, replica: Replica, grace: float) -> None:
        replica.handle.stop()

    def logs(self, replica: Replica) -> str:
        return ""

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


def models_dir(folder: Path) -> Path:
    write_model(folder, TEXT_MODEL, task="feature-extraction", library="usage")
    write_model(folder, IMAGE_MODEL, task="image-classification", library="usage")
    write_model(folder, AUDIO_MODEL, task="automatic-speech-recognition", library="usage")
    write_model(folder, VECTOR_MODEL, task="feature-extraction", library="usage")
    return folder


def settings(folder: Path, database_url: str, **overrides: object) -> GatewaySettings:
    values: dict = dict(
        models_dir=str(models_dir(folder / "models")),
        hf_hub_offline=True,
        health_interval_s=0.05,
        state_dir=str(folder / "state"),
        database_url=database_url,
        usage_flush_interval_s=0.05,
        token_refresh_s=0.2,
    )
    values.update(overrides)
    return GatewaySettings(**values)


@contextlib.contextmanager
def gateway_client(folder: Path, database_url: str, **overrides: object) -> Iterator[TestClient]:
    """An in-process gateway over `UsageBackend` replicas, its lifespan running."""
    app = create_gateway_app(settings(folder, database_url, **overrides), UsageBackend(), LIBRARIES)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def flush(client: TestClient, timeout: float = 30.0) -> None:
    """Wait until every usage record so far is in the database."""
    recorder = client.app.state.usage.recorder  # type: ignore[attr-defined]
    assert recorder is not None and recorder.drained(timeout), "usage records not written in time"


def refresh_tokens(client: TestClient) -> None:
    """Read the tokens table again now (as the gateway does every GATEWAY_TOKEN_REFRESH seconds)."""
    cache = client.app.state.usage.gatekeeper.tokens  # type: ignore[attr-defined]
    client.portal.call(cache.refresh)  # type: ignore[union-attr]


def bearer(token: str) -> Dict[str, str]:
    return {"authorization": f"Bearer {token}", **WAIT}


# ------------------------------------------------------------------ PostgreSQL


class _Postgres:
    """The session's PostgreSQL: AIC_POSTGRES_URL if given, else a private cluster of scripts/postgres.sh."""

    url: Optional[str] = None
    folder: Optional[str] = None
    failure: Optional[str] = None
    tried = False

    @classmethod
    def get(cls) -> Tuple[Optional[str], Optional[str]]:
        if not cls.tried:
            cls.tried = True
            given = os.environ.get("AIC_POSTGRES_URL")
            if given:
                cls.url = given
            else:
                cls._start()
        return cls.url, cls.failure

    @classmethod
    def _start(cls) -> None:
        try:
            result = subprocess.run(
                ["bash", str(ROOT / "scripts" / "postgres.sh"), "start"], capture_output=True, text=True, timeout=600
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            cls.failure = f"scripts/postgres.sh start failed: {error}"
            return
        exports = dict(re.findall(r"^export (\w+)=(\S+)$", result.stdout, re.MULTILINE))
        if result.returncode != 0 or "AIC_POSTGRES_URL" not in exports:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            cls.failure = lines[-1] if lines else f"scripts/postgres.sh start exited with {result.returncode}"
            return
        cls.url, cls.folder = exports["AIC_POSTGRES_URL"], exports["AIC_POSTGRES_DIR"]
        atexit.register(cls.stop)

    @classmethod
    def stop(cls) -> None:
        if cls.folder:
            folder, cls.folder = cls.folder, None
            subprocess.run(
                ["bash", str(ROOT / "scripts" / "postgres.sh"), "stop", folder], capture_output=True, timeout=120
            )


def postgres_or_skip() -> str:
    """The PostgreSQL server's URL (the `postgres` database), or skip with one line (fail if required)."""
    url, failure = _Postgres.get()
    if url:
        return url
    if os.environ.get("AIC_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"AIC_REQUIRE_POSTGRES=1 but no PostgreSQL: {failure}", pytrace=False)
    pytest.skip(f"no PostgreSQL: {failure}")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the session's server, dropped afterwards."""
    from api_inference_community.testing.databases import scratch_postgres_database

    with scratch_postgres_database(postgres_or_skip(), prefix="aic_test") as url:
        yield url


@contextlib.contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database of `kind` (sqlite or postgresql)."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'usage.db'}"
    else:
        with postgres_database() as url:
            yield url


DATABASES = ["sqlite", "postgresql"]


# ------------------------------------------------------------------ a gateway process


def serve() -> None:
    """`python tests/usage_support.py`: a real gateway process over `UsageBackend` replicas (SIGTERM stops it)."""
    import math

    import uvicorn

    from api_inference_community.runtime.logs import configure_logging
    from api_inference_community.runtime.server import serve as serve_until_signal

    config = GatewaySettings.from_env()
    configure_logging(config.log_level)
    app = create_gateway_app(config, UsageBackend(), LIBRARIES, pinned_models=[TEXT_MODEL])
    serve_until_signal(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level=config.log_level,
            timeout_graceful_shutdown=math.ceil(config.shutdown_grace_s),
            lifespan="on",
        )
    )


if __name__ == "__main__":
    serve()
