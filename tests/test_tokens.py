"""API tokens: their lifecycle (CLI), every way a request can be refused, and rate limits.

The lifecycle runs on SQLite and on PostgreSQL; refusals and limits (the same code whatever the
database) on one SQLite gateway with GATEWAY_AUTH=required; the optional and off modes get their
own small gateways.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import select
from usage_support import (
    DATABASES,
    TEXT_MODEL,
    WAIT,
    bearer,
    database_url,
    flush,
    gateway_client,
    refresh_tokens,
)

from api_inference_community.gateway.usage import storage
from api_inference_community.gateway.usage.limits import Limiter
from api_inference_community.gateway.usage.schema import tokens as tokens_table
from api_inference_community.gateway.usage.tokens import looks_like_token, token_hash
from api_inference_community.maintainers.cli import main

BODY = {"inputs": "hello"}


@pytest.fixture(scope="module", params=DATABASES)
def db(request, tmp_path_factory):
    with database_url(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(scope="module")
def db_gateway(db, tmp_path_factory):
    with gateway_client(tmp_path_factory.mktemp("gateway"), db, auth="required") as client:
        yield client


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite-gateway")
    with gateway_client(folder, f"sqlite:///{folder / 'usage.db'}", auth="required") as client:
        yield client


def new_token(client, name, **limits) -> str:
    secret, _ = storage.create_token(client.app.state.usage.engine, name, **limits)
    return secret


def cli(capsys, monkeypatch, db, *args: str):
    monkeypatch.setenv("DATABASE_URL", db)
    code = main(["gateway", "tokens", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_token_lifecycle_through_the_cli(db_gateway, db, capsys, monkeypatch):
    gateway = db_gateway
    code, out, err = cli(capsys, monkeypatch, db, "create", "--name", "carol", "--rate-limit", "100")
    secret = out.strip()
    assert code == 0 and looks_like_token(secret) and "shown only this once" in err
    # it works at once on the running gateway (an unknown token makes it read the table again)
    assert gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)).status_code == 200
    # listed by name and prefix, never by value; the database holds only its hash
    code, out, _ = cli(capsys, monkeypatch, db, "list")
    assert code == 0 and "carol" in out and secret[:12] in out and secret not in out
    with gateway.app.state.usage.engine.connect() as connection:
        row = connection.execute(select(tokens_table).where(tokens_table.c.name == "carol")).one()
    assert row.hash == token_hash(secret) and secret not in [str(value) for value in row]
    # a second active token of that name is refused
    code, _, err = cli(capsys, monkeypatch, db, "create", "--name", "carol")
    assert code == 2 and "already named 'carol'" in err
    # revoked: refused as such once the gateway reads the table again (every GATEWAY_TOKEN_REFRESH s)
    code, _, err = cli(capsys, monkeypatch, db, "revoke", "carol")
    assert code == 0 and "revoked carol" in err
    refresh_tokens(gateway)
    refused = gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret))
    assert refused.status_code == 401 and refused.json() == {"error": "This token was revoked"}
    code, out, _ = cli(capsys, monkeypatch, db, "list")
    assert "carol" not in out
    code, out, _ = cli(capsys, monkeypatch, db, "list", "--all", "--json")
    assert '"revoked_at": "20' in out
    code, _, err = cli(capsys, monkeypatch, db, "revoke", "carol")
    assert code == 2 and "no active token" in err


@pytest.mark.parametrize(
    "authorization, reason, message",
    [
        (None, "missing", "A token is required"),
        ("Basic dXNlcjpwYXNz", "malformed", "must be `Bearer <token>`"),
        ("Bearer", "malformed", "must be `Bearer <token>`"),
        ("Bearer    ", "malformed", "must be `Bearer <token>`"),
        ("Bearer not-a-token", "unknown", "Invalid token"),
        ("Bearer aic_" + "x" * 43, "unknown", "Invalid token"),
        ("Bearer aic_" + "y" * 400, "unknown", "Invalid token"),
    ],
)
def test_every_auth_failure_is_a_json_401(gateway, authorization, reason, message):
    headers = dict(WAIT) if authorization is None else {**WAIT, "authorization": authorization}
    before = gateway.get("/metrics").text
    response = gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=headers)
    assert response.status_code == 401 and message in response.json()["error"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/json"
    assert (
        _count(gateway.get("/metrics").text, f'aic_gateway_auth_failures_total{{reason="{reason}"}}')
        == _count(before, f'aic_gateway_auth_failures_total{{reason="{reason}"}}') + 1
    )


def _count(metrics: str, series: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def test_the_token_reaches_no_replica_log_metric_or_page(gateway, caplog):
    secret = new_token(gateway, "dave", admin=True)
    with caplog.at_level(logging.DEBUG):
        response = gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret))
        assert response.status_code == 200
        assert response.json()["seen"] == {"authorization": False, "cookie": False}  # stripped by the proxy
        gateway.post("/models/org/missing", json=BODY, headers=bearer(secret))
        flush(gateway)
        pages = [
            gateway.get("/metrics").text,
            gateway.get("/usage", headers=bearer(secret)).text,
            gateway.get("/dashboard", headers=bearer(secret)).text,
        ]
    metrics = pages[0]
    assert 'aic_gateway_token_requests_total{model="org/text",token="dave"}' in metrics
    assert 'aic_gateway_token_requests_total{model="-",token="dave"}' in metrics  # an unknown model: no label
    for text in [caplog.text, *pages]:
        assert secret not in text and secret[12:] not in text


def test_rate_limit_429_and_its_reset(gateway):
    secret = new_token(gateway, "erin", rate_limit=3)
    limiter = gateway.app.state.usage.gatekeeper.limiter
    now = [1000.0]
    limiter.clock = lambda: now[0]
    try:
        statuses = [gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)) for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        refused = statuses[-1]
        assert refused.headers["retry-after"] == "20"  # 3 per minute: one more every 20 s
        assert "3 requests per minute" in refused.json()["error"]
        now[0] += 19.5
        assert gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)).status_code == 429
        now[0] += 0.5  # the reset: one request may pass again, and only one
        assert gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)).status_code == 200
        assert gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)).status_code == 429
        now[0] += 60  # a quiet minute: the whole burst again
        assert all(
            gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)).status_code == 200
            for _ in range(3)
        )
    finally:
        limiter.clock = time.monotonic
    metrics = gateway.get("/metrics").text
    assert _count(metrics, 'aic_gateway_rate_limited_total{limit="rate",token="erin"}') == 3


def test_concurrency_limit(gateway):
    secret, token = storage.create_token(gateway.app.state.usage.engine, "frank", concurrency=1)
    token_id = token.id
    limiter = gateway.app.state.usage.gatekeeper.limiter
    slow = {}
    thread = threading.Thread(
        target=lambda: slow.setdefault(
            "response",
            gateway.post(f"/models/{TEXT_MODEL}", json={"inputs": "x", "delay": 1.0}, headers=bearer(secret)),
        )
    )
    thread.start()
    deadline = time.monotonic() + 10
    while limiter.in_flight(token_id) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    refused = gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "1 at a time" in refused.json()["error"]
    thread.join(30)
    assert slow["response"].status_code == 200
    assert limiter.in_flight(token_id) == 0  # given back once the answer was sent
    assert gateway.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)).status_code == 200
    assert 'aic_gateway_rate_limited_total{limit="concurrency",token="frank"} 1.0' in gateway.get("/metrics").text


def test_optional_mode_anonymous_callers_get_their_own_limits(tmp_path):
    with gateway_client(tmp_path, f"sqlite:///{tmp_path / 'usage.db'}", anonymous_rate_limit=2) as client:
        secret = new_token(client, "grace")
        anonymous = [client.post(f"/models/{TEXT_MODEL}", json=BODY, headers=WAIT).status_code for _ in range(3)]
        assert anonymous == [200, 200, 429]
        assert client.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)).status_code == 200
        wrong = client.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer("aic_" + "z" * 43))
        assert wrong.status_code == 401  # a wrong gateway token is never taken for no token
        # a token that is not the gateway's (InferenceClient sends the user's Hugging Face token): anonymous
        client.app.state.usage.gatekeeper.limiter = Limiter()
        foreign = client.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer("hf_" + "h" * 34))
        assert foreign.status_code == 200 and foreign.json()["seen"]["authorization"] is False
        assert client.get("/usage").status_code == 401  # anonymous callers have no usage page
        assert 'aic_gateway_rate_limited_total{limit="rate",token="anonymous"} 1.0' in client.get("/metrics").text


def test_auth_off_reads_no_token(tmp_path):
    with gateway_client(tmp_path, f"sqlite:///{tmp_path / 'usage.db'}", auth="off") as client:
        for headers in (WAIT, bearer("aic_" + "z" * 43), {**WAIT, "authorization": "Basic x"}):
            assert client.post(f"/models/{TEXT_MODEL}", json=BODY, headers=headers).status_code == 200
        flush(client)
        assert client.get("/usage").json()["totals"]["requests"] == 3  # open: everything, as anonymous


def test_tokens_without_usage_recording(tmp_path):
    with gateway_client(tmp_path, f"sqlite:///{tmp_path / 'usage.db'}", auth="required", usage=False) as client:
        secret, token = storage.create_token(client.app.state.usage.engine, "henry", concurrency=1)
        for _ in range(3):  # the slot in flight is given back every time
            assert client.post(f"/models/{TEXT_MODEL}", json=BODY, headers=bearer(secret)).status_code == 200
        assert client.post(f"/models/{TEXT_MODEL}", json=BODY, headers=WAIT).status_code == 401
        assert client.app.state.usage.recorder is None
        assert client.get("/usage", headers=bearer(secret)).json()["totals"]["requests"] == 0
        assert 'aic_gateway_token_requests_total{model="org/text",token="henry"} 3.0' in client.get("/metrics").text
