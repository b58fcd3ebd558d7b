"""The HTTP contract of an app built by create_app, through Starlette's TestClient."""

import base64
import io
import json

import numpy as np
import pytest
from fakes import Classifier, FailsToLoad, Features, ImageLabels, Painter, Speaker, Transcriber, serving
from PIL import Image

from api_inference_community import media

TASKS = {
    "feature-extraction": Features,
    "text-classification": Classifier,
    "image-classification": ImageLabels,
    "automatic-speech-recognition": Transcriber,
    "text-to-speech": Speaker,
    "text-to-image": Painter,
}


def png_bytes(mode="RGB", size=(4, 3)):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes(seconds=0.5, rate=8000):
    t = np.arange(int(seconds * rate)) / rate
    return media.encode_audio(np.sin(2 * np.pi * 300 * t).astype(np.float32), rate, "wav")


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    with serving(TASKS, "feature-extraction", tmp_path_factory.mktemp("m")) as client:
        yield client


def test_get_any_path_is_ok(features):
    for path in ("/", "/foo/bar", "/models/x"):
        response = features.get(path)
        assert response.status_code == 200
        assert response.json() == {"ok": "ok"}


def test_reserved_paths(features):
    assert features.get("/health").json() == {"status": "alive"}
    ready = features.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    info = features.get("/info").json()
    assert info["task"] == "feature-extraction" and info["batching"] is True
    assert "aic_requests_total" in features.get("/metrics").text


@pytest.mark.parametrize(
    "body, expected",
    [
        (b'{"inputs": "hello"}', [5.0, 0.0]),
        (b'"hello"', [5.0, 0.0]),
        (b"hello", [5.0, 0.0]),
        (b'{"inputs": ["a", "bb"]}', [[1.0, 1.0], [2.0, 0.0]]),
        (b'["a", "bb"]', [[1.0, 1.0], [2.0, 0.0]]),
        (b'{"inputs": 12}', [2.0, 0.0]),
        (b'{"inputs": "aa", "normalize": true}', [2.0, 2.0]),
    ],
)
def test_feature_extraction_shapes(features, body, expected):
    response = features.post("/", content=body)
    assert response.status_code == 200, response.text
    assert response.json() == expected
    assert response.headers["content-type"] == "application/json"


