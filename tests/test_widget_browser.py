"""The inference widget in a real headless Chromium, against a real gateway (`process` backend).

One gateway and one browser for the module. The models directory is the demo one of `make serve`
(scripts/demo_models.py) plus the refusals of tests/test_gateway_live.py and a model left unloaded
(the loading state). Each case fills a model's form (text typed, a generated file uploaded or
dropped), submits it, and checks the rendered answer against the API's JSON for the same input;
its screenshot is kept (the folder is printed at the end). The last test checks that the browser
asked for nothing but the gateway.

Cases are grouped by task family; tests/test_widget_transformers.py adds the transformers image's
through the same `Case`, `run_case` and `RENDER_CHECKS`.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence

import pytest
import requests
from fakes import write_model
from media_samples import gradient, image_bytes, pcm_wav, sine
from PIL import Image

from api_inference_community.testing.browser import Browser, artefacts_dir, browser_or_skip
from api_inference_community.testing.live import LiveServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TEXT = "sentence-transformers/all-MiniLM-L6-v2"
IMAGE = "timm/tiny-demo-classifier"
LOADING = "org/loading-copy"  # the text model's files under an id nothing loads before the loading test
LOCAL_SCHEMES = ("blob:", "data:", "about:")
SENTENCES = ["A cat naps on the sofa", "Stocks fell sharply today"]  # the page's example
TOLERANCE = 1e-5
ANSWERED = "() => !document.getElementById('result').hidden || !document.getElementById('error').hidden"


# ------------------------------------------------------------------ the gateway and the browser


def demo_models() -> Any:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import demo_models as module
    finally:
        sys.path.pop(0)
    return module


def build_models_dir(directory: Path) -> Path:
    """The demo models, the refusals of the gateway's live tests, and a model left unloaded."""
    demo = demo_models()
    demo.link_text_model(directory / TEXT)
    demo.link_text_model(directory / LOADING)
    demo.build_image_model(directory / IMAGE)
    write_model(
        directory, "org/turned-off", task="feature-extraction", library="sentence-transformers", inference=False
    )
    write_model(directory, "org/speech", task="automatic-speech-recognition", library="sentence-transformers")
    return directory


@contextlib.contextmanager
def live_gateway(models: Path, hf_home: Path, libraries: str, pinned: str) -> Iterator[LiveServer]:
    """A gateway process with one replica per library, ready once its pinned models are loaded."""
    env = {
        "MODELS_DIR": str(models),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(hf_home),
        "GATEWAY_LIBRARIES": libraries,
        "GATEWAY_REPLICAS": "1",
        "POOL_HEALTH_INTERVAL": "0.5",
        "SHUTDOWN_GRACE": "5",
        "PINNED_MODELS": pinned,
    }
    server = LiveServer("", env, command=[sys.executable, "-m", "api_inference_community", "gateway"])
    try:
        server.wait_until("/ready", 200, 300)
        yield server
    finally:
        code = server.stop(60)
        assert code == 0, server.logs()[-3000:]


@contextlib.contextmanager
def screenshots_reported(request: pytest.FixtureRequest, name: str) -> Iterator[Path]:
    """The screenshots folder of a module, printed when the module ends."""
    folder = artefacts_dir(name)
    yield folder
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\nwidget screenshots: {folder}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = browser_or_skip()
    try:
        yield chromium
    finally:
        chromium.stop()


@pytest.fixture(scope="module")
def shots(request) -> Iterator[Path]:
    with screenshots_reported(request, "widget") as folder:
        yield folder


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, browser) -> Iterator[LiveServer]:
    models = build_models_dir(tmp_path_factory.mktemp("models"))
    pinned = f"{TEXT},{TEXT}:feature-extraction,{IMAGE}"  # as `make serve`
    with live_gateway(models, tmp_path_factory.mktemp("hf"), "sentence_transformers,timm", pinned) as server:
        yield server


# ------------------------------------------------------------------ generated media


def png(seed: int = 0) -> bytes:
    return image_bytes(gradient((64, 48)).rotate(seed * 90), "PNG")


