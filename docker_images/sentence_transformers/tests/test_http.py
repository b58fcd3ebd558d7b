"""The HTTP contract of both tasks through the app (TestClient): outputs, parameters, bad requests."""

from __future__ import annotations

import numpy as np
import pytest
from st_testing import LONG, REPO_ID, TEXTS

MAX_INPUTS = 8


@pytest.fixture(scope="module")
def features(app_client, model_dir):
    """feature-extraction on the bundled folder, by path."""
    with app_client(model_id=str(model_dir), task="feature-extraction", max_inputs=MAX_INPUTS) as client:
        yield client


@pytest.fixture(scope="module")
def similarity(app_client, hf_home):
    """sentence-similarity on the Hub id, resolved offline through the Hub cache."""
    with app_client(model_id=REPO_ID, task="sentence-similarity", hf_home=str(hf_home), hf_hub_offline=True) as client:
        yield client


def embed(client, body, **kwargs):
    response = client.post("/", json=body, **kwargs)
    assert response.status_code == 200, response.text
    return np.asarray(response.json(), dtype=np.float32)


def test_a_text_gives_one_embedding(features, reference):
    response = features.post("/", json={"inputs": TEXTS[0]})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 384 and all(isinstance(x, float) for x in body)
    np.testing.assert_allclose(body, reference.encode(TEXTS[0]), atol=1e-5)
    assert response.headers["x-compute-characters"] == str(len(TEXTS[0]))
    assert response.headers["content-type"] == "application/json"


def test_a_list_gives_one_embedding_per_text(features, reference):
    body = features.post("/", json={"inputs": TEXTS}).json()
    assert [len(row) for row in body] == [384] * len(TEXTS)
    np.testing.assert_allclose(body, reference.encode(TEXTS), atol=1e-5)


def test_raw_text_and_bare_json_bodies(features, reference):
    expected = reference.encode(TEXTS[0])
    np.testing.assert_allclose(embed(features, None, content=TEXTS[0].encode()), expected, atol=1e-5)
    np.testing.assert_allclose(embed(features, TEXTS[0]), expected, atol=1e-5)


@pytest.mark.parametrize(
    "parameters",
    [
        {"normalize": False},
        {"dimensions": 16},
        {"truncate": True, "truncation_direction": "Left"},
        {"prompt_name": "query"},
    ],
)
def test_parameters_at_the_top_level_or_in_parameters(features, parameters):
    nested = embed(features, {"inputs": LONG, "parameters": parameters})
    top = embed(features, {"inputs": LONG, **parameters})
    np.testing.assert_allclose(top, nested, atol=1e-6)
    if "prompt_name" not in parameters:  # this model's `query` prompt is empty: the same embedding
        assert not np.allclose(nested[:16], embed(features, {"inputs": LONG})[:16], atol=1e-3)


def test_long_inputs_are_truncated_by_default(features):
    assert embed(features, {"inputs": LONG * 4}).shape == (384,)
    response = features.post("/", json={"inputs": [TEXTS[0], LONG], "parameters": {"truncate": False}})
    assert response.status_code == 400
    assert "`inputs[1]`: 312 tokens" in response.json()["error"]


