"""The gateway's Starlette app: the Hub's inference routes for every model, forwarded to library pools."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional

import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import APIError, NotServed
from ..http.request import header_asks_to_wait
from ..http.responses import error_response, http_error, json_response
from ..tasks.registry import TASKS
from . import affinity
from .autoscale.controller import Autoscaler
from .backends import make_backend
from .backends.base import Backend
from .metrics import GatewayMetrics
from .pools import Pool
from .proxy import REQUEST_ID, ClientGone, Proxy, request_id
from .routing import Router, library_table
from .settings import GatewaySettings
from .usage.routes import LOGIN, usage_routes
from .usage.service import UsageService
from .widget import routes as widget_routes

logger = logging.getLogger(__name__)

NO_LIBRARY = "none"  # the metrics' library of requests refused before a library was chosen


class Gateway:
    """The router, the pools, the proxy and the metrics of one gateway."""

    def __init__(self, settings: GatewaySettings, backend: Backend, libraries: Mapping[str, List[str]]) -> None:
        self.settings = settings
        self.backend = backend
        self.metrics = GatewayMetrics()
        self.router = Router(settings, libraries)
        self.proxy = Proxy(settings)
        self.pools: Dict[str, Pool] = {
            library: Pool(library, backend, settings, self.metrics, self.proxy.health) for library in libraries
        }
        self.pinned: Dict[str, List[str]] = {}
        self._supervisor: Optional[asyncio.Task] = None

    async def start(self, pinned_models: List[str]) -> None:
        """Start the pools of the pinned models (each replica loads them) and the supervisor."""
        for entry in pinned_models:  # `org/name` or `org/name:task`
            model_id, _, task = entry.partition(":")
            try:
                route = await self.router.route(model_id, task or None)
            except APIError as error:
                logger.error("Pinned model %s cannot be served: %s", entry, error)
                continue
            self.pinned.setdefault(route.library, []).append(entry)
        for library, models in self.pinned.items():
            self.pools[library].pinned = ",".join(models)
            await self.pools[library].scale(self.settings.replicas)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        announced = False
        while True:
            for pool in self.pools.values():
                try:
                    await pool.supervise()
                except Exception:
                    logger.exception("Supervising the %s pool failed", pool.library)
            if not announced and self.ready:
                announced = True
                logger.info("The gateway is ready (%s)", ", ".join(sorted(self.pools)))
            await asyncio.sleep(self.settings.health_interval_s)

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await asyncio.gather(*(pool.stop() for pool in self.pools.values()))
        await self.proxy.close()
        await asyncio.to_thread(self.backend.close)

    @property
    def ready(self) -> bool:
        return all(self.pools[library].healthy for library in self.pinned)


# ------------------------------------------------------------------ routes


async def inference(request: Request) -> Response:
    """POST /models/{id}, /pipeline/{task}/{id}, /models/{id}/pipeline/{task}: forwarded to the library's pool."""
    gateway: Gateway = request.app.state.gateway
    started = time.perf_counter()
    rid = request_id(request)
    model_id, task = request.path_params["model_id"], request.path_params.get("task")
    library, status = NO_LIBRARY, 0
    try:
        await request.app.state.usage.admit(request)  # [usage] the caller's token and limits: 401, 429
        if task is not None and task not in TASKS:
            raise NotServed(f"Unknown task `{task[:100]}`")
        route = await gateway.router.route(model_id, task)
        library = route.library
        request.app.state.usage.routed(request, library, route.task)  # [usage]
        pool = gateway.pools[library]
        replicas = await pool.replica_for(model_id, wait=header_asks_to_wait(request))
        pool.begin(replicas[0])
        try:
            upstream, replica = await gateway.proxy.forward(request, replicas, rid, pool.gone)
        except BaseException:
            pool.end(replicas[0])
            raise
        if replica is not replicas[0]:  # the first could not be reached: the request went to another
            gateway.metrics.retries.labels(library=library).inc()
            pool.end(replicas[0])
            pool.begin(replica)
        status = upstream.status_code
        if status < 500:
            pool.answered(model_id, replica)
        try:
            response = await gateway.proxy.answer(upstream, rid)
        except BaseException:
            await upstream.aclose()
            pool.end(replica)
            raise
        response.background = BackgroundTask(_finish, upstream, pool, replica)
    except APIError as error:
        status = error.status_code
        response = error_response(error, {REQUEST_ID: rid})
    except ClientGone:
        status = 499
        response = Response(status_code=499)
    gateway.metrics.answered(library, status, time.perf_counter() - started)
    logger.info(
        "%s %s %s -> %s %d (%.1f ms)",
        rid,
        request.method,
        model_id,
        library,
        status,
        1000 * (time.perf_counter() - started),
    )
    return response


