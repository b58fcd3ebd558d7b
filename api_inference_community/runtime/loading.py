"""Load-time estimates: the model's size on disk over a measured load speed."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Optional

from ..hub.resolve import directory_size

logger = logging.getLogger(__name__)

SPEED_FILE = "aic-load-speed.json"  # kept in HF_HOME: the speed of the last successful load
PROBE_BYTES = 32 * 1024 * 1024
UNKNOWN_ESTIMATE = 10.0  # seconds, only until the model's files are found


class LoadProgress:
    """Knows how far a load has come and how long it should still take."""

    def __init__(self, hf_home: Optional[str]) -> None:
        self._speed_path = Path(hf_home) / SPEED_FILE if hf_home else None
        self.started_at = time.monotonic()
        self.size_bytes: Optional[int] = None
        self.bytes_per_second: Optional[float] = None

    def begin(self, model_dir: Path) -> None:
        """Called once the model's files are on disk: measure what the estimate needs."""
        self.size_bytes = directory_size(model_dir)
        self.bytes_per_second = self._recorded_speed() or self._probe_read_speed(model_dir)

    def estimated_time(self) -> float:
        """Seconds until the model should be ready (never below one second while loading)."""
        elapsed = time.monotonic() - self.started_at
        if not self.size_bytes or not self.bytes_per_second:
            return max(UNKNOWN_ESTIMATE - elapsed, 1.0)
        return max(self.size_bytes / self.bytes_per_second - elapsed, 1.0)

    def record(self, load_seconds: float) -> None:
        """Remember this load's speed for the next start's estimate."""
        if not self._speed_path or not self.size_bytes or load_seconds <= 0:
            return
        try:
            self._speed_path.parent.mkdir(parents=True, exist_ok=True)
            self._speed_path.write_text(json.dumps({"bytes_per_second": self.size_bytes / load_seconds}))
        except OSError as error:
            logger.debug("Cannot record the load speed in %s: %s", self._speed_path, error)

    def _recorded_speed(self) -> Optional[float]:
        if not self._speed_path:
            return None
        try:
            speed = float(json.loads(self._speed_path.read_text())["bytes_per_second"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return speed if speed > 0 else None

    @staticmethod
    def _probe_read_speed(model_dir: Path) -> Optional[float]:
        """Read the start of the largest file (warming the page cache for the real load)."""
        files = [p for p in model_dir.rglob("*") if p.is_file()]
        if not files:
            return None
        largest = max(files, key=lambda p: p.stat().st_size)
        started = time.perf_counter()
        try:
            with open(largest, "rb", buffering=0) as handle:
                read = len(handle.read(PROBE_BYTES))
        except OSError:
            return None
        elapsed = time.perf_counter() - started
        return read / elapsed if read and elapsed > 0 else None
