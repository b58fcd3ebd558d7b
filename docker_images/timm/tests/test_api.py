"""The image's HTTP contract, in-process (Starlette's TestClient), on a model from an offline Hub cache."""

from __future__ import annotations

import base64
import contextlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from starlette.testclient import TestClient
from timm_testing import IMAGENET_ID, LABELED_ID, LABELS, encode, environment, make_pipeline, picture

from api_inference_community import create_app
from api_inference_community.runtime.settings import Settings
from app.main import ALLOWED_TASKS
from app.pipelines import ImageClassificationPipeline

WAIT = {"x-wait-for-model": "true"}


@contextlib.contextmanager
def serving(models, model_id=LABELED_ID, allowed_tasks=ALLOWED_TASKS, **overrides):
    settings = Settings(
        model_id=model_id,
        task="image-classification",
        hf_home=str(models.hf_home),
        hf_hub_offline=True,
        **overrides,
    )
    with environment(BACKEND=None, HF_HOME=str(models.hf_home), HF_HUB_OFFLINE="1"):
        with TestClient(create_app(allowed_tasks, settings)) as client:
            assert client.post("/", content=encode(picture(), "PNG"), headers=WAIT).status_code == 200
            yield client


@pytest.fixture(scope="module")
def client(models):
    with serving(models) as client:
        yield client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def assert_classification(body, count):
    assert isinstance(body, list) and len(body) == count
    assert all(set(item) == {"label", "score"} for item in body)
    assert all(isinstance(item["label"], str) and isinstance(item["score"], float) for item in body)
    scores = [item["score"] for item in body]
    assert scores == sorted(scores, reverse=True)


def test_ready_and_info(client):
    assert client.get("/ready").json()["status"] == "ready"
    info = client.get("/info").json()
    assert info["task"] == "image-classification" and info["batching"] is True and info["backend"] == "torch"


def test_every_format_and_mode(client, images, labeled_pipeline):
    for name, data in images.items():
        response = client.post("/", content=data)
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        assert_classification(body, 4)
        assert sorted(item["label"] for item in body) == sorted(LABELS), name
        assert response.headers["x-compute-images"] == "1"
        expected = labeled_pipeline(Image.open(io.BytesIO(data)))
        assert [x["label"] for x in body] == [x["label"] for x in expected], name
        assert [x["score"] for x in body] == pytest.approx([x["score"] for x in expected], abs=1e-5), name


def test_gif_uses_its_first_frame(client, images, labeled_pipeline):
    gif = Image.open(io.BytesIO(images["gif-animated"]))
    first = labeled_pipeline(gif.convert("RGB"))
    body = client.post("/", content=images["gif-animated"]).json()
    assert [x["score"] for x in body] == pytest.approx([x["score"] for x in first], abs=1e-5)


