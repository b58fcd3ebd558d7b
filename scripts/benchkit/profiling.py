"""Where a live server's time goes: py-spy (`py-spy record`, raw collapsed stacks) attached to its pid
while a block runs, and the samples summarized per thread: how much it waited, and the inclusive
and own shares of each function in the rest (its busy samples: running, or runnable waiting for a CPU).

py-spy is a development tool (requirements/dev.txt); without it the profile is skipped with a reason.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

# Leaf functions of a thread that waits (for events, work or a lock): its samples count as idle.
IDLE_LEAVES = frozenset(
    {"select", "EpollSelector.select", "poll", "Condition.wait", "Event.wait", "_worker", "Queue.get", "sleep"}
)
_THREAD = re.compile(r"^thread \((?:0x)?[0-9a-fA-F]+\): ?(?P<name>.*)$")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")


def py_spy_path() -> Optional[str]:
    """The py-spy executable beside this Python, or on PATH; None when not installed."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.is_file() else shutil.which("py-spy")


class Profile:
    """`py-spy record` of `pid` for `seconds` into `path`, from when the block starts; summarized after."""

    def __init__(
        self, pid: int, seconds: float, path: Path, rate: int = 100, idle: bool = True, gil: bool = False
    ) -> None:
        self.pid, self.seconds, self.path = pid, seconds, Path(path)
        self.rate, self.idle, self.gil = rate, idle, gil
        self.summary: Dict[str, Any] = {}
        self._process: Optional[subprocess.Popen] = None

    def __enter__(self) -> Profile:
        executable = py_spy_path()
        if executable is None:
            self.summary = {"skipped": "py-spy is not installed (requirements/dev.txt)"}
            return self
        command = [executable, "record", "--format", "raw", "--rate", str(self.rate), "--threads"]
        command += ["--duration", str(max(1, round(self.seconds))), "--pid", str(self.pid), "-o", str(self.path)]
        command += ["--nonblocking"] if not self.gil else ["--gil"]
        command += ["--idle"] if self.idle else []
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._process is None:
            return
        try:
            _, errors = self._process.communicate(timeout=self.seconds + 30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, errors = self._process.communicate()
        if self._process.returncode != 0 or not self.path.is_file():
            message = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            self.summary = {"skipped": f"py-spy failed: {message[0]}"}
            return
        self.summary = summarize(self.path.read_text(errors="replace"))
        self.summary["options"] = {"rate": self.rate, "idle": self.idle, "gil": self.gil}


def _split(line: str) -> Tuple[str, List[str], int]:
    """(thread name, frames root first, samples) of one raw line."""
    stack, _, count = line.rpartition(" ")
    frames = stack.split(";")
    thread = "?"
    if frames and (match := _THREAD.match(frames[0])):
        thread = match.group("name") or "?"
        frames = frames[1:]
    return thread, frames, int(count)


def _function(frame: str) -> str:
    """`function (file.py)`: a frame without its line number and with the file's name only."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match.group('function')} ({Path(match.group('file')).name})"


def summarize(raw: str, top: int = 15) -> Dict[str, Any]:
    """Per thread (named; numbered worker threads grouped), busiest first: its samples, the share of them
    spent waiting (`IDLE_LEAVES`), and the functions with the largest inclusive and own shares of its
    busy samples."""
    per_thread: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    own: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    samples: collections.Counter = collections.Counter()
    idle: collections.Counter = collections.Counter()
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            thread, frames, count = _split(line)
        except ValueError:
            continue
        group = re.sub(r"[_-]?\d+$", "", thread).strip() or thread
        samples[group] += count
        functions = [_function(f) for f in frames if f]
        if not functions or functions[-1].split(" (")[0] in IDLE_LEAVES:
            idle[group] += count
            continue
        for function in set(functions):
            per_thread[group][function] += count
        own[group][functions[-1]] += count
    total = sum(samples.values())
    threads = []
    for group in sorted(samples, key=lambda g: samples[g] - idle[g], reverse=True):
        busy = samples[group] - idle[group]
        threads.append(
            {
                "thread": group,
                "samples": samples[group],
                "share": samples[group] / total if total else 0.0,
                "idle": idle[group] / samples[group] if samples[group] else 0.0,
                "busy_samples": busy,
                "inclusive": [(f, n / busy) for f, n in per_thread[group].most_common(top)] if busy else [],
                "own": [(f, n / busy) for f, n in own[group].most_common(top)] if busy else [],
            }
        )
    return {"samples": total, "threads": threads}
