"""An app written for the upstream package (pipeline_route, status_ok, on_event) runs on ours."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from api_inference_community import media
from api_inference_community.testing.live import live_server
from api_inference_community.validation import (
    ffmpeg_convert,
    ffmpeg_read,
    normalize_payload,
    normalize_payload_audio,
    normalize_payload_image,
    normalize_payload_nlp,
)

UPSTREAM = Path(__file__).parent / "upstream_app"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"MODEL_ID": "org/model", "TASK": "text-classification"}
    with live_server("app.main:app", env, cwd=UPSTREAM, ready_path="/") as running:
        yield running


def test_upstream_app_serves(server):
    assert requests.get(server.url + "/", timeout=10).json() == {"ok": "ok"}
    response = requests.post(server.url, json={"inputs": "good good"}, timeout=10)
    assert response.status_code == 200
    assert response.json() == [{"label": "POSITIVE", "score": 1.0}, {"label": "NEGATIVE", "score": 0.0}]
    assert response.headers["x-compute-characters"] == "9"
    assert "x-compute-time" in response.headers and "x-compute-type" in response.headers
    response = requests.post(server.url, data=b"good", timeout=10)  # raw text, as upstream accepts
    assert response.json()[0]["score"] == 0.5


def test_upstream_app_errors(server):
    # text-classification parameters are the pipeline's business (upstream checks only a few tasks')
    response = requests.post(server.url, json={"inputs": "x", "parameters": {"top_k": "many"}}, timeout=10)
    assert response.status_code == 200
    response = requests.post(server.url, json={"inputs": {"not": "text"}}, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": ["Input should be a valid string: received `{'not': 'text'}` in `parameters`"]}
    assert "Traceback" not in server.logs()  # client errors leave no traceback
    response = requests.post(server.url, json={"inputs": "explode"}, timeout=10)
    assert response.status_code == 500 and "hidden" not in response.text
    assert "hidden detail" in server.logs()  # the details go to the log only
    assert requests.post(server.url, json={"inputs": "good"}, timeout=10).status_code == 200


def test_upstream_app_debug_mode_allows_any_origin():
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "from starlette.testclient import TestClient\n"
        "from app.main import app\n"
        "headers = {'origin': 'https://site.example', 'access-control-request-method': 'POST'}\n"
        "response = TestClient(app).options('/', headers=headers)\n"
        "assert response.headers['access-control-allow-origin'] == '*', response.headers\n"
    )
    env = {**os.environ, "DEBUG": "1", "MODEL_ID": "org/model", "TASK": "text-classification"}
    subprocess.run([sys.executable, "-c", code], cwd=UPSTREAM, env=env, check=True, timeout=60)


def test_normalize_payload_helpers():
    assert normalize_payload(b'{"inputs": "hi", "parameters": {"top_k": 2}}', "text-classification") == (
        "hi",
        {"top_k": 2},
    )
    assert normalize_payload_nlp(b"raw text", "summarization") == ("raw text", {})
    with pytest.raises(EnvironmentError):
        normalize_payload(b"x", "no-such-task")
    with pytest.raises(EnvironmentError):
        normalize_payload(b"x", "automatic-speech-recognition", sampling_rate=None)
    wave = np.sin(np.linspace(0, 200, 8000)).astype(np.float32)
    flac = ffmpeg_convert(wave, 8000, "flac")
    decoded = ffmpeg_read(flac, 16000)
    assert decoded.dtype == np.float32 and abs(len(decoded) - 16000) < 200
    inputs, params = normalize_payload_audio(flac, 8000)
    assert len(inputs) == 8000 and params == {}
    png = media.encode_image(Image.new("RGB", (3, 2)), "png")
    image, params = normalize_payload_image(png)
    assert image.size == (3, 2) and params == {}
