"""Multi-model servers under test: their environment, what `GET /models` and `/metrics` tell of the
cache, measuring each model's size, and replaying a request trace one request at a time.

A trace is replayed by one client, in order, each request asking to wait for its model
(`x-wait-for-model`). Whether a request is a hit is read from the loaded models the server listed
just before it (`GET /models`, after the previous request); the server's own hit and miss counters
are read before and after, as a check. A request refused because no model could be unloaded
(503 without `estimated_time`) is sent again after its `Retry-After` (capped), and counted.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from .machine import rss_mb
from .sequential import Answer, Session

WAIT = {"x-wait-for-model": "true"}


def multi_model_env(
    models_dir: str, library: str, budget: Optional[int] = None, extra: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """The environment of a multi-model server of `library` over `models_dir` (offline)."""
    env = {"MULTI_MODEL": "1", "MODELS_DIR": models_dir, "LIBRARY_NAME": library, "HF_HUB_OFFLINE": "1"}
    if budget is not None:
        env["MODEL_MEMORY_BUDGET"] = str(int(budget))
    env.update(extra or {})
    return env


def cache_counters(metrics_text: str) -> Dict[str, float]:
    """`aic_cache_requests_total` summed over models: {"hit": n, "miss": n}."""
    counts = {"hit": 0.0, "miss": 0.0}
    for line in metrics_text.splitlines():
        if line.startswith("aic_cache_requests_total{"):
            labels, _, value = line.rpartition("}")
            for result in counts:
                if f'result="{result}"' in labels:
                    counts[result] += float(value.split()[0])
    return counts


def server_counters(session: Session) -> Dict[str, float]:
    """The server's cache counters now (GET /metrics)."""
    answer = session.request("GET", "/metrics")
    return cache_counters(answer.body.decode(errors="replace")) if answer.status == 200 else {}


def loaded_models(session: Session) -> Dict[str, Dict[str, Any]]:
    """The models the server holds now, by id (GET /models)."""
    status, listing = session.get_json("/models")
    if status != 200 or not isinstance(listing, dict):
        raise RuntimeError(f"GET /models answered {status}")
    return {m["model_id"]: m for m in listing.get("models", [])}


def refused_for_room(answer: Answer) -> bool:
    """A 503 that is not "loading": no loaded model could be unloaded to make room (retry later)."""
    if answer.status != 503:
        return False
    try:
        return "estimated_time" not in json.loads(answer.body)
    except ValueError:
        return True


def send_waiting(
    session: Session,
    path: str,
    body: bytes,
    content_type: str,
    max_wait: float = 1.0,
    max_refusals: int = 120,
) -> tuple:
    """POST asking to wait for the model; a refusal for room is retried after Retry-After (at most
    `max_wait` s). Returns (the last answer, its send time (perf_counter), refusals before it)."""
    refusals = 0
    while True:
        sent = time.perf_counter()
        answer = session.post(path, body, content_type, WAIT)
        if not refused_for_room(answer) or refusals >= max_refusals:
            return answer, sent, refusals
        refusals += 1
        try:
            pause = float(answer.headers.get("retry-after", max_wait))
        except ValueError:
            pause = max_wait
        time.sleep(min(pause, max_wait))


def measure_sizes(
    session: Session, model_ids: Sequence[str], body: bytes, content_type: str, log: Callable[[str], None]
) -> Dict[str, Dict[str, Any]]:
    """Load every model once (a server whose budget holds them all); each one's measured bytes and load time."""
    for number, model_id in enumerate(model_ids, 1):
        answer = session.post(f"/models/{model_id}", body, content_type, WAIT)
        if answer.status != 200:
            raise RuntimeError(f"{model_id} answered {answer.status}: {answer.body[:300]!r}")
        if number % 10 == 0 or number == len(model_ids):
            log(f"  sized {number}/{len(model_ids)}")
    listed = loaded_models(session)
    missing = [m for m in model_ids if m not in listed]
    if missing:
        raise RuntimeError(f"the server unloaded {missing}: its budget does not hold every model")
    return {
        m: {
            "bytes": int(listed[m]["bytes"]),
            "load_seconds": listed[m]["load_seconds"],
            "measured": listed[m]["measured"],
        }
        for m in model_ids
    }


@dataclass(frozen=True)
class TraceRecord:
    """One request of a replayed trace."""

    index: int
    model: str
    sent: float  # perf_counter seconds, of the attempt that was answered
    ms: float
    status: int
    hit: bool  # the model was loaded when the request was sent
    refusals: int  # attempts refused for room before it
    resident_bytes: int  # sum of the loaded models' sizes after it
    resident_models: int
    model_bytes: Optional[int]  # the requested model's size as the server measured it (None: not loaded)
    rss_mb: Optional[float]  # the server's RSS after it


def replay_trace(
    session: Session,
    pid: int,
    trace: Sequence[str],
    body: bytes,
    content_type: str,
    log: Callable[[str], None],
    max_wait: float = 1.0,
) -> List[TraceRecord]:
    """Send the trace's requests in order; one record per request."""
    records: List[TraceRecord] = []
    listed = loaded_models(session)
    started = time.perf_counter()
    for index, model in enumerate(trace):
        hit = model in listed
        answer, sent, refusals = send_waiting(session, f"/models/{model}", body, content_type, max_wait)
        listed = loaded_models(session)
        records.append(
            TraceRecord(
                index,
                model,
                sent,
                1000 * answer.seconds,
                answer.status,
                hit and refusals == 0,
                refusals,
                sum(int(m["bytes"]) for m in listed.values()),
                len(listed),
                int(listed[model]["bytes"]) if model in listed else None,
                rss_mb(pid),
            )
        )
        if (index + 1) % 100 == 0:
            hits = sum(r.hit for r in records)
            seconds = time.perf_counter() - started
            log(f"  {index + 1}/{len(trace)} requests, {hits / len(records):.2f} hits, {seconds:.0f} s")
    return records


def records_as_dicts(records: Sequence[TraceRecord]) -> List[Dict[str, Any]]:
    return [asdict(r) for r in records]
