"""scripts/benchmark.py end to end against live servers of the core's fake pipelines on 127.0.0.1:
the closed loop, the probe, the soak, hostile traffic, an image burst and the raw ceiling, in a few
seconds, so that the benchmark package (scripts/benchkit) cannot rot."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Tuple

from PIL import Image

TESTS = Path(__file__).resolve().parent
BENCHMARK = TESTS.parent / "scripts" / "benchmark.py"
QUICK = [
    "--warmup",
    "0.1",
    "--duration",
    "0.4",
    "--raw-seconds",
    "0.1",
    "--raw-warmup",
    "0.02",
    "--raw-min-iterations",
    "2",
]

IMAGE_APP = """
from fakes import ImageLabels

from api_inference_community import create_app

ALLOWED_TASKS = {"image-classification": ImageLabels}
app = create_app(ALLOWED_TASKS)
"""


def benchmark(tmp_path: Path, *args: str) -> Tuple[Dict[str, Any], str]:
    """Run the command; its JSON results and its printed report."""
    results = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.run(
        [sys.executable, str(BENCHMARK), *QUICK, *args, "--json", str(results)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert process.returncode == 0, process.stderr[-4000:]
    return json.loads(results.read_text()), process.stdout


def test_every_mode_against_an_image_server(tmp_path):
    (tmp_path / "image_app.py").write_text(IMAGE_APP)
    png = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(png, "PNG")
    payload = json.dumps({"inputs": base64.b64encode(png.getvalue()).decode()})
    results, report = benchmark(
        tmp_path,
        *("--image", str(tmp_path), "--app", "image_app:app", "--model", str(tmp_path)),
        *("--task", "image-classification", "--payload", payload, "--env", "MAX_IMAGE_PIXELS=40000"),
        *("--concurrency", "1,2", "--soak", "2", "--window", "0.3", "--soak-concurrency", "2"),
        *("--hostile", "--hostile-clients", "2", "--hostile-lanes", "11"),
        *("--burst", "3", "--rss-budget-mb", "100000", "--raw-batches", "1,2", "--markdown"),
    )
    levels = results["levels"]
    assert [level["concurrency"] for level in levels] == [1, 2]
    for window in levels + results["soak"]:
        assert window["requests"] > 0 and window["errors"] == 0 and window["probe_count"] > 0
        assert window["server_cpu"] > 0 and window["mean_batch"] == 1
    assert [b["batch"] for b in results["raw"]["batches"]] == [1, 2]
    assert results["raw"]["pipeline"] == "fakes.ImageLabels" and results["raw"]["batches"][1]["items"] == 2

    hostile = results["hostile"]
    assert hostile["without"]["requests"] > 0 and hostile["with"]["seconds"] > 0  # the fake may starve under it
    kinds = {row["kind"]: row for row in hostile["kinds"]}
    assert len(kinds) == 12 and kinds["all"]["sent"] > 0  # eleven kinds (one lane each), then the total
    assert {"PNG 16-bit 9400^2", "PNG RGB max", "slow sender", "abandoned 50 ms"} <= set(kinds)
    assert kinds["abandoned 50 ms"]["sent"] % 8 == 0  # eight clients at a time
    assert hostile["memory"]["peak_mb"] >= hostile["memory"]["start_mb"] > 0
    assert hostile["server_answers"] is True

    burst = results["burst"]
    assert burst["image"] == "RGB PNG 200x200" and burst["answers"]["outcomes"] == {"200": 3}
    assert burst["memory"]["peak_mb"] > 0 and burst["server_answers"] is True

    for heading in (
        "Server, closed loop",
        "Soak: 2 x 0.3 s",
        "Hostile requests:",
        "Burst of maximal",
        "Raw in-process",
    ):
        assert heading in report
    assert "| clients | image | answers |" in report
    met = {t["name"]: t["met"] for t in results["evaluation"]["targets"]}
    assert "/health p99 < 10 ms (clients 2)" in met
    assert "items/s under hostile traffic >= 0.9 x without (2 clients)" in met
    assert met["peak RSS under a burst of 3 maximal legal images <= 100000 MB"] is True
