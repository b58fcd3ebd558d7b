"""The image tasks over HTTP (in-process): shapes against the image sent, parameters, refusals."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tiny_models
import torch
from PIL import Image
from transformers_testing import answer, b64, decode_png, png, refused, same

from api_inference_community.testing.examples import WORD_BOXES, picture

IMAGE = picture(size=(64, 48))
SIZE = IMAGE.size


def scores(items):
    return [item["score"] for item in items]


def test_image_classification(served, pipeline):
    client = served("image-classification")
    labels = answer(client, b64(png(IMAGE)))
    assert sorted(item["label"] for item in labels) == sorted(tiny_models.IMAGE_LABELS)  # 4 labels < top_k 5
    assert scores(labels) == sorted(scores(labels), reverse=True)
    assert same(client.post("/", content=png(IMAGE)).json(), labels)  # raw bytes: the same answer
    assert len(answer(client, b64(png(IMAGE)), top_k=2)) == 2
    pipe = pipeline("image-classification").pipe
    with torch.no_grad():
        logits = pipe.model(**pipe.image_processor(IMAGE, return_tensors="pt")).logits[0]
    raw = answer(client, b64(png(IMAGE)), function_to_apply="none")
    assert scores(raw) == pytest.approx(sorted(logits.tolist(), reverse=True), abs=1e-4)
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"top_k": 0}}, "`parameters.top_k`")


def test_image_classification_batch_equals_one_by_one(pipeline):
    pipe = pipeline("image-classification")
    images = [picture(size=(40 + 8 * i, 30 + 5 * i)) for i in range(3)] + [IMAGE.convert("RGBA")]
    for one, many in zip([pipe(image, top_k=3) for image in images], pipe.batch(images, top_k=3)):
        assert [x["label"] for x in one] == [x["label"] for x in many]
        assert scores(one) == pytest.approx(scores(many), abs=1e-5)


def test_object_detection(served):
    client = served("object-detection")
    everything = answer(client, b64(png(IMAGE)), threshold=0.0)
    assert everything and scores(everything) == sorted(scores(everything), reverse=True)
    for item in everything:
        assert item["label"] in tiny_models.DETECTION_LABELS
        box = item["box"]
        assert 0 <= box["xmin"] <= box["xmax"] <= SIZE[0] + 1 and 0 <= box["ymin"] <= box["ymax"] <= SIZE[1] + 1
    cut = (everything[0]["score"] + everything[-1]["score"]) / 2
    kept = answer(client, b64(png(IMAGE)), threshold=cut)
    assert 0 < len(kept) < len(everything) and all(item["score"] >= cut for item in kept)
    assert answer(client, b64(png(IMAGE)), threshold=1.0) == []
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"threshold": 2}}, "`parameters.threshold`")


def test_image_segmentation(served):
    client = served("image-segmentation")
    segments = answer(client, b64(png(IMAGE)))
    assert {s["label"] for s in segments} <= set(tiny_models.SEGMENT_LABELS) and segments
    masks = [np.asarray(decode_png(s["mask"])) for s in segments]
    assert all(mask.shape == (SIZE[1], SIZE[0]) and set(np.unique(mask)) <= {0, 255} for mask in masks)
    assert (sum(mask > 0 for mask in masks) == 1).all()  # semantic segments cover the image once
    assert all(s["score"] is None for s in segments)
    assert same(answer(client, b64(png(IMAGE)), subtask="semantic"), segments)
    assert answer(client, b64(png(IMAGE)), threshold=0.5, mask_threshold=0.5, overlap_mask_area_threshold=0.5)
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"subtask": "panoptic"}}, "`parameters.subtask`")
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"subtask": "everything"}}, "`parameters.subtask`")


def test_zero_shot_image_classification(served):
    client = served("zero-shot-image-classification")
    labels = ["cat", "dog", "square"]
    ranked = answer(client, b64(png(IMAGE)), candidate_labels=labels)
    assert sorted(x["label"] for x in ranked) == labels and sum(scores(ranked)) == pytest.approx(1.0, abs=1e-5)
    templated = answer(client, b64(png(IMAGE)), candidate_labels=labels, hypothesis_template="a {}")
    assert scores(templated) != scores(ranked)
    refused(
        client,
        {"inputs": b64(png(IMAGE)), "parameters": {"candidate_labels": labels, "hypothesis_template": "a"}},
        "`parameters.hypothesis_template`",
    )
    refused(
        client,
        {"inputs": b64(png(IMAGE)), "parameters": {"candidate_labels": ["cat " * 100]}},
        "`parameters.candidate_labels[0]`",
    )
    refused(client, png(IMAGE), "`parameters.candidate_labels`")


def test_zero_shot_object_detection(served):
    client = served("zero-shot-object-detection")
    found = answer(client, b64(png(IMAGE)), candidate_labels=["cat", "dog"], threshold=0.0)
    assert found and {item["label"] for item in found} <= {"cat", "dog"}
    assert scores(found) == sorted(scores(found), reverse=True)
    default = answer(client, b64(png(IMAGE)), candidate_labels="cat,dog")  # threshold 0.1 by default
    assert all(item["score"] >= 0.1 for item in default) and len(default) <= len(found)
    assert answer(client, b64(png(IMAGE)), candidate_labels=["cat"], threshold=1.0) == []
    refused(client, {"inputs": b64(png(IMAGE))}, "`parameters.candidate_labels`")
    refused(
        client,
        {"inputs": b64(png(IMAGE)), "parameters": {"candidate_labels": ["a " * 40]}},
        "`parameters.candidate_labels[0]`",
    )


def test_depth_estimation(served):
    client = served("depth-estimation")
    result = answer(client, b64(png(IMAGE)))
    assert set(result) == {"depth", "predicted_depth"}
    depth = decode_png(result["depth"])
    assert depth.size == SIZE and depth.mode == "L"
    predicted = np.asarray(result["predicted_depth"])
    assert predicted.ndim == 2 and np.isfinite(predicted).all()
    assert same(client.post("/", content=png(IMAGE)).json(), result)
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"top_k": 1}}, "`parameters.top_k`")


def test_image_to_image(served):
    client = served("image-to-image")
    response = client.post("/", content=png(IMAGE))
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    upscaled = Image.open(io.BytesIO(response.content))
    assert upscaled.width >= 2 * SIZE[0] and upscaled.height >= 2 * SIZE[1]  # the model upscales by 2
    sized = client.post(
        "/", json={"inputs": b64(png(IMAGE)), "parameters": {"target_size": {"width": 50, "height": 30}}}
    )
    assert Image.open(io.BytesIO(sized.content)).size == (50, 30)
    jpeg = client.post("/", content=png(IMAGE), headers={"accept": "image/jpeg"})
    assert jpeg.headers["content-type"] == "image/jpeg"
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"prompt": "a cat"}}, "`parameters.prompt`")
    refused(
        client,
        {"inputs": b64(png(IMAGE)), "parameters": {"target_size": {"width": 0, "height": 3}}},
        "`parameters.target_size.width`",
    )


def test_mask_generation(served):
    client = served("mask-generation")
    loose = {"points_per_crop": 8, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}
    masks = answer(client, b64(png(IMAGE)), **loose)
    assert masks and scores(masks) == sorted(scores(masks), reverse=True)
    assert all(m["label"] == "" and decode_png(m["mask"]).size == SIZE for m in masks)
    strict = answer(client, b64(png(IMAGE)), points_per_crop=8, pred_iou_thresh=1.0)
    assert len(strict) <= len(masks)
    assert isinstance(answer(client, b64(png(IMAGE)), points_per_crop=3, mask_threshold=0.5), list)
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"points_per_crop": 0}}, "`parameters.points_per_crop`")
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"points_per_batch": 8}}, "`parameters.points_per_batch`")
    refused(client, {"inputs": b64(png(IMAGE)), "parameters": {"crops_n_layers": 1}}, "`parameters.crops_n_layers`")


def test_visual_question_answering(served):
    client = served("visual-question-answering")
    question = {"image": b64(png(IMAGE)), "question": "What is in the picture?"}
    answers = answer(client, question)
    assert len(answers) == 5 and scores(answers) == sorted(scores(answers), reverse=True)
    assert {a["answer"] for a in answers} == {"yes", "no", "cat", "square", "two"}
    assert same(answer(client, question, top_k=2), answers[:2])
    beside = client.post(
        "/", json={"inputs": question["image"], "question": question["question"], "image": question["image"]}
    )
    assert same(beside.json(), answers)  # what InferenceClient sends
    assert answer(client, {**question, "question": "what " * 200})  # a long question is cut
    refused(client, {"inputs": {"image": question["image"]}}, "`inputs.question`")
    refused(client, {"inputs": {"image": "bm90IGFuIGltYWdl", "question": "q"}}, "`inputs.image`")
    refused(client, {"inputs": question, "parameters": {"top_k": 0}}, "`parameters.top_k`")


def test_visual_question_answering_image_limit(served):
    client = served("visual-question-answering", max_image_pixels=1000)
    refused(client, {"inputs": {"image": b64(png(IMAGE)), "question": "q"}}, "`inputs.image`", "too large")


def test_document_question_answering(served):
    client = served("document-question-answering")
    question = {"image": b64(png(IMAGE)), "question": "What is the total?"}
    answers = answer(client, question, word_boxes=WORD_BOXES, top_k=3)
    words = [word for word, _ in WORD_BOXES]
    assert answers and len(answers) <= 3 and scores(answers) == sorted(scores(answers), reverse=True)
    for item in answers:
        assert 0 <= item["start"] <= item["end"] < len(words)
        assert item["answer"] == " ".join(words[item["start"] : item["end"] + 1])
    flat = [part for pair in WORD_BOXES for part in pair]
    assert same(answer(client, question, word_boxes=flat, top_k=3), answers)
    assert len(answer(client, question, word_boxes=WORD_BOXES)) == 1
    assert answer(client, question, word_boxes=WORD_BOXES, lang="fr", max_answer_len=1, handle_impossible_answer=True)
    refused(client, {"inputs": question}, "`parameters.word_boxes`", "OCR")
    refused(
        client,
        {"inputs": question, "parameters": {"word_boxes": [["total", [0, 0, 2000, 10]]]}},
        "`parameters.word_boxes[0]`",
        "0-1000",
    )
    refused(
        client, {"inputs": question, "parameters": {"word_boxes": [["total", [0, 0, 10]]]}}, "`parameters.word_boxes[0]"
    )