def wav(seconds: float = 1.0) -> bytes:
    return pcm_wav((sine(440.0, seconds, 16000) * 32767).astype("int16"), 16000, "pcm_s16le", "s16")


MEDIA: Dict[str, Callable[[], bytes]] = {"image": png, "audio": wav}
SUFFIX = {"image": ".png", "audio": ".wav"}
MIME = {"image": "image/png", "audio": "audio/wav"}


# ------------------------------------------------------------------ one case


@dataclass
class Case:
    """One call through the widget: what is typed and sent, the same call to the API, how to compare."""

    name: str
    model: str
    task: Optional[str] = None  # an explicit task (`?task=` on the page, `/pipeline/{task}/{id}` for the API)
    fields: Mapping[str, str] = field(default_factory=dict)  # control id -> text typed
    media: Optional[str] = None  # "image" or "audio": a generated file for the media field
    drop: bool = False  # dropped onto the field instead of chosen in its picker
    body: Any = None  # the API's JSON body; `MEDIA` stands for the file, base64 (None: the raw file)
    renderer: str = "labels"
    exact: bool = True  # deterministic model: the rendered values equal the API's

    @property
    def page(self) -> str:
        return f"/models/{self.model}" + (f"?task={self.task}" if self.task else "")

    @property
    def endpoint(self) -> str:
        return f"/pipeline/{self.task}/{self.model}" if self.task else f"/models/{self.model}"


MEDIA_MARK = "MEDIA"


def with_media(value: Any, encoded: str) -> Any:
    if value == MEDIA_MARK:
        return encoded
    if isinstance(value, dict):
        return {key: with_media(item, encoded) for key, item in value.items()}
    return value


def api_answer(gateway: LiveServer, case: Case, media: Optional[bytes]) -> Any:
    """The API's answer to the same input, through the same route."""
    url = gateway.url + case.endpoint
    headers = {"x-wait-for-model": "true"}
    if case.body is None:
        assert media is not None
        response = requests.post(url, data=media, headers=headers, timeout=300)
    else:
        encoded = base64.b64encode(media).decode() if media else ""
        response = requests.post(url, json=with_media(case.body, encoded), headers=headers, timeout=300)
    assert response.status_code == 200, response.text
    return response.json() if "json" in response.headers.get("content-type", "") else response.content


def drop_file(browser: Browser, field_name: str, content: bytes, filename: str, mime: str) -> None:
    """Drop a file onto a media field, as a drag from the desktop does."""
    transfer = browser.page.evaluate_handle(
        """([bytes, name, type]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, { type }));
            return transfer;
        }""",
        [list(content), filename, mime],
    )
    browser.page.dispatch_event(f'[data-drop="{field_name}"]', "drop", {"dataTransfer": transfer})


def run_case(browser: Browser, gateway: LiveServer, case: Case, folder: Path, tmp_path: Path) -> Any:
    """Fill the widget, submit, wait for the result; check it against the API's answer. Returns the latter."""
    assert browser.open(gateway.url + case.page) == 200
    browser.wait_for("#widget[data-ready]", state="attached")
    for control, text in case.fields.items():
        browser.fill(f"#{control}", text)
    media = MEDIA[case.media]() if case.media else None
    if case.media and media is not None:
        if case.drop:
            drop_file(browser, case.media, media, f"dropped{SUFFIX[case.media]}", MIME[case.media])
        else:
            path = tmp_path / f"{case.name}{SUFFIX[case.media]}"
            path.write_bytes(media)
            browser.upload(f"#{case.media}", path)
        browser.wait_for(f"#{case.media}-preview")
    before = len(browser.errors)
    browser.click("#compute")
    browser.page.wait_for_function(ANSWERED, timeout=300_000)
    browser.screenshot(folder / f"{case.name}.png")
    assert browser.page.is_hidden("#error"), browser.text("#error")
    assert not [e for e in browser.errors[before:] if "pageerror" in e or "Content Security Policy" in e]
    answer = api_answer(gateway, case, media)
    RENDER_CHECKS[case.renderer](browser, answer, case)
    usage = dict(
        browser.page.eval_on_selector_all("#usage dd", "dds => dds.map(d => [d.dataset.header, d.textContent])")
    )
    assert float(usage["x-compute-time"]) >= 0 and len(usage["x-request-id"]) == 32
    assert any(header in usage for header in ("x-compute-characters", "x-compute-images", "x-compute-audio-length"))
    return answer


