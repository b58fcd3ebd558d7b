"""Hostile images and mislabelled bodies against a live timm server (image-classification).

The server keeps the default pixel limit (89,478,485), so 9400x9400 images are legal: what must
hold is the memory they cost and that /health keeps answering while they are decoded.
"""

from __future__ import annotations

import base64
import concurrent.futures
import os
from dataclasses import dataclass
from typing import Any, Dict, List

import orjson
import pytest
from hostile_payloads import GREY, RGB, png
from hostile_probes import (
    HEALTH_UNDER_ATTACK_S,
    Answer,
    HealthSampler,
    PeakMemory,
    Target,
    assert_json_error,
    observe,
    send,
)
from hostile_servers import QUEUE_MEMORY_BUDGET

MIB = 1024 * 1024
SIDE = 9400  # 88.36 megapixels, just under the default limit
DEEP_IMAGE_BOUND_MIB = 512  # one 16-bit image, decoded or refused
BURST = 8
BURST_BOUND_MIB = QUEUE_MEMORY_BUDGET / MIB + 256  # eight maximal images at once: the budget, plus the model's work


def image_request(data: bytes, content_type: str = "image/png") -> Dict[str, Any]:
    return {"data": data, "headers": {"content-type": content_type}, "timeout": 120}


# ---------------------------------------------------------------- one 16-bit image


# Guards against a defect that was: the image guard counts pixels, not bytes: a 16-bit 9400x9400 PNG is
# decoded, then widened to float64 by to_rgb.
def test_deep_16_bit_image(timm_target: Target) -> None:
    """A 9400x9400 16-bit greyscale PNG (a few hundred kB): classified or refused, within the memory bound."""
    observed = observe(timm_target, **image_request(png(SIDE, SIDE, bit_depth=16, colour=GREY)))
    if observed.answer.status != 200:
        observed.assert_error((400, 413, 503), memory_bound=DEEP_IMAGE_BOUND_MIB)
    assert observed.memory_mib <= DEEP_IMAGE_BOUND_MIB, observed.describe()
    timm_target.assert_still_serving()


# ---------------------------------------------------------------- a burst of maximal images


@dataclass
class Burst:
    answers: List[Answer]
    memory_mib: float
    health: HealthSampler


@pytest.fixture(scope="module")
def burst(timm_target: Target) -> Burst:
    """Eight 9400x9400 RGB PNGs sent at once, /health sampled every 20 ms meanwhile."""
    data = png(SIDE, SIDE, bit_depth=8, colour=RGB)
    with PeakMemory(timm_target.pid) as peak, HealthSampler(timm_target.url) as health:
        with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
            answers = list(pool.map(lambda _: send("POST", timm_target.url, **image_request(data)), range(BURST)))
    return Burst(answers, peak.growth_mib, health)


def test_burst_answers(burst: Burst, timm_target: Target) -> None:
    """Each image is classified, or refused for now (503 with Retry-After); the server then serves as before."""
    for answer in burst.answers:
        if answer.status == 200:
            assert len(orjson.loads(answer.body)) >= 1
        else:
            assert_json_error(answer, (503,))
            assert "retry-after" in answer.headers, answer.describe()
    assert any(answer.status == 200 for answer in burst.answers)
    timm_target.assert_still_serving()


# Guards against a defect that was: up to 40 decodes run at once and decoded inputs wait in the queue
# uncounted; the decoding holds the event loop.
def test_burst_leaves_health_answering(burst: Burst) -> None:
    assert burst.health.worst <= HEALTH_UNDER_ATTACK_S and not burst.health.failures, burst.health.summary()


# Guards against a defect that was: up to 40 decodes run at once and decoded inputs wait in the queue
# uncounted; the decoding holds the event loop.
def test_burst_memory(burst: Burst) -> None:
    assert burst.memory_mib <= BURST_BOUND_MIB, f"peak RSS +{burst.memory_mib:.0f} MiB"


# ---------------------------------------------------------------- refused images and mislabelled bodies


def test_image_over_the_pixel_limit(timm_target: Target) -> None:
    """100 megapixels: refused from the header, before decoding."""
    observe(timm_target, **image_request(png(10_000, 10_000, colour=GREY))).assert_error((400, 413))
    timm_target.assert_still_serving()


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b'{"inputs": "a sentence, not an image"}', "application/json"),
        (b'{"text": "no inputs"}', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"a sentence, not an image", "text/plain"),
        (b'{"inputs": "!!!! not base64 ????"}', "application/json"),
        (orjson.dumps({"inputs": base64.b64encode(os.urandom(2 * 1024 * 1024)).decode()}), "application/json"),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(4096), "image/png"),
    ],
    ids=[
        "json-text",
        "json-without-inputs",
        "json-array",
        "plain-text",
        "base64-garbage",
        "base64-random-2MB",
        "png-garbage",
    ],
)
def test_not_an_image(timm_target: Target, body: bytes, content_type: str) -> None:
    observe(timm_target, **image_request(body, content_type)).assert_error((400, 413, 415))
    timm_target.assert_still_serving()


def test_truncated_image(timm_target: Target) -> None:
    data = png(640, 480)
    observe(timm_target, **image_request(data[: len(data) // 2])).assert_error((400,))
    timm_target.assert_still_serving()
