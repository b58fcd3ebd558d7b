"""The autoscaling decision, pure: a pool's replicas from its observed concurrency, one sample at a time.

Concurrency is what a pool holds at once: requests in flight on its replicas plus requests held
waiting for one. `target` is the concurrency one replica should carry. Each sample:

- **Fast up.** The recommendation is ceil(panic-window average / target): a pool scales up as soon
  as the last `panic_window_s` (6 s) need more replicas than it has, unless the need is within
  `tolerance` (10 %) of what it has (noise).
- **Panic.** When that average is at least `panic_threshold` (2) times what the ready replicas take
  at target, the latest sample is trusted instead of the average (a spike is met at once; a pool
  at zero panics on its first request).
- **A backlog is not a rate.** While replicas start, requests queue and the concurrency climbs far
  above what the load needs: a scale-up asks for at most `max_scale_up_rate` (4) times the ready
  replicas, and what a pool asked for while waiting for replicas is not kept once they answer.
- **Slow down, no flapping.** The pool keeps the largest recommendation of the last
  `stable_window_s` (60 s): it scales down one stable window after its load dropped (within the
  following panic window, as the short average falls), and noise never moves it back and forth.
- **Batching.** A batching server's concurrency grows faster than its load (twice the requests per
  second make bigger batches and longer waits: more than twice the requests in flight), so a pool
  that scaled down from 3 replicas to 1 may need 3 again at the same load, for ever. The decision
  remembers, for `memory_s`, the request rate per replica at which ready replicas held more than the
  target (`rate`, from the gateway's counters; not while a backlog drains), and scales down only as
  far as keeps each replica clearly below it. Without `rate`, scale-downs follow concurrency alone.
- **Zero.** With `min_replicas` 0, a pool with nothing in flight for `idle_s` goes to zero; the
  first request after that starts `activation` replicas (or more, if more are already waiting).
- Always within [`min_replicas`, `max_replicas`] while the pool runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

# reasons of a decision (a metric label and a log word)
STEADY = "steady"
SCALE_UP = "scale-up"
PANIC = "panic"
SCALE_DOWN = "scale-down"
FROM_ZERO = "from-zero"
TO_ZERO = "to-zero"
REASONS = (STEADY, SCALE_UP, PANIC, SCALE_DOWN, FROM_ZERO, TO_ZERO)


@dataclass(frozen=True)
class Policy:
    """The parameters of the decision (the AUTOSCALE_* settings)."""

    target: float = 4.0  # concurrency per replica
    min_replicas: int = 0
    max_replicas: int = 8
    stable_window_s: float = 60.0
    panic_window_s: float = 6.0
    panic_threshold: float = 2.0
    idle_s: float = 600.0  # with min_replicas 0: nothing in flight this long, the pool goes to zero
    activation: int = 1  # replicas started when a request arrives at zero
    tolerance: float = 0.1  # no scale-up for a need within 10 % above the replicas there are (noise)
    max_scale_up_rate: float = 4.0  # at most this many times the ready replicas (a backlog is not a rate)
    memory_s: float = 3600.0  # how long an overload (its request rate per replica) keeps scale-downs above it

    def __post_init__(self) -> None:
        if self.target <= 0:
            raise ValueError("target must be positive")
        if not 0 <= self.min_replicas <= self.max_replicas or self.max_replicas < 1:
            raise ValueError("need 0 <= min_replicas <= max_replicas and max_replicas >= 1")
        if not 0 < self.panic_window_s <= self.stable_window_s:
            raise ValueError("need 0 < panic_window_s <= stable_window_s")
        if self.panic_threshold < 1:
            raise ValueError("panic_threshold must be at least 1")
        if self.tolerance < 0 or self.max_scale_up_rate < 1:
            raise ValueError("need tolerance >= 0 and max_scale_up_rate >= 1")


@dataclass(frozen=True)
class Observation:
    """One sample of a pool."""

    at: float  # seconds, monotonic
    concurrency: float  # in flight plus waiting (averaged over the sampling interval)
    ready: int  # replicas that answer
    current: int  # replicas the pool keeps now
    last_request: Optional[float] = None  # when the pool last got a request (even one it could not serve)
    rate: Optional[float] = None  # requests per second the pool received since the last sample


@dataclass(frozen=True)
class History:
    """What a decision remembers of the samples before it (immutable: each decision returns the next)."""

    samples: Tuple[Tuple[float, float], ...] = ()  # (at, concurrency) over the stable window
    recommendations: Tuple[Tuple[float, int], ...] = ()  # (at, replicas) over the stable window
    last_busy: Optional[float] = None  # the last sample with something in flight (or the first sample)
    overloads: Tuple[Tuple[float, float], ...] = ()  # (at, requests/s per replica) when replicas held too much


@dataclass(frozen=True)
class Decision:
    replicas: int
    reason: str  # one of REASONS
    stable: float  # average concurrency over the stable window
    panic: float  # average concurrency over the panic window
    panicking: bool
    history: History = field(repr=False)


def _mean(values: Tuple[float, ...]) -> float:
    return sum(values) / len(values) if values else 0.0


def _need(concurrency: float, target: float) -> int:
    # a hair of tolerance: 8.000000001 / 4 is 2 replicas, not 3
    return max(0, math.ceil(concurrency / target - 1e-9))


def decide(policy: Policy, history: History, observation: Observation) -> Decision:
    """The replicas the pool should have after `observation`, and the history for the next call."""
    now, concurrency, ready, current = (
        observation.at,
        max(0.0, observation.concurrency),
        observation.ready,
        observation.current,
    )
    samples = tuple(s for s in history.samples if s[0] > now - policy.stable_window_s) + ((now, concurrency),)
    stable = _mean(tuple(c for at, c in samples))
    panic = _mean(tuple(c for at, c in samples if at > now - policy.panic_window_s))
    # a pool seen for the first time counts as busy now: its idle period starts here
    last_busy = now if concurrency > 0 or history.last_busy is None else history.last_busy
    if observation.last_request is not None:
        last_busy = max(last_busy, min(observation.last_request, now))

    # up: the panic window's average, or the latest sample in panic; not for noise; not past a backlog
    panicking = panic > 0 and panic >= policy.panic_threshold * policy.target * max(ready, 1)
    wanted = _need(max(panic, concurrency) if panicking else panic, policy.target)
    if not panicking and current > 0 and wanted > current and panic <= current * policy.target * (1 + policy.tolerance):
        wanted = current  # within the tolerance: noise, not load
    wanted = min(wanted, max(math.ceil(max(ready, 1) * policy.max_scale_up_rate), current))
    if current == 0 and concurrency > 0:  # a start from zero: what it starts is kept a stable window too
        wanted = max(wanted, policy.activation, policy.min_replicas)

    # down: the largest recommendation of the stable window, and never back under a rate that overloaded
    recommendations = tuple(r for r in history.recommendations if r[0] > now - policy.stable_window_s)
    if not history.samples and current > 0:  # a pool seen for the first time keeps what it has a stable window
        recommendations += ((now, current),)
    if ready >= current:  # a backlog that grew while replicas started is not kept a stable window
        recommendations += ((now, wanted),)
    replicas = max((wanted, *(r for _, r in recommendations)))
    overloads = tuple(o for o in history.overloads if o[0] > now - policy.memory_s)
    rate = observation.rate
    overloaded = panic > ready * policy.target * (1 + policy.tolerance)
    draining = concurrency < panic * (1 - policy.tolerance)  # what queued before is being answered
    if rate is not None and ready and ready == current and overloaded and not draining:
        overloads += ((now, rate / ready),)
    if rate and overloads and 0 < replicas < current:
        ceiling = min(r for _, r in overloads) * (1 - policy.tolerance)
        replicas = min(current, max(replicas, _need(rate, ceiling)))

    idle = now - last_busy >= policy.idle_s
    if current == 0:
        replicas = replicas if concurrency > 0 else 0
    elif policy.min_replicas == 0 and concurrency == 0 and idle:
        replicas = 0
    else:
        replicas = max(replicas, policy.min_replicas, 1)
    replicas = min(replicas, policy.max_replicas)

    if replicas == current:
        reason = STEADY
    elif current == 0:
        reason = FROM_ZERO
    elif replicas == 0:
        reason = TO_ZERO
    elif replicas > current:
        reason = PANIC if panicking else SCALE_UP
    else:
        reason = SCALE_DOWN
    if replicas == 0:  # a pool at zero starts afresh: no memory of the load before (overloads kept)
        samples, recommendations = (), ()
    next_history = History(samples, recommendations, last_busy, overloads)
    return Decision(replicas, reason, stable, panic, panicking, next_history)