# ------------------------------------------------------------------ the rendered answer against the API's


def close(a: float, b: float) -> bool:
    return math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def attributes(browser: Browser, selector: str, *names: str) -> List[List[Optional[str]]]:
    script = f"nodes => nodes.map(n => [{', '.join(f'n.getAttribute({name!r})' for name in names)}])"
    return browser.page.eval_on_selector_all(selector, script)


def label_scores(answer: Any) -> List[tuple]:
    """The API's labels and scores, in the shapes the `labels` renderer reads."""
    if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], list):
        answer = answer[0]
    if isinstance(answer, dict) and "labels" in answer:
        return list(zip(answer["labels"], answer["scores"]))
    items = answer if isinstance(answer, list) else [answer]
    return [(item.get("label", item.get("answer")), item.get("score")) for item in items]


def check_scored(browser: Browser, expected: Sequence[tuple], selector: str, case: Case) -> None:
    shown = attributes(browser, selector, "data-label", "data-score")
    assert [label for label, _ in shown] == [str(label) for label, _ in expected] or not case.exact
    assert len(shown) == len(expected)
    if case.exact:
        assert all(close(s, e) for (_, s), (_, e) in zip(shown, expected) if e is not None), (shown, expected)


def check_labels(browser: Browser, answer: Any, case: Case) -> None:
    check_scored(browser, label_scores(answer), "#output ol.labels li", case)


def check_embedding(browser: Browser, answer: Any, case: Case) -> None:
    shape, first = [], answer
    while isinstance(first, list):
        shape.append(len(first))
        vector, first = first, first[0] if first else None
    assert browser.page.get_attribute("#output .shape", "data-shape") == "x".join(map(str, shape))
    values = [float(v) for [v] in attributes(browser, "#output ol.values li", "data-value")]
    assert len(values) == min(8, len(vector))
    assert all(close(a, b) for a, b in zip(values, vector)) or not case.exact, (values, vector[:8])


def check_similarity(browser: Browser, answer: Any, case: Case) -> None:
    shown = [float(s) for [s] in attributes(browser, "#output table.similarity tbody tr", "data-score")]
    assert len(shown) == len(answer) and all(close(a, b) for a, b in zip(shown, answer)), (shown, answer)
    sentences = browser.page.eval_on_selector_all("#output tbody th", "ths => ths.map(th => th.textContent)")
    assert sentences == case.body["inputs"]["sentences"]


def check_entities(browser: Browser, answer: Any, case: Case) -> None:
    shown = attributes(browser, "#output ol.entities li", "data-label", "data-word", "data-score")
    expected = [(e.get("entity_group", e.get("entity")), e["word"], e["score"]) for e in answer]
    assert [row[:2] for row in shown] == [list(row[:2]) for row in expected]
    assert all(close(a[2], b[2]) for a, b in zip(shown, expected))
    marked = browser.page.eval_on_selector_all("#output mark", "marks => marks.map(m => m.firstChild.textContent)")
    text = case.fields["text"]
    assert all(word in text for word in marked) and len(marked) <= len(expected)


def check_fill_mask(browser: Browser, answer: Any, case: Case) -> None:
    check_scored(browser, [(item["token_str"], item["score"]) for item in answer], "#output ol.fill-mask li", case)


def check_answer(browser: Browser, answer: Any, case: Case) -> None:
    answers = answer if isinstance(answer, list) else [answer]
    assert text_of(browser, "#output p.answer") == answers[0]["answer"]
    check_scored(browser, [(item["answer"], item["score"]) for item in answers], "#output ol.labels li", case)
    marked = browser.page.eval_on_selector_all("#output mark", "marks => marks.map(m => m.firstChild.textContent)")
    assert marked == ([answers[0]["answer"]] if answers[0]["answer"] else [])


