"""The inference widget for every task of the transformers image, in headless Chromium, against a gateway.

The image's own tiny models (docker_images/transformers/tests/models.py, random weights, built
offline) are laid out as a models directory, one `aic-test/<task>` folder per task with a card
naming the task; the gateway serves them with the `process` backend. Its pool is cold at first:
the first case sees the estimate and waits. Then every task's widget is filled, submitted and
checked against the API's answer for the same input (cases by task family: text, image, audio).
Skipped when the image or its libraries are not here.
"""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests
from test_widget_browser import (
    ANSWERED,
    MEDIA_MARK,
    RENDER_CHECKS,
    Case,
    assert_only_local,
    live_gateway,
    run_case,
    screenshots_reported,
)

from api_inference_community.gateway.widget.forms import FORMS
from api_inference_community.testing.browser import Browser, browser_or_skip
from api_inference_community.testing.live import LiveServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
IMAGE_TESTS = ROOT / "docker_images" / "transformers" / "tests"
CARD = "---\nlibrary_name: transformers\npipeline_tag: {task}\n---\n# Tiny {task} model\n\nRandom weights, for tests.\n"
TABLE = "Repository,Stars\nTransformers,36542\nDatasets,4512"
FAKE_MICROPHONE = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")  # a beep, no prompt
WORD_BOXES = [["Invoice", [50, 40, 250, 90]], ["total", [50, 600, 200, 650]], ["42", [600, 600, 700, 650]]]


def model(task: str) -> str:
    return f"aic-test/{task}"


def image_test_models() -> Any:
    if not (IMAGE_TESTS / "models.py").is_file():
        pytest.skip("no transformers image in this checkout")
    pytest.importorskip("transformers")
    spec = importlib.util.spec_from_file_location("transformers_image_test_models", IMAGE_TESTS / "models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_models_dir(directory: Path, built: Path) -> Dict[str, str]:
    """One folder per task: the image's tiny model's files (linked) and a card naming the task."""
    models = image_test_models().build_test_models(built)
    for task, entry in models.items():
        folder = directory / model(task)
        folder.mkdir(parents=True, exist_ok=True)
        for path in Path(entry["path"]).iterdir():
            if path.name != "README.md":
                (folder / path.name).symlink_to(path.resolve())
        (folder / "README.md").write_text(CARD.format(task=task))
    return {task: model(task) for task in models}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = browser_or_skip(args=FAKE_MICROPHONE)
    try:
        yield chromium
    finally:
        chromium.stop()


@pytest.fixture(scope="module")
def shots(request) -> Iterator[Path]:
    with screenshots_reported(request, "widget-transformers") as folder:
        yield folder


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, browser) -> Iterator[LiveServer]:
    models = tmp_path_factory.mktemp("models")
    build_models_dir(models, tmp_path_factory.mktemp("built"))
    with live_gateway(models, tmp_path_factory.mktemp("hf"), "transformers", pinned="") as server:
        yield server


# ------------------------------------------------------------------ the cases, by task family


def text_case(task: str, text: str, renderer: str, parameters: Any = None, **fields: str) -> Case:
    body: Dict[str, Any] = {"inputs": text}
    if parameters:
        body["parameters"] = parameters
    return Case(task, model(task), fields={"text": text, **fields}, body=body, renderer=renderer)


def image_case(task: str, renderer: str, parameters: Any = None, **fields: str) -> Case:
    body = {"inputs": MEDIA_MARK, "parameters": parameters} if parameters else None
    return Case(task, model(task), fields=fields, media="image", body=body, renderer=renderer)


