"""Tests for api_inference_community.threads: CPUs usable under affinity and cgroup quotas."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Optional

import pytest

from api_inference_community.runtime import threads
from api_inference_community.runtime.threads import available_cpus, configure_torch_threads


@pytest.fixture
def affinity(monkeypatch):
    """Pretend the process may run on `n` CPUs."""

    def set_affinity(n: int) -> None:
        monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)

    set_affinity(8)
    return set_affinity


def v2_tree(root: Path, cpu_max: str) -> str:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cpu.max").write_text(cpu_max + "\n")
    return str(root)


def v1_tree(root: Path, quota: Optional[str], period: Optional[str]) -> str:
    cpu = root / "cpu"
    cpu.mkdir(parents=True, exist_ok=True)
    if quota is not None:
        (cpu / "cpu.cfs_quota_us").write_text(quota + "\n")
    if period is not None:
        (cpu / "cpu.cfs_period_us").write_text(period + "\n")
    return str(root)


@pytest.mark.parametrize(
    "cpu_max, cpus, expected",
    [
        ("150000 100000", 8, 2),  # 1.5 CPUs rounds up
        ("100000 100000", 8, 1),
        ("200000 100000", 8, 2),
        ("50000 100000", 8, 1),  # half a CPU is still one
        ("1000 100000", 8, 1),
        ("400000 100000", 8, 4),
        ("1600000 100000", 8, 8),  # quota above affinity: affinity caps
        ("150000 100000", 1, 1),
        ("max 100000", 8, 8),  # no quota
        ("max 100000", 3, 3),
        ("max", 8, 8),  # malformed: ignored
        ("", 8, 8),
        ("abc 100000", 8, 8),
        ("150000 abc", 8, 8),
        ("150000 0", 8, 8),  # a zero period is no quota, not a crash
        ("0 100000", 8, 8),
        ("-1 100000", 8, 8),
    ],
)
def test_cgroup_v2(tmp_path, affinity, cpu_max, cpus, expected):
    affinity(cpus)
    assert available_cpus(v2_tree(tmp_path / "cgroup", cpu_max)) == expected


@pytest.mark.parametrize(
    "quota, period, cpus, expected",
    [
        ("150000", "100000", 8, 2),
        ("300000", "100000", 8, 3),
        ("50000", "100000", 8, 1),
        ("800000", "100000", 4, 4),
        ("-1", "100000", 8, 8),  # unlimited
        ("0", "100000", 8, 8),
        ("150000", "0", 8, 8),
        ("abc", "100000", 8, 8),
        ("150000", None, 8, 8),  # missing period file
        (None, "100000", 8, 8),
    ],
)
def test_cgroup_v1(tmp_path, affinity, quota, period, cpus, expected):
    affinity(cpus)
    assert available_cpus(v1_tree(tmp_path / "cgroup", quota, period)) == expected


def test_v2_takes_precedence_over_v1(tmp_path, affinity):
    root = tmp_path / "cgroup"
    v2_tree(root, "200000 100000")
    v1_tree(root, "500000", "100000")
    assert available_cpus(str(root)) == 2


def test_v1_used_when_v2_has_no_quota(tmp_path, affinity):
    root = tmp_path / "cgroup"
    v2_tree(root, "max 100000")
    v1_tree(root, "300000", "100000")
    assert available_cpus(str(root)) == 3


def test_no_cgroup_files(tmp_path, affinity):
    assert available_cpus(str(tmp_path / "empty")) == 8
    assert available_cpus(str(tmp_path / "does" / "not" / "exist")) == 8


def test_default_root_is_sys_fs_cgroup(monkeypatch):
    seen = []
    monkeypatch.setattr(threads, "_cgroup_v2_quota", lambda root: seen.append(root) or None)
    monkeypatch.setattr(threads, "_cgroup_v1_quota", lambda root: None)
    available_cpus()
    assert seen == [Path("/sys/fs/cgroup")]


@pytest.mark.parametrize("cpu_max", ["150000 100000", "max 100000", "1 100000"])
@pytest.mark.parametrize("cpus", [1, 2, 16])
def test_never_below_one(tmp_path, affinity, cpu_max, cpus):
    affinity(cpus)
    result = available_cpus(v2_tree(tmp_path / "cgroup", cpu_max))
    assert 1 <= result <= cpus


def test_empty_affinity_is_still_one(tmp_path, affinity):
    affinity(0)
    assert available_cpus(str(tmp_path)) == 1


@pytest.mark.parametrize("count, expected", [(6, 6), (None, 1)])
def test_without_sched_getaffinity(tmp_path, monkeypatch, count, expected):
    monkeypatch.delattr(threads.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: count)
    assert available_cpus(str(tmp_path)) == expected
    assert available_cpus(v2_tree(tmp_path / "cg", "200000 100000")) == min(expected, 2)


def test_real_machine():
    cpus = available_cpus()
    assert isinstance(cpus, int)
    assert 1 <= cpus <= (os.cpu_count() or 1)


# --------------------------------------------------------------------------
# configure_torch_threads
# --------------------------------------------------------------------------


class FakeTorch(types.ModuleType):
    def __init__(self, threads: int) -> None:
        super().__init__("torch")
        self.threads = threads
        self.calls = []

    def get_num_threads(self) -> int:
        return self.threads

    def set_num_threads(self, count: int) -> None:
        self.calls.append(count)
        self.threads = count


def test_configure_torch_threads_sets_count(monkeypatch):
    torch = FakeTorch(16)
    monkeypatch.setitem(sys.modules, "torch", torch)
    configure_torch_threads(3)
    assert torch.calls == [3]
    configure_torch_threads(3)  # already right: not set again
    assert torch.calls == [3]


def test_configure_torch_threads_without_torch_imported(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    configure_torch_threads(2)  # must not import torch
    assert "torch" not in sys.modules
