"""huggingface_hub's InferenceClient against each task's app behind a real HTTP server, as users call it.

huggingface_hub 0.36 has no method for depth-estimation, mask-generation and
zero-shot-object-detection: those are posted with `requests`, in the shape of the specification.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
import tiny_models
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from transformers_testing import b64, decode_png, png, speech

from api_inference_community.media import decode_audio, encode_audio
from api_inference_community.testing.examples import WORD_BOXES, picture

IMAGE = png(picture(size=(64, 48)))
WAV = encode_audio(speech(1.0), 16000, "wav")


def client_of(live, task):
    return InferenceClient(live(task), timeout=120)


def test_text_classification(live):
    labels = client_of(live, "text-classification").text_classification("I like you", top_k=2)
    assert [item.label for item in labels] and len(labels) == 2
    assert labels[0].score >= labels[1].score
    every = client_of(live, "text-classification").text_classification("I like you", function_to_apply="sigmoid")
    assert sorted(item.label for item in every) == sorted(tiny_models.LABELS)


def test_token_classification(live):
    client = client_of(live, "token-classification")
    entities = client.token_classification("My name is Sarah and I live in London", ignore_labels=[])
    assert entities and all(e.entity_group and e.end >= e.start for e in entities)
    tokens = client.token_classification("My name is Sarah", aggregation_strategy="none", ignore_labels=[])
    assert all(token.entity for token in tokens)


def test_fill_mask(live):
    candidates = client_of(live, "fill-mask").fill_mask("The capital of France is [MASK].", top_k=3)
    assert len(candidates) == 3 and all(c.token_str and c.sequence for c in candidates)
    targeted = client_of(live, "fill-mask").fill_mask("The capital of France is [MASK].", targets=["paris"])
    assert [c.token_str for c in targeted] == ["paris"]


def test_question_answering(live):
    context = "My name is Sarah and I live in London."
    result = client_of(live, "question-answering").question_answering("Where do I live?", context)
    assert result.answer == context[result.start : result.end]
    several = client_of(live, "question-answering").question_answering("Where do I live?", context, top_k=2)
    assert len(several) == 2


def test_zero_shot_classification(live):
    labels = ["urgent", "phone"]
    result = client_of(live, "zero-shot-classification").zero_shot_classification(
        "My phone is broken", labels, multi_label=True, hypothesis_template="It is about {}."
    )
    assert sorted(item.label for item in result) == sorted(labels)


def test_feature_extraction(live):
    vectors = client_of(live, "feature-extraction").feature_extraction("Today is a sunny day", normalize=True)
    assert vectors.dtype == np.float32 and vectors.ndim == 2 and vectors.shape[1] == 32
    assert np.allclose(np.linalg.norm(vectors, axis=-1), 1.0, atol=1e-5)


def test_table_question_answering(live):
    table = {"Repository": ["Transformers", "Datasets"], "Stars": ["36542", "4512"]}
    result = client_of(live, "table-question-answering").table_question_answering(table, "How many stars?")
    assert isinstance(result.answer, str) and result.cells is not None


def test_summarization_translation_text2text(live):
    text = "My name is Sarah and I live in London. I work at a bakery."
    summary = client_of(live, "summarization").summarization(text, generate_parameters={"max_new_tokens": 3})
    assert isinstance(summary.summary_text, str)
    translated = client_of(live, "translation").translation("How old are you?", src_lang="en", tgt_lang="de")
    assert isinstance(translated.translation_text, str)
    with pytest.raises(HfHubHTTPError) as error:
        client_of(live, "translation").translation("How old are you?", src_lang="en", tgt_lang="xx")
    assert error.value.response.status_code == 400 and "src_lang" in error.value.response.json()["error"]
    response = requests.post(live("text2text-generation"), json={"inputs": text}, timeout=60)
    assert isinstance(response.json()[0]["generated_text"], str)  # no client method for text2text-generation


def test_text_generation(live):
    client = client_of(live, "text-generation")
    text = client.text_generation("Once upon a time,", max_new_tokens=5)
    assert isinstance(text, str) and text
    assert client.text_generation("Once upon a time,", max_new_tokens=5, do_sample=True, seed=4) == (
        client.text_generation("Once upon a time,", max_new_tokens=5, do_sample=True, seed=4)
    )
    full = client.text_generation("Once upon a time,", max_new_tokens=5, return_full_text=True)
    assert full == "Once upon a time," + text
    with pytest.warns(UserWarning, match="details"):  # refused, recognized, retried without it
        assert client.text_generation("Once upon a time,", max_new_tokens=5, details=True) == text


def test_chat_completion(live):
    client = InferenceClient(base_url=live("text-generation"), timeout=120)
    messages = [{"role": "user", "content": "Hello world"}]
    completion = client.chat_completion(messages, max_tokens=4, seed=1)
    assert completion.choices[0].message.role == "assistant"
    assert isinstance(completion.choices[0].message.content, str)
    assert completion.usage.completion_tokens <= 4 and completion.choices[0].finish_reason in ("stop", "length")
    assert client.chat.completions.create(messages=messages, max_tokens=4, seed=1).choices[0].message.content == (
        completion.choices[0].message.content
    )


def test_image_tasks(live):
    labels = client_of(live, "image-classification").image_classification(IMAGE, top_k=2)
    assert len(labels) == 2 and labels[0].label in tiny_models.IMAGE_LABELS
    detections = client_of(live, "object-detection").object_detection(IMAGE, threshold=0.0)
    assert detections and all(d.box.xmax >= d.box.xmin for d in detections)
    segments = client_of(live, "image-segmentation").image_segmentation(IMAGE)
    assert segments and all(segment.mask.size == (64, 48) for segment in segments)  # decoded to PIL by the client
    ranked = client_of(live, "zero-shot-image-classification").zero_shot_image_classification(
        IMAGE, candidate_labels=["cat", "dog"]
    )
    assert sorted(item.label for item in ranked) == ["cat", "dog"]
    caption = client_of(live, "image-to-text").image_to_text(IMAGE)
    assert isinstance(caption.generated_text, str)
    upscaled = client_of(live, "image-to-image").image_to_image(IMAGE)
    assert upscaled.width >= 128
    resized = client_of(live, "image-to-image").image_to_image(IMAGE, target_size={"width": 20, "height": 10})
    assert resized.size == (20, 10)


def test_image_and_question_tasks(live):
    answers = client_of(live, "visual-question-answering").visual_question_answering(IMAGE, "What is it?", top_k=2)
    assert len(answers) == 2 and answers[0].score >= answers[1].score
    document = client_of(live, "document-question-answering").document_question_answering(
        IMAGE, "What is the total?", word_boxes=WORD_BOXES, top_k=2
    )
    assert document and all(item.start <= item.end for item in document)


def test_tasks_without_a_client_method(live):
    depth = requests.post(live("depth-estimation"), data=IMAGE, timeout=60).json()
    assert decode_png(depth["depth"]).size == (64, 48)
    masks = requests.post(
        live("mask-generation"),
        json={
            "inputs": b64(IMAGE),
            "parameters": {"points_per_crop": 8, "pred_iou_thresh": 0, "stability_score_thresh": 0},
        },
        timeout=60,
    ).json()
    assert masks and decode_png(masks[0]["mask"]).size == (64, 48)
    found = requests.post(
        live("zero-shot-object-detection"),
        json={"inputs": b64(IMAGE), "parameters": {"candidate_labels": ["cat", "dog"], "threshold": 0.0}},
        timeout=60,
    ).json()
    assert found and {item["label"] for item in found} <= {"cat", "dog"}


def test_audio_tasks(live):
    transcript = client_of(live, "automatic-speech-recognition").automatic_speech_recognition(WAV)
    assert isinstance(transcript.text, str)
    labels = client_of(live, "audio-classification").audio_classification(WAV, top_k=2)
    assert len(labels) == 2
    audio = client_of(live, "text-to-speech").text_to_speech("Hello world")
    assert decode_audio(audio, 16000).size > 0
