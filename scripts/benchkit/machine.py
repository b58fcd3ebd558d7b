"""Process and machine measurements from /proc: CPU seconds, RSS and its peak, a quiet machine."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

from .forked import Forked

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int, tid: Optional[int] = None) -> float:
    """User + system CPU time of a process (or one of its threads), from /proc."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        with open(path) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def _status_mb(pid: int, key: str) -> Optional[float]:
    """A `kB` line of /proc/PID/status (VmRSS, VmHWM...) in MB."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def rss_mb(pid: int) -> Optional[float]:
    """The resident set size of a process, in MB."""
    return _status_mb(pid, "VmRSS")


def own_cpu_seconds() -> float:
    """CPU seconds used by this process (the load generator)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent busy (from /proc/stat), summed over cores."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def wait_for_quiet(threshold: float, max_wait: float, sample: float = 3.0) -> float:
    """Wait (at most `max_wait` s) until the machine's busy CPU is below `threshold` cores; return it."""
    deadline = time.monotonic() + max_wait
    while True:
        before = system_busy_seconds()
        time.sleep(sample)
        busy = (system_busy_seconds() - before) / sample
        if busy < threshold or time.monotonic() >= deadline:
            if busy >= threshold:
                print(f"warning: the machine is still busy ({busy:.2f} cores in use)", file=sys.stderr, flush=True)
            return busy
        print(f"  waiting for the machine to be quiet ({busy:.2f} cores in use)", file=sys.stderr, flush=True)


def machine_info() -> Dict[str, Any]:
    """CPUs, CPU model, Python, platform and memory of this machine."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from api_inference_community.runtime.threads import available_cpus

    return {
        "cpus": available_cpus(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def _sample_peak(stop: Any, pid: int, interval: float) -> float:
    peak = 0.0
    while not stop.wait(interval):
        value = rss_mb(pid)
        if value is None:
            break
        peak = max(peak, value)
    return peak


class PeakRss:
    """The peak RSS of a process over a span: the kernel's high-water mark (VmHWM, reset at the start
    through /proc/PID/clear_refs where allowed) and, as a floor, VmRSS sampled every `interval` s by a
    forked process (fork it before the parent starts an asyncio loop)."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.start_mb = rss_mb(pid)
        self.exact = _reset_peak(pid)
        self._sampler = Forked(_sample_peak, pid, interval)

    def stop(self) -> Dict[str, Any]:
        """{"start_mb", "peak_mb", "growth_mb", "end_mb", "exact"}: RSS before, at its peak, the growth, after."""
        peak = max(self._sampler.stop(default=0.0), self.start_mb or 0.0)
        if self.exact:
            peak = max(peak, _status_mb(self.pid, "VmHWM") or 0.0)
        start = self.start_mb
        return {
            "start_mb": start,
            "peak_mb": peak or None,
            "growth_mb": peak - start if start is not None and peak else None,
            "end_mb": rss_mb(self.pid),
            "exact": self.exact,
        }


def _reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0, same user or root)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True
