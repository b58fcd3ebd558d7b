"""The inference engine of one model: a worker thread that loads it, then runs its queue in batches.

The event loop only enqueues jobs (`infer`) and awaits their futures; the model runs in the
worker thread. While the worker is busy, jobs of a batchable task with identical parameters pile
up and are taken together (`batching.JobQueue`). An idle worker takes a lone job at once.
"""

from __future__ import annotations

import asyncio
import enum
import gc
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ..errors import (
    APIError,
    InferenceFailed,
    InferenceTimeout,
    InvalidInput,
    ModelLoadFailed,
    ModelLoading,
    Overloaded,
    ShuttingDown,
)
from ..pipelines import Pipeline
from ..tasks.registry import TaskSpec
from .batching import JobQueue
from .jobs import Job, batch_key, settle_all
from .loading import LoadProgress
from .metrics import Metrics
from .settings import Settings, use_settings
from .threads import available_cpus, configure_torch_threads

logger = logging.getLogger(__name__)


class ModelState(str, enum.Enum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


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


def as_client_error(error: BaseException) -> APIError:
    """The HTTP error a pipeline exception becomes (ValueError -> 400, as upstream)."""
    if isinstance(error, APIError):
        return error
    if isinstance(error, (ValueError, AssertionError)) and str(error):
        return InvalidInput(str(error))
    return InferenceFailed("Inference failed; the server log has the details")


class InferenceEngine:
    """Owns the pipeline of one model and the thread that runs it."""

    def __init__(
        self,
        spec: TaskSpec,
        pipeline_class: Callable[[str], Pipeline],
        settings: Settings,
        metrics: Metrics,
        resolve: Callable[[], Path],
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.metrics = metrics
        self._pipeline_class = pipeline_class
        self._resolve = resolve
        self.pipeline: Optional[Pipeline] = None
        self.state = ModelState.LOADING
        self.load_error: Optional[str] = None
        self.load_seconds: Optional[float] = None
        self.progress = LoadProgress(settings.hf_home)
        self._queue = JobQueue()
        self._cond = self._queue.cond
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._load_waiters: List[asyncio.Future] = []
        self._batching = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the worker thread: it loads the model, then serves the queue."""
        self._thread = threading.Thread(target=self._run, name="inference-worker", daemon=True)
        self._thread.start()

    async def stop(self, grace: float) -> None:
        """Stop taking jobs, let the worker finish what is queued (within `grace` seconds)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None and self._thread.is_alive():
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, grace)
            if self._thread.is_alive():
                logger.warning("The inference worker did not finish within %.1f s", grace)

    def _run(self) -> None:
        if self._load():
            self._serve()

    def _load(self) -> bool:
        started = time.perf_counter()
        try:
            threads = self.settings.num_threads or available_cpus()
            path = self._resolve()
            self.progress.begin(path)
            logger.info("Loading %s for %s from %s", self.settings.model_id, self.spec.name, path)
            with use_settings(self.settings):  # the pipeline's get_settings() is this app's
                pipeline = self._pipeline_class(str(path))
            configure_torch_threads(threads)  # after the library is imported
            freeze_loaded_objects()
        except BaseException as error:  # a failed load must be reported, never lost
            logger.exception("Model %s failed to load", self.settings.model_id)
            self.load_error = f"{type(error).__name__}: {error}"
            self._finish_loading(ModelState.FAILED)
            return False
        self.pipeline = pipeline
        self._batching = self.spec.batchable and pipeline.supports_batching() and self.settings.max_batch_size > 1
        self.load_seconds = time.perf_counter() - started
        self.progress.record(self.load_seconds)
        self.metrics.load_seconds.set(self.load_seconds)
        logger.info("Model loaded in %.2f s (batching %s)", self.load_seconds, "on" if self._batching else "off")
        self._finish_loading(ModelState.READY)
        return True

    def _finish_loading(self, state: ModelState) -> None:
        with self._cond:
            self.state = state
            waiters, self._load_waiters = self._load_waiters, []
        self.metrics.set_state(state.value)
        for waiter in waiters:
            try:
                waiter.get_loop().call_soon_threadsafe(_release, waiter)
            except RuntimeError:
                pass

    async def wait_loaded(self) -> None:
        """Wait until the model is loaded or failed to load."""
        with self._cond:
            if self.state != ModelState.LOADING:
                return
            waiter = asyncio.get_running_loop().create_future()
            self._load_waiters.append(waiter)
        await waiter

    # ------------------------------------------------------------------ requests

    def check_available(self, wait_for_model: bool) -> None:
        """Raise the answer for a request that cannot be queued now (loading, failed...)."""
        if self._stopping:
            raise ShuttingDown("The server is shutting down")
        if self.state == ModelState.LOADING and not wait_for_model:
            raise ModelLoading(self.settings.model_id, self.progress.estimated_time())
        if self.state == ModelState.FAILED:
            raise ModelLoadFailed(f"Model {self.settings.model_id} failed to load: {self.load_error}")

    async def infer(self, inputs: Any, parameters: Dict[str, Any], *, wait_for_model: bool = False) -> Any:
        """Queue one request and wait for its output. Cancelling it drops the job."""
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
            items=self.spec.count_items(inputs),
            future=loop.create_future(),
            loop=loop,
            enqueued_at=now,
            deadline=now + self.settings.request_timeout_s,
        )
        with self._cond:
            if self._stopping:
                raise ShuttingDown("The server is shutting down")
            if len(self._queue) >= self.settings.max_queue_size:
                raise Overloaded(f"Too many requests are waiting ({len(self._queue)}); retry later")
            self._queue.append(job)
            self.metrics.queue_depth.set(len(self._queue))
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout=self.settings.request_timeout_s)
        except asyncio.TimeoutError:
            job.abandoned = True
            raise InferenceTimeout(f"Inference did not finish within {self.settings.request_timeout_s:g} s") from None
        except asyncio.CancelledError:
            job.abandoned = True
            raise

    # ------------------------------------------------------------------ worker

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    return  # stopping and drained
                self._await_batch()
                batch = self._queue.take_batch(self._batching, self.settings.max_batch_size)
                self.metrics.queue_depth.set(len(self._queue))
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
        self.metrics.batch_size.observe(sum(job.items for job in batch))
        tick = time.perf_counter()
        if self._batching:
            self._execute_batch(batch)
        else:
            pipeline = self._loaded()
            for job in batch:
                self._execute_one(job, lambda j: pipeline(j.inputs, **j.parameters))
        self.metrics.inference_seconds.observe(time.perf_counter() - tick)

    def _execute_batch(self, batch: List[Job]) -> None:
        def run_alone(job: Job) -> Any:
            return self._checked_batch([job])[0]

        if len(batch) == 1:
            self._execute_one(batch[0], run_alone)
            return
        try:
            outputs = self._checked_batch(batch)
        except Exception:  # isolate the culprit: each job again, on its own
            logger.info("A batch of %d failed; running its requests one by one", len(batch))
            for job in batch:
                self._execute_one(job, run_alone)
            return
        settle_all([(job, output, None) for job, output in zip(batch, outputs)])

    def _checked_batch(self, batch: List[Job]) -> List[Any]:
        outputs = self._loaded().batch([job.inputs for job in batch], **batch[0].parameters)
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(batch):
            raise RuntimeError(f"{type(self.pipeline).__name__}.batch must return one output per input")
        return list(outputs)

    def _execute_one(self, job: Job, call: Callable[[Job], Any]) -> None:
        if job.abandoned:
            return
        try:
            output = call(job)
        except Exception as error:
            client_error = as_client_error(error)
            if isinstance(client_error, InferenceFailed):
                logger.exception("Inference failed")
            job.settle(error=client_error)
            return
        job.settle(output)

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