async def _finish(upstream: Any, pool: Pool, replica: Any) -> None:
    try:
        await upstream.aclose()
    finally:
        pool.end(replica)


async def model_status(request: Request) -> Response:
    """GET /status/{id}: the card's decision, and whether the model is loaded on its replica."""
    gateway: Gateway = request.app.state.gateway
    model_id = request.path_params["model_id"]
    try:
        route = await gateway.router.route(model_id)
    except APIError as error:
        if error.status_code == 404:
            return error_response(error)
        return json_response({"loaded": False, "state": "Error", "error": error.message, "framework": None})
    pool = gateway.pools[route.library]
    healthy = pool.healthy
    if healthy:
        replica = pool_replica(pool, model_id)
        try:
            status, content = await gateway.proxy.get_json(replica, f"/status/{model_id}")
            if status == 200:
                return json_response({**orjson.loads(content), "task": route.task})
        except Exception as error:  # the replica failed: answer from the card alone
            logger.warning("Status of %s from %s failed: %s", model_id, replica.slot, error)
    return json_response(
        {"loaded": False, "state": "Loadable", "compute_type": "cpu", "framework": route.library, "task": route.task}
    )


def pool_replica(pool: Pool, model_id: str) -> Any:
    return affinity.ranked(model_id, pool.healthy, lambda r: r.slot)[0]


async def list_libraries(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    return json_response(gateway.router.libraries)


async def list_pools(request: Request) -> Response:
    """GET /pools: each library's pool, its replicas and their state (for operators)."""
    gateway: Gateway = request.app.state.gateway
    return json_response(
        {
            library: {
                "desired": pool.desired,
                "in_flight": pool.in_flight,
                "replicas": [replica.describe() for replica in pool.replicas.values()],
            }
            for library, pool in gateway.pools.items()
        }
    )


async def health(request: Request) -> Response:
    return json_response({"status": "alive"})


async def ready(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    pools = {
        library: {"desired": pool.desired, "healthy": len(pool.healthy), "replicas": len(pool.replicas)}
        for library, pool in gateway.pools.items()
    }
    if gateway.ready:
        return json_response({"status": "ready", "pools": pools})
    return json_response({"status": "starting", "pools": pools}, 503)


async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    return Response(gateway.metrics.render(), media_type=gateway.metrics.content_type)


async def status_ok(request: Request) -> Response:
    return json_response({"ok": "ok"})


def create_gateway_app(
    settings: GatewaySettings,
    backend: Optional[Backend] = None,
    libraries: Optional[Mapping[str, List[str]]] = None,
    pinned_models: Optional[List[str]] = None,
) -> Starlette:
    """The gateway: `backend` runs the replicas (`process` by default), over the checkout's library images."""
    backend = backend or make_backend(settings)
    gateway = Gateway(settings, backend, libraries if libraries is not None else library_table(settings))
    autoscaler = Autoscaler(gateway.pools, settings, gateway.metrics.registry, scrape=gateway.proxy.get_json)
    usage = UsageService(settings, gateway.metrics.registry)  # [usage] tokens, limits, usage rows, dashboard

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await usage.start()  # [usage] database migrated, tokens read, usage writer started
        await gateway.start(pinned_models or [])
        autoscaler.start()  # AUTOSCALE: drives the pools' replicas from their load
        yield
        await autoscaler.stop()
        await usage.stop()  # [usage] every answered request's usage written (SIGTERM: nothing lost)
        await gateway.stop()

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/libraries", list_libraries, methods=["GET"]),
        Route("/pools", list_pools, methods=["GET"]),
        Route("/status/{model_id:path}", model_status, methods=["GET"]),
        Route("/models/{model_id:path}/pipeline/{task}", inference, methods=["POST"]),
        Route("/models/{model_id:path}", inference, methods=["POST"]),
        Route("/pipeline/{task}/{model_id:path}", inference, methods=["POST"]),
        *usage_routes(),  # [usage] GET /usage, GET /dashboard, its login, logout and style sheet
        *widget_routes(status_ok, model_status),  # the browser pages of GET / and GET /models/{id}
        Route("/{path:path}", status_ok, methods=["GET"]),
    ]

    app = Starlette(
        routes=routes,
        middleware=usage.middleware(),  # [usage] measures requests and records them once answered
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.gateway = gateway
    app.state.usage = usage  # [usage] and the widget's login hooks:
    app.state.session_check, app.state.login_url = usage.session_check, LOGIN
    app.state.autoscaler = autoscaler
    return app
