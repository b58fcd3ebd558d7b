"""scripts/benchmark_gateway.py end to end, in seconds: a real gateway process whose `process` backend
runs replicas of a library of the core's fake pipelines (a checkout of one image, written here), cold
start, overhead against direct access, the profile, and affinity against random routing, so that
the gateway benchmark cannot rot."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from fakes import write_model

TESTS = Path(__file__).resolve().parent
SCRIPTS = TESTS.parent / "scripts"
BENCHMARK = SCRIPTS / "benchmark_gateway.py"
sys.path.insert(0, str(SCRIPTS))

from benchkit.gateway import histogram_sum_count, stop_leftovers  # noqa: E402
from benchkit.profiling import summarize  # noqa: E402

FAKE_IMAGE = """
from typing import Dict, Type

from fakes import Sized

from api_inference_community import Pipeline, create_app

ALLOWED_TASKS: Dict[str, Type[Pipeline]] = {"feature-extraction": Sized}
app = create_app(ALLOWED_TASKS)
"""

# The gateway over the checkout written here (its process backend runs that checkout's images).
LAUNCHER = """
import sys
from pathlib import Path

import uvicorn

from api_inference_community.gateway.app import create_gateway_app
from api_inference_community.gateway.backends.process import ProcessBackend
from api_inference_community.gateway.routing import library_table
from api_inference_community.gateway.settings import GatewaySettings
from api_inference_community.runtime.server import serve

root = Path(sys.argv[1])
settings = GatewaySettings.from_env()
app = create_gateway_app(settings, ProcessBackend(settings, root=root), library_table(settings, root))
serve(uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="on", log_level="warning"))
"""


def checkout(root: Path) -> Path:
    """A checkout holding one image, `fake`, serving the fake Sized pipelines."""
    app = root / "docker_images" / "fake" / "app"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "main.py").write_text(FAKE_IMAGE)
    launcher = root / "gateway_launcher.py"
    launcher.write_text(LAUNCHER)
    return launcher


def test_every_phase_against_a_gateway_of_fake_replicas(tmp_path):
    launcher = checkout(tmp_path / "checkout")
    models = tmp_path / "models"
    write_model(models, "org/text", library="fake", megabytes=1)
    for index in range(4):
        write_model(models, f"bench/m{index:02d}", library="fake", megabytes=4)
    results_path = tmp_path / "results.json"
    python_path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    command = shlex.join([sys.executable, str(launcher), str(tmp_path / "checkout")])
    process = subprocess.run(
        [
            sys.executable,
            str(BENCHMARK),
            *("--phases", "cold,overhead,affinity", "--models-dir", str(models), "--no-generate"),
            *("--libraries", "fake", "--gateway-command", command, "--root", str(tmp_path / "checkout")),
            *("--env", f"PYTHONPATH={python_path}"),
            *("--cold-models", "org/text", "--overhead-model", "org/text", "--clients", "2", "--rounds", "1"),
            *("--duration", "0.3", "--duration-high", "0.3", "--warmup", "0.1", "--profile"),
            *("--affinity-library", "fake", "--affinity-models", "4", "--affinity-budget", "10000000"),
            *("--affinity-requests", "20", "--json", str(results_path), "--markdown"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": python_path},
    )
    assert process.returncode == 0, process.stderr[-4000:]
    results, report = json.loads(results_path.read_text()), process.stdout

    (cold,) = results["cold"]
    assert cold["model"] == "org/text" and cold["library"] == "fake" and cold["status"] == 200
    assert cold["seconds"] > 0 and cold["pool_ready_seconds"] > 0
    over = results["overhead"]
    for level, clients in (("low", 1), ("high", 2)):
        for name in ("gateway", "direct"):
            (window,) = over[level][name]
            assert window["concurrency"] == clients and window["requests"] > 0 and window["errors"] == 0
    profile = over["profile"]
    assert profile.get("skipped") or profile["samples"] > 0
    affinity = results["affinity"]
    assert set(affinity["runs"]) == {"affinity", "random"} and affinity["budget_bytes"] == 10_000_000
    for run in affinity["runs"].values():
        assert run["statuses"] == {"200": 20} and run["hits"] + run["misses"] == 20 and len(run["replicas"]) == 2
    names = [t["name"] for t in results["evaluation"]["targets"]]
    assert names[0].startswith("p50 added by the gateway at 1 client") and names[1].startswith("items/s at 2 clients")
    assert names[2] == "pool hit ratio with affinity > with random routing"
    for heading in ("Cold start:", "Overhead:", "Affinity:", "Targets:"):
        assert heading in report


def test_profiles_are_summarized_per_thread():
    raw = (
        "thread (0x1a): MainThread;run (asyncio/runners.py:118);select (selectors.py:468) 30\n"
        "thread (0x1a): MainThread;run (asyncio/runners.py:118);forward (proxy.py:150) 10\n"
        "thread (0x2b): AnyIO worker thread;_bootstrap (threading.py:1002) 5\n"
    )
    summary = summarize(raw)
    main, worker = summary["threads"]
    assert summary["samples"] == 45 and main["thread"] == "MainThread" and main["samples"] == 40
    assert main["idle"] == 0.75 and main["busy_samples"] == 10  # waiting in select: idle
    assert dict(main["inclusive"]) == {"run (runners.py)": 1.0, "forward (proxy.py)": 1.0}
    assert dict(main["own"]) == {"forward (proxy.py)": 1.0}
    assert worker["thread"] == "AnyIO worker thread" and worker["busy_samples"] == 5


def test_histograms_are_read_by_label_and_leftovers_only_stop_servers():
    text = (
        'aic_gateway_cold_start_seconds_sum{library="timm"} 4.0\n'
        'aic_gateway_cold_start_seconds_count{library="timm"} 2.0\n'
        'aic_gateway_cold_start_seconds_sum{library="other"} 9.0\n'
    )
    assert histogram_sum_count(text, "aic_gateway_cold_start_seconds", 'library="timm"') == {"sum": 4.0, "count": 2.0}
    assert stop_leftovers({os.getpid()}) == []  # this process is no server: never signalled