def check_table_answer(browser: Browser, answer: Any, case: Case) -> None:
    assert text_of(browser, "#output p.answer") == answer["answer"]


def generated_text(answer: Any) -> str:
    item = answer[0] if isinstance(answer, list) else answer
    for key in ("generated_text", "summary_text", "translation_text", "text", "answer"):
        if isinstance(item, dict) and isinstance(item.get(key), str):
            return item[key]
    raise AssertionError(f"no generated text in {answer!r}")


def check_text(browser: Browser, answer: Any, case: Case) -> None:
    shown = text_of(browser, "#output p.generated")
    assert shown == generated_text(answer) or (not case.exact and isinstance(shown, str))


def check_boxes(browser: Browser, answer: Any, case: Case) -> None:
    shown = attributes(browser, "#output ol.boxes li", "data-label", "data-box", "data-score")
    expected = [
        (d["label"], ",".join(str(d["box"][k]) for k in ("xmin", "ymin", "xmax", "ymax")), d["score"]) for d in answer
    ]
    assert [row[:2] for row in shown] == [list(row[:2]) for row in expected]
    assert all(close(a[2], b[2]) for a, b in zip(shown, expected))
    assert browser.page.query_selector("#output canvas") is not None  # drawn over the image


def check_masks(browser: Browser, answer: Any, case: Case) -> None:
    check_scored(browser, [(item["label"], item["score"]) for item in answer], "#output ol.masks li", case)
    assert browser.page.query_selector("#output canvas") is not None  # overlaid on the image


def natural_size(browser: Browser, selector: str) -> List[int]:
    browser.page.wait_for_function(f"() => document.querySelector({selector!r})?.naturalWidth > 0")
    return browser.page.eval_on_selector(selector, "img => [img.naturalWidth, img.naturalHeight]")


def check_depth(browser: Browser, answer: Any, case: Case) -> None:
    rows = answer["predicted_depth"]
    assert browser.page.get_attribute("#output figcaption", "data-shape") == f"{len(rows)}x{len(rows[0])}"
    depth = Image.open(io.BytesIO(base64.b64decode(answer["depth"])))
    assert natural_size(browser, "#output img.depth") == list(depth.size)


def check_image(browser: Browser, answer: Any, case: Case) -> None:
    assert natural_size(browser, "#output img.answer-image") == list(Image.open(io.BytesIO(answer)).size)


def check_audio(browser: Browser, answer: Any, case: Case) -> None:
    from api_inference_community import media

    browser.wait_for("#output .audio-info[data-duration]", state="attached")
    shown = float(browser.page.get_attribute("#output .audio-info", "data-duration"))
    assert abs(shown - len(media.decode_audio(answer, 16000)) / 16000) < 0.1


def text_of(browser: Browser, selector: str) -> str:
    return browser.page.eval_on_selector(selector, "node => node.textContent")


RENDER_CHECKS: Dict[str, Callable[[Browser, Any, Case], None]] = {
    "labels": check_labels,
    "embedding": check_embedding,
    "similarity": check_similarity,
    "entities": check_entities,
    "fill-mask": check_fill_mask,
    "answer": check_answer,
    "table-answer": check_table_answer,
    "text": check_text,
    "boxes": check_boxes,
    "masks": check_masks,
    "depth": check_depth,
    "image": check_image,
    "audio": check_audio,
}


# ------------------------------------------------------------------ the cases, by task family

TEXT_CASES = [
    Case(
        "feature-extraction",
        TEXT,
        task="feature-extraction",
        fields={"text": "The widget shows embeddings"},
        body={"inputs": "The widget shows embeddings"},
        renderer="embedding",
    ),
    Case(
        "sentence-similarity",
        TEXT,
        fields={"source_sentence": "A dog runs in the park", "sentences": "A puppy plays outside\n\nMarkets rallied"},
        body={
            "inputs": {
                "source_sentence": "A dog runs in the park",
                "sentences": ["A puppy plays outside", "Markets rallied"],
            }
        },
        renderer="similarity",
    ),
]
IMAGE_CASES = [
    Case(
        "image-classification",
        IMAGE,
        fields={"top_k": "3"},
        media="image",
        body={"inputs": MEDIA_MARK, "parameters": {"top_k": 3}},
    ),
    Case("image-classification-dropped", IMAGE, media="image", drop=True),
]


