"""The usage dashboard: its login (a session cookie, never the token), its pages, and the same page in
a real headless Chromium, whose rendered numbers are checked against the database (screenshot saved)."""

from __future__ import annotations

import contextlib
import re
from typing import Iterator
from urllib.parse import quote

import pytest
import requests
from huggingface_hub import InferenceClient
from sqlalchemy import func, select
from starlette.testclient import TestClient
from usage_support import (
    AUDIO_MODEL,
    IMAGE_MODEL,
    LIBRARIES,
    TEXT_MODEL,
    VECTOR_MODEL,
    UsageBackend,
    bearer,
    flush,
    gateway_client,
    refresh_tokens,
    settings,
)

from api_inference_community.gateway.app import create_gateway_app
from api_inference_community.gateway.usage import storage
from api_inference_community.gateway.usage.schema import usage_requests
from api_inference_community.gateway.usage.sessions import COOKIE
from api_inference_community.testing.live import ThreadedServer

TRAFFIC = [  # (model, body): what the dashboard then shows
    (TEXT_MODEL, {"inputs": "hello world"}),
    (TEXT_MODEL, {"inputs": "four"}),
    (TEXT_MODEL, {"inputs": "bad", "status": 400}),
    (TEXT_MODEL, {"inputs": "oops", "status": 500}),
    (IMAGE_MODEL, {"inputs": "", "images": 2}),
    (IMAGE_MODEL, {"inputs": "", "images": 1}),
    (AUDIO_MODEL, {"inputs": "", "audio": 3.5}),
]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dashboard")
    with gateway_client(folder, f"sqlite:///{folder / 'usage.db'}", auth="required") as client:
        yield client


@contextlib.contextmanager
def signed_out(client: TestClient) -> Iterator[TestClient]:
    """The module's client as a browser without cookies (then forgetting the ones it got)."""
    client.cookies.clear()
    try:
        yield client
    finally:
        client.cookies.clear()


def token(client, name: str, admin: bool = False) -> str:
    return storage.create_token(client.app.state.usage.engine, name, admin=admin)[0]


def send_traffic(client, secret: str) -> None:
    for model, body in TRAFFIC:
        client.post(f"/models/{model}", json=body, headers=bearer(secret))
    flush(client)


def login(client, secret: str, next_path: str = ""):
    query = f"?next={quote(next_path)}" if next_path else ""
    return client.post(f"/dashboard/login{query}", data={"token": secret}, follow_redirects=False)


