"""Tokens, limits, usage recording and the dashboard of one gateway, as the app uses them.

`create_gateway_app` builds one `UsageService`, installs its middleware (`middleware()`), adds its
routes, and starts and stops it with the app's lifespan. The `inference` handler calls `admit`
first (401 or 429 refusals are raised from there) and `routed` once it knows the library and task.
Database work runs in threads: the migration and token reads through `asyncio.to_thread`, usage
writes in the recorder's writer thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Dict, List, Optional, Tuple

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from starlette.middleware import Middleware
from starlette.requests import Request

from ..settings import GatewaySettings
from . import storage
from .admission import Gatekeeper, Limits
from .database import database_url, make_engine, redacted
from .limits import Limit, Limiter
from .meter import Measurement, UsageMiddleware, measurement
from .metrics import UNROUTED, UsageMetrics
from .migrate import ensure_current
from .recorder import Recorder
from .sessions import Sessions, load_key
from .token_cache import TokenCache
from .tokens import ANONYMOUS, ANONYMOUS_ID, Token

logger = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class UsageService:
    """The gateway's accounting: who calls (tokens), how much (limits), what it cost (usage rows)."""

    def __init__(self, settings: GatewaySettings, registry: CollectorRegistry) -> None:
        self.settings = settings
        self.metrics = UsageMetrics(registry)
        self.engine: Optional[Engine] = None  # once started (None while accounting is off)
        self.recorder: Optional[Recorder] = None
        self.sessions: Optional[Sessions] = None
        self._request_counters: Dict[Tuple[str, str], Any] = {}
        limits = Limits(
            token=Limit(settings.token_rate_limit, settings.token_concurrency),
            anonymous=Limit(settings.anonymous_rate_limit, settings.anonymous_concurrency),
        )
        tokens = TokenCache(self._load_tokens, self._find_token, settings.token_refresh_s)
        self.gatekeeper = Gatekeeper(settings.auth, tokens, None, Limiter(), limits, self.metrics)

    @property
    def enabled(self) -> bool:
        """Whether anything is accounted (tokens read, or usage recorded)."""
        return self.settings.auth != "off" or self.settings.usage

    # ------------------------------------------------------------------ lifespan

    async def start(self) -> None:
        """Open and migrate the database, read the tokens, start the writer."""
        if not self.enabled:
            logger.info("Tokens and usage accounting are off")
            return
        url = database_url(self.settings)
        self.engine = await asyncio.to_thread(self._open, url)
        if self.settings.auth != "off":
            await self.gatekeeper.tokens.refresh()
            self.gatekeeper.tokens.start()
            key = await asyncio.to_thread(load_key, self.settings.session_secret, self.settings.state_path)
            self.sessions = self.gatekeeper.sessions = Sessions(key, self.settings.session_ttl_s)
            if self.settings.auth == "required" and not any(
                not token.revoked for token in self.gatekeeper.tokens.by_id.values()
            ):
                logger.warning(
                    "GATEWAY_AUTH=required and no token exists: create one with "
                    "`api-inference-community gateway tokens create --name NAME`"
                )
        if self.settings.auth != "required" and self.settings.host not in LOOPBACK:
            logger.warning(
                "The gateway listens on %s with GATEWAY_AUTH=%s: anyone who reaches it may call every model; "
                "set GATEWAY_AUTH=required",
                self.settings.host,
                self.settings.auth,
            )
        if self.settings.usage:
            self.recorder = Recorder(
                functools.partial(storage.write_batch, self.engine),
                self.metrics,
                capacity=self.settings.usage_buffer,
                batch=self.settings.usage_batch,
                interval_s=self.settings.usage_flush_interval_s,
                expire=functools.partial(storage.delete_expired, self.engine, self.settings.usage_retention_days),
            )
            self.recorder.start()
        logger.info(
            "Tokens: %s; usage %s in %s", self.settings.auth, "recorded" if self.settings.usage else "not recorded",
            redacted(url),
        )  # fmt: skip

    @staticmethod
    def _open(url: str) -> Engine:
        engine = make_engine(url)
        ensure_current(engine)
        return engine

    async def stop(self) -> None:
        """Write every buffered usage record (within SHUTDOWN_GRACE), then close the database."""
        if self.recorder is not None:
            await asyncio.to_thread(self.recorder.stop, max(self.settings.shutdown_grace_s, 5.0))
        await self.gatekeeper.tokens.stop()
        if self.engine is not None:
            await asyncio.to_thread(self.engine.dispose)

    def _load_tokens(self) -> List[Token]:
        assert self.engine is not None
        return storage.load_tokens(self.engine)

    def _find_token(self, digest: str) -> Optional[Token]:
        assert self.engine is not None
        return storage.find_token(self.engine, digest)

    # ------------------------------------------------------------------ the request path

    def middleware(self) -> List[Middleware]:
        """The app's middleware for accounting (none when it is off)."""
        return [Middleware(UsageMiddleware, finish=self.finish)] if self.enabled else []

    async def admit(self, request: Request) -> None:
        """Check the caller's token and limits: Unauthorized (401) or RateLimited (429) when it may not pass."""
        measured = measurement(request)
        if measured is None:
            return
        caller = await self.gatekeeper.caller(request)
        measured.caller = caller
        measured.model = request.path_params.get("model_id", "")
        measured.task = request.path_params.get("task") or ""
        measured.slot = self.gatekeeper.admit(caller)

    def routed(self, request: Request, library: str, task: str) -> None:
        """The request's library and task are known (it reached the routing decision)."""
        measured = measurement(request)
        if measured is not None:
            measured.library, measured.task, measured.routed = library, task, True

    def finish(self, measured: Measurement, ended: float) -> None:
        """An admitted request has ended: count it, and record its usage."""
        assert measured.caller is not None
        key = (measured.caller.name, measured.model if measured.routed else UNROUTED)
        counter = self._request_counters.get(key)
        if counter is None:  # one series per token x routed model: bounded
            counter = self._request_counters[key] = self.metrics.requests.labels(token=key[0], model=key[1])
        counter.inc()
        if self.recorder is not None:
            self.recorder.add(measured.record(ended))

    def session_check(self, request: Request) -> bool:
        """Whether the request carries a valid dashboard session (the widget's `session_check` hook)."""
        return self.gatekeeper.session_token(request) is not None

    # ------------------------------------------------------------------ names

    def token_names(self) -> Dict[int, str]:
        names = {token_id: token.name for token_id, token in self.gatekeeper.tokens.by_id.items()}
        return {ANONYMOUS_ID: ANONYMOUS, **names}

    def token_ids(self, name: str) -> Tuple[int, ...]:
        """The ids of every token ever named `name` (revoked ones too)."""
        if name == ANONYMOUS:
            return (ANONYMOUS_ID,)
        return tuple(token.id for token in self.gatekeeper.tokens.by_id.values() if token.name == name)
