"""Many models in one process: loaded on demand, kept under a memory budget, unloaded when room is needed.

`ModelCache.acquire(model_id, task)` gives the loaded (or loading) model to answer a request:
- a hit is a dictionary lookup; a miss reads the model's card (the availability decision: unknown
  model 404, `inference: false` 403, a task this library does not serve 400), evicts what the
  policy (`cache_policy`) says to make room (waiting, at most MIN_RESIDENCY seconds, for the
  models to unload to be past their minimum residency), and starts one engine for the model;
- one load per model however many requests arrive (they share the engine, which answers 503
  with `estimated_time` until it is loaded, or holds the requests that asked to wait);
- loads run on a bounded loader (MODEL_LOADERS at a time); each load's resident memory is
  measured and is the model's size in the budget (MODEL_MEMORY_BUDGET); a model larger than the
  whole budget is `TooBig`, refused and never kept;
- a failed load is remembered (its error answered at once) for LOAD_RETRY_BACKOFF seconds;
- every model's calls share COMPUTE_SLOTS (no oversubscription of the CPU threads);
- pinned models (PINNED_MODELS) load at start and are never unloaded;
- the allocator is set so that unloaded models' memory goes back to the system (`memory`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, Iterator, List, Mapping, Optional, Type

from ..errors import APIError, ModelLoadFailed, ModelTooBig, Overloaded
from ..hub.availability import serving_decision
from ..hub.libraries import folder_name
from ..hub.sources import ModelSource, SourceCache, check_model_id, weights_size
from ..pipelines import Pipeline
from ..tasks.registry import TASKS, TaskSpec
from . import cache_policy, memory
from .engine import InferenceEngine, ModelState
from .lifecycle import PROCESS
from .metrics import Metrics, ModelMetrics
from .settings import Settings
from .target import Target
from .threads import available_memory

logger = logging.getLogger(__name__)

SIZE_FACTOR = 1.2  # a model's memory before it is measured: its weights on disk, and a margin


class Status:
    """The states of `GET /status/{model_id}`, as the Hub writes them."""

    LOADED = "Loaded"
    LOADABLE = "Loadable"
    TOO_BIG = "TooBig"
    ERROR = "Error"


@dataclass(eq=False)
class CachedModel:
    """A model the cache holds: its engine and what the policy and `GET /models` need to know.

    `key` names it in the policy and the metrics: the model id, followed by `:task` when the model
    is served for another task than its card's.
    """

    key: str
    model_id: str
    spec: TaskSpec
    engine: InferenceEngine
    metrics: ModelMetrics
    pipeline_class: Type[Pipeline]
    nbytes: int  # measured once loaded; an estimate from its files before
    measured: bool = False
    pinned: bool = False
    created_at: float = field(default_factory=time.monotonic)
    created_wall: float = field(default_factory=time.time)
    last_used_wall: float = field(default_factory=time.time)
    requests: int = 0
    in_flight: int = 0

    @property
    def target(self) -> Target:
        return Target(self.spec, self.engine, self.metrics, self.pipeline_class)

    @property
    def busy(self) -> bool:
        return self.in_flight > 0 or self.engine.queue_depth > 0

    def describe(self) -> Dict[str, Any]:
        return {
            "model_id": self.model_id,
            "key": self.key,
            "task": self.spec.name,
            "state": self.engine.state.value,
            "bytes": self.nbytes,
            "measured": self.measured,
            "load_seconds": self.engine.load_seconds,
            "loaded_at": self.created_wall,
            "last_used": self.last_used_wall,
            "requests": self.requests,
            "in_flight": self.in_flight,
            "pinned": self.pinned,
        }


@dataclass
class Failure:
    """A failed load, answered at once until `retry_at`."""

    error: APIError
    retry_at: float
    attempts: int = 1


class ModelCache:
    """The loaded models of a multi-model server."""

    def __init__(
        self, allowed_tasks: Mapping[str, Type[Pipeline]], settings: Settings, metrics: Metrics, library: str
    ) -> None:
        self.allowed_tasks = dict(allowed_tasks)
        self.settings = settings
        self.metrics = metrics
        self.library = library
        self.budget = settings.model_memory_budget or available_memory() // 2
        self.entries: Dict[str, CachedModel] = {}  # by key
        self._sources = SourceCache(settings, settings.card_cache_ttl_s)
        self._default_tasks: Dict[str, str] = {}  # the task each model's card names
        self.failures: Dict[str, Failure] = {}
        self.too_big: Dict[str, int] = {}
        self.history = cache_policy.History()
        self._admissions: Dict[str, List[Any]] = {}  # by key: [its lock, requests holding or awaiting it]
        self._loader = threading.BoundedSemaphore(settings.model_loaders)
        self._compute = threading.BoundedSemaphore(settings.compute_slots)
        memory.configure_allocator()  # unloaded models' memory goes back to the system

    # ------------------------------------------------------------------ requests

    def key(self, model_id: str, task: str) -> str:
        return model_id if self._default_tasks.get(model_id) == task else f"{model_id}:{task}"

    async def acquire(self, model_id: str, task: Optional[str] = None) -> CachedModel:
        """The model to answer a request with (loaded, or loading); APIError when it cannot be served.

        A hit (the model loaded for that task, or for its card's task) is a dictionary lookup.
        """
        now = time.monotonic()
        known = task or self._default_tasks.get(model_id)
        entry = self.entries.get(self.key(model_id, known)) if known else None
        if entry is not None:
            self._count_use(entry, hit=True, now=now)
            return entry
        check_model_id(model_id)
        failure = self.failures.get(model_id)
        if failure is not None and now < failure.retry_at:
            raise failure.error
        if model_id in self.too_big:
            raise self._too_big_error(model_id, self.too_big[model_id])
        source = await self.source(model_id)
        spec = self.decide(source, task)
        key = self.key(model_id, spec.name)
        async with self._admitting(key):  # one admission per model: the others wait for it, then find it
            entry = self.entries.get(key)
            if entry is None:
                entry = await self._admit(source, spec, key)
        self._count_use(entry, hit=False, now=now)
        return entry

    @contextlib.asynccontextmanager
    async def _admitting(self, key: str) -> AsyncIterator[None]:
        """Hold `key`'s admission lock (making room may wait for a residency to end meanwhile)."""
        admission = self._admissions.setdefault(key, [asyncio.Lock(), 0])
        admission[1] += 1
        try:
            async with admission[0]:
                yield
        finally:
            admission[1] -= 1
            if admission[1] == 0:
                del self._admissions[key]

    async def default_task(self, model_id: str) -> str:
        """The task a model is served for when its URL names none (its card's)."""
        known = self._default_tasks.get(model_id)
        if known is not None:
            return known
        return self.decide(await self.source(model_id), None).name

    async def source(self, model_id: str) -> ModelSource:
        """Where the model comes from, and its card (read once per CARD_CACHE_TTL seconds)."""
        return await self._sources.get(model_id)

    @contextlib.contextmanager
    def using(self, entry: CachedModel) -> Iterator[None]:
        """A request in flight on `entry`: it cannot be unloaded meanwhile."""
        entry.in_flight += 1
        try:
            yield
        finally:
            entry.in_flight -= 1

    def _count_use(self, entry: CachedModel, hit: bool, now: float) -> None:
        self.history.record(entry.key, now)
        entry.requests += 1
        entry.last_used_wall = time.time()
        self.metrics.cache.cache_requests.labels(model=entry.key, result="hit" if hit else "miss").inc()

    # ------------------------------------------------------------------ decisions

    def decide(self, source: ModelSource, task: Optional[str]) -> TaskSpec:
        """The task to serve `source` for, by its card and this library's tasks; a 4xx naming the reason."""
        libraries = {folder_name(self.library): list(self.allowed_tasks)}
        if task is not None and source.model_id not in self._default_tasks:
            with contextlib.suppress(APIError):  # remember the card's own task, if it has one served here
                default = serving_decision(source.card, source.model_id, libraries, default_library=self.library)
                self._default_tasks[source.model_id] = str(default.task)
        decision = serving_decision(source.card, source.model_id, libraries, task, default_library=self.library)
        if task is None:
            self._default_tasks[source.model_id] = str(decision.task)
        return TASKS[str(decision.task)]

    # ------------------------------------------------------------------ loading

    async def _admit(self, source: ModelSource, spec: TaskSpec, key: str) -> CachedModel:
        """Make room (evicting what the policy says), then start the model's engine."""
        estimate = int(weights_size(source.local_dir) * SIZE_FACTOR) if source.local_dir else 0
        if estimate > self.budget:
            self.too_big[source.model_id] = estimate
            raise self._too_big_error(source.model_id, estimate)
        await self._make_room(estimate, for_model=key)
        pipeline_class = self.allowed_tasks[spec.name]
        settings = source.settings_for(self.settings)
        metrics = self.metrics.for_model(key)
        entry_ref: List[CachedModel] = []
        engine = InferenceEngine(
            spec,
            pipeline_class,
            settings,
            metrics,
            resolve=lambda: source.resolve(self.settings, pipeline_class.model_files(self.settings)),
            model_id=source.model_id,
            on_fatal=PROCESS.fail,
            compute=self._compute_slot,
            loading=lambda: self._measured_load(entry_ref[0]),
        )
        entry = CachedModel(key, source.model_id, spec, engine, metrics, pipeline_class, nbytes=estimate)
        entry_ref.append(entry)
        entry.pinned = (
            source.model_id in self.settings.pinned_models
            or f"{source.model_id}:{spec.name}" in self.settings.pinned_models
        )
        self.entries[key] = entry
        self._update_gauges()
        engine.start()
        self._watch(entry, asyncio.get_running_loop())
        return entry

    @contextlib.contextmanager
    def _compute_slot(self) -> Iterator[None]:
        with self._compute:
            yield

    @contextlib.contextmanager
    def _measured_load(self, entry: CachedModel) -> Iterator[None]:
        """Around a load (worker thread): a loader slot, and the resident memory it adds.

        With one loader (the default) the measure is the model's own; with several, loads that
        overlap share their growth between them. Both ends are measured with the heap's free pages
        handed back, so that what the load allocated and freed is not counted.
        """
        with self._loader:
            before = memory.settled_resident_bytes()
            started = time.perf_counter()
            try:
                yield
            except BaseException:
                self.metrics.cache.loads.labels(model=entry.key, outcome="failed").inc()
                raise
            added = memory.settled_resident_bytes() - before
            entry.nbytes = max(added, 1)
            entry.measured = True
            self.metrics.cache.loads.labels(model=entry.key, outcome="loaded").inc()
            self.metrics.cache.load_duration.labels(model=entry.key).observe(time.perf_counter() - started)
            logger.info("Model %s holds %.1f MB", entry.model_id, entry.nbytes / 1e6)

    def _watch(self, entry: CachedModel, loop: asyncio.AbstractEventLoop) -> None:
        """Once the load ends (in its worker thread), settle its outcome on the event loop."""

        async def settle() -> None:
            await entry.engine.wait_loaded(unbounded=True)
            if entry.engine.state == ModelState.READY:
                self.failures.pop(entry.model_id, None)
                await self._settle_size(entry)
            elif entry.engine.state == ModelState.FAILED:
                await self._remember_failure(entry)
            self._update_gauges()

        loop.create_task(settle())

    async def _settle_size(self, entry: CachedModel) -> None:
        """A loaded model's measured size: TooBig alone, or room made for it among the others."""
        if entry.nbytes > self.budget:
            self.too_big[entry.model_id] = entry.nbytes
            logger.warning(
                "Model %s needs %d bytes, more than the budget of %d", entry.model_id, entry.nbytes, self.budget
            )
            await self._unload(entry, evicted=False)
            return
        await self._make_room(0, for_model=entry.model_id, strict=False)

    async def _remember_failure(self, entry: CachedModel) -> None:
        previous = self.failures.get(entry.model_id)
        attempts = previous.attempts + 1 if previous else 1
        backoff = self.settings.load_retry_backoff_s * min(2 ** (attempts - 1), 16)
        error = ModelLoadFailed(f"Model {entry.model_id} failed to load: {entry.engine.load_error}")
        self.failures[entry.model_id] = Failure(error, time.monotonic() + backoff, attempts)
        await self._unload(entry, evicted=False)

    # ------------------------------------------------------------------ room

    def _residents(self, excluding: Optional[str] = None) -> List[cache_policy.Resident]:
        return [
            cache_policy.Resident(e.key, e.nbytes, e.created_at, busy=e.busy, pinned=e.pinned)
            for e in self.entries.values()
            if e.key != excluding
        ]

    async def _make_room(self, needed: int, for_model: str, strict: bool = True) -> None:
        """Unload what the policy says so that `needed` bytes more (and the model) fit.

        When the models to unload are still within their minimum residency, wait until it is over
        (at most MIN_RESIDENCY seconds, then plan again); 503 when waiting cannot help (busy or
        pinned models hold the room). `strict=False` (a model already loaded, larger than its
        estimate): unload what can be now, never wait, never refuse.
        """
        deadline = time.monotonic() + self.settings.min_residency_s
        while True:
            residents = self._residents(excluding=for_model)
            if for_model in self.entries:  # already counted among the loaded ones
                needed_now = needed + self.entries[for_model].nbytes
            else:
                needed_now = needed
            now = time.monotonic()
            bounds = cache_policy.Bounds(
                needed_now, self.budget, self.settings.min_residency_s, self.settings.max_loaded_models
            )
            plan = cache_policy.plan_eviction(residents, self.history, now, bounds)
            if plan is not None or not strict:
                break
            wait = cache_policy.residency_wait(residents, self.history, now, bounds)
            if wait is None or now >= deadline:
                raise Overloaded("No loaded model can be unloaded to make room right now; retry later", retry_after=5)
            await asyncio.sleep(min(wait, deadline - now) + 0.01)
        if plan is None:
            plan = cache_policy.best_effort_eviction(residents, self.history, now, needed_now, self.budget)
        chosen = set(plan)
        self.history.evicted(r for r in residents if r.model_id in chosen)
        for model_id in plan:
            victim = self.entries.get(model_id)
            if victim is not None:
                await self._unload(victim, evicted=True)

    async def _unload(self, entry: CachedModel, evicted: bool) -> None:
        if self.entries.get(entry.key) is entry:
            del self.entries[entry.key]
        if evicted:
            self.metrics.cache.evictions.labels(model=entry.key).inc()
            logger.info("Unloading %s (%.1f MB) to make room", entry.model_id, entry.nbytes / 1e6)
        await entry.engine.stop(grace=0)
        entry.engine.pipeline = None
        entry.metrics.forget()
        self._update_gauges()
        await asyncio.to_thread(memory.release_memory)

    def _update_gauges(self) -> None:
        cache = self.metrics.cache
        cache.resident_models.set(len(self.entries))
        cache.cache_bytes.set(sum(e.nbytes for e in self.entries.values()))
        for entry in self.entries.values():
            cache.resident_bytes.labels(model=entry.key).set(entry.nbytes)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Load the pinned models (in the background: readiness tells when they are in).

        A pinned entry is `org/name` (for its card's task) or `org/name:task`.
        """
        for entry in self.settings.pinned_models:
            model_id, _, task = entry.partition(":")
            try:
                await self.acquire(model_id, task or None)
            except APIError as error:
                logger.error("Pinned model %s cannot be loaded: %s", entry, error)
                self.failures[model_id] = Failure(error, float("inf"))

    @property
    def ready(self) -> bool:
        """True once every pinned model is loaded (for each pinned task)."""
        loaded = {(e.model_id, e.spec.name) for e in self.entries.values() if e.engine.state == ModelState.READY}
        for entry in self.settings.pinned_models:
            model_id, _, task = entry.partition(":")
            if not any(m == model_id and (not task or t == task) for m, t in loaded):
                return False
        return True

    async def stop(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        for entry in list(self.entries.values()):
            await entry.engine.stop(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ status

    async def status(self, model_id: str) -> Dict[str, Any]:
        """`GET /status/{model_id}`: whether it is loaded, and if not, whether it could be."""
        check_model_id(model_id)
        base = {"compute_type": self.settings.compute_type, "framework": self.library}
        if any(e.model_id == model_id and e.engine.state == ModelState.READY for e in self.entries.values()):
            return {"loaded": True, "state": Status.LOADED, **base}
        if model_id in self.too_big:
            return {"loaded": False, "state": Status.TOO_BIG, **base}
        failure = self.failures.get(model_id)
        if failure is not None:
            return {"loaded": False, "state": Status.ERROR, "error": failure.error.message, **base}
        source = await self.source(model_id)
        try:
            self.decide(source, None)
        except APIError as error:
            return {"loaded": False, "state": Status.ERROR, "error": error.message, **base}
        return {"loaded": False, "state": Status.LOADABLE, **base}

    def loaded(self) -> List[Dict[str, Any]]:
        """`GET /models`: the models held, most recently used first."""
        return [e.describe() for e in sorted(self.entries.values(), key=lambda e: -e.last_used_wall)]

    def _too_big_error(self, model_id: str, nbytes: int) -> ModelTooBig:
        return ModelTooBig(
            f"Model {model_id} is too large to be loaded by this server ({nbytes / 1e6:.0f} MB; "
            f"the budget for all models is {self.budget / 1e6:.0f} MB)"
        )
