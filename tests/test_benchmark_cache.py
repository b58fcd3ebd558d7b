"""scripts/benchmark_cache.py end to end, in seconds: real multi-model and single-model servers of the
core's fake pipelines (models holding a few MB each) on 127.0.0.1, a short Zipf trace with a scan,
the policies replayed, so that the cache benchmark cannot rot. The policy replay is checked on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fakes import write_model

TESTS = Path(__file__).resolve().parent
SCRIPTS = TESTS.parent / "scripts"
BENCHMARK = SCRIPTS / "benchmark_cache.py"
sys.path.insert(0, str(SCRIPTS))

from benchkit.cache_sim import next_uses, replay, replay_all  # noqa: E402
from benchkit.trace import popularity, zipf_trace  # noqa: E402

CACHE_APP = """
from fakes import Sized

from api_inference_community import create_app

ALLOWED_TASKS = {"feature-extraction": Sized}
app = create_app(ALLOWED_TASKS)
"""


def test_the_benchmark_against_live_multi_model_servers(tmp_path):
    (tmp_path / "cache_app.py").write_text(CACHE_APP)
    models = tmp_path / "models"
    for index in range(6):
        write_model(models, f"bench/m{index:02d}", megabytes=2 + 2 * (index % 3))
    results_path = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.run(
        [
            sys.executable,
            str(BENCHMARK),
            *("--image", str(tmp_path), "--app", "cache_app:app", "--library", "fake"),
            *("--task", "feature-extraction", "--body", '{"inputs": "hello"}', "--env", "MIN_RESIDENCY=0"),
            *("--models-dir", str(models), "--no-generate", "--models", "6", "--scan", "2"),
            *("--requests", "30", "--capacity", "2", "--ab-rounds", "1", "--ab-seconds", "0.3", "--warmup", "0.1"),
            *("--json", str(results_path), "--markdown"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert process.returncode == 0, process.stderr[-4000:]
    results, report = json.loads(results_path.read_text()), process.stdout

    assert set(results["sizes"]) == {f"bench/m{i:02d}" for i in range(6)}
    assert all(s["bytes"] > 1_000_000 and s["measured"] for s in results["sizes"].values())
    assert results["budget_bytes"] > 0 and results["trace"]["requests"] == 32 and results["trace"]["scan_models"] == 2
    records = results["records"]
    assert len(records) == 32 and all(r["status"] == 200 for r in records)
    hits = sum(r["hit"] for r in records)
    assert 0 < hits < 32 and hits == results["server_counters"]["hit"]  # the client's view is the server's
    assert results["evaluation"]["live"]["max_resident_bytes"] > 0
    assert results["memory"]["peak_mb"] >= results["memory"]["base_mb"] > 0
    assert set(results["simulated"]) == {"ours", "ours-no-residency", "lru", "lru-2", "belady"}
    windows = results["hit_vs_single"]["windows"]
    assert [len(windows["single"]), len(windows["multi"])] == [1, 1]
    assert all(w["requests"] > 0 and w["errors"] == 0 for w in windows["single"] + windows["multi"])
    names = {t["name"] for t in results["evaluation"]["targets"]}
    assert "live hit ratio >= 0.9 x Belady's" in names and "live hit ratio > plain LRU's" in names
    assert any(name.startswith("a hit adds < 1 ms") for name in names)
    for heading in ("Hit ratio, the live server", "Latency of the trace", "Memory (RSS", "A hit against single-model"):
        assert heading in report


def test_a_trace_puts_its_scan_in_the_middle_and_follows_the_popularity():
    population = [f"p{i}" for i in range(10)]
    trace = zipf_trace(population, 400, 1.1, seed=3, scan=["s0", "s1", "s2"], scan_at=0.5)
    assert len(trace) == 403 and trace[200:203] == ["s0", "s1", "s2"]
    assert zipf_trace(population, 400, 1.1, seed=3, scan=["s0", "s1", "s2"]) == trace  # seeded
    ranked = popularity(trace)
    assert trace.count(ranked[0]) > 400 * 0.2 > trace.count(ranked[-4])


def test_belady_is_the_best_with_equal_sizes_and_the_policies_see_the_same_requests():
    trace = ["a", "b", "c", "a", "d", "a", "b", "e", "a", "c", "b", "a"]
    assert next_uses(["a", "b", "a"]) == [2, float("inf"), float("inf")]
    sizes = {m: 1 for m in "abcde"}
    replays = replay_all(trace, sizes, budget=2)
    assert all(r.hits + r.misses == len(trace) for r in replays.values())
    assert replays["belady"].hits >= max(r.hits for r in replays.values())
    # MIN by hand (cache of 2): a b, c evicts b, a hits, d evicts c, a hits, b evicts d, e evicts b,
    # a hits, c evicts e, b evicts c, a hits: 4 hits; LRU only hits the third a
    assert replays["belady"].hits == 4 and replays["lru"].hits == 1
    assert replays["ours"].hits == 3


def test_the_core_policy_resists_a_scan_that_flushes_lru():
    trace = ["p1", "p2", "p3"] * 5 + [f"once{i}" for i in range(10)] + ["p1", "p2", "p3"] * 3
    sizes = {m: 1 for m in trace}
    ours, lru = replay("ours", trace, sizes, budget=4), replay("lru", trace, sizes, budget=4)
    assert ours.misses == 3 + 10 and lru.misses > ours.misses
    too_big = replay("lru", ["big", "big"], {"big": 5}, budget=4)
    assert too_big.misses == 2 and too_big.refused == 2  # never loaded
