"""The text tasks over HTTP (in-process): answer shapes, every parameter's effect, refused values."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_models
import torch
from transformers_testing import answer, refused, same

TEXT = "My name is Sarah and I live in London"
CONTEXT = "My name is Sarah and I live in London. I work at a bakery."
# about 800 tokens, more than the models read (512), and not the same at both ends
LONG = " ".join(["the capital of france is paris"] * 100 + ["my phone is broken"] * 50)


def scores(items):
    return [item["score"] for item in items]


# ------------------------------------------------------------ text-classification


def test_text_classification_answers_every_label_best_first(served, pipeline):
    client = served("text-classification")
    (labels,) = answer(client, "I like you. I love you")  # wrapped once, as InferenceClient reads it
    assert sorted(item["label"] for item in labels) == sorted(tiny_models.LABELS)
    assert scores(labels) == sorted(scores(labels), reverse=True)
    assert sum(scores(labels)) == pytest.approx(1.0, abs=1e-5)
    assert same(answer(client, "I like you. I love you"), [labels])  # deterministic


def test_text_classification_parameters(served, pipeline):
    client = served("text-classification")
    assert [len(answer(client, TEXT, top_k=k)[0]) for k in (1, 2, 10)] == [1, 2, 3]
    pipe = pipeline("text-classification").pipe
    with torch.no_grad():
        logits = pipe.model(**pipe.tokenizer(TEXT, return_tensors="pt")).logits[0]
    expected = {
        "none": logits,
        "sigmoid": logits.sigmoid(),
        "softmax": logits.softmax(-1),
    }
    for function, values in expected.items():
        (labels,) = answer(client, TEXT, function_to_apply=function)
        assert scores(labels) == pytest.approx(sorted(values.tolist(), reverse=True), abs=1e-5)
    assert len(answer(client, LONG)[0]) == 3  # too long for the model: cut, not refused


@pytest.mark.parametrize(
    "parameters, field",
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": "2"}, "top_k"),
        ({"function_to_apply": "relu"}, "function_to_apply"),
        ({"topk": 2}, "topk"),
    ],
)
def test_text_classification_refuses(served, parameters, field):
    refused(served("text-classification"), {"inputs": TEXT, "parameters": parameters}, f"`parameters.{field}`")


def test_text_classification_batch_equals_one_by_one(pipeline):
    pipe = pipeline("text-classification")
    texts = [TEXT, "I like you", "The weather is lovely, isn't it?"]
    for one, many in zip([pipe(t, top_k=2) for t in texts], pipe.batch(texts, top_k=2)):
        assert [x["label"] for x in one[0]] == [x["label"] for x in many[0]]
        assert scores(one[0]) == pytest.approx(scores(many[0]), abs=1e-5)


# ------------------------------------------------------------ token-classification


def test_token_classification_groups_entities_in_text_order(served):
    client = served("token-classification")
    entities = answer(client, TEXT, ignore_labels=[])
    assert entities and all(e["entity_group"] in {"O", "PER", "LOC"} for e in entities)
    starts = [e["start"] for e in entities]
    assert starts == sorted(starts)
    for entity in entities:
        assert TEXT[entity["start"] : entity["end"]].lower().replace(" ", "") == entity["word"].replace(" ", "")
    tokens = answer(client, TEXT, aggregation_strategy="none", ignore_labels=[])
    assert len(tokens) >= len(entities) and all("entity" in t and "index" in t for t in tokens)
    default = answer(client, TEXT)  # "O" is left out by default
    assert all(e["entity_group"] != "O" for e in default)
    assert len(answer(client, TEXT, ignore_labels=["O", "PER", "LOC"])) == 0


def test_token_classification_stride_reads_long_texts(served):
    client = served("token-classification")
    cut = answer(client, LONG, ignore_labels=[])
    windows = answer(client, LONG, stride=64, ignore_labels=[])
    assert max(e["end"] for e in windows) > max(e["end"] for e in cut)  # the end of the text is read too
    refused(
        client, {"inputs": LONG, "parameters": {"stride": 64, "aggregation_strategy": "none"}}, "`parameters.stride`"
    )
    refused(client, {"inputs": TEXT, "parameters": {"stride": 512}}, "`parameters.stride`")
    refused(
        client, {"inputs": TEXT, "parameters": {"aggregation_strategy": "most"}}, "`parameters.aggregation_strategy`"
    )


# ------------------------------------------------------------ fill-mask


def test_fill_mask(served):
    client = served("fill-mask")
    text = "The capital of France is [MASK]."
    candidates = answer(client, text)
    assert len(candidates) == 5 and scores(candidates) == sorted(scores(candidates), reverse=True)
    for candidate in candidates:
        assert candidate["token_str"].replace("##", "") in candidate["sequence"].replace(" ", "")
    assert len(answer(client, text, top_k=2)) == 2
    targeted = answer(client, text, targets=["paris", "london"])
    assert sorted(c["token_str"] for c in targeted) == ["london", "paris"]
    assert [c["token_str"] for c in answer(client, text, targets="paris,london")] == [c["token_str"] for c in targeted]
    refused(client, {"inputs": "No mask here."}, "`inputs`", "[MASK]")
    refused(client, {"inputs": "[MASK] and [MASK]"}, "`inputs`", "exactly once")
    refused(client, {"inputs": LONG + " [MASK]"}, "`inputs`", "tokens")
    refused(client, {"inputs": text, "parameters": {"top_k": 0}}, "`parameters.top_k`")


# ------------------------------------------------------------ question-answering


def test_question_answering(served):
    client = served("question-answering")
    question = {"question": "Where does Sarah live?", "context": CONTEXT}
    best = answer(client, question)
    assert best["answer"] == CONTEXT[best["start"] : best["end"]] and best["answer"]
    several = answer(client, question, top_k=3)
    assert len(several) == 3 and scores(several) == sorted(scores(several), reverse=True)
    assert same(several[0], best)
    for item in answer(client, question, top_k=5, max_answer_len=2):
        assert len(item["answer"].split()) <= 2
    assert answer(client, question, align_to_words=False, doc_stride=16, max_seq_len=64, max_question_len=8)
    assert "answer" in answer(client, question, handle_impossible_answer=True)
    refused(
        client, {"inputs": question, "parameters": {"doc_stride": 64, "max_seq_len": 64}}, "`parameters.doc_stride`"
    )
    refused(client, {"inputs": {"question": "q"}}, "`inputs.context`")
    refused(client, {"inputs": question, "parameters": {"top_k": -1}}, "`parameters.top_k`")


# ------------------------------------------------------------ zero-shot-classification


def test_zero_shot_classification(served):
    client = served("zero-shot-classification")
    labels = ["urgent", "not urgent", "phone"]
    ranking = answer(client, "My phone is broken", candidate_labels=labels)
    assert ranking["sequence"] == "My phone is broken" and sorted(ranking["labels"]) == sorted(labels)
    assert ranking["scores"] == sorted(ranking["scores"], reverse=True)
    assert sum(ranking["scores"]) == pytest.approx(1.0, abs=1e-4)
    independent = answer(client, "My phone is broken", candidate_labels=labels, multi_label=True)
    assert sum(independent["scores"]) != pytest.approx(1.0, abs=1e-3)  # each label scored on its own
    comma = answer(client, "My phone is broken", candidate_labels="urgent, not urgent, phone")
    assert same(comma, ranking)
    templated = answer(client, "My phone is broken", candidate_labels=labels, hypothesis_template="It is {}!")
    assert templated["scores"] != ranking["scores"]
    refused(
        client,
        {"inputs": "x", "parameters": {"candidate_labels": labels, "hypothesis_template": "no slot"}},
        "`parameters.hypothesis_template`",
    )
    refused(client, {"inputs": "x"}, "`parameters.candidate_labels`")
    refused(client, {"inputs": "x", "parameters": {"candidate_labels": ["a", "a"]}}, "`parameters.candidate_labels`")


# ------------------------------------------------------------ feature-extraction


def test_feature_extraction_one_vector_per_token(served, pipeline):
    client = served("feature-extraction")
    tokenizer = pipeline("feature-extraction").pipe.tokenizer
    vectors = np.asarray(answer(client, "Today is a sunny day"))
    assert vectors.shape == (len(tokenizer("Today is a sunny day")["input_ids"]), 32)
    both = answer(client, ["Today is a sunny day", "Hi"])
    assert len(both) == 2 and np.allclose(both[0], vectors, atol=1e-5)  # padding changes nothing
    assert np.asarray(both[1]).shape == (len(tokenizer("Hi")["input_ids"]), 32)
    unit = np.asarray(answer(client, "Today is a sunny day", normalize=True))
    assert np.allclose(np.linalg.norm(unit, axis=-1), 1.0, atol=1e-5)
    assert np.allclose(unit, vectors / np.linalg.norm(vectors, axis=-1, keepdims=True), atol=1e-5)
    assert np.asarray(answer(client, "Today is a sunny day", dimensions=8)).shape[-1] == 8
    right = np.asarray(answer(client, LONG, truncation_direction="right"))
    left = np.asarray(answer(client, LONG, truncation_direction="Left", truncate=True))
    assert right.shape == left.shape == (512, 32) and not np.allclose(right, left)
    refused(client, {"inputs": ["ok", LONG], "parameters": {"truncate": False}}, "`inputs[1]`", "tokens")
    refused(client, {"inputs": "x", "parameters": {"dimensions": 64}}, "`parameters.dimensions`")
    refused(client, {"inputs": "x", "parameters": {"prompt_name": "query"}}, "`parameters.prompt_name`")


def test_feature_extraction_batch_equals_one_by_one(pipeline):
    pipe = pipeline("feature-extraction")
    requests_ = ["Today is a sunny day", ["Hi", "The weather is lovely, isn't it?"]]
    for one, many in zip([pipe(r) for r in requests_], pipe.batch(requests_)):
        assert np.allclose(
            np.asarray(one[0] if isinstance(one, list) else one),
            np.asarray(many[0] if isinstance(many, list) else many),
            atol=1e-5,
        )


# ------------------------------------------------------------ table-question-answering


def test_table_question_answering(served):
    client = served("table-question-answering")
    table = {"Repository": ["Transformers", "Datasets"], "Stars": ["36542", "4512"]}
    result = answer(client, {"query": "How many stars does transformers have?", "table": table})
    assert set(result) == {"answer", "coordinates", "cells", "aggregator"}
    cells = [table[list(table)[column]][row] for row, column in result["coordinates"]]
    assert cells == result["cells"]
    assert result["aggregator"] in {"NONE", "SUM", "AVERAGE", "COUNT"}
    for parameters in ({"padding": "longest"}, {"sequential": True}, {"truncation": True}):
        assert set(answer(client, {"query": "How many stars?", "table": table}, **parameters)) == set(result)
    big = {"Repository": [f"repo {i}" for i in range(200)], "Stars": [str(i) for i in range(200)]}
    assert answer(client, {"query": "How many stars?", "table": big})["cells"] is not None  # cut by default
    refused(
        client, {"inputs": {"query": "How many?", "table": big}, "parameters": {"truncation": False}}, "`inputs.table`"
    )
    refused(client, {"inputs": {"query": "q", "table": {"a": ["1"], "b": []}}}, "`inputs`")
