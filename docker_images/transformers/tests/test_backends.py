"""BACKEND=onnx (optimum-onnx, ONNX Runtime) agrees with torch, task by task; the export is made once
and kept under HF_HOME; QUANTIZE=dynamic-int8 keeps the answers' shape and stays close.

Tolerances: probabilities and scores within 1e-4 (absolute), hidden states within 1e-3, pixels
within 2/255; generated texts (greedy), labels, answers and transcripts are equal.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image
from transformers_testing import load, speech

from api_inference_community.runtime.exports import exports_root
from api_inference_community.testing.examples import picture
from app.main import ALLOWED_TASKS
from app.pipelines.onnx_backend import ONNX_TASKS

IMAGE = picture(size=(64, 48))
PROB = 1e-4


def exports(hf_home):
    """The ONNX exports of this image under an HF_HOME."""
    return exports_root(str(hf_home)) / "transformers" / "onnx"


@pytest.fixture(scope="module")
def export_home(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx_home")


def both(task, models, export_home, pipeline):
    onnx = load(ALLOWED_TASKS[task], models.folder(task), backend="onnx", hf_home=str(export_home))
    return pipeline(task), onnx


def close(a, b, tolerance=PROB):
    return a == pytest.approx(b, abs=tolerance)


CASES = {
    "text-classification": ("I like you", {}),
    "token-classification": ("My name is Sarah and I live in London", {"ignore_labels": []}),
    "fill-mask": ("The capital of France is [MASK].", {}),
    "question-answering": ({"question": "Where do I live?", "context": "I live in London."}, {"top_k": 2}),
    "zero-shot-classification": ("My phone is broken", {"candidate_labels": ["urgent", "phone"]}),
    "image-classification": (IMAGE, {}),
    "zero-shot-image-classification": (IMAGE, {"candidate_labels": ["cat", "dog"]}),
    "audio-classification": (speech(1.0), {}),
}


@pytest.mark.parametrize("task", sorted(CASES))
def test_scored_answers_agree(task, models, export_home, pipeline):
    torch_pipe, onnx_pipe = both(task, models, export_home, pipeline)
    inputs, parameters = CASES[task]
    expected, actual = torch_pipe(inputs, **parameters), onnx_pipe(inputs, **parameters)
    flatten = (lambda x: x[0]) if task == "text-classification" else (lambda x: x)
    expected, actual = flatten(expected), flatten(actual)
    if isinstance(expected, dict):
        expected, actual = [expected], [actual]
    if task == "zero-shot-classification":
        assert expected[0]["labels"] == actual[0]["labels"] and close(actual[0]["scores"], expected[0]["scores"])
        return
    for one, other in zip(expected, actual):
        assert {k: v for k, v in one.items() if k != "score"} == {k: v for k, v in other.items() if k != "score"}
        assert close(other["score"], one["score"])


def test_feature_extraction_agrees(models, export_home, pipeline):
    torch_pipe, onnx_pipe = both("feature-extraction", models, export_home, pipeline)
    texts = ["Today is a sunny day", "Hi"]
    for one, other in zip(torch_pipe(texts), onnx_pipe(texts)):
        assert np.allclose(np.asarray(one), np.asarray(other), atol=1e-3)


@pytest.mark.parametrize(
    "task, inputs, parameters",
    [
        ("text-generation", "Once upon a time,", {"max_new_tokens": 6}),
        ("summarization", "My name is Sarah and I live in London.", {"max_new_tokens": 6}),
        ("translation", "How old are you?", {"src_lang": "en", "tgt_lang": "de"}),
        ("text2text-generation", "How old are you?", {}),
        ("image-to-text", IMAGE, {"max_new_tokens": 4}),
        ("automatic-speech-recognition", speech(1.0), {}),
    ],
)
def test_generated_answers_are_equal(task, inputs, parameters, models, export_home, pipeline):
    torch_pipe, onnx_pipe = both(task, models, export_home, pipeline)
    assert onnx_pipe(inputs, **parameters) == torch_pipe(inputs, **parameters)


def test_image_outputs_agree(models, export_home, pipeline):
    torch_pipe, onnx_pipe = both("image-segmentation", models, export_home, pipeline)
    expected, actual = torch_pipe(IMAGE), onnx_pipe(IMAGE)
    assert [s["label"] for s in expected] == [s["label"] for s in actual]
    assert [s["mask"] for s in expected] == [s["mask"] for s in actual]
    torch_pipe, onnx_pipe = both("image-to-image", models, export_home, pipeline)
    difference = np.abs(np.asarray(torch_pipe(IMAGE), dtype=int) - np.asarray(onnx_pipe(IMAGE), dtype=int))
    assert difference.max() <= 2


def test_every_onnx_task_is_compared():
    compared = set(CASES) | {"feature-extraction", "image-segmentation", "image-to-image"}
    compared |= {"text-generation", "summarization", "translation", "text2text-generation", "image-to-text"}
    compared |= {"automatic-speech-recognition"}
    assert compared == ONNX_TASKS


def test_the_export_is_made_once_and_kept_under_hf_home(models, tmp_path, caplog):
    folder = models.folder("text-classification")
    before = sorted(p.name for p in folder.rglob("*"))
    with caplog.at_level(logging.INFO, logger="app.pipelines.onnx_backend"):
        first = load(ALLOWED_TASKS["text-classification"], folder, backend="onnx", hf_home=str(tmp_path))
    (export,) = exports(tmp_path).iterdir()
    assert (export / "model.onnx").is_file() and "Stored the ONNX export" in caplog.text
    stamp = (export / "model.onnx").stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="app.pipelines.onnx_backend"):
        again = load(ALLOWED_TASKS["text-classification"], folder, backend="onnx", hf_home=str(tmp_path))
    assert "Using the stored ONNX export" in caplog.text and (export / "model.onnx").stat().st_mtime_ns == stamp
    assert again("I like you") == first("I like you")
    assert sorted(p.name for p in folder.rglob("*")) == before  # the model folder is never written to


def test_a_broken_export_is_made_again(models, tmp_path):
    folder = models.folder("text-classification")
    expected = load(ALLOWED_TASKS["text-classification"], folder, backend="onnx", hf_home=str(tmp_path))("I like you")
    (export,) = exports(tmp_path).iterdir()
    (export / "model.onnx").write_bytes(b"not a graph")
    assert load(ALLOWED_TASKS["text-classification"], folder, backend="onnx", hf_home=str(tmp_path))("I like you") == (
        expected
    )


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_dynamic_int8_quantization(backend, models, pipeline, tmp_path):
    task = "text-classification"
    quantized = load(
        ALLOWED_TASKS[task],
        models.folder(task),
        env={"QUANTIZE": "dynamic-int8"},
        backend=backend,
        hf_home=str(tmp_path),
    )
    text = "I like you. I love you"
    expected, actual = pipeline(task)(text)[0], quantized(text)[0]
    assert sorted(x["label"] for x in actual) == sorted(x["label"] for x in expected)
    by_label = {x["label"]: x["score"] for x in expected}
    assert all(abs(x["score"] - by_label[x["label"]]) < 0.05 for x in actual)  # int8 weights: close, not equal
    if backend == "torch":
        assert any("quantized" in type(module).__module__ for module in quantized.pipe.model.modules())
    else:
        graph = next(exports(tmp_path).glob("*/model.onnx"))
        import onnx

        assert any(
            node.op_type in ("MatMulInteger", "DynamicQuantizeLinear") for node in onnx.load(str(graph)).graph.node
        )


def test_the_bundled_minilm_as_a_text_classifier(tmp_path):
    """The benchmark's model: all-MiniLM-L6-v2's files loaded as a BERT sequence classifier (its head
    randomly initialised), on torch and on ONNX."""
    from api_inference_community.maintainers.bundled import bundled_model_dir

    folder = bundled_model_dir()
    for backend in ("torch", "onnx"):
        classifier = load(ALLOWED_TASKS["text-classification"], folder, backend=backend, hf_home=str(tmp_path))
        (labels,) = classifier("Today is a sunny day")
        assert len(labels) == classifier.config.num_labels == 2
    assert list(exports(tmp_path).glob("*/model.onnx"))  # exported under HF_HOME, not into the package


def test_onnx_refuses_the_tasks_optimum_does_not_export(models, tmp_path):
    with pytest.raises(ValueError, match="BACKEND `onnx` does not serve `depth-estimation`"):
        load(
            ALLOWED_TASKS["depth-estimation"], models.folder("depth-estimation"), backend="onnx", hf_home=str(tmp_path)
        )


def test_images_in_every_mode(models, export_home, pipeline):
    torch_pipe = pipeline("image-classification")
    for mode in ("RGBA", "L", "P", "CMYK"):
        assert torch_pipe(IMAGE.convert(mode)) == torch_pipe(
            Image.fromarray(np.asarray(IMAGE.convert(mode).convert("RGB")))
        )
