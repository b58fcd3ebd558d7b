"""A real server process, and huggingface_hub's InferenceClient against it (as users call it)."""

from __future__ import annotations

import concurrent.futures
import re

import numpy as np
import pytest
import requests
from st_testing import HEAD, IMAGE_DIR, LONG, PROMPTS, REPO_ID, TAIL, TEXTS

from api_inference_community.testing.hub_cache import online_hub_client
from api_inference_community.testing.live import live_server


@pytest.fixture(scope="module", autouse=True)
def online_client():
    """InferenceClient against the live servers here, although HF_HUB_OFFLINE is set in this process."""
    with online_hub_client():
        yield


@pytest.fixture(scope="module")
def features_server(prompt_model_dir, tmp_path_factory):
    """feature-extraction on a model folder with named prompts (PROMPTS)."""
    env = {
        "MODEL_ID": str(prompt_model_dir),
        "TASK": "feature-extraction",
        "HF_HOME": str(tmp_path_factory.mktemp("live_home")),
        "HF_HUB_OFFLINE": "1",
        "MAX_INPUTS": "16",
        "LOG_LEVEL": "warning",
    }
    with live_server("app.main:app", env=env, cwd=IMAGE_DIR) as server:
        yield server


@pytest.fixture(scope="module")
def similarity_server(hf_home):
    """sentence-similarity on the Hub id, resolved offline from HF_HOME's cache, as in production."""
    env = {
        "MODEL_ID": REPO_ID,
        "TASK": "sentence-similarity",
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "1",
        "LOG_LEVEL": "warning",
    }
    with live_server("app.main:app", env=env, cwd=IMAGE_DIR) as server:
        yield server


def client_of(server):
    from huggingface_hub import InferenceClient

    return InferenceClient(server.url, timeout=60)


def test_client_feature_extraction(features_server, reference):
    client = client_of(features_server)
    vector = client.feature_extraction(TEXTS[0])
    assert vector.dtype == np.float32 and vector.shape == (384,)
    np.testing.assert_allclose(vector, reference.encode(TEXTS[0]), atol=1e-5)


def test_client_feature_extraction_parameters(features_server, reference):
    client = client_of(features_server)
    prompted = client.feature_extraction(TEXTS[0], prompt_name="query")
    np.testing.assert_allclose(prompted, reference.encode(PROMPTS["query"] + TEXTS[0]), atol=1e-5)
    raw = client.feature_extraction(TEXTS[0], normalize=False)
    assert np.linalg.norm(raw) > 1.5
    np.testing.assert_allclose(raw / np.linalg.norm(raw), reference.encode(TEXTS[0]), atol=1e-5)
    np.testing.assert_allclose(
        client.feature_extraction(TEXTS[0], normalize=True), reference.encode(TEXTS[0]), atol=1e-5
    )
    truncated = client.feature_extraction(LONG, truncate=True, truncation_direction="Right")
    np.testing.assert_allclose(truncated, reference.encode(HEAD), atol=1e-5)
    left = client.feature_extraction(LONG, truncate=True, truncation_direction="Left")
    np.testing.assert_allclose(left, reference.encode(TAIL), atol=1e-5)


def test_client_errors_name_the_problem(features_server):
    from huggingface_hub.errors import HfHubHTTPError

    client = client_of(features_server)
    with pytest.raises(HfHubHTTPError) as raised:
        client.feature_extraction(TEXTS[0], prompt_name="nope")
    assert raised.value.response.status_code == 400
    assert "prompt_name" in raised.value.response.json()["error"]
    with pytest.raises(HfHubHTTPError) as raised:
        client.feature_extraction(LONG, truncate=False)
    assert raised.value.response.status_code == 400 and "tokens" in raised.value.response.json()["error"]
    assert client.feature_extraction("still answering").shape == (384,)


def test_client_sentence_similarity(similarity_server, reference):
    client = client_of(similarity_server)
    sentences = [TEXTS[1], TEXTS[2], TEXTS[4]]
    scores = client.sentence_similarity(TEXTS[0], other_sentences=sentences)
    assert isinstance(scores, list) and len(scores) == 3
    embeddings = reference.encode([TEXTS[0], *sentences])
    np.testing.assert_allclose(scores, reference.similarity(embeddings[:1], embeddings[1:])[0].numpy(), atol=1e-5)
    assert scores[0] > 0.6 > max(scores[1:])


def batch_calls(server) -> float:
    text = requests.get(server.url + "/metrics", timeout=10).text
    return float(re.search(r"^aic_batch_size_count(?:\{[^}]*\})? (\S+)$", text, re.M).group(1))


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(features_server, reference):
    texts = [f"Sentence number {i} is about {TEXTS[i % len(TEXTS)].lower()}" for i in range(48)]
    bodies = [{"inputs": text} if i % 3 else {"inputs": [text, TEXTS[0]]} for i, text in enumerate(texts)]
    before = batch_calls(features_server)

    def post(body):
        response = requests.post(features_server.url, json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(post, bodies))
    calls = batch_calls(features_server) - before
    expected = reference.encode(texts)
    for i, answer in enumerate(answers):
        got = np.asarray(answer if i % 3 else answer[0])
        np.testing.assert_allclose(got, expected[i], atol=1e-5)
    assert calls < len(bodies)  # requests that arrived while the model was busy shared a model call


def test_similarity_requests_in_parallel(similarity_server, reference):
    requests_ = [{"inputs": {"source_sentence": TEXTS[i], "sentences": TEXTS}} for i in range(len(TEXTS))]

    def post(body):
        return requests.post(similarity_server.url, json=body, timeout=60).json()

    with concurrent.futures.ThreadPoolExecutor(len(requests_)) as pool:
        answers = list(pool.map(post, requests_))
    embeddings = reference.encode(TEXTS)
    np.testing.assert_allclose(answers, embeddings @ embeddings.T, atol=1e-5)
