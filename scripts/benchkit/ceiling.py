"""The raw in-process ceiling: the image's own Pipeline called with `batch([...])` at each batch size,
in a subprocess whose working directory is the image folder and whose environment is the server's,
so that nothing competes with it and it loads the model as the server does.

    python -m benchkit.ceiling CONFIG_JSON      (the subprocess; `run_ceiling` starts it)
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

from .machine import own_cpu_seconds, system_busy_seconds, wait_for_quiet
from .stats import percentile

SCRIPTS_DIR = Path(__file__).resolve().parent.parent  # where the `benchkit` package lives


@dataclass(frozen=True)
class CeilingPlan:
    """What to measure: the app's pipeline for `task` on `model`, the bodies, the batch sizes and timings."""

    app: str
    task: str
    model: str
    bodies: Sequence[str]
    batches: Sequence[int]
    seconds: float = 10.0
    warmup: float = 2.0
    min_iterations: int = 10
    retries: int = 0
    noise_limit: float = 0.15
    quiet_below: float = 0.2
    quiet_wait: float = 0.0


def run_ceiling(plan: CeilingPlan, image: Path, env: Mapping[str, str]) -> Dict[str, Any]:
    """Measure `plan` in a subprocess (cwd `image`, environment + `env`); its results."""
    path = os.pathsep.join(p for p in (str(SCRIPTS_DIR), os.environ.get("PYTHONPATH", "")) if p)
    process = subprocess.run(
        [sys.executable, "-m", "benchkit.ceiling", json.dumps(dataclasses.asdict(plan))],
        cwd=str(image),
        env={**os.environ, **env, "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    if process.returncode != 0:
        raise RuntimeError(f"the raw measurement failed ({process.returncode}):\n{process.stderr[-5000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def measure_in_process(config: Dict[str, Any]) -> Dict[str, Any]:
    """Runs in the subprocess whose cwd is the image folder and whose environment holds the server's."""
    sys.path.insert(0, os.getcwd())
    from api_inference_community.runtime.settings import get_settings
    from api_inference_community.runtime.threads import available_cpus, configure_torch_threads
    from api_inference_community.tasks.registry import TASKS
    from api_inference_community.tasks.validation import Limits, parse_payload

    settings = get_settings()  # first call: reads the environment set up by the parent
    module = importlib.import_module(config["app"].split(":")[0])  # builds the app, starts nothing
    pipeline_class = module.ALLOWED_TASKS[config["task"]]
    spec = TASKS[config["task"]]
    started = time.perf_counter()
    pipeline = pipeline_class(config["model"])
    load_seconds = time.perf_counter() - started
    # parsed as the server does, after the load: audio is decoded at the pipeline's sampling rate
    limits = Limits(max_inputs=settings.max_inputs, sampling_rate=getattr(pipeline, "sampling_rate", None))
    payloads = [parse_payload(body.encode(), spec, limits) for body in config["bodies"]]
    configure_torch_threads(settings.num_threads or available_cpus())  # as the inference worker does
    batching = pipeline_class.supports_batching()
    torch = sys.modules.get("torch")

    def call(batch: List[Any], parameters: Dict[str, Any]) -> List[Any]:
        if batching:
            return pipeline.batch(batch, **parameters)
        return [pipeline(one, **parameters) for one in batch]

    results = []
    for size in config["batches"]:
        chosen = [payloads[i % len(payloads)] for i in range(size)]
        batch = [p.inputs for p in chosen]
        parameters = chosen[0].parameters
        items = sum(spec.count_items(x) for x in batch)
        other = 0.0
        for attempt in range(config["retries"] + 1):
            if attempt:
                print(f"  raw batch {size}: others used {other:.2f} cores, measuring again", file=sys.stderr)
                if config["quiet_wait"] > 0:
                    wait_for_quiet(config["quiet_below"], config["quiet_wait"])
            warm_until = time.perf_counter() + config["warmup"]
            for _ in range(3):
                call(batch, parameters)
            while time.perf_counter() < warm_until:
                call(batch, parameters)
            timings: List[float] = []
            own0, system0, wall0 = own_cpu_seconds(), system_busy_seconds(), time.perf_counter()
            deadline = time.perf_counter() + config["seconds"]
            while time.perf_counter() < deadline or len(timings) < config["min_iterations"]:
                tick = time.perf_counter()
                outputs = call(batch, parameters)
                timings.append(time.perf_counter() - tick)
                if len(outputs) != len(batch):
                    raise RuntimeError("the pipeline returned a wrong number of outputs")
            wall = time.perf_counter() - wall0
            own = (own_cpu_seconds() - own0) / wall
            other = (system_busy_seconds() - system0) / wall - own
            if other < config["noise_limit"]:
                break
        total = sum(timings)
        results.append(
            {
                "batch": size,
                "items": items,
                "iterations": len(timings),
                "items_per_s": items * len(timings) / total,
                "p50_ms": percentile([t * 1000 for t in timings], 50),
                "p99_ms": percentile([t * 1000 for t in timings], 99),
                "mean_ms": 1000 * total / len(timings),
                "cpu": own,
                "other_cpu": other,
                "attempts": attempt + 1,
            }
        )
    return {
        "pipeline": f"{pipeline_class.__module__}.{pipeline_class.__qualname__}",
        "batching": batching,
        "backend": settings.backend,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "load_seconds": load_seconds,
        "batches": results,
    }


if __name__ == "__main__":
    print(json.dumps(measure_in_process(json.loads(sys.argv[1]))))
