"""64 clients send heavy requests and give up after 50 ms; the next client must not pay for their work.

The sentence_transformers server runs with MAX_QUEUE_SIZE=8 and MAX_BATCH_SIZE=4: dead jobs that
keep their queue slots refuse live clients, and a 64-text request run as one model call holds the
worker long after its client left.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

import orjson
import pytest
import requests
from hostile_probes import Answer, Target, close_to, queue_depth, send, wait_until
from hostile_servers import MAX_INPUTS

CLIENTS = 64
GIVE_UP_S = 0.05
QUEUE_DRAIN_S = 0.5  # the gauge counts live jobs only: the dead ones leave at once
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def heavy_inputs() -> Dict[str, Any]:
    """MAX_INPUTS texts of 40 words: one request is 16 model calls of MAX_BATCH_SIZE texts, if split."""
    return {"inputs": [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(40)) for i in range(MAX_INPUTS)]}


@dataclass
class Abandonment:
    job_seconds: float  # one heavy request alone, on an idle server
    outcomes: Dict[str, int]  # what the 64 clients saw: "gave up" or a status
    first_live: Answer  # the first normal request after they left
    answered_after: Optional[float]  # from their leaving until a normal request got its 200 (retrying 503s)
    drained_after: Optional[float]  # from their leaving until aic_queue_depth read 0

    def describe(self) -> str:
        return (
            f"one heavy request {self.job_seconds:.2f} s; clients: {self.outcomes}; first live request: "
            f"{self.first_live.describe()}; answered after {self.answered_after} s; queue empty after "
            f"{self.drained_after} s"
        )


def give_up(url: str, body: Dict[str, Any]) -> str:
    try:
        return str(requests.post(url, json=body, timeout=GIVE_UP_S).status_code)
    except requests.RequestException:
        return "gave up"


def time_until_served(target: Target, since: float, first: Answer, timeout: float = 60.0) -> Optional[float]:
    """Seconds from `since` until a normal request is answered 200 (retrying every 50 ms)."""
    answer = first
    while answer.status != 200:
        if time.perf_counter() - since > timeout:
            return None
        time.sleep(0.05)
        answer = send("POST", target.url, **target.normal)
    return time.perf_counter() - since


def watch_queue(url: str, since: float, drained: Dict[str, float]) -> None:
    """Record in `drained` the seconds from `since` until aic_queue_depth reads 0."""
    if wait_until(lambda: queue_depth(url) == 0, timeout=60) is not None:
        drained["seconds"] = time.perf_counter() - since


@pytest.fixture(scope="module")
def abandonment(st_target: Target) -> Abandonment:
    body = heavy_inputs()
    timings = []
    for _ in range(2):  # the second run is warm
        started = time.perf_counter()
        assert requests.post(st_target.url, json=body, timeout=120).status_code == 200
        timings.append(time.perf_counter() - started)
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        seen = list(pool.map(lambda _: give_up(st_target.url, body), range(CLIENTS)))
    left_at = time.perf_counter()
    drained: Dict[str, float] = {}
    watcher = threading.Thread(target=watch_queue, args=(st_target.url, left_at, drained))
    watcher.start()
    first = send("POST", st_target.url, **st_target.normal)
    answered_after = time_until_served(st_target, left_at, first)
    watcher.join()
    outcomes = {outcome: seen.count(outcome) for outcome in set(seen)}
    assert outcomes.get("gave up"), f"no client gave up: {outcomes}"
    result = Abandonment(min(timings), outcomes, first, answered_after, drained.get("seconds"))
    wait_until(lambda: queue_depth(st_target.url) == 0, timeout=60)  # leave an idle server to the next tests
    return result


# Guards against a defect that was: an abandoned job keeps its queue slot (counted by aic_queue_depth) until
# the worker reaches it, so live clients get 503 'queue full' while nobody waits.
def test_live_request_is_served_not_refused(abandonment: Abandonment, st_target: Target) -> None:
    assert abandonment.first_live.status == 200, abandonment.describe()
    assert close_to(orjson.loads(abandonment.first_live.body), st_target.baseline)
    st_target.assert_still_serving()


# Guards against a defect that was: an abandoned request runs to its end as one model call (not split by
# MAX_BATCH_SIZE, not dropped when its client leaves), and dead jobs hold the queue meanwhile.
def test_live_request_does_not_wait_for_abandoned_work(abandonment: Abandonment) -> None:
    """Well before the sum of their work (64 heavy requests): within half of one of them."""
    assert abandonment.answered_after is not None, abandonment.describe()
    assert abandonment.answered_after <= 0.5 * abandonment.job_seconds, abandonment.describe()


# Guards against a defect that was: an abandoned job keeps its queue slot (counted by aic_queue_depth) until
# the worker reaches it, so live clients get 503 'queue full' while nobody waits.
def test_queue_depth_drops_to_zero_at_once(abandonment: Abandonment) -> None:
    assert abandonment.drained_after is not None, abandonment.describe()
    assert abandonment.drained_after <= QUEUE_DRAIN_S, abandonment.describe()