def figure(html: str, name: str) -> str:
    match = re.search(rf'class="value" data-figure="{name}" data-value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def test_login_sets_a_strict_httponly_session_cookie_never_the_token(gateway):
    secret = token(gateway, "cookie")
    with signed_out(gateway) as browser:
        page = browser.get("/dashboard")
        assert page.status_code == 200 and 'name="token"' in page.text and "data-figure" not in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        refused = login(browser, "aic_" + "w" * 43)
        assert refused.status_code == 401 and "Invalid token" in refused.text and COOKIE not in refused.cookies
        answer = login(browser, secret)
        assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/" in cookie and secret not in cookie and secret[12:] not in cookie
        signed_in = browser.get("/dashboard")
        assert (
            signed_in.status_code == 200 and 'data-figure="caller"' in signed_in.text and secret not in signed_in.text
        )
        assert browser.post("/dashboard/logout", follow_redirects=False).status_code == 303
        assert 'name="token"' in browser.get("/dashboard").text


def test_a_session_ends_with_its_token_or_when_forged(gateway):
    secret = token(gateway, "ending")
    with signed_out(gateway) as browser:
        login(browser, secret)
        value = browser.cookies[COOKIE]
        ident, expires, signature = value.split(".")
        browser.cookies.clear()
        browser.cookies.set(COOKIE, f"{ident}.{int(expires) + 9999}.{signature}")
        assert 'name="token"' in browser.get("/dashboard").text  # a forged expiry: signed out
        browser.cookies.clear()
        browser.cookies.set(COOKIE, value)
        assert "data-figure" in browser.get("/dashboard").text
        storage.revoke_token(gateway.app.state.usage.engine, "ending")
        refresh_tokens(gateway)
        assert 'name="token"' in browser.get("/dashboard").text
        again = login(browser, secret)
        assert again.status_code == 401 and "revoked" in again.text


def test_the_session_is_the_widgets_login_too(gateway):
    secret = token(gateway, "widget")
    with signed_out(gateway) as browser:
        page = browser.get("/dashboard/login", params={"next": "/models/org/text"})
        assert 'action="/dashboard/login?next=%2Fmodels%2Forg%2Ftext"' in page.text
        answer = login(browser, secret, "/models/org/text")
        assert answer.status_code == 303 and answer.headers["location"] == "/models/org/text"
        # the browser's calls carry the cookie: inference passes with it in `required` mode
        call = browser.post(
            f"/models/{TEXT_MODEL}", json={"inputs": "from the page"}, headers={"x-wait-for-model": "1"}
        )
        assert call.status_code == 200 and call.json()["seen"] == {"authorization": False, "cookie": False}
        assert gateway.app.state.login_url == "/dashboard/login"
    for unsafe in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"):
        with signed_out(gateway) as browser:
            assert login(browser, secret, unsafe).headers["location"] == "/dashboard"


def test_cross_site_posts_are_refused(gateway):
    secret = token(gateway, "origin")
    with signed_out(gateway) as browser:
        answer = browser.post(
            "/dashboard/login",
            data={"token": secret},
            headers={"origin": "https://evil.example"},
            follow_redirects=False,
        )
        assert answer.status_code == 403 and "Cross-site" in answer.json()["error"]
        large = browser.post("/dashboard/login", content=b"token=" + b"a" * 10_000, follow_redirects=False)
        assert large.status_code == 413


def test_the_dashboard_shows_the_usage_json_figures(gateway):
    secret, admin = token(gateway, "figures"), token(gateway, "figures-admin", admin=True)
    send_traffic(gateway, secret)
    page = gateway.get("/dashboard", headers=bearer(secret)).text
    totals = gateway.get("/usage", headers=bearer(secret)).json()["totals"]
    assert figure(page, "requests") == str(totals["requests"]) == "7"
    assert float(figure(page, "characters")) == totals["characters"] == 22
    assert float(figure(page, "images")) == totals["images"] == 3
    assert float(figure(page, "audio_seconds")) == totals["audio_seconds"] == 3.5
    assert float(figure(page, "error_rate")) == totals["error_rate"]
    assert float(figure(page, "p95")) == totals["latency_ms"]["p95"]
    assert 'data-table="by-token"' not in page  # only an admin sees other tokens
    one_model = gateway.get("/dashboard", params={"model": IMAGE_MODEL}, headers=bearer(secret)).text
    assert figure(one_model, "requests") == "2" and f'<option value="{IMAGE_MODEL}" selected>' in one_model
    everyone = gateway.get("/dashboard", headers=bearer(admin)).text
    assert 'data-table="by-token"' in everyone and 'data-key="figures"' in everyone
    assert gateway.get("/dashboard", params={"from": "nonsense"}, headers=bearer(secret)).status_code == 400


def test_static_assets_are_the_packages_own(gateway):
    css = gateway.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css") and ".chart" in css.text
    for name in ("missing.css", ".hidden.css", "dashboard.py", "..."):
        assert gateway.get(f"/dashboard/static/{name}").status_code == 404
    escaped = gateway.get("/dashboard/static/..%2Fdashboard.py")  # not this route's: the gateway's catch-all
    assert "def dashboard_page" not in escaped.text


# ------------------------------------------------------------------ a real browser


def test_the_dashboard_in_headless_chromium_matches_the_database(tmp_path):
    from api_inference_community.testing.browser import artefacts_dir, browser_or_skip

    config = settings(tmp_path, f"sqlite:///{tmp_path / 'usage.db'}", auth="required")
    app = create_gateway_app(config, UsageBackend(), LIBRARIES)
    server = ThreadedServer(app, name="dashboard-gateway")
    try:
        service = app.state.usage
        secret, viewer = storage.create_token(service.engine, "viewer")
        other = storage.create_token(service.engine, "someone-else")[0]
        for model, body in TRAFFIC * 2:
            requests.post(f"{server.url}/models/{model}", json=body, headers=bearer(secret), timeout=30)
        requests.post(
            f"{server.url}/models/{TEXT_MODEL}", json={"inputs": "not mine"}, headers=bearer(other), timeout=30
        )
        # what a newcomer does: InferenceClient with the token
        client = InferenceClient(f"{server.url}/models/{VECTOR_MODEL}", token=secret)
        assert client.feature_extraction("Today is a sunny day").tolist() == [0.5, 0.25, 0.125]
        assert service.recorder.drained(30)
        with service.engine.connect() as connection:
            mine = usage_requests.c.token_id == viewer.id
            count, characters, images, audio = connection.execute(
                select(
                    func.count(),
                    func.sum(usage_requests.c.characters),
                    func.sum(usage_requests.c.images),
                    func.sum(usage_requests.c.audio_seconds),
                ).where(mine)
            ).one()
            errors = connection.execute(select(func.count()).where(mine, usage_requests.c.status >= 400)).scalar()
            by_model = dict(
                connection.execute(
                    select(usage_requests.c.model, func.count()).where(mine).group_by(usage_requests.c.model)
                ).all()
            )

        browser = browser_or_skip()
        try:
            assert browser.open(f"{server.url}/dashboard") == 200
            browser.fill("#token", secret)
            browser.click("button[type=submit]")
            browser.wait_for(".summary")
            shot = browser.screenshot(artefacts_dir("dashboard") / "dashboard.png")
            print(f"dashboard screenshot: {shot}")
            summary = {
                name: browser.text(f'.summary [data-figure="{name}"]')
                for name in ("requests", "characters", "images", "audio_seconds", "error_rate")
            }
            shown = {name: float(text.replace(",", "").removesuffix(" %")) for name, text in summary.items()}
            assert shown == {
                "requests": count,
                "characters": characters,
                "images": images,
                "audio_seconds": audio,
                "error_rate": round(100 * errors / count, 2),
            }
            assert summary["error_rate"].endswith(" %") and count > 10
            assert by_model[VECTOR_MODEL] == 1  # the InferenceClient call, on the dashboard too
            for model, requests_of_model in by_model.items():
                cell = f'[data-table="by-model"] tr[data-key="{model}"] [data-figure="requests"]'
                assert browser.text(cell) == str(requests_of_model)
            assert browser.page.evaluate("document.cookie") == ""  # HttpOnly: no script can read the session
            assert secret not in browser.page.content()
            assert len(browser.page.query_selector_all("svg.chart")) == 6
            # the model filter, as a person uses it
            browser.page.select_option('select[name="model"]', IMAGE_MODEL)
            browser.click(".filters button[type=submit]")
            browser.wait_for(f'option[value="{IMAGE_MODEL}"][selected]', state="attached")
            assert browser.text('.summary [data-figure="requests"]') == str(by_model[IMAGE_MODEL])
            browser.screenshot(artefacts_dir("dashboard") / "dashboard-image-model.png")
            assert browser.errors == []  # no script error, no CSP violation
            assert all(url.startswith(server.url) for url in browser.requests)  # nothing from elsewhere
        finally:
            browser.stop()
    finally:
        server.stop()
