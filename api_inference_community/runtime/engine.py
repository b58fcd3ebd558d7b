"""The inference engine of one model: a supervised worker thread that loads it, then runs its queue in batches.

The event loop only enqueues jobs (`infer`) and awaits their futures; the model runs in the
worker thread. While the worker is busy, jobs of a batchable task with identical parameters pile
up and are taken together (`batching.JobQueue`). An idle worker takes a lone job at once. A job
of more items than one model call may hold is split into several calls (`TaskSpec.split`).

Supervision: a job whose client left or whose deadline passed leaves the queue at once; if the
worker thread dies (a pipeline raising SystemExit, say), queued requests get 503, readiness and
liveness fail and `on_fatal` is called (the server process then exits non-zero to be restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import gc
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, List, Optional

from ..errors import (
    APIError,
    InferenceFailed,
    InferenceTimeout,
    InvalidInput,
    ModelLoadFailed,
    ModelLoading,
    ShuttingDown,
    WorkerStopped,
)
from ..pipelines import Pipeline
from ..tasks.registry import TaskSpec
from .batching import JobQueue
from .jobs import Job, batch_key, settle_all
from .loading import LoadProgress
from .metrics import ModelMetrics
from .settings import Settings, use_settings
from .threads import available_cpus, configure_torch_threads

logger = logging.getLogger(__name__)

HIDDEN_CLIENT_ERROR = "The model cannot process these inputs; the server log has the details"


class ModelState(str, enum.Enum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"  # the model could not be loaded
    DEAD = "dead"  # the worker thread stopped: the process must be restarted


def freeze_loaded_objects() -> None:
    """Move everything loaded so far out of the garbage collector's sight.

    A loaded library and model leave hundreds of thousands of tracked objects; without this,
    every full collection walks them all and stops the process (the event loop included) for
    a quarter of a second under load.
    """
    gc.collect()
    gc.freeze()


def _release(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


def as_client_error(error: BaseException, expose_value_errors: bool = False) -> APIError:
    """The HTTP error a pipeline exception becomes.

    A pipeline tells the client what is wrong by raising `InvalidInput` (or another APIError): its
    message is shown. Any other ValueError is a 400 whose message stays in the log (it may hold
    paths and shapes), unless `expose_value_errors` (the upstream package's behaviour, for its apps).
    Everything else is a 500.
    """
    if isinstance(error, APIError):
        return error
    if isinstance(error, (ValueError, AssertionError)):
        return InvalidInput(str(error) if expose_value_errors and str(error) else HIDDEN_CLIENT_ERROR)
    return InferenceFailed("Inference failed; the server log has the details")


class InferenceEngine:
    """Owns the pipeline of one model and the thread that runs it."""

    def __init__(
        self,
        spec: TaskSpec,
        pipeline_class: Callable[[str], Pipeline],
        settings: Settings,
        metrics: ModelMetrics,
        resolve: Callable[[], Path],
        *,
        model_id: Optional[str] = None,
        on_fatal: Optional[Callable[[str], None]] = None,
        compute: Optional[Callable[[], ContextManager[Any]]] = None,
        loading: Optional[Callable[[], ContextManager[Any]]] = None,
        expose_value_errors: bool = False,
    ) -> None:
        """`compute`: held around every model call (a bound shared by the models of a process);
        `loading`: held around the load (a bounded loader, and where the load's memory is measured)."""
        self.spec = spec
        self.settings = settings
        self.metrics = metrics
        self.model_id = model_id if model_id is not None else settings.model_id
        self._pipeline_class = pipeline_class
        self._resolve = resolve
        self._on_fatal = on_fatal
        self._compute = compute or contextlib.nullcontext
        self._loading = loading or contextlib.nullcontext
        self._expose_value_errors = expose_value_errors
        self._thread: Optional[threading.Thread] = None
        self._reset()

    def _reset(self) -> None:
        """A fresh state: the engine starts (again) from loading."""
        self.pipeline: Optional[Pipeline] = None
        self.state = ModelState.LOADING
        self.load_error: Optional[str] = None
        self.load_seconds: Optional[float] = None
        self.progress = LoadProgress(self.settings.hf_home)
        self._queue = JobQueue(self.settings.max_queue_size)
        self._cond = self._queue.cond
        self._stopping = False
        self._load_waiters: List[asyncio.Future] = []
        self._batching = False
        self.metrics.set_state(ModelState.LOADING.value)
        self.metrics.queue_depth.set(0)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the worker thread: it loads the model, then serves the queue (again, after `stop`)."""
        if self._thread is not None:
            if self._thread.is_alive():
                raise RuntimeError("the engine is already running")
            self._reset()
        self._thread = threading.Thread(target=self._run, name="inference-worker", daemon=True)
        self._thread.start()

    async def stop(self, grace: float) -> None:
        """Stop taking jobs, let the worker finish what is queued within `grace` seconds; refuse the rest."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread.is_alive():
            await asyncio.get_running_loop().run_in_executor(None, thread.join, grace)
            if thread.is_alive():
                logger.warning("The inference worker did not finish within %.1f s", grace)
        with self._cond:
            leftover = self._queue.drain()
        self._update_queue_gauge()
        settle_all([(job, None, ShuttingDown("The server is shutting down")) for job in leftover])

    def _run(self) -> None:
        try:
            if self._load():
                self._serve()
        except BaseException as error:  # the worker must never die unseen
            self._die(error)

    def _die(self, error: BaseException) -> None:
        reason = f"The inference worker of {self.model_id} stopped ({type(error).__name__}: {error})"
        logger.critical(reason, exc_info=(type(error), error, error.__traceback__))
        with self._cond:
            self.state = ModelState.DEAD
            self.load_error = f"the inference worker stopped ({type(error).__name__})"
            leftover = self._queue.drain()
            waiters, self._load_waiters = self._load_waiters, []
        self.metrics.set_state(ModelState.DEAD.value)
        self._update_queue_gauge()
        settle_all([(job, None, WorkerStopped()) for job in leftover])
        self._wake(waiters)
        if self._on_fatal is not None:
            self._on_fatal(reason)

    def _load(self) -> bool:
        started = time.perf_counter()
        try:
            threads = self.settings.num_threads or available_cpus()
            with self._loading():
                path = self._resolve()
                self.progress.begin(path)
                logger.info("Loading %s for %s from %s", self.model_id, self.spec.name, path)
                with use_settings(self.settings):  # the pipeline's get_settings() is this app's
                    pipeline = self._pipeline_class(str(path))
                configure_torch_threads(threads)  # after the library is imported
                freeze_loaded_objects()
        except Exception as error:  # a failed load must be reported, never lost
            logger.exception("Model %s failed to load", self.model_id)
            self.load_error = f"{type(error).__name__}: {error}"
            self._finish_loading(ModelState.FAILED)
            return False
        self.pipeline = pipeline
        self._batching = self.spec.batchable and pipeline.supports_batching() and self.settings.max_batch_size > 1
        self.load_seconds = time.perf_counter() - started
        self.progress.record(self.load_seconds)
        self.metrics.load_seconds.set(self.load_seconds)
        logger.info(
            "Model %s loaded in %.2f s (batching %s)",
            self.model_id,
            self.load_seconds,
            "on" if self._batching else "off",
        )
        self._finish_loading(ModelState.READY)
        return True

    def _finish_loading(self, state: ModelState) -> None:
        with self._cond:
            self.state = state
            waiters, self._load_waiters = self._load_waiters, []
        self.metrics.set_state(state.value)
        self._wake(waiters)

    @staticmethod
    def _wake(waiters: List[asyncio.Future]) -> None:
        for waiter in waiters:
            with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits any more
                waiter.get_loop().call_soon_threadsafe(_release, waiter)

    async def wait_loaded(self, timeout: Optional[float] = None, *, unbounded: bool = False) -> None:
        """Wait until the model is loaded (or failed); ModelLoading (503) after `timeout` seconds.

        The wait is bounded by WAIT_FOR_MODEL_TIMEOUT when no timeout is given (`unbounded`: not at all).
        """
        with self._cond:
            if self.state != ModelState.LOADING:
                return
            waiter = asyncio.get_running_loop().create_future()
            self._load_waiters.append(waiter)
        limit = None if unbounded else self.settings.wait_for_model_timeout_s if timeout is None else timeout
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout=limit)
        except asyncio.TimeoutError:
            raise ModelLoading(self.model_id, self.progress.estimated_time()) from None
        finally:
            with self._cond, contextlib.suppress(ValueError):
                self._load_waiters.remove(waiter)

    # ------------------------------------------------------------------ requests

    def check_available(self, wait_for_model: bool) -> None:
        """Raise the answer for a request that cannot be queued now (failed, stopping, loading...)."""
        if self.state == ModelState.FAILED:
            raise ModelLoadFailed(f"Model {self.model_id} failed to load: {self.load_error}")
        if self.state == ModelState.DEAD:
            raise WorkerStopped()
        if self._stopping:
            raise ShuttingDown("The server is shutting down")
        if self.state == ModelState.LOADING and not wait_for_model:
            raise ModelLoading(self.model_id, self.progress.estimated_time())

    async def infer(self, inputs: Any, parameters: dict, *, wait_for_model: bool = False) -> Any:
        """Queue one request and wait for its output. Cancelling it (or its deadline) drops the job."""
        self.check_available(wait_for_model)
        if self.state == ModelState.LOADING:
            await self.wait_loaded()
            self.check_available(wait_for_model)
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        job = Job(
            inputs=inputs,
            parameters=parameters,
            batch_key=batch_key(parameters),
            items=self.spec.count_items(inputs, parameters),
            future=loop.create_future(),
            loop=loop,
            enqueued_at=now,
            deadline=now + self.settings.request_timeout_s,
        )
        with self._cond:
            if self._stopping:
                raise ShuttingDown("The server is shutting down")
            if self.state == ModelState.DEAD:
                raise WorkerStopped()
            self._queue.put(job)
        self._update_queue_gauge()
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout=self.settings.request_timeout_s)
        except asyncio.TimeoutError:
            self._abandon(job)
            raise InferenceTimeout(f"Inference did not finish within {self.settings.request_timeout_s:g} s") from None
        except asyncio.CancelledError:
            self._abandon(job)
            raise

    def _abandon(self, job: Job) -> None:
        """Nobody waits for this job any more: out of the queue now (its slot and memory freed)."""
        job.abandoned = True
        with self._cond:
            self._queue.discard(job)
        self._update_queue_gauge()

    def _update_queue_gauge(self) -> None:
        self.metrics.queue_depth.set(len(self._queue))

    # ------------------------------------------------------------------ worker

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not len(self._queue) and not self._stopping:
                    self._cond.wait()
                if not len(self._queue):
                    return  # stopping and drained
                self._await_batch()
                batch = self._queue.take_batch(self._batching, self.settings.max_batch_size)
            self._update_queue_gauge()
            if batch:
                self._execute(batch)

    def _await_batch(self) -> None:
        """Optionally give a forming batch a little time to fill (off by default)."""
        wait = self.settings.max_batch_wait_ms / 1000.0
        if not self._batching or wait <= 0:
            return
        deadline = time.monotonic() + wait
        while self._queue.items() < self.settings.max_batch_size and not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cond.wait(remaining)

    def _execute(self, batch: List[Job]) -> None:
        batch = [job for job in batch if not job.abandoned]
        if not batch:
            return
        started = time.monotonic()
        for job in batch:
            self.metrics.queue_seconds.observe(started - job.enqueued_at)
        with self._settles_on_death(batch):
            if len(batch) == 1 and batch[0].items > self.settings.max_batch_size and self.spec.split:
                self._execute_split(batch[0])
            elif self._batching:
                self._execute_batch(batch)
            else:
                for job in batch:
                    self._execute_one(job, lambda j: self._call_one(j.inputs, j.parameters))

    @contextlib.contextmanager
    def _settles_on_death(self, batch: List[Job]) -> Iterator[None]:
        """If the worker is about to die (SystemExit and the like), answer the running jobs first."""
        try:
            yield
        except BaseException:
            settle_all(
                [(job, None, InferenceFailed("Inference failed; the server log has the details")) for job in batch]
            )
            raise

    def _model_call(self, items: int, call: Callable[[], Any]) -> Any:
        """One call of the model: timed, counted, within the shared compute bound."""
        self.metrics.batch_size.observe(items)
        tick = time.perf_counter()
        try:
            with self._compute():
                return call()
        finally:
            self.metrics.inference_seconds.observe(time.perf_counter() - tick)

    def _call_one(self, inputs: Any, parameters: dict) -> Any:
        """The model on one request's inputs (through `batch` when the pipeline batches)."""
        pipeline = self._loaded()
        items = self.spec.count_items(inputs, parameters)
        if self._batching:
            return self._model_call(items, lambda: self._checked(pipeline.batch([inputs], **parameters), 1)[0])
        return self._model_call(items, lambda: pipeline(inputs, **parameters))

    def _execute_split(self, job: Job) -> None:
        """A request larger than MAX_BATCH_SIZE items: model calls of at most that size, joined."""
        assert self.spec.split is not None
        try:
            outputs = []
            for part in self.spec.split(job.inputs, self.settings.max_batch_size):
                if job.abandoned:  # its client left: the remaining parts are not run
                    return
                outputs.append(self._call_one(part, job.parameters))
            result = self.spec.join(outputs)
        except Exception as error:
            job.settle(error=self._client_error(error))
            return
        job.settle(result)

    def _execute_batch(self, batch: List[Job]) -> None:
        if len(batch) == 1:
            self._execute_one(batch[0], lambda j: self._call_one(j.inputs, j.parameters))
            return
        pipeline = self._loaded()
        parameters = batch[0].parameters
        items = sum(job.items for job in batch)
        try:
            outputs = self._model_call(
                items, lambda: self._checked(pipeline.batch([job.inputs for job in batch], **parameters), len(batch))
            )
        except Exception:  # isolate the culprit: each job again, on its own
            logger.warning("A batch of %d requests failed; running them one by one", len(batch), exc_info=True)
            self.metrics.batch_failures.inc()
            for job in batch:
                self._execute_one(job, lambda j: self._call_one(j.inputs, j.parameters))
            return
        settle_all([(job, output, None) for job, output in zip(batch, outputs)])

    def _checked(self, outputs: Any, expected: int) -> List[Any]:
        if not isinstance(outputs, (list, tuple)) or len(outputs) != expected:
            raise RuntimeError(f"{type(self.pipeline).__name__}.batch must return one output per input")
        return list(outputs)

    def _execute_one(self, job: Job, call: Callable[[Job], Any]) -> None:
        if job.abandoned:
            return
        try:
            output = call(job)
        except Exception as error:
            job.settle(error=self._client_error(error))
            return
        job.settle(output)

    def _client_error(self, error: Exception) -> APIError:
        """The answer for a pipeline's exception, logged: refusals briefly, failures with their traceback."""
        answer = as_client_error(error, self._expose_value_errors)
        if answer.status_code >= 500:
            logger.error("Inference failed for %s", self.model_id, exc_info=error)
        elif isinstance(error, APIError):
            logger.info("The pipeline refused a request (%d): %s", answer.status_code, answer)
        else:
            logger.warning(
                "The pipeline raised %s; answered %d", type(error).__name__, answer.status_code, exc_info=error
            )
        return answer

    def _loaded(self) -> Pipeline:
        if self.pipeline is None:  # the worker serves only after a successful load
            raise RuntimeError("the pipeline is not loaded")
        return self.pipeline

    # ------------------------------------------------------------------ status

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    @property
    def batching(self) -> bool:
        return self._batching