def test_base64_json_with_parameters(client, images):
    for payload in (
        {"inputs": b64(images["jpeg-rgb"]), "parameters": {"top_k": 2}},
        {"inputs": "data:image/png;base64," + b64(images["png-rgb"]), "parameters": {"top_k": 2}},
        {"image": b64(images["png-rgb"]), "parameters": {"top_k": 2}},
    ):
        response = client.post("/", json=payload)
        assert response.status_code == 200, response.text
        assert_classification(response.json(), 2)
    raw = client.post("/", json={"inputs": b64(images["png-rgb"])}).json()
    assert raw == client.post("/", content=images["png-rgb"]).json()
    assert_classification(raw, 4)
    for function in ("softmax", "sigmoid", "none"):
        body = client.post(
            "/", json={"inputs": b64(images["png-rgb"]), "parameters": {"function_to_apply": function, "top_k": 10}}
        ).json()
        assert_classification(body, 4)  # capped at the number of classes
    total = sum(x["score"] for x in client.post("/", json={"inputs": b64(images["png-rgb"])}).json())
    assert total == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    "body, json_body, message",
    [
        (b"this is not an image", None, "cannot identify image"),
        (b"", None, "Empty request body"),
        ("truncated", None, "Invalid image"),
        (None, {"inputs": "!!not base64!!"}, "base64"),
        (None, {"inputs": 12}, "base64"),
        (None, {"inputs": "png", "parameters": {"top_k": "2"}}, "top_k"),
        (None, {"inputs": "png", "parameters": {"top_k": 0}}, "top_k"),
        (None, {"inputs": "png", "parameters": {"top_k": 1.5}}, "top_k"),
        (None, {"inputs": "png", "parameters": {"top_k": -3}}, "top_k"),
        (None, {"inputs": "png", "parameters": {"function_to_apply": "relu"}}, "function_to_apply"),
        (None, {"inputs": "png", "parameters": {"colour": "red"}}, "colour"),
        (None, {"inputs": "png", "parameters": [1]}, "parameters"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(client, images, body, json_body, message):
    if body == "truncated":
        body = images["png-rgb"][: len(images["png-rgb"]) // 2]
    if json_body is not None and json_body.get("inputs") == "png":
        json_body = {**json_body, "inputs": b64(images["png-rgb"])}
    response = client.post("/", content=body) if json_body is None else client.post("/", json=json_body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert message in (error if isinstance(error, str) else " ".join(error))
    assert "Traceback" not in response.text
    # the server stays up and serves the next request
    assert client.get("/").json() == {"ok": "ok"}
    assert client.post("/", content=images["png-rgb"]).status_code == 200


def test_truncated_jpeg_and_zero_size_image(client, images):
    truncated = images["jpeg-rgb"][: len(images["jpeg-rgb"]) // 3]
    response = client.post("/", content=truncated)
    assert response.status_code == 400 and "Invalid image" in response.json()["error"]
    zero = b"P6\n0 0\n255\n"  # a header that declares a 0x0 image
    response = client.post("/", content=zero)
    assert response.status_code == 400 and "Invalid image" in response.json()["error"]


def test_image_beyond_the_pixel_limit(models):
    with serving(models, max_image_pixels=120 * 90) as client:
        big = encode(picture(size=(121, 90)), "PNG")
        response = client.post("/", content=big)
        assert response.status_code == 400
        assert "too large" in response.json()["error"] and "10800" in response.json()["error"]
        response = client.post("/", json={"inputs": b64(big)})
        assert response.status_code == 400 and "too large" in response.json()["error"]
        assert client.post("/", content=encode(picture(size=(120, 90)), "PNG")).status_code == 200


def test_imagenet_model_from_the_hub_cache(models, images):
    with serving(models, model_id=IMAGENET_ID) as client:
        body = client.post("/", content=images["jpeg-rgb"]).json()
        assert_classification(body, 5)
        expected = make_pipeline(models.imagenet)(Image.open(io.BytesIO(images["jpeg-rgb"])))
        assert [x["label"] for x in body] == [x["label"] for x in expected]
        assert len(client.post("/", json={"inputs": b64(images["jpeg-rgb"]), "parameters": {"top_k": 20}}).json()) == 20


def test_requests_are_batched_through_the_engine(models, labeled_pipeline):
    seen = []
    lock = threading.Lock()

    class Recording(ImageClassificationPipeline):
        def batch(self, inputs, **parameters):
            with lock:
                seen.append(len(inputs))
            return super().batch(inputs, **parameters)

    pictures = [encode(picture(size=(100 + 9 * i, 80), seed=i), "PNG") for i in range(8)]
    expected = [labeled_pipeline(Image.open(io.BytesIO(p)), top_k=3) for p in pictures]
    tasks = {"image-classification": Recording}
    with serving(models, allowed_tasks=tasks, max_batch_wait_ms=300, max_batch_size=16) as client:
        seen.clear()

        def ask(data):
            return client.post("/", json={"inputs": b64(data), "parameters": {"top_k": 3}})

        with ThreadPoolExecutor(len(pictures)) as pool:
            responses = list(pool.map(ask, pictures))
    assert [r.status_code for r in responses] == [200] * len(pictures)
    assert max(seen) > 1 and sum(seen) == len(pictures)
    for response, reference in zip(responses, expected):
        assert [x["label"] for x in response.json()] == [x["label"] for x in reference]
        assert [x["score"] for x in response.json()] == pytest.approx([x["score"] for x in reference], abs=1e-5)


def test_a_model_that_cannot_load_is_reported(models, tmp_path):
    settings = Settings(model_id=str(tmp_path), task="image-classification", hf_hub_offline=True)
    with environment(BACKEND=None, HF_HUB_OFFLINE="1"):
        with TestClient(create_app(ALLOWED_TASKS, settings)) as client:
            response = client.post("/", content=encode(picture(), "PNG"), headers=WAIT)
            assert response.status_code == 500 and "config.json" in response.json()["error"]
            ready = client.get("/ready")
            assert ready.status_code == 503 and "not a timm model folder" in ready.json()["error"]
    settings = Settings(model_id=str(models.labeled), task="image-classification", backend="tensorflow")
    with environment(BACKEND="tensorflow"):
        with TestClient(create_app(ALLOWED_TASKS, settings)) as client:
            response = client.post("/", content=encode(picture(), "PNG"), headers=WAIT)
            assert response.status_code == 500 and "BACKEND `tensorflow`" in response.json()["error"]
