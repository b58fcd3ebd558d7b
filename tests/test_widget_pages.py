"""The widget's pages in-process (Starlette's TestClient): negotiation, the decision in words, escaping,
security headers, every task's form. No replica is ever started: a page has no side effects."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import re
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from fakes import write_model
from starlette.requests import Request
from starlette.testclient import TestClient

from api_inference_community.gateway.app import create_gateway_app
from api_inference_community.gateway.backends.base import Replica
from api_inference_community.gateway.settings import GatewaySettings
from api_inference_community.gateway.widget import assets, cards, catalog, forms, login, pages, status
from api_inference_community.tasks.registry import TASKS

LIBRARIES = {"echo": ["feature-extraction", "fill-mask", "sentence-similarity"], "other": ["image-classification"]}
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
STATIC = Path(assets.__file__).resolve().parent / "static"
HOSTILE = '<script>alert("t")</script> & "quotes"'


class NoReplicas:
    """A backend that records starts and never runs anything."""

    name = "none"

    def __init__(self) -> None:
        self.started: List[str] = []

    def start(self, library: str, slot: str, pinned: str = "") -> Replica:
        self.started.append(slot)
        raise RuntimeError("no replicas in these tests")

    def exited(self, replica: Replica) -> bool:
        return True

    def stop(self, replica: Replica, grace: float) -> None:
        pass

    def logs(self, replica: Replica) -> str:
        return ""

    def close(self) -> None:
        pass


@pytest.fixture
def served(tmp_path) -> Iterator[tuple]:
    write_model(tmp_path, "org/text", task="feature-extraction", library="echo")
    write_model(tmp_path, "org/off", task="feature-extraction", library="echo", inference=False)
    write_model(tmp_path, "org/speech", task="automatic-speech-recognition", library="echo")
    masked = write_model(tmp_path, "org/masked", task="fill-mask", library="echo")
    (masked / "special_tokens_map.json").write_text(json.dumps({"mask_token": {"content": "<mask>"}}))
    hostile = write_model(tmp_path, "org/hostile")
    metadata = "pipeline_tag: '\"><svg onload=alert(2)>'\nlibrary_name: '<img src=x onerror=alert(1)>'"
    card = f"---\n{metadata}\n---\n# {HOSTILE}\n"
    (hostile / "README.md").write_text(card)
    (tmp_path / ".hidden" / "model").mkdir(parents=True)
    backend = NoReplicas()
    with gateway_client(tmp_path, backend) as client:
        yield client, backend


@contextlib.contextmanager
def gateway_client(models_dir: Path, backend: NoReplicas, **settings: Any) -> Iterator[TestClient]:
    """The gateway in-process over `models_dir` (its state, if any, under `models_dir/.state`)."""
    config = GatewaySettings(
        models_dir=str(models_dir), hf_hub_offline=True, hf_home=str(models_dir / ".state"), **settings
    )
    app = create_gateway_app(config, backend=backend, libraries=LIBRARIES)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def page(client: TestClient, path: str) -> tuple:
    response = client.get(path, headers=BROWSER)
    assert response.headers["content-type"].startswith("text/html"), response.text
    return response.status_code, response.text


def reason(html: str) -> str:
    import html as html_module

    found = re.search(r'<p id="reason">(.*?)</p>', html, re.S)
    assert found, html
    return html_module.unescape(found.group(1))


# ------------------------------------------------------------------ negotiation


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/html;q=0.5", "image/png"])
def test_other_clients_keep_their_json(served, accept):
    client, _ = served
    headers = {"accept": accept} if accept else {}
    assert client.get("/", headers=headers).json() == {"ok": "ok"}
    assert client.get("/models/org/text", headers=headers).json() == client.get("/status/org/text").json()


def test_browsers_get_pages_and_no_pool_starts(served):
    client, backend = served
    assert page(client, "/")[0] == 200
    status_code, html = page(client, "/models/org/text")
    assert status_code == 200 and 'id="widget"' in html
    assert 'data-endpoint="/models/org/text"' in html and 'data-renderer="embedding"' in html
    assert backend.started == []  # a page has no side effects


def test_the_status_of_a_stopped_pool_gives_the_estimate(served):
    client, _ = served
    _, html = page(client, "/models/org/text")
    assert 'data-state="stopped"' in html and 'data-estimate="10.0"' in html
    assert "The echo servers are stopped: the first request starts them (about 10 s)." in html


# ------------------------------------------------------------------ the decision in words


@pytest.mark.parametrize(
    "path, api_path, status_code, title",
    [
        ("/models/org/off", "/models/org/off", 403, "Not served: inference is turned off"),
        ("/models/org/speech", "/models/org/speech", 400, "Not served: no library serves this task"),
        ("/models/org/missing", "/models/org/missing", 404, "Unknown model"),
        ("/models/a/b/c", "/models/a/b/c", 400, "Not a model id"),
        ("/models/org/text?task=no-such-task", "/pipeline/no-such-task/org/text", 400, "no library serves"),
        ("/models/org/text?task=image-classification", "/pipeline/image-classification/org/text", 400, "no library"),
    ],
)
def test_refusal_pages_say_what_the_api_says(served, path, api_path, status_code, title):
    client, backend = served
    code, html = page(client, path)
    api = client.post(api_path, json={"inputs": "x"}, headers={"x-wait-for-model": "true"})
    assert code == api.status_code == status_code
    assert reason(html) == api.json()["error"]
    assert title in html and 'id="widget"' not in html and "<script" not in html
    assert backend.started == []


def test_an_explicit_task_the_model_answers_posts_to_its_pipeline_route(served):
    client, _ = served
    _, html = page(client, "/models/org/text?task=sentence-similarity")
    assert 'data-endpoint="/pipeline/sentence-similarity/org/text"' in html and 'data-renderer="similarity"' in html
    assert 'href="/models/org/text"' in html  # back to the card's task
    _, html = page(client, "/models/org/text")
    assert 'href="/models/org/text?task=sentence-similarity"' in html  # embeddings answer both


def test_the_fill_mask_example_uses_the_models_mask_token(served):
    client, _ = served
    _, html = page(client, "/models/org/masked")
    assert "Paris is the &lt;mask&gt; of France." in html


# ------------------------------------------------------------------ escaping and security


def test_everything_from_a_card_is_escaped(served):
    client, _ = served
    for path in ("/models/org/hostile", "/"):
        _, html = page(client, path)
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    _, html = page(client, "/models/org/hostile")
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in html  # the title


def test_pages_carry_a_strict_policy_and_no_inline_code(served):
    client, _ = served
    for path in ("/", "/models/org/text", "/models/org/off", "/models/org/masked"):
        response = client.get(path, headers=BROWSER)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe" not in policy and "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # every script is a file
        tags = re.findall(r"<[a-zA-Z][^>]*>", html)
        assert not [tag for tag in tags if re.search(r"^<style|\sstyle=|\son[a-z]+=", tag)]  # no inline style, handler
        assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing from another origin


def test_assets_are_served_from_the_package_with_etags(served):
    client, _ = served
    names = sorted(path.name for path in STATIC.iterdir())
    assert {"widget.js", "widget.css", "renderers.js"} <= set(names)
    for name in names:
        response = client.get(f"/widget/static/{name}")
        assert response.status_code == 200 and response.content == (STATIC / name).read_bytes()
        assert response.headers["content-type"].startswith(("text/javascript", "text/css"))
        assert "content-security-policy" in response.headers and response.headers["x-content-type-options"] == "nosniff"
        again = client.get(f"/widget/static/{name}", headers={"if-none-match": response.headers["etag"]})
        assert again.status_code == 304
    for missing in ("/widget/static/nope.js", "/widget/static/..%2F__init__.py", "/widget/static/"):
        response = client.get(missing)
        assert response.status_code == 404 and response.json()["error"]


def test_scripts_import_only_the_packages_own_modules():
    for path in STATIC.glob("*.js"):
        source = path.read_text()
        for target in re.findall(r'from\s+"([^"]+)"', source):
            assert target.startswith("./") and (STATIC / target[2:]).is_file(), (path.name, target)
        assert "http://" not in source.replace("http://127.0.0.1", "") and "https://" not in source
        assert "innerHTML" not in source and "eval(" not in source  # answers are set as text


# ------------------------------------------------------------------ every task's widget


def test_every_task_of_the_registry_has_a_widget():
    assert set(forms.FORMS) == set(TASKS)
    renderers_js = (STATIC / "renderers.js").read_text()
    defined = set(re.findall(r'^  "?([a-z-]+)"?: (?:async )?\(', renderers_js, re.M))
    assert defined == set(forms.RENDERERS)
    for form in forms.FORMS.values():
        assert form.renderer in forms.RENDERERS
        assert all(field.kind in forms.KINDS for field in form.fields)
        assert len({field.name for field in form.fields}) == len(form.fields)
        assert any(field.required for field in form.fields), form.task


def test_snippet_arguments_are_those_of_inference_client():
    from huggingface_hub import InferenceClient

    for form in forms.FORMS.values():
        if form.client_method is None:
            continue
        method = getattr(InferenceClient, form.client_method)
        parameters = list(inspect.signature(method).parameters)[1:]  # without self
        for field in form.fields:
            if field.arg:
                assert field.arg.split(".")[0] in parameters, (form.task, field.arg)
            elif field.arg == "":
                assert parameters, form.task  # the first, positional argument


def test_the_page_of_every_task_renders(tmp_path):
    view = status.ModelView("org/m", True, "served", library="lib", card_task="x", state=status.State("loaded", "ok"))
    for task in TASKS:
        html = pages.model_page(dataclasses.replace(view, task=task), False, login.Login("off", False, None))
        assert f'data-task="{task}"' in html and html.count("<label") >= 1
        for control in re.findall(r'id="([^"]+)" name="[^"]+"', html):
            assert f'<label for="{control}"' in html  # every control is labelled


# ------------------------------------------------------------------ login, cards, the models directory


def request_with(state: dict) -> Request:
    from starlette.datastructures import State

    app = type("App", (), {"state": State(state)})()
    return Request(
        {"type": "http", "method": "GET", "path": "/models/org/m", "headers": [], "app": app, "query_string": b""}
    )


def test_the_login_hook():
    def state(attributes: dict, mode: str) -> login.Login:
        return asyncio.run(login.login_state(request_with(attributes), mode))

    async def valid(request: Request) -> bool:
        return True

    assert not state({}, "required").signed_in and state({}, "required").blocked
    blocked = state({"login_url": "/login"}, "required")
    assert blocked.blocked and blocked.login_url == "/login?next=/models/org/m"
    assert state({"session_check": valid}, "required").signed_in  # awaitable
    assert state({"session_check": lambda request: True}, "optional").signed_in  # plain
    assert not state({"session_check": lambda request: True}, "off").signed_in  # tokens off: no login
    view = status.ModelView("org/m", True, "ok", library="l", task="feature-extraction", state=status.State("l", "w"))
    html = pages.model_page(view, False, blocked)
    assert 'href="/login?next=/models/org/m"' in html and 'data-auth="token"' in html


def test_with_tokens_required_a_page_links_the_gateways_sign_in(tmp_path):
    if "auth" not in GatewaySettings.model_fields:
        pytest.skip("this gateway has no tokens")
    write_model(tmp_path, "org/text", task="feature-extraction", library="echo")
    with gateway_client(tmp_path, NoReplicas(), auth="required") as client:
        _, html = page(client, "/models/org/text")
        login_url = client.app.state.login_url
        assert f'href="{login_url}?next=/models/org/text"' in html and 'data-auth="token"' in html
        assert client.post("/models/org/text", json={"inputs": "x"}).status_code == 401  # what the widget gets


def test_card_details(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("---\ntitle: x\n# not this\n---\n```\n# nor this\n```\n\n# The title \n# second\n")
    assert cards.card_title(readme) == "The title"
    readme.write_text("no heading")
    assert cards.card_title(readme) is None and cards.card_title(tmp_path / "missing") is None
    (tmp_path / "tokenizer_config.json").write_text('{"mask_token": "[MASK]"}')
    assert cards.mask_token(tmp_path) == "[MASK]"
    (tmp_path / "special_tokens_map.json").write_text("not json")
    assert cards.card_details(tmp_path).mask_token == "[MASK]" and cards.card_details(None) == cards.CardDetails()


def test_the_models_directory_listing(tmp_path):
    for model_id in ("org/a", "org/b", "solo", "org/no-card", "bad name/x"):
        (tmp_path / model_id).mkdir(parents=True)
        if model_id != "org/no-card":
            (tmp_path / model_id / "README.md").write_text("---\n---\n")
    (tmp_path / ".git" / "x").mkdir(parents=True)
    (tmp_path / ".git" / "x" / "README.md").write_text("")
    assert catalog.model_ids(str(tmp_path)) == ["org/a", "org/b", "solo"]
    assert catalog.model_ids(str(tmp_path), limit=2) == ["org/a", "org/b"]
    assert catalog.model_ids(None) == [] and catalog.model_ids(str(tmp_path / "missing")) == []


def test_the_browser_helper_skips_with_one_line_or_fails_when_required(monkeypatch):
    from api_inference_community.testing.browser import browser_or_skip

    pytest.importorskip("playwright")
    monkeypatch.delenv("AIC_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="^no headless Chromium: .*nonexistent"):
        browser_or_skip(executable="/nonexistent/chromium")
    monkeypatch.setenv("AIC_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="AIC_REQUIRE_BROWSER=1"):
        browser_or_skip(executable="/nonexistent/chromium")


@pytest.mark.parametrize(
    "answer, state, words",
    [
        ({"loaded": True, "state": "Loaded"}, "loaded", "Loaded: it answers at once."),
        ({"loaded": False, "state": "Loadable"}, "loadable", "Not loaded yet"),
        ({"loaded": False, "state": "Error", "error": "Model org/m failed to load"}, "error", "failed to load"),
        ({"loaded": False, "state": "TooBig"}, "error", "too large"),
        ("not json", "loadable", "Not loaded yet"),
    ],
)
def test_a_healthy_pools_state_comes_from_its_replica(answer, state, words):
    from types import SimpleNamespace

    from starlette.responses import Response

    async def replica_status(request: Request) -> Response:
        return Response(answer if isinstance(answer, str) else json.dumps(answer))

    pool = SimpleNamespace(healthy=["replica"], desired=1)
    gateway = SimpleNamespace(pools={"lib": pool})
    view = status.ModelView("org/m", True, "ok", library="lib", task="feature-extraction")
    found = asyncio.run(status.serving_state(gateway, view, request_with({}), replica_status))  # type: ignore[arg-type]
    assert found.name == state and words in found.words and found.estimated_time is None


def test_a_starting_pool_gives_what_remains_of_its_estimate():
    from types import SimpleNamespace

    pool = SimpleNamespace(healthy=[], desired=1, estimated_time=lambda: 7.4)
    gateway = SimpleNamespace(pools={"lib": pool})
    view = status.ModelView("org/m", True, "ok", library="lib", task="feature-extraction")
    found = asyncio.run(status.serving_state(gateway, view, request_with({}), None))  # type: ignore[arg-type]
    assert (found.name, found.estimated_time) == ("starting", 7.4) and "about 7 s" in found.words
    html = pages.model_page(dataclasses.replace(view, state=found), False, login.Login("off", False, None))
    assert 'data-state="starting" data-estimate="7.4"' in html
