"""huggingface_hub's InferenceClient against a server of each task, as users call it: one call per task.

Each takes the URL of a server of its task (the image's app in-process, or its container in the
Docker harness, which reads `CLIENT_CALLS` through tests/models.py). huggingface_hub 0.36 has no
method for depth-estimation, mask-generation, zero-shot-object-detection and text2text-generation:
those are posted with `requests`, in the shape of the specification.
"""

from __future__ import annotations

from typing import Callable, Dict

import numpy as np
import requests
import tiny_models
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from transformers_testing import b64, decode_png, png, speech

from api_inference_community.media import decode_audio, encode_audio
from api_inference_community.testing.examples import WORD_BOXES, picture

IMAGE = png(picture(size=(64, 48)))
WAV = encode_audio(speech(1.0), 16000, "wav")
TEXT = "My name is Sarah and I live in London. I work at a bakery."


def client(url: str) -> InferenceClient:
    return InferenceClient(url, timeout=120)


def text_classification(url: str) -> None:
    labels = client(url).text_classification("I like you", top_k=2)
    assert [item.label for item in labels] and len(labels) == 2
    assert labels[0].score >= labels[1].score
    every = client(url).text_classification("I like you", function_to_apply="sigmoid")
    assert sorted(item.label for item in every) == sorted(tiny_models.LABELS)


def token_classification(url: str) -> None:
    entities = client(url).token_classification("My name is Sarah and I live in London", ignore_labels=[])
    assert entities and all(e.entity_group and e.end >= e.start for e in entities)
    tokens = client(url).token_classification("My name is Sarah", aggregation_strategy="none", ignore_labels=[])
    assert all(token.entity for token in tokens)


def fill_mask(url: str) -> None:
    candidates = client(url).fill_mask("The capital of France is [MASK].", top_k=3)
    assert len(candidates) == 3 and all(c.token_str and c.sequence for c in candidates)
    targeted = client(url).fill_mask("The capital of France is [MASK].", targets=["paris"])
    assert [c.token_str for c in targeted] == ["paris"]


def question_answering(url: str) -> None:
    context = "My name is Sarah and I live in London."
    result = client(url).question_answering("Where do I live?", context)
    assert result.answer == context[result.start : result.end]
    assert len(client(url).question_answering("Where do I live?", context, top_k=2)) == 2


def zero_shot_classification(url: str) -> None:
    labels = ["urgent", "phone"]
    result = client(url).zero_shot_classification(
        "My phone is broken", labels, multi_label=True, hypothesis_template="It is about {}."
    )
    assert sorted(item.label for item in result) == sorted(labels)


def feature_extraction(url: str) -> None:
    vectors = client(url).feature_extraction("Today is a sunny day", normalize=True)
    assert vectors.dtype == np.float32 and vectors.ndim == 2 and vectors.shape[1] == 32
    assert np.allclose(np.linalg.norm(vectors, axis=-1), 1.0, atol=1e-5)


def table_question_answering(url: str) -> None:
    table = {"Repository": ["Transformers", "Datasets"], "Stars": ["36542", "4512"]}
    result = client(url).table_question_answering(table, "How many stars?")
    assert isinstance(result.answer, str) and result.cells is not None


def summarization(url: str) -> None:
    summary = client(url).summarization(TEXT, generate_parameters={"max_new_tokens": 3})
    assert isinstance(summary.summary_text, str)


def translation(url: str) -> None:
    assert isinstance(client(url).translation("How old are you?", src_lang="en", tgt_lang="de").translation_text, str)
    try:
        client(url).translation("How old are you?", src_lang="en", tgt_lang="xx")
    except HfHubHTTPError as error:
        assert error.response.status_code == 400 and "src_lang" in error.response.json()["error"]
    else:
        raise AssertionError("an unknown language pair was not refused")


def text2text_generation(url: str) -> None:
    response = requests.post(url, json={"inputs": TEXT}, timeout=60)
    assert isinstance(response.json()[0]["generated_text"], str)