@pytest.mark.parametrize("case", TEXT_CASES + IMAGE_CASES, ids=lambda case: case.name)
def test_the_widget_answers_as_the_api(browser, gateway, shots, tmp_path, case):
    run_case(browser, gateway, case, shots, tmp_path)


def run_snippet(command: List[str], tmp_path: Path) -> Any:
    """Run a copied snippet as a person would (online: huggingface_hub refuses URLs when offline); its output."""
    env = {name: value for name, value in os.environ.items() if name != "HF_HUB_OFFLINE"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return ast.literal_eval(result.stdout.strip())


def test_the_page_of_a_loaded_model_and_its_snippets(browser, gateway, shots, tmp_path):
    assert browser.open(f"{gateway.url}/models/{TEXT}") == 200
    assert browser.text("#title") == "all-MiniLM-L6-v2"  # the card's heading
    assert browser.text("#library") == "sentence_transformers" and browser.text("#task") == "sentence-similarity"
    assert browser.page.get_attribute("#status", "data-state") == "loaded"
    browser.wait_for("#widget[data-ready]", state="attached")
    browser.fill("#source_sentence", "It's a 'quoted' cat")
    python, curl = browser.text("#snippet-python"), browser.text("#snippet-curl")
    assert f'InferenceClient("{gateway.url}/models/{TEXT}")' in python
    assert "client.sentence_similarity(\"It's a 'quoted' cat\", other_sentences=[" in python
    assert """'{"inputs":{"source_sentence":"It'\\''s a '\\''quoted'\\'' cat",""" in curl  # shell quoting
    browser.screenshot(shots / "snippets.png")
    # the snippets reproduce the call: the same answer as the API's
    body = {"inputs": {"source_sentence": "It's a 'quoted' cat", "sentences": SENTENCES}}
    api = requests.post(f"{gateway.url}/models/{TEXT}", json=body, timeout=60).json()
    by_python = run_snippet([sys.executable, "-c", python], tmp_path)
    by_curl = run_snippet(["bash", "-c", curl], tmp_path)
    assert all(close(a, b) and close(a, c) for a, b, c in zip(api, by_python, by_curl)) and len(by_curl) == len(api)


def test_the_loading_state_shows_the_estimate_then_waits(browser, gateway, shots):
    seen: List[tuple] = []

    def record(request: Any) -> None:
        seen.append((request.method, request.url, request.headers.get("x-wait-for-model")))

    browser.page.on("request", record)
    assert browser.open(f"{gateway.url}/models/{LOADING}") == 200
    assert browser.page.get_attribute("#status", "data-state") == "loadable"
    browser.wait_for("#widget[data-ready]", state="attached")
    browser.click("#compute")
    browser.wait_for("#result", timeout_s=300)
    progress = browser.page.locator("#progress")
    assert progress.get_attribute("data-waited") == "true"
    assert "estimated" in progress.inner_text() and float(progress.get_attribute("data-estimate")) > 0
    posts = [(url, wait) for method, url, wait in seen if method == "POST"]
    assert posts == [(f"{gateway.url}/models/{LOADING}", None), (f"{gateway.url}/models/{LOADING}", "true")]
    browser.page.remove_listener("request", record)
    assert len(attributes(browser, "#output table.similarity tbody tr", "data-score")) == 2  # its card's task
    browser.screenshot(shots / "loading-waited.png")


@pytest.mark.parametrize(
    "model, status, heading",
    [
        ("org/turned-off", 403, "inference is turned off"),
        ("org/speech", 400, "no library serves this task"),
        ("org/missing", 404, "Unknown model"),
    ],
)
def test_refusal_pages_say_why_as_the_api_does(browser, gateway, shots, model, status, heading):
    assert browser.open(f"{gateway.url}/models/{model}") == status
    browser.wait_for("#refusal")
    assert heading in browser.text("#refusal-title")
    api = requests.post(f"{gateway.url}/models/{model}", json={"inputs": "x"}, timeout=30)
    assert api.status_code == status and browser.text("#reason") == api.json()["error"]
    assert browser.page.query_selector("#widget") is None
    browser.screenshot(shots / f"refusal-{model.replace('/', '-')}.png")


def test_errors_show_the_apis_message(browser, gateway, shots):
    assert browser.open(f"{gateway.url}/models/{TEXT}") == 200
    browser.wait_for("#widget[data-ready]", state="attached")
    browser.fill("#sentences", " ")
    sent = len(browser.requests)
    browser.click("#compute")
    browser.wait_for("#error")  # checked in the page: nothing sent, the field has the focus
    assert len(browser.requests) == sent
    assert browser.text("#error") == "Sentences to compare is required"
    assert browser.page.evaluate("document.activeElement.id") == "sentences"
    assert browser.open(f"{gateway.url}/models/{IMAGE}") == 200
    browser.wait_for("#widget[data-ready]", state="attached")
    browser.click("button[data-sample=image]")
    browser.wait_for("#image-preview")
    browser.fill("#top_k", "0")
    browser.click("#compute")
    browser.page.wait_for_function(ANSWERED, timeout=300_000)
    body = {"inputs": base64.b64encode(png()).decode(), "parameters": {"top_k": 0}}
    api = requests.post(f"{gateway.url}/models/{IMAGE}", json=body, timeout=60)
    assert api.status_code == 400
    error = api.json()["error"]
    assert browser.text("#error") == "Error 400: " + (error if isinstance(error, str) else "; ".join(error))
    assert browser.page.is_hidden("#result")
    browser.screenshot(shots / "error.png")


def test_a_newcomer_picks_each_demo_model_from_the_index(browser, gateway, shots):
    """The README's promise: open the index, pick the bundled model, see its result; the same for the image model."""
    assert browser.open(gateway.url + "/") == 200
    libraries = browser.page.eval_on_selector_all("#libraries tbody th", "ths => ths.map(th => th.textContent)")
    assert libraries == ["sentence_transformers", "timm"]
    rows = dict(attributes(browser, "#models tbody tr", "data-model", "data-model"))
    assert {TEXT, IMAGE, LOADING, "org/turned-off", "org/speech"} <= set(rows)
    browser.screenshot(shots / "index.png")
    for model, prepare, shown in (
        (TEXT, None, "#output table.similarity tbody tr"),
        (IMAGE, "button[data-sample=image]", "#output ol.labels li"),
    ):
        browser.open(gateway.url + "/")
        browser.click(f'#models a[href="/models/{model}"]')
        browser.wait_for("#widget[data-ready]", state="attached")
        if prepare:
            browser.click(prepare)
            browser.wait_for("#image-preview")
        browser.page.focus("#compute")
        browser.page.keyboard.press("Enter")  # the keyboard is enough
        browser.page.wait_for_function(ANSWERED, timeout=300_000)
        assert browser.page.is_hidden("#error") and browser.page.query_selector_all(shown)
        browser.screenshot(shots / f"newcomer-{model.split('/')[0]}.png")
    assert requests.get(gateway.url + "/", timeout=10).json() == {"ok": "ok"}  # other clients: JSON


def assert_only_local(browser: Browser, gateway: LiveServer) -> None:
    """Every request the browser made went to the gateway; one for another host cannot go out."""
    from playwright.sync_api import Error as PlaywrightError

    assert browser.requests
    others = [url for url in browser.requests if not url.startswith((gateway.url + "/", *LOCAL_SCHEMES))]
    assert others == []
    page = browser.page.context.new_page()
    try:
        with pytest.raises(PlaywrightError, match="ERR_PROXY_CONNECTION_FAILED"):
            page.goto("http://example.com/", timeout=10_000)
    finally:
        page.close()


def test_no_request_left_the_machine(browser, gateway):
    assert_only_local(browser, gateway)
