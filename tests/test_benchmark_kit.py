"""The pieces of scripts/benchkit on their own: hostile bodies, PNGs written directly, one-shot
requests (whole, trickled, short, abandoned) against a small asyncio server, summaries and reports."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from PIL import Image

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

from benchkit import hostile_bodies as hb  # noqa: E402
from benchkit.hostile import summarize_hostile  # noqa: E402
from benchkit.oneshot import Delivery, exchange, request_bytes  # noqa: E402
from benchkit.report import table, target_lines  # noqa: E402
from benchkit.serving_report import evaluate  # noqa: E402
from benchkit.windows import parse_metrics  # noqa: E402

TEXT = hb.ServedTask("text", max_inputs=256, max_image_pixels=40_000)
IMAGE = hb.ServedTask("image", max_inputs=256, max_image_pixels=40_000)


def test_the_package_imports_no_core_at_import_time():
    modules = [p.stem for p in (SCRIPTS / "benchkit").glob("*.py") if p.stem != "__init__"]
    code = (
        f"import sys; sys.path.insert(0, {str(SCRIPTS)!r}); import importlib\n"
        f"for m in {modules!r}: importlib.import_module('benchkit.' + m)\n"
        "print(sorted(m for m in sys.modules if m.startswith('api_inference_community')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "width, height, colour_type, depth, mode",
    [
        (9400, 9400, hb.GREY, 16, "I;16"),
        (200, 200, hb.RGB, 8, "RGB"),
        (7, 130, hb.RGB, 8, "RGB"),
        (3, 1, hb.GREY, 16, "I;16"),
    ],
)
def test_uniform_png_decodes_to_its_declared_size(width, height, colour_type, depth, mode):
    data = hb.uniform_png(width, height, colour_type, depth)
    image = Image.open(io.BytesIO(data))
    image.load()  # the zlib stream and its checksum are valid
    assert (image.mode, image.size) == (mode, (width, height))
    assert len(data) < 300_000


@pytest.fixture(scope="module")
def text_bodies() -> List[hb.HostileBody]:
    return hb.hostile_bodies(TEXT)


@pytest.fixture(scope="module")
def image_bodies() -> List[hb.HostileBody]:
    return hb.hostile_bodies(IMAGE)


def test_the_kinds_follow_the_task(text_bodies, image_bodies):
    text = [b.kind for b in text_bodies]
    image = [b.kind for b in image_bodies]
    assert len(text) == 9 and len(image) == 11 and set(text) < set(image)
    assert "PNG 16-bit 9400^2" not in text and text[-1] == "slow sender"
    with pytest.raises(SystemExit, match="unknown hostile kinds"):
        hb.hostile_bodies(TEXT, ["nope"])


def test_hostile_bodies_are_what_they_claim(text_bodies, image_bodies):
    bodies = {b.kind: b for b in text_bodies}
    numbers = json.loads(bodies["int list 2 MB"].body)["inputs"]
    assert len(bodies["int list 2 MB"].body) >= 2_000_000 and set(numbers) == {1}
    assert len(json.loads(bodies["50k parameters"].body)["parameters"]) == 50_000
    invalid = bodies["invalid JSON ["]
    assert invalid.body.startswith(b"[") and invalid.content_type == "application/json"
    with pytest.raises(ValueError):
        json.loads(invalid.body)
    assert bodies["nested 100k"].body.count(b"[") == 100_000
    assert len(bodies["string 10 MB"].body) >= 10 * 2**20 - 100
    with pytest.raises(ValueError):
        json.loads(bodies["truncated JSON"].body)
    short = bodies["short body"]
    assert short.content_length > len(short.body) and short.delivery.half_close
    abandoned = bodies["abandoned 50 ms"]
    assert abandoned.copies == 8 and abandoned.delivery.give_up_after == 0.05
    assert len(json.loads(abandoned.body)["inputs"]) == TEXT.max_inputs
    assert bodies["slow sender"].delivery.trickle_bytes == 1
    images = {b.kind: b for b in image_bodies}
    assert Image.open(io.BytesIO(images["PNG RGB max"].body)).size == (200, 200)
    assert images["abandoned 50 ms"].content_type == "image/png"


class EchoServer:
    """Answers each request once its Content-Length is in: a JSON 400 of `size` bytes; records arrivals."""

    def __init__(self, size: int = 100) -> None:
        self.size = size
        self.chunks: List[float] = []
        self.eof_seen = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < self._length(data):
            chunk = await reader.read(65536)
            if not chunk:
                self.eof_seen = True
                writer.close()
                return
            self.chunks.append(time.perf_counter())
            data += chunk
        body = json.dumps({"error": "x" * (self.size - 13)}).encode()
        head = f"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    @staticmethod
    def _length(data: bytes) -> int:
        for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                return int(line.split(b":")[1])
        return 0


def exchanges(server: EchoServer, *calls: Dict[str, Any]) -> List[Any]:
    async def main() -> List[Any]:
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        try:
            return [
                await exchange("127.0.0.1", port, request_bytes(port, "POST", "/", **c.pop("request")), **c)
                for c in calls
            ]
        finally:
            listener.close()

    return asyncio.run(main())


def test_exchange_whole_trickled_short_and_abandoned():
    server = EchoServer(size=100)
    whole, trickled = exchanges(
        server,
        {"request": {"body": b'{"inputs": "a"}'}},
        {"request": {"body": b"0123456789"}, "delivery": Delivery(trickle_bytes=20, trickle_interval=0.03)},
    )
    assert (whole.status, whole.body_bytes, whole.content_type, whole.failure) == (400, 100, "application/json", "")
    assert trickled.status == 400 and trickled.seconds >= 0.12 and len(server.chunks) >= 3  # 6 pieces, 30 ms apart
    (short,) = exchanges(
        server, {"request": {"body": b"abc", "content_length": 1000}, "delivery": Delivery(half_close=True)}
    )
    assert (short.status, short.failure) == (0, "closed") and server.eof_seen
    (gave_up,) = exchanges(
        server, {"request": {"body": b"abc", "content_length": 1000}, "delivery": Delivery(give_up_after=0.05)}
    )
    assert gave_up.failure == "gave up" and 0.04 < gave_up.seconds < 1


def test_hostile_summary_counts_answers_and_error_sizes():
    records = [
        ("big", 400, 70, 0.2, "", "application/json"),
        ("big", 413, 30, 0.1, "", "text/plain"),
        ("quit", 0, 0, 0.05, "gave up", ""),
        ("quit", 200, 10, 0.01, "", "application/json"),
    ]
    rows = {r["kind"]: r for r in summarize_hostile(records, ["big", "quit", "none"])}
    assert rows["big"]["outcomes"] == {"400": 1, "413": 1} and rows["big"]["max_error_bytes"] == 70
    assert rows["big"]["non_json_errors"] == 1
    assert rows["quit"]["outcomes"] == {"200": 1, "gave up": 1} and rows["quit"]["ok_2xx"] == 1
    assert rows["none"]["sent"] == 0 and rows["all"]["sent"] == 4


def window(items_per_s: float, probe_p99: float) -> Dict[str, Any]:
    return {"items_per_s": items_per_s, "probe_p99_ms": probe_p99, "probe_failed": 0}


def test_hostile_and_burst_targets():
    results = {
        "hostile": {
            "concurrency": 32,
            "without": window(100.0, 5.0),
            "with": window(85.0, 12.0),
            "memory": {"start_mb": 900.0, "peak_mb": 1500.0, "growth_mb": 600.0},
            "server_answers": True,
        },
        "burst": {
            "clients": 8,
            "memory": {"start_mb": 900.0, "peak_mb": 3000.0, "growth_mb": 2100.0},
            "server_answers": True,
        },
    }
    verdict = evaluate(results, rss_budget_mb=2000)
    met = {t["name"]: t["met"] for t in verdict["targets"]}
    assert met == {
        "items/s under hostile traffic >= 0.9 x without (32 clients)": False,
        "/health p99 < 10 ms (hostile traffic, clients 32)": False,
        "peak RSS under hostile traffic <= 2000 MB": True,
        "server answers after hostile traffic": True,
        "peak RSS under a burst of 8 maximal legal images <= 2000 MB": False,
        "server answers after the burst": True,
    }
    assert verdict["ratios"]["hostile_throughput"] == pytest.approx(0.85)
    assert "peak RSS" not in " ".join(t["name"] for t in evaluate(results)["targets"])  # no budget, no target
    assert target_lines(verdict["targets"])[0] == (
        "- [ ] items/s under hostile traffic >= 0.9 x without (32 clients): 0.85 x (85.0 / 100.0) -> MISSED"
    )


def test_tables():
    assert table(("a", "bb"), [["1", "2"]], markdown=True) == "| a | bb |\n|---:|---:|\n| 1 | 2 |"
    assert table(("a", "bb"), [["10", "2"]], markdown=False) == " a  bb\n--  --\n10   2"


def test_server_metrics_with_and_without_labels():
    plain = "# HELP aic_batch_size x\naic_batch_size_sum 12.0\naic_batch_size_count 3.0\nother_sum 1\n"
    labelled = (
        'aic_batch_size_sum{model="a b"} 10.0\naic_batch_size_sum{model="c"} 2.0\n'
        'aic_batch_size_count{model="a b"} 3.0\naic_queue_time_seconds_bucket{le="0.1",model="c"} 1.0\n'
    )
    assert parse_metrics(plain) == {"aic_batch_size_sum": 12.0, "aic_batch_size_count": 3.0}
    assert parse_metrics(labelled) == {"aic_batch_size_sum": 12.0, "aic_batch_size_count": 3.0}


def test_the_text_classifier_keeps_the_bundled_encoder_and_adds_a_seeded_head(tmp_path):
    import torch
    from benchkit.text_classifier import build_text_classifier
    from transformers import AutoModel, AutoModelForSequenceClassification

    from api_inference_community.hub.cards import read_card_metadata
    from api_inference_community.maintainers.bundled import bundled_model_dir

    folder = build_text_classifier(tmp_path / "classifier")
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert config["id2label"] == {"0": "NEGATIVE", "1": "POSITIVE"}
    assert read_card_metadata(folder).pipeline_tag == "text-classification"
    classifier = AutoModelForSequenceClassification.from_pretrained(str(folder))
    encoder = AutoModel.from_pretrained(str(bundled_model_dir()))
    torch.testing.assert_close(classifier.bert.encoder.state_dict(), encoder.encoder.state_dict())
    again = AutoModelForSequenceClassification.from_pretrained(str(build_text_classifier(tmp_path / "again")))
    torch.testing.assert_close(classifier.classifier.weight, again.classifier.weight)  # the seed decides the head


def test_benchmark_payloads_are_json_bodies_of_their_task():
    import base64

    from benchkit.text_classifier import payload

    assert isinstance(json.loads(payload("text-classification"))["inputs"], str)
    audio = base64.b64decode(json.loads(payload("automatic-speech-recognition"))["inputs"])
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    image = base64.b64decode(json.loads(payload("image-classification"))["inputs"])
    assert Image.open(io.BytesIO(image)).size == (320, 240)


def test_the_backends_report_gives_medians_and_ratios_to_the_first():
    from benchkit.backends import parse_backend, render

    assert parse_backend("onnx=BACKEND=onnx,QUANTIZE=dynamic-int8") == (
        "onnx",
        {"BACKEND": "onnx", "QUANTIZE": "dynamic-int8"},
    )
    assert parse_backend("torch=") == ("torch", {})
    with pytest.raises(SystemExit):
        parse_backend("=BACKEND=onnx")
    window = {"p50_ms": 10.0, "probe_p99_ms": 2.0, "mean_batch": 16.0, "server_cpu": 1.5, "other_cpu": -0.1}
    results = {
        "concurrency": 32,
        "rounds": 2,
        "seconds": 8,
        "windows": {
            "torch": [{**window, "items_per_s": 100.0}, {**window, "items_per_s": 120.0}],
            "onnx": [{**window, "items_per_s": 150.0}, {**window, "items_per_s": 180.0}],
        },
        "ratios": {"onnx": {"per_round": [1.5, 1.5], "median": 1.5}},
    }
    text = render(results)
    assert "| onnx | 165" in text and "1.50" in text
    assert "onnx / torch items/s per round: 1.50, 1.50 (median 1.50)" in text
