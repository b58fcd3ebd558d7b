"""scripts/autoscale_simulator.py on short traces: the replica model, the policies, the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import autoscale_simulator as sim  # noqa: E402

REPLICA = sim.Replica(sim.DEFAULT_CURVE, 14.0, "test")


def test_the_replica_model_follows_its_curve_and_conserves_requests():
    assert REPLICA.throughput(8) == pytest.approx(217.1)
    assert REPLICA.throughput(100) == pytest.approx(404.1)  # saturated: flat
    assert REPLICA.latency(32) == pytest.approx(32 / 404.1)
    target = REPLICA.target_for(0.1)
    assert REPLICA.latency(target) == pytest.approx(0.05, rel=0.01)  # half the objective
    for total, ready in ((1000.0, 4), (50.0, 1), (5000.0, 2), (10.0, 0)):
        left = sim.settle(REPLICA, total, ready)
        served = total - left
        assert 0 <= left <= total
        assert served == pytest.approx(ready * REPLICA.throughput(left / ready) if ready else 0.0)


def test_the_simulator_compares_the_policies_on_a_short_trace(tmp_path: Path, capsys):
    out = tmp_path / "results.json"
    argv = ["--trace", "bursty", "--trace", "spike", "--hours", "0.4", "--json", str(out), "--markdown"]
    assert sim.main(argv) == 0
    results = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "| ours |" in printed and "Targets:" in printed
    bursty = results["traces"]["bursty"]["policies"]
    assert set(bursty) == set(sim.POLICIES)
    ours, peak, mean = bursty["ours"], bursty["static-peak"], bursty["static-mean"]
    assert ours["replica_hours"] < peak["replica_hours"]  # it follows the load
    assert ours["over_objective_s"] < mean["over_objective_s"]  # and meets it far more than the mean's size
    assert peak["over_objective_s"] == 0 and peak["scale_events"] == 0
    spike = results["traces"]["spike"]["policies"]["ours"]
    assert 0 < spike["over_objective_s"] <= 60  # the cold start from zero, and no more
    assert {t["name"].split(":")[0] for t in results["targets"]} == {"bursty"}
    again = tmp_path / "again.json"
    sim.main([*argv[:-3], "--json", str(again)])
    assert json.loads(again.read_text())["traces"] == results["traces"]  # the same seed, the same run


def test_a_benchmark_json_gives_the_replica(tmp_path: Path):
    measured = tmp_path / "run.json"
    measured.write_text(
        json.dumps({"levels": [{"concurrency": 4, "req_per_s": 120.0}, {"concurrency": 1, "req_per_s": 50.0}]})
    )
    replica = sim.replica_from_benchmark(measured, 9.0)
    assert replica.curve == ((1.0, 50.0), (4.0, 120.0)) and replica.cold_start_s == 9.0