def text_generation(url: str) -> None:
    text = client(url).text_generation("Once upon a time,", max_new_tokens=5)
    assert isinstance(text, str) and text
    sampled = [client(url).text_generation("Once upon a time,", max_new_tokens=5, do_sample=True, seed=4) for _ in "ab"]
    assert sampled[0] == sampled[1]
    assert client(url).text_generation("Once upon a time,", max_new_tokens=5, return_full_text=True) == (
        "Once upon a time," + text
    )
    chat = InferenceClient(base_url=url, timeout=120)
    completion = chat.chat_completion([{"role": "user", "content": "Hello world"}], max_tokens=4, seed=1)
    assert completion.choices[0].message.role == "assistant"
    assert isinstance(completion.choices[0].message.content, str) and completion.usage.completion_tokens <= 4


def image_classification(url: str) -> None:
    labels = client(url).image_classification(IMAGE, top_k=2)
    assert len(labels) == 2 and labels[0].label in tiny_models.IMAGE_LABELS


def object_detection(url: str) -> None:
    detections = client(url).object_detection(IMAGE, threshold=0.0)
    assert detections and all(d.box.xmax >= d.box.xmin for d in detections)


def image_segmentation(url: str) -> None:
    segments = client(url).image_segmentation(IMAGE)
    assert segments and all(segment.mask.size == (64, 48) for segment in segments)  # decoded to PIL by the client


def zero_shot_image_classification(url: str) -> None:
    ranked = client(url).zero_shot_image_classification(IMAGE, candidate_labels=["cat", "dog"])
    assert sorted(item.label for item in ranked) == ["cat", "dog"]


def image_to_text(url: str) -> None:
    assert isinstance(client(url).image_to_text(IMAGE).generated_text, str)


def image_to_image(url: str) -> None:
    assert client(url).image_to_image(IMAGE).width >= 128
    assert client(url).image_to_image(IMAGE, target_size={"width": 20, "height": 10}).size == (20, 10)


def visual_question_answering(url: str) -> None:
    answers = client(url).visual_question_answering(IMAGE, "What is it?", top_k=2)
    assert len(answers) == 2 and answers[0].score >= answers[1].score


def document_question_answering(url: str) -> None:
    document = client(url).document_question_answering(IMAGE, "What is the total?", word_boxes=WORD_BOXES, top_k=2)
    assert document and all(item.start <= item.end for item in document)


def depth_estimation(url: str) -> None:
    depth = requests.post(url, data=IMAGE, timeout=60).json()
    assert decode_png(depth["depth"]).size == (64, 48)


def mask_generation(url: str) -> None:
    parameters = {"points_per_crop": 8, "pred_iou_thresh": 0, "stability_score_thresh": 0}
    masks = requests.post(url, json={"inputs": b64(IMAGE), "parameters": parameters}, timeout=60).json()
    assert masks and decode_png(masks[0]["mask"]).size == (64, 48)


def zero_shot_object_detection(url: str) -> None:
    parameters = {"candidate_labels": ["cat", "dog"], "threshold": 0.0}
    found = requests.post(url, json={"inputs": b64(IMAGE), "parameters": parameters}, timeout=60).json()
    assert found and {item["label"] for item in found} <= {"cat", "dog"}


def automatic_speech_recognition(url: str) -> None:
    assert isinstance(client(url).automatic_speech_recognition(WAV).text, str)


def audio_classification(url: str) -> None:
    assert len(client(url).audio_classification(WAV, top_k=2)) == 2


def text_to_speech(url: str) -> None:
    assert decode_audio(client(url).text_to_speech("Hello world"), 16000).size > 0


CLIENT_CALLS: Dict[str, Callable[[str], None]] = {
    "audio-classification": audio_classification,
    "automatic-speech-recognition": automatic_speech_recognition,
    "depth-estimation": depth_estimation,
    "document-question-answering": document_question_answering,
    "feature-extraction": feature_extraction,
    "fill-mask": fill_mask,
    "image-classification": image_classification,
    "image-segmentation": image_segmentation,
    "image-to-image": image_to_image,
    "image-to-text": image_to_text,
    "mask-generation": mask_generation,
    "object-detection": object_detection,
    "question-answering": question_answering,
    "summarization": summarization,
    "table-question-answering": table_question_answering,
    "text-classification": text_classification,
    "text-generation": text_generation,
    "text-to-speech": text_to_speech,
    "text2text-generation": text2text_generation,
    "token-classification": token_classification,
    "translation": translation,
    "visual-question-answering": visual_question_answering,
    "zero-shot-classification": zero_shot_classification,
    "zero-shot-image-classification": zero_shot_image_classification,
    "zero-shot-object-detection": zero_shot_object_detection,
}