QUESTION = {"question": "Where do I live?", "context": "My name is Sarah and I live in London."}
TEXT_CASES: List[Case] = [
    text_case("text-classification", "I like you", "labels", {"top_k": 2}, top_k="2"),
    text_case("token-classification", "My name is Sarah and I live in London.", "entities"),
    text_case("fill-mask", "Paris is the [MASK] of France.", "fill-mask", {"top_k": 3}, top_k="3"),
    Case(
        "question-answering", model("question-answering"), fields=QUESTION, body={"inputs": QUESTION}, renderer="answer"
    ),
    text_case(
        "zero-shot-classification",
        "I love you",
        "labels",
        {"candidate_labels": ["urgent", "phone"]},
        candidate_labels="urgent, phone",
    ),
    text_case("feature-extraction", "Hello world", "embedding"),
    text_case("text-generation", "Once upon a time", "text", {"max_new_tokens": 5}, max_new_tokens="5"),
    text_case(
        "summarization",
        "the story of a bakery in London.",
        "text",
        {"generate_parameters": {"max_new_tokens": 5}},
        max_new_tokens="5",
    ),
    text_case("translation", "How old are you?", "text"),
    text_case("text2text-generation", "Hello world", "text", {"max_new_tokens": 5}, max_new_tokens="5"),
    Case(
        "table-question-answering",
        model("table-question-answering"),
        fields={"query": "How many stars does Transformers have?", "table": TABLE},
        body={
            "inputs": {
                "query": "How many stars does Transformers have?",
                "table": {"Repository": ["Transformers", "Datasets"], "Stars": ["36542", "4512"]},
            }
        },
        renderer="table-answer",
    ),
    text_case("text-to-speech", "Hello world", "audio"),
]
IMAGE_CASES: List[Case] = [
    image_case("image-classification", "labels", {"top_k": 2}, top_k="2"),
    image_case("object-detection", "boxes", {"threshold": 0.0}, threshold="0"),
    image_case("image-segmentation", "masks", {"threshold": 0.0}, threshold="0"),
    image_case(
        "zero-shot-image-classification", "labels", {"candidate_labels": ["cat", "dog"]}, candidate_labels="cat, dog"
    ),
    image_case(
        "zero-shot-object-detection",
        "boxes",
        {"candidate_labels": ["square", "circle"], "threshold": 0.0},
        candidate_labels="square, circle",
        threshold="0",
    ),
    image_case("image-to-text", "text"),
    image_case("depth-estimation", "depth"),
    image_case("image-to-image", "image"),
    image_case("mask-generation", "masks"),
    Case(
        "visual-question-answering",
        model("visual-question-answering"),
        fields={"question": "What is in the picture?"},
        media="image",
        body={"inputs": {"image": MEDIA_MARK, "question": "What is in the picture?"}},
    ),
    Case(
        "document-question-answering",
        model("document-question-answering"),
        fields={"question": "What is the total?"},  # the word boxes: the form's example
        media="image",
        body={
            "inputs": {"image": MEDIA_MARK, "question": "What is the total?"},
            "parameters": {"word_boxes": WORD_BOXES},
        },
    ),
]
AUDIO_CASES: List[Case] = [
    Case("automatic-speech-recognition", model("automatic-speech-recognition"), media="audio", renderer="text"),
    Case(
        "audio-classification",
        model("audio-classification"),
        fields={"top_k": "2"},
        media="audio",
        body={"inputs": MEDIA_MARK, "parameters": {"top_k": 2}},
    ),
]
CASES = TEXT_CASES + IMAGE_CASES + AUDIO_CASES


def test_the_cases_follow_the_forms():
    for case in CASES:
        names = {field.name for field in FORMS[case.name].fields}
        assert set(case.fields) <= names, case.name
        assert FORMS[case.name].renderer == case.renderer, case.name


def test_a_cold_pool_shows_its_estimate_then_the_widget_waits(browser, gateway, shots, tmp_path):
    assert browser.open(f"{gateway.url}/models/{model('text-classification')}") == 200
    assert browser.page.get_attribute("#status", "data-state") == "stopped"
    assert float(browser.page.get_attribute("#status", "data-estimate")) > 0
    browser.screenshot(shots / "cold-pool.png")
    run_case(browser, gateway, TEXT_CASES[0], shots, tmp_path)
    progress = browser.page.locator("#progress")
    assert progress.get_attribute("data-waited") == "true" and "estimated" in progress.inner_text()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_task_answers_as_the_api(browser, gateway, shots, tmp_path, case):
    run_case(browser, gateway, case, shots, tmp_path)


def test_speech_recorded_from_the_microphone(browser, gateway, shots):
    """Recording (Chromium's fake microphone), then the same bytes sent to the API: the same transcription."""
    task = "automatic-speech-recognition"
    assert browser.open(f"{gateway.url}/models/{model(task)}") == 200
    browser.wait_for("#widget[data-ready]", state="attached")
    browser.click("button.record")
    browser.wait_for('button.record[aria-pressed="true"]', state="attached")
    browser.page.wait_for_timeout(1500)
    browser.click("button.record")
    browser.wait_for("#audio-preview")
    assert browser.text("#audio-chosen").startswith("recording.")
    cdp = browser.page.context.new_cdp_session(browser.page)  # what the page posts, as the DevTools see it
    cdp.send("Network.enable")
    posted: List[str] = []

    def sent(event: Dict[str, Any]) -> None:
        if event["request"]["method"] == "POST":
            posted.append(event["requestId"])

    cdp.on("Network.requestWillBeSent", sent)
    browser.click("#compute")
    browser.page.wait_for_function(ANSWERED, timeout=300_000)
    assert browser.page.is_hidden("#error"), browser.text("#error")
    browser.screenshot(shots / "recorded.png")
    body = cdp.send("Network.getRequestPostData", {"requestId": posted[-1]})
    recorded = base64.b64decode(body["postData"]) if body.get("base64Encoded") else body["postData"].encode()
    assert recorded[:4] == b"\x1a\x45\xdf\xa3"  # WebM, as MediaRecorder made it
    answer = requests.post(
        f"{gateway.url}/models/{model(task)}", data=recorded, headers={"x-wait-for-model": "true"}, timeout=120
    )
    assert answer.status_code == 200, answer.text
    RENDER_CHECKS["text"](browser, answer.json(), Case(task, model(task), renderer="text"))
    seconds = browser.text('#usage dd[data-header="x-compute-audio-length"]')
    assert 1.0 < float(seconds) < 3.0  # about the 1.5 s recorded
    cdp.detach()


def test_no_request_left_the_machine(browser, gateway):
    assert_only_local(browser, gateway)
