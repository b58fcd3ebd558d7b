"""How many CPUs and how much memory this process may really use (affinity and cgroup aware)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional


def _cgroup_v2_quota(root: Path) -> Optional[float]:
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota == "max":
            return None
        quota_us, period_us = int(quota), int(period)
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def _cgroup_v1_quota(root: Path) -> Optional[float]:
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs usable by this process: the smaller of its affinity mask and its cgroup quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    root = Path(cgroup_root)
    quota = _cgroup_v2_quota(root) or _cgroup_v1_quota(root)
    if quota:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def available_memory(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """Bytes of memory this process may use: the cgroup limit when there is one, else the machine's."""
    root = Path(cgroup_root)
    limits = []
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:  # cgroup v1 writes a huge number for "no limit"
            limits.append(int(text))
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 8 << 30
    return min([physical, *limits])


def configure_torch_threads(count: int) -> None:
    """Size PyTorch's intra-op pool, if the pipeline's library uses PyTorch."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != count:
        torch.set_num_threads(count)