@pytest.mark.parametrize(
    "body, names",
    [
        ({"inputs": ""}, "inputs"),
        ({"inputs": []}, "inputs"),
        ({"inputs": ["a", 1]}, "inputs[1]"),
        ({"inputs": ["a", ""]}, "inputs[1]"),
        ({"inputs": None}, "inputs"),
        ({"inputs": {"text": "a"}}, "inputs"),
        ({"inputs": ["a"] * (MAX_INPUTS + 1)}, "too many"),
        ({"inputs": "a", "parameters": {"normalize": "yes"}}, "parameters.normalize"),
        ({"inputs": "a", "normalize": 1}, "parameters.normalize"),
        ({"inputs": "a", "parameters": {"truncate": "false"}}, "parameters.truncate"),
        ({"inputs": "a", "parameters": {"truncation_direction": "up"}}, "parameters.truncation_direction"),
        ({"inputs": "a", "parameters": {"dimensions": 0}}, "parameters.dimensions"),
        ({"inputs": "a", "parameters": {"dimensions": "8"}}, "parameters.dimensions"),
        ({"inputs": "a", "parameters": {"dimensions": 1000}}, "parameters.dimensions"),
        ({"inputs": "a", "parameters": {"prompt_name": 3}}, "parameters.prompt_name"),
        ({"inputs": "a", "parameters": {"prompt_name": "nope"}}, "parameters.prompt_name"),
        ({"inputs": "a", "parameters": {"top_k": 2}}, "parameters.top_k"),
        ({"inputs": "a", "parameters": "normalize"}, "parameters"),
    ],
)
def test_bad_requests_are_400_naming_the_problem(features, body, names):
    response = features.post("/", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert names in (error if isinstance(error, str) else " ".join(error))
    assert features.post("/", json={"inputs": "still answering"}).status_code == 200


def test_raw_text_is_text_but_a_broken_json_object_is_400(features):
    # upstream compatibility: a body that is not JSON is the text itself...
    assert features.post("/", content=b"just some words").status_code == 200
    # ...unless it was meant as a JSON object
    response = features.post("/", content=b'{"inputs": ')
    assert response.status_code == 400 and response.json() == {"error": "Request body is not valid JSON"}


def test_similarity_through_the_hub_id(similarity, reference):
    sentences = [TEXTS[1], TEXTS[2], TEXTS[4]]
    response = similarity.post(
        "/", json={"inputs": {"source_sentence": TEXTS[0], "sentences": sentences}, "parameters": {}}
    )
    assert response.status_code == 200, response.text
    scores = response.json()
    embeddings = reference.encode([TEXTS[0], *sentences])
    np.testing.assert_allclose(scores, reference.similarity(embeddings[:1], embeddings[1:])[0].numpy(), atol=1e-5)
    assert scores[0] > 0.6 > max(scores[1:])
    bare = similarity.post("/", json={"inputs": {"source_sentence": TEXTS[0], "sentences": sentences}})
    np.testing.assert_allclose(bare.json(), scores, atol=1e-6)
    info = similarity.get("/info").json()
    assert info["model_id"] == REPO_ID and info["batching"] is True


@pytest.mark.parametrize(
    "body, names",
    [
        ({"inputs": {"source_sentence": "a"}}, "inputs.sentences"),
        ({"inputs": {"source_sentence": "a", "sentences": []}}, "inputs.sentences"),
        ({"inputs": {"source_sentence": "", "sentences": ["b"]}}, "inputs.source_sentence"),
        ({"inputs": {"source_sentence": "a", "sentences": ["b", 2]}}, "inputs.sentences[1]"),
        ({"inputs": "a"}, "inputs"),
        ({"inputs": {"source_sentence": "a", "sentences": ["b"]}, "parameters": {"top_k": 1}}, "parameters.top_k"),
        ({"inputs": {"source_sentence": "a", "sentences": ["b"]}, "parameters": {"prompt_name": "x"}}, "prompt_name"),
        ({"inputs": {"source_sentence": "a", "sentences": ["b"]}, "truncate": "no"}, "parameters.truncate"),
    ],
)
def test_bad_similarity_requests_are_400(similarity, body, names):
    response = similarity.post("/", json=body)
    assert response.status_code == 400, response.text
    assert names in str(response.json()["error"])
    ok = similarity.post("/", json={"inputs": {"source_sentence": "a", "sentences": ["b"]}})
    assert ok.status_code == 200


def test_onnx_backend_through_the_app(app_client, model_dir, export_home, onnx_pipeline, reference):
    with app_client(
        model_id=str(model_dir), task="feature-extraction", backend="onnx", hf_home=str(export_home)
    ) as client:
        body = embed(client, {"inputs": TEXTS})
        assert client.get("/info").json()["backend"] == "onnx"
        # the settings given to create_app reach the pipeline (not only the environment's)
        assert client.app.state.service.engine.pipeline.encoder.backend == "onnx"
    expected = reference.encode(TEXTS)
    assert np.min(np.sum(body * expected, axis=1)) >= 0.999