def test_compute_headers(features):
    response = features.post("/", json={"inputs": ["abc", "de"]})
    assert response.headers["x-compute-characters"] == "5"
    assert response.headers["x-compute-type"] == "cpu"
    assert float(response.headers["x-compute-time"]) >= 0
    exposed = response.headers["access-control-expose-headers"]
    assert "x-compute-time" in exposed and "x-compute-characters" in exposed


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b'{"inputs": ""}', "`inputs`"),
        (b'{"inputs": []}', "`inputs`"),
        (b'{"inputs": ["a", 3]}', "`inputs[1]`"),
        (b'{"inputs": "a", "parameters": {"normalize": "yes"}}', "`parameters.normalize`"),
        (b'{"inputs": "a", "parameters": {"colour": 1}}', "`parameters.colour`: unknown parameter"),
        (b'{"inputs": "a", "parameters": 3}', "`parameters` must be a JSON object"),
        (b'{"inputs": "a", "options": {"wait_for_model": "x"}}', "`options.wait_for_model`"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b'{"inputs": null}', "`inputs`"),
        (b'{"inputs": "bad"}', "`bad` is not accepted"),
    ],
)
def test_bad_inputs_are_400_json(features, body, fragment):
    response = features.post("/", content=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert fragment in response.json()["error"]
    assert "Traceback" not in response.text


def test_too_many_inputs(tmp_path):
    with serving(TASKS, "feature-extraction", tmp_path, max_inputs=3) as client:
        assert client.post("/", json={"inputs": ["a"] * 3}).status_code == 200
        response = client.post("/", json={"inputs": ["a"] * 4})
        assert response.status_code == 400 and "too many" in response.json()["error"]


def test_inference_failure_is_500_without_details(features, caplog):
    response = features.post("/", json={"inputs": "crash"})
    assert response.status_code == 500
    assert response.json() == {"error": "Inference failed; the server log has the details"}
    assert "secret" not in response.text
    assert features.post("/", json={"inputs": "fine"}).status_code == 200  # still serving


def test_body_limit(tmp_path):
    with serving(TASKS, "feature-extraction", tmp_path, max_body_bytes=100) as client:
        assert client.post("/", json={"inputs": "a" * 50}).status_code == 200
        response = client.post("/", content=b'{"inputs": "' + b"a" * 200 + b'"}')
        assert response.status_code == 413
        assert "limit" in response.json()["error"]

        def chunks():  # no content-length: the streamed body is counted
            for _ in range(10):
                yield b"a" * 50

        response = client.post("/", content=chunks())
        assert response.status_code == 413


def test_unknown_task_is_400(tmp_path):
    with serving(TASKS, "not-a-task", tmp_path, wait=False) as client:
        response = client.post("/", json={"inputs": "x"})
        assert response.status_code == 400
        assert "not-a-task" in response.json()["error"]
        assert client.get("/ready").status_code == 503
        assert client.get("/").json() == {"ok": "ok"}


def test_task_of_registry_not_served_by_image_is_400(tmp_path):
    with serving({"text-classification": Classifier}, "feature-extraction", tmp_path, wait=False) as client:
        response = client.post("/", json={"inputs": "x"})
        assert response.status_code == 400
        assert "text-classification" in response.json()["error"]


def test_allowed_tasks_must_be_known():
    from api_inference_community import create_app
    from api_inference_community.runtime.settings import Settings

    with pytest.raises(ValueError, match="not-a-task"):
        create_app({"not-a-task": Classifier}, Settings(task="not-a-task"))


def test_pipeline_that_fails_to_load(tmp_path):
    with serving({"feature-extraction": FailsToLoad}, "feature-extraction", tmp_path, wait=False) as client:
        for _ in range(200):
            ready = client.get("/ready")
            if ready.json()["status"] == "failed":
                break
        assert ready.status_code == 503 and "weights file is corrupt" in ready.json()["error"]
        response = client.post("/", json={"inputs": "x"})
        assert response.status_code == 500
        assert "failed to load" in response.json()["error"] and "corrupt" in response.json()["error"]


def test_missing_model_directory_fails_load(tmp_path):
    with serving(TASKS, "feature-extraction", tmp_path / "nope", wait=False) as client:
        response = client.post("/", json={"inputs": "x"}, headers={"x-wait-for-model": "true"})
        assert response.status_code == 500
        assert "does not exist" in response.json()["error"]


def test_classifier_and_client_error_from_pipeline(tmp_path):
    with serving(TASKS, "text-classification", tmp_path) as client:
        response = client.post("/", json={"inputs": "hi", "parameters": {"top_k": 1}})
        assert response.json() == [{"label": "LONG", "score": 0.7}]
        response = client.post("/", json={"inputs": "bad"})
        assert response.status_code == 400 and response.json()["error"] == "`bad` is not a sentence"
        response = client.post("/", json={"inputs": "hi", "parameters": {"top_k": 0}})
        assert response.status_code == 400 and "`parameters.top_k`" in response.json()["error"]


def test_image_task_raw_and_base64(tmp_path):
    with serving(TASKS, "image-classification", tmp_path) as client:
        response = client.post("/", content=png_bytes("RGBA", (5, 7)), headers={"content-type": "image/png"})
        assert response.status_code == 200
        assert response.json() == [{"label": "RGBA:5x7", "score": 1.0}]
        assert response.headers["x-compute-images"] == "1"
        encoded = base64.b64encode(png_bytes("L")).decode()
        response = client.post("/", json={"inputs": encoded, "parameters": {"top_k": 1}})
        assert response.json() == [{"label": "L:4x3", "score": 1.0}]
        for bad in (b"not an image", png_bytes()[:30], b"", b'{"inputs": "%%%"}', b'{"foo": 1}'):
            response = client.post("/", content=bad)
            assert response.status_code == 400, (bad, response.text)
            assert response.headers["content-type"] == "application/json"


def test_image_pixel_limit(tmp_path):
    with serving(TASKS, "image-classification", tmp_path, max_image_pixels=100) as client:
        response = client.post("/", content=png_bytes(size=(20, 20)))
        assert response.status_code == 400 and "pixel" in response.json()["error"].lower()


def test_audio_task_decodes_to_the_pipeline_rate(tmp_path):
    with serving(TASKS, "automatic-speech-recognition", tmp_path) as client:
        response = client.post("/", content=wav_bytes(0.5, 8000))
        assert response.status_code == 200
        samples = int(response.json()["text"].split()[0])
        assert abs(samples - 8000) < 100 and "float32" in response.json()["text"]
        assert float(response.headers["x-compute-audio-length"]) == pytest.approx(0.5, abs=0.01)
        response = client.post("/", json={"inputs": base64.b64encode(wav_bytes()).decode()})
        assert response.status_code == 200
        response = client.post("/", content=b"\x00\x01garbage" * 10)
        assert response.status_code == 400 and "audio" in response.json()["error"].lower()


def test_audio_output_accept_negotiation(tmp_path):
    with serving(TASKS, "text-to-speech", tmp_path) as client:
        response = client.post("/", json={"inputs": "hello"})
        assert response.status_code == 200 and response.headers["content-type"] == "audio/flac"
        decoded = media.decode_audio(response.content, 16000)
        assert abs(len(decoded) - 8000) < 200
        response = client.post("/", json={"inputs": "hello"}, headers={"accept": "audio/wav"})
        assert response.headers["content-type"] == "audio/wav" and response.content[:4] == b"RIFF"
        response = client.post("/", json={"inputs": "hello"}, headers={"accept": "image/png"})
        assert response.status_code == 406
        assert "audio" in response.json()["error"]


def test_image_output_accept_negotiation(tmp_path):
    with serving(TASKS, "text-to-image", tmp_path) as client:
        response = client.post("/", json={"inputs": "a red square"})
        assert response.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(response.content)).size == (8, 8)
        response = client.post("/", json={"inputs": "x"}, headers={"accept": "image/jpeg"})
        assert response.headers["content-type"] == "image/jpeg"


