"""Millions of usage rows for the gateway's usage database, generated fast, with their daily roll-ups.

Rows are drawn with numpy in chunks: times spread over the last `days` days, tokens skewed (a few
callers make most requests), each token using a few models, mostly 200s, log-normal latencies,
characters for text models, images for image models, audio seconds for audio models. Raw rows go
in with `executemany` in large transactions (SQLite) or `COPY` (PostgreSQL); the roll-ups are summed
with numpy over all chunks and written once with the gateway's own upsert (`storage.add_rollups`), so
the tables end as the gateway would have left them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Dict, List

import numpy as np

if TYPE_CHECKING:
    from sqlalchemy import Engine

COLUMNS = ("ts", "token_id", "model", "task", "library", "status", "latency_ms", "compute_ms", "characters",
           "images", "audio_seconds", "request_bytes", "response_bytes")  # fmt: skip
KINDS = (("text", "feature-extraction", "sentence_transformers"), ("image", "image-classification", "timm"),
         ("audio", "automatic-speech-recognition", "transformers"))  # fmt: skip
STATUSES = np.array([200, 400, 429, 500])
STATUS_WEIGHTS = np.array([0.975, 0.015, 0.005, 0.005])


@dataclass(frozen=True)
class Shape:
    rows: int = 10_000_000
    days: int = 60
    tokens: int = 50
    models: int = 20
    models_per_token: int = 3
    chunk: int = 250_000
    seed: int = 0

    def model_names(self) -> List[str]:
        return [f"org/model-{i:02d}" for i in range(self.models)]

    def kind(self, model: int) -> int:
        """0 text (60 %), 1 image (25 %), 2 audio (15 %)."""
        share = model / self.models
        return 0 if share < 0.6 else (1 if share < 0.85 else 2)


class Rollups:
    """Sums per day x token x model and latency counts, accumulated chunk after chunk with bincount."""

    def __init__(self, shape: Shape, first_day: datetime) -> None:
        from api_inference_community.gateway.usage.records import LATENCY_BOUNDS_MS
        from api_inference_community.gateway.usage.schema import LATENCY_BUCKETS, LATENCY_COLUMNS, ROLLUP_SUMS

        self.buckets = LATENCY_BUCKETS
        self.columns = LATENCY_COLUMNS
        self.bounds = np.asarray(LATENCY_BOUNDS_MS)
        self.shape = shape
        self.first_day = first_day
        self.size = (shape.days + 1) * (shape.tokens + 1) * shape.models
        self.sums = {name: np.zeros(self.size) for name in ROLLUP_SUMS}
        self.latency = np.zeros((self.size, self.buckets), dtype=np.int64)

    def add(self, day: np.ndarray, chunk: Dict[str, Any]) -> None:
        key = (day * (self.shape.tokens + 1) + chunk["token_id"]) * self.shape.models + chunk["model_index"]
        status = chunk["status"]
        values = {
            "requests": np.ones(len(key)),
            "client_errors": ((status >= 400) & (status < 500)).astype(float),
            "server_errors": (status >= 500).astype(float),
            "characters": chunk["characters"],
            "images": chunk["images"],
            "audio_seconds": chunk["audio_seconds"],
            "compute_seconds": chunk["compute_ms"] / 1000.0,
            "latency_ms_sum": chunk["latency_ms"],
            "request_bytes": chunk["request_bytes"],
            "response_bytes": chunk["response_bytes"],
        }
        for name, weights in values.items():
            self.sums[name] += np.bincount(key, weights=weights, minlength=self.size)
        bucket = np.searchsorted(self.bounds, chunk["latency_ms"], side="left")  # as records.latency_bucket
        self.latency += np.bincount(key * self.buckets + bucket, minlength=self.size * self.buckets).reshape(
            self.size, self.buckets
        )

    def rows(self) -> List[dict]:
        """The `usage_daily` rows: the key, the sums and the latency counts."""
        names = self.shape.model_names()
        per_day = (self.shape.tokens + 1) * self.shape.models

        def where(key: int) -> dict:
            day, rest = divmod(key, per_day)
            token_id, model = divmod(rest, self.shape.models)
            return {"day": (self.first_day + timedelta(days=day)).date(), "token_id": token_id, "model": names[model]}

        integers = {"requests", "client_errors", "server_errors", "characters", "images", "request_bytes",
                    "response_bytes"}  # fmt: skip
        return [
            {
                **where(int(key)),
                **{n: (int(v[key]) if n in integers else float(v[key])) for n, v in self.sums.items()},
                **dict(zip(self.columns, self.latency[key].tolist())),
            }
            for key in np.flatnonzero(self.sums["requests"])
        ]


def _chunk(rng: np.random.Generator, shape: Shape, size: int, token_models: np.ndarray) -> Dict[str, Any]:
    seconds = rng.uniform(0, shape.days * 86400 - 1, size)
    weights = 1.0 / np.arange(1, shape.tokens + 1)
    token_id = rng.choice(np.arange(1, shape.tokens + 1), size=size, p=weights / weights.sum())
    model_index = token_models[token_id, rng.integers(0, shape.models_per_token, size)]
    kinds = np.array([shape.kind(m) for m in range(shape.models)])[model_index]
    latency = rng.lognormal(np.log(40.0), 0.8, size)
    characters = np.where(kinds == 0, rng.integers(1, 500, size), 0)
    images = (kinds == 1).astype(np.int64)
    audio = np.where(kinds == 2, np.round(rng.uniform(1, 30, size), 3), 0.0)
    return {
        "seconds": seconds,
        "token_id": token_id,
        "model_index": model_index,
        "kind": kinds,
        "status": rng.choice(STATUSES, size=size, p=STATUS_WEIGHTS),
        "latency_ms": np.round(latency, 3),
        "compute_ms": np.round(latency * 0.7, 3),
        "characters": characters,
        "images": images,
        "audio_seconds": audio,
        "request_bytes": characters + 20 + images * 50_000 + (audio * 32_000).astype(np.int64),
        "response_bytes": rng.integers(50, 5000, size),
    }


def _columns(chunk: Dict[str, Any], start: np.datetime64, shape: Shape) -> List[list]:
    """The chunk's columns as Python values, in COLUMNS' order (times as SQLAlchemy stores them in SQLite)."""
    stamps = start + (chunk["seconds"] * 1e6).astype("timedelta64[us]")
    ts = np.char.replace(np.datetime_as_string(stamps, unit="us"), "T", " ")
    names = np.array(shape.model_names())[chunk["model_index"]]
    tasks = np.array([k[1] for k in KINDS])[chunk["kind"]]
    libraries = np.array([k[2] for k in KINDS])[chunk["kind"]]
    values = [ts, chunk["token_id"], names, tasks, libraries, chunk["status"], chunk["latency_ms"], chunk["compute_ms"],
              chunk["characters"], chunk["images"], chunk["audio_seconds"], chunk["request_bytes"],
              chunk["response_bytes"]]  # fmt: skip
    return [column.tolist() for column in values]


def fill(engine: Engine, shape: Shape, progress: Callable[[str], None] = print) -> Dict[str, float]:
    """Write `shape.rows` raw rows and their roll-ups into a migrated, empty usage database; timings."""
    from api_inference_community.gateway.usage import storage
    from api_inference_community.gateway.usage.records import utcnow

    rng = np.random.default_rng(shape.seed)
    now = utcnow().replace(microsecond=0)
    first = (now - timedelta(days=shape.days)).replace(hour=0, minute=0, second=0)
    start = now - timedelta(days=shape.days)
    token_models = np.zeros((shape.tokens + 1, shape.models_per_token), dtype=np.int64)
    for token in range(1, shape.tokens + 1):
        token_models[token] = rng.choice(shape.models, size=shape.models_per_token, replace=False)
    rollups = Rollups(shape, first)
    np_start = np.datetime64(start.isoformat(), "us")
    started = time.perf_counter()
    raw = engine.raw_connection()
    postgres = engine.dialect.name == "postgresql"
    try:
        cursor = raw.cursor()
        for offset in range(0, shape.rows, shape.chunk):
            size = min(shape.chunk, shape.rows - offset)
            chunk = _chunk(rng, shape, size, token_models)
            day = ((np_start + (chunk["seconds"] * 1e6).astype("timedelta64[us]")).astype("datetime64[D]")
                   - np.datetime64(first.date().isoformat(), "D")).astype(np.int64)  # fmt: skip
            rollups.add(day, chunk)
            columns = _columns(chunk, np_start, shape)
            if postgres:
                text = "\n".join(map("\t".join, zip(*(list(map(str, column)) for column in columns)))) + "\n"
                with cursor.copy(f"COPY usage_requests ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    copy.write(text)
            else:
                marks = ", ".join("?" for _ in COLUMNS)
                cursor.executemany(f"INSERT INTO usage_requests ({', '.join(COLUMNS)}) VALUES ({marks})", zip(*columns))
            raw.commit()
            progress(f"  {offset + size:,} rows ({time.perf_counter() - started:.0f} s)")
        cursor.close()
    finally:
        raw.close()
    rows_s = time.perf_counter() - started
    daily = rollups.rows()
    began = time.perf_counter()
    with engine.begin() as connection:
        for index in range(0, len(daily), 2000):
            storage.add_rollups(connection, daily[index : index + 2000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if postgres else "ANALYZE")
    return {
        "rows_seconds": rows_s,
        "rollup_seconds": time.perf_counter() - began,
        "daily_rows": float(len(daily)),
    }
