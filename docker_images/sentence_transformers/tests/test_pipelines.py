"""The pipelines in-process (torch backend): same numbers as sentence-transformers, and the parameters."""

from __future__ import annotations

import numpy as np
import pytest
from st_testing import HEAD, LONG, TAIL, TEXTS

from app.pipelines import FeatureExtractionPipeline, SentenceSimilarityPipeline
from app.pipelines.encoder import l2_normalize


@pytest.fixture(scope="module")
def similarity(load_pipeline, model_dir):
    return load_pipeline(SentenceSimilarityPipeline, model_dir)


@pytest.fixture(scope="module")
def prompted(load_pipeline, prompt_model_dir):
    return load_pipeline(FeatureExtractionPipeline, prompt_model_dir)


def test_a_text_gives_the_embedding_of_sentence_transformers(torch_pipeline, reference):
    vector = torch_pipeline(TEXTS[0])
    assert vector.shape == (384,) and vector.dtype == np.float32
    np.testing.assert_allclose(vector, reference.encode(TEXTS[0]), atol=1e-5)


def test_a_list_gives_one_embedding_per_text(torch_pipeline, reference):
    vectors = torch_pipeline(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(vectors, reference.encode(TEXTS), atol=1e-5)


def test_batch_answers_each_request_as_alone(torch_pipeline):
    requests = [TEXTS[0], TEXTS[1:3], TEXTS[3], [TEXTS[4]]]
    outputs = torch_pipeline.batch(requests)
    assert len(outputs) == len(requests)
    for request, output in zip(requests, outputs):
        np.testing.assert_allclose(output, torch_pipeline(request), atol=1e-5)
    assert outputs[0].shape == (384,) and outputs[1].shape == (2, 384) and outputs[3].shape == (1, 384)


def test_similar_sentences_score_higher_than_unrelated(similarity, reference):
    scores = similarity({"source_sentence": TEXTS[0], "sentences": [TEXTS[1], TEXTS[2], TEXTS[4]]})
    assert isinstance(scores, list) and all(isinstance(s, float) for s in scores)
    assert scores[0] > 0.6 > max(scores[1:])
    embeddings = reference.encode([TEXTS[0], TEXTS[1], TEXTS[2], TEXTS[4]])
    expected = reference.similarity(embeddings[:1], embeddings[1:])[0].numpy()
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_similarity_batch_answers_each_request_as_alone(similarity):
    requests = [
        {"source_sentence": TEXTS[0], "sentences": TEXTS[1:]},
        {"source_sentence": TEXTS[3], "sentences": [TEXTS[4]]},
        {"source_sentence": TEXTS[2], "sentences": [TEXTS[2], TEXTS[0]]},
    ]
    outputs = similarity.batch(requests)
    assert [len(o) for o in outputs] == [4, 1, 2]
    for request, output in zip(requests, outputs):
        np.testing.assert_allclose(output, similarity(request), atol=1e-5)
    assert outputs[2][0] == pytest.approx(1.0, abs=1e-5)


def test_normalize(torch_pipeline):
    default = torch_pipeline(TEXTS[:2])
    raw = torch_pipeline(TEXTS[:2], normalize=False)
    assert np.linalg.norm(default, axis=1) == pytest.approx([1, 1], abs=1e-5)
    assert np.all(np.linalg.norm(raw, axis=1) > 1.5)  # the mean-pooled vector before the model's Normalize
    np.testing.assert_allclose(l2_normalize(raw), default, atol=1e-5)
    np.testing.assert_allclose(torch_pipeline(TEXTS[:2], normalize=True), default, atol=1e-6)


def test_dimensions_cut_and_keep_unit_vectors(torch_pipeline):
    full = torch_pipeline(TEXTS[0])
    cut = torch_pipeline(TEXTS[0], dimensions=64)
    assert cut.shape == (64,)
    np.testing.assert_allclose(cut, l2_normalize(full[:64]), atol=1e-5)
    raw = torch_pipeline(TEXTS[0], dimensions=64, normalize=False)
    np.testing.assert_allclose(raw, torch_pipeline(TEXTS[0], normalize=False)[:64], atol=1e-5)
    assert torch_pipeline(TEXTS[0], dimensions=384).shape == (384,)
    with pytest.raises(ValueError, match="dimensions"):
        torch_pipeline(TEXTS[0], dimensions=385)


def test_long_inputs_are_truncated_by_default(torch_pipeline, reference):
    expected = reference.encode(HEAD)
    np.testing.assert_allclose(torch_pipeline(LONG), expected, atol=1e-5)
    np.testing.assert_allclose(torch_pipeline(LONG, truncate=True), expected, atol=1e-5)
    np.testing.assert_allclose(torch_pipeline(LONG, truncation_direction="Right"), expected, atol=1e-5)


def test_truncation_direction_left_keeps_the_end(torch_pipeline, reference):
    np.testing.assert_allclose(torch_pipeline(LONG, truncation_direction="left"), reference.encode(TAIL), atol=1e-5)
    # the tokenizer is left as it was
    np.testing.assert_allclose(torch_pipeline(LONG), reference.encode(HEAD), atol=1e-5)


def test_truncate_false_refuses_inputs_over_the_maximum(torch_pipeline, similarity):
    with pytest.raises(ValueError, match=r"`inputs\[1\]`: 312 tokens, more than .* 256"):
        torch_pipeline([TEXTS[0], LONG], truncate=False)
    with pytest.raises(ValueError, match=r"`inputs`: 312 tokens"):
        torch_pipeline(LONG, truncate=False)
    assert torch_pipeline(HEAD, truncate=False).shape == (384,)  # exactly the maximum
    with pytest.raises(ValueError, match=r"`inputs.sentences\[0\]`"):
        similarity({"source_sentence": "x", "sentences": [LONG]}, truncate=False)


def test_named_prompts(prompted, reference):
    vector = prompted(TEXTS[0], prompt_name="query")
    np.testing.assert_allclose(vector, reference.encode("query: " + TEXTS[0]), atol=1e-5)
    np.testing.assert_allclose(prompted(TEXTS[0]), reference.encode(TEXTS[0]), atol=1e-5)
    with pytest.raises(
        ValueError,
        match=r"`parameters.prompt_name`: unknown prompt `nope`; this model.s prompts are: `query`.*`passage`",
    ):
        prompted(TEXTS[0], prompt_name="nope")


def test_unknown_parameters_are_refused(torch_pipeline, similarity):
    with pytest.raises(ValueError, match="Unknown parameters for feature-extraction: `top_k`"):
        torch_pipeline("x", top_k=3)
    with pytest.raises(ValueError, match=r"`parameters.top_k`: unknown parameter"):
        similarity({"source_sentence": "x", "sentences": ["y"]}, top_k=3)
    with pytest.raises(ValueError, match=r"`parameters.truncate`"):
        similarity({"source_sentence": "x", "sentences": ["y"]}, truncate="no")


def test_similarity_takes_prompts(load_pipeline, prompt_model_dir, reference):
    pipeline = load_pipeline(SentenceSimilarityPipeline, prompt_model_dir)
    scores = pipeline({"source_sentence": TEXTS[0], "sentences": [TEXTS[1]]}, prompt_name="query")
    a, b = reference.encode(["query: " + TEXTS[0], "query: " + TEXTS[1]])
    assert scores[0] == pytest.approx(float(a @ b), abs=1e-5)


@pytest.mark.parametrize(
    "backend, extra",
    [
        ("torch", []),
        ("onnx", ["onnx/model.onnx"]),
        ("openvino", ["openvino/openvino_model.xml", "openvino/openvino_model.bin"]),
    ],
)
def test_only_the_files_the_backend_reads_are_fetched(backend, extra):
    from fnmatch import fnmatch

    from api_inference_community.runtime.settings import Settings
    from app.pipelines import FeatureExtractionPipeline, SentenceSimilarityPipeline

    repository = [
        "config.json", "modules.json", "tokenizer.json", "vocab.txt", "model.safetensors", "1_Pooling/config.json",
        "pytorch_model.bin", "tf_model.h5", "rust_model.ot", "onnx/model.onnx", "onnx/model_O4.onnx",
        "openvino/openvino_model.xml", "openvino/openvino_model.bin",
    ]  # fmt: skip
    for pipeline in (FeatureExtractionPipeline, SentenceSimilarityPipeline):
        patterns = pipeline.model_files(Settings(backend=backend))
        fetched = {name for name in repository if any(fnmatch(name, pattern) for pattern in patterns)}
        base = {
            "config.json",
            "modules.json",
            "tokenizer.json",
            "vocab.txt",
            "model.safetensors",
            "1_Pooling/config.json",
        }
        assert fetched == base | set(extra)