def test_gzip_for_large_responses(tmp_path):
    with serving(TASKS, "feature-extraction", tmp_path, gzip_min_bytes=100) as client:
        response = client.post("/", json={"inputs": ["x"] * 200}, headers={"accept-encoding": "gzip"})
        assert response.headers.get("content-encoding") == "gzip"
        assert len(response.json()) == 200
        small = client.post("/", json={"inputs": "x"}, headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in small.headers


def test_cors_when_configured(tmp_path):
    with serving(TASKS, "feature-extraction", tmp_path, cors_allow_origins=("https://example.org",)) as client:
        response = client.post("/", json={"inputs": "x"}, headers={"origin": "https://example.org"})
        assert response.headers["access-control-allow-origin"] == "https://example.org"
        assert "x-compute-time" in response.headers["access-control-expose-headers"]
    with serving(TASKS, "feature-extraction", tmp_path) as client:
        response = client.post("/", json={"inputs": "x"}, headers={"origin": "https://example.org"})
        assert "access-control-allow-origin" not in response.headers


def test_metrics_count_requests(tmp_path):
    with serving(TASKS, "feature-extraction", tmp_path) as client:
        client.post("/", json={"inputs": "x"})
        client.post("/", json={"inputs": ""})
        text = client.get("/metrics").text
        model = f'model="{tmp_path}"'
        assert f'aic_requests_total{{{model},status="200"}} 1.0' in text
        assert f'aic_requests_total{{{model},status="400"}} 1.0' in text
        assert f'aic_model_state{{{model},state="ready"}} 1.0' in text
        assert f"aic_batch_size_count{{{model}}} 1.0" in text
        assert "aic_model_load_seconds" in text
        for name in ("aic_request_duration_seconds", "aic_queue_time_seconds", "aic_inference_duration_seconds"):
            assert f"{name}_count{{{model}}}" in text
        assert f"aic_queue_depth{{{model}}} 0.0" in text


def test_json_error_body_is_valid_json_everywhere(features):
    for body in (b"{", b"[1,2", b'{"inputs": {"a": 1}}'):
        response = features.post("/", content=body)
        assert response.status_code in (200, 400)
        json.loads(response.text)


def test_malformed_json_object_is_400_not_text(features):
    for body in (b'{"inputs": ', b'  {"inputs": "x",}'):
        response = features.post("/", content=body)
        assert response.status_code == 400
        assert response.json()["error"] == "Request body is not valid JSON"
    assert features.post("/", content=b"[Music] plays").status_code == 200  # raw text still is text


def test_an_image_with_a_question_counts_as_an_image():
    from PIL import Image

    from api_inference_community.http.headers import usage_headers
    from api_inference_community.tasks.registry import get_task

    inputs = {"image": Image.new("RGB", (4, 4)), "question": "What is it?"}
    assert usage_headers(get_task("visual-question-answering"), inputs, None) == {"x-compute-images": "1"}
    assert usage_headers(get_task("question-answering"), {"question": "q", "context": "abc"}, None) == {
        "x-compute-characters": "4"
    }
