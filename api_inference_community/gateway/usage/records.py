"""One request's usage, and how a batch of them adds up into daily roll-ups (pure: no database).

Latencies are counted in buckets whose bounds grow by a factor of sqrt(2) from 0.5 ms (the last
bucket is unbounded): a percentile read from them is the bucket's geometric middle, within about
19 % of the exact value, and any range of days adds up by summing counts.
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .schema import LATENCY_BUCKETS, LATENCY_COLUMNS, MODEL_LENGTH

LATENCY_BOUNDS_MS: Tuple[float, ...] = tuple(0.5 * 2 ** (i / 2) for i in range(LATENCY_BUCKETS - 1))  # to ~6 min


EPOCH = datetime(1970, 1, 1)


def utcnow() -> datetime:
    """Now in UTC, without a zone (how times are stored); cheap, as every request asks for it."""
    return EPOCH + timedelta(seconds=time.time())


def latency_bucket(latency_ms: float) -> int:
    """The bucket of a latency: the first whose upper bound is at least it."""
    return bisect.bisect_left(LATENCY_BOUNDS_MS, latency_ms)


def bucket_value(bucket: int) -> float:
    """A bucket's representative latency (ms): the geometric middle of its bounds."""
    if bucket <= 0:
        return LATENCY_BOUNDS_MS[0]
    if bucket >= len(LATENCY_BOUNDS_MS):
        return LATENCY_BOUNDS_MS[-1]
    return math.sqrt(LATENCY_BOUNDS_MS[bucket - 1] * LATENCY_BOUNDS_MS[bucket])


def percentiles(counts: Mapping[int, int], quantiles: Sequence[float] = (0.5, 0.95, 0.99)) -> List[float]:
    """The latencies (ms) at `quantiles` of a histogram {bucket: count}; 0.0 when it is empty."""
    total = sum(counts.values())
    if total <= 0:
        return [0.0 for _ in quantiles]
    ordered = sorted((bucket, count) for bucket, count in counts.items() if count > 0)
    values = []
    for quantile in quantiles:
        rank, seen = max(1, math.ceil(quantile * total)), 0
        for bucket, count in ordered:
            seen += count
            if seen >= rank:
                values.append(round(bucket_value(bucket), 3))
                break
    return values


@dataclass(slots=True)
class UsageRecord:
    """One answered (or refused) request of a known caller (slotted, not frozen: one is made per request)."""

    ts: datetime  # when it arrived, UTC without a zone
    token_id: int
    model: str
    task: str
    library: str
    status: int
    latency_ms: float
    compute_ms: Optional[float] = None
    characters: int = 0
    images: int = 0
    audio_seconds: float = 0.0
    request_bytes: int = 0
    response_bytes: int = 0

    def row(self) -> dict:
        return {
            "ts": self.ts,
            "token_id": self.token_id,
            "model": self.model[:MODEL_LENGTH],
            "task": self.task[:64],
            "library": self.library[:64],
            "status": self.status,
            "latency_ms": self.latency_ms,
            "compute_ms": self.compute_ms,
            "characters": self.characters,
            "images": self.images,
            "audio_seconds": self.audio_seconds,
            "request_bytes": self.request_bytes,
            "response_bytes": self.response_bytes,
        }


RollupKey = Tuple[date, int, str]


@dataclass
class Rollup:
    """The sums of one day x token x model, and its latency histogram."""

    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    characters: int = 0
    images: int = 0
    audio_seconds: float = 0.0
    compute_seconds: float = 0.0
    latency_ms_sum: float = 0.0
    request_bytes: int = 0
    response_bytes: int = 0
    latency: List[int] = field(default_factory=lambda: [0] * LATENCY_BUCKETS)

    def add(self, record: UsageRecord) -> None:
        self.requests += 1
        self.client_errors += 400 <= record.status < 500
        self.server_errors += record.status >= 500
        self.characters += record.characters
        self.images += record.images
        self.audio_seconds += record.audio_seconds
        self.compute_seconds += (record.compute_ms or 0.0) / 1000.0
        self.latency_ms_sum += record.latency_ms
        self.request_bytes += record.request_bytes
        self.response_bytes += record.response_bytes
        self.latency[latency_bucket(record.latency_ms)] += 1

    def row(self) -> dict:
        """Its columns in `usage_daily` (without the key)."""
        sums = {name: value for name, value in vars(self).items() if name != "latency"}
        return {**sums, **dict(zip(LATENCY_COLUMNS, self.latency))}


def rollups(records: Iterable[UsageRecord]) -> List[dict]:
    """The `usage_daily` rows a batch of records adds: one per day x token x model."""
    sums: Dict[RollupKey, Rollup] = {}
    for record in records:
        key = (record.ts.date(), record.token_id, record.model[:MODEL_LENGTH])
        rollup = sums.get(key)
        if rollup is None:
            rollup = sums[key] = Rollup()
        rollup.add(record)
    return [
        {"day": day, "token_id": token_id, "model": model, **rollup.row()}
        for (day, token_id, model), rollup in sums.items()
    ]
