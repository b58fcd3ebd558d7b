"""Usage rows and roll-ups, on SQLite and on a real PostgreSQL: one gateway per database.

Rows must match the requests made exactly (one per request, with its caller, model, status and
figures), the daily roll-ups must equal the sums of the raw rows, and `GET /usage` must answer
those figures to whom may read them.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from usage_support import (
    AUDIO_MODEL,
    DATABASES,
    IMAGE_MODEL,
    TEXT_MODEL,
    WAIT,
    bearer,
    database_url,
    flush,
    gateway_client,
)

from api_inference_community.gateway.usage import storage
from api_inference_community.gateway.usage.records import UsageRecord, latency_bucket, utcnow
from api_inference_community.gateway.usage.schema import usage_daily, usage_requests

STATUSES = (200, 200, 200, 400, 500)


@pytest.fixture(scope="module", params=DATABASES)
def gateway(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    with database_url(request.param, folder / "db") as url:
        with gateway_client(folder, url, anonymous_rate_limit=0, anonymous_concurrency=0) as client:
            yield client


@pytest.fixture(scope="module")
def reader(gateway) -> str:
    return storage.create_token(gateway.app.state.usage.engine, "reader")[0]


def engine(client):
    return client.app.state.usage.engine


def tokens(client, *names: str, admin: bool = False) -> dict:
    return {name: storage.create_token(engine(client), name, admin=admin) for name in names}


def rows_since(client, started) -> list:
    with engine(client).connect() as connection:
        return list(connection.execute(select(usage_requests).where(usage_requests.c.ts >= started)))


def plan(secrets: dict) -> list:
    """(caller's secret or None, model, body): every caller x model, several statuses and sizes."""
    requests = []
    for index in range(60):
        secret = [None, *secrets.values()][index % (len(secrets) + 1)]
        model = (TEXT_MODEL, IMAGE_MODEL, AUDIO_MODEL, "org/missing")[index % 4]
        body = {"inputs": "x" * (index % 7 + 1), "status": STATUSES[index % len(STATUSES)], "delay": 0.01}
        if model == IMAGE_MODEL:
            body["images"] = 1 + index % 2
        if model == AUDIO_MODEL:
            body["audio"] = 1.25
        requests.append((secret, model, body))
    return requests


def test_rows_match_the_requests_of_a_concurrent_burst(gateway):
    started = utcnow()
    made = tokens(gateway, "burst-a", "burst-b")
    ids = {secret: token.id for secret, token in made.values()}
    gateway.post(f"/models/{TEXT_MODEL}", json={"inputs": ""}, headers=WAIT)  # the pool up, not counted below
    started = utcnow()

    def send(item):
        secret, model, body = item
        content = json.dumps(body).encode()
        headers = {**(bearer(secret) if secret else WAIT), "content-type": "application/json"}
        response = gateway.post(f"/models/{model}", content=content, headers=headers)
        return secret, model, body, len(content), response

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, plan({name: secret for name, (secret, _) in made.items()})))
    flush(gateway)
    expected, seen = Counter(), Counter()
    for secret, model, body, size, response in answers:
        routed = model != "org/missing"
        assert response.status_code == (body["status"] if routed else 404)
        key = (
            ids.get(secret, 0),
            model,
            response.status_code,
            len(body["inputs"]) if routed else 0,
            body.get("images", 0) if routed else 0,
            body.get("audio", 0.0) if routed else 0.0,
            size if routed else 0,  # the body of a refused request is never read
            len(response.content),
        )
        expected[key] += 1
    rows = rows_since(gateway, started)
    for row in rows:
        seen[
            (
                row.token_id,
                row.model,
                row.status,
                row.characters,
                row.images,
                row.audio_seconds,
                row.request_bytes,
                row.response_bytes,
            )
        ] += 1
        assert row.latency_ms > 0
        assert row.compute_ms == (pytest.approx(2.0) if row.model != "org/missing" else None)
        assert row.library == ("usage" if row.model != "org/missing" else "none")
    assert seen == expected and len(rows) == len(answers) == 60


def test_rollups_equal_the_raw_rows(gateway):
    secret, _ = tokens(gateway, "rollup")["rollup"]
    for index in range(12):
        body = {"inputs": "y" * index, "status": STATUSES[index % len(STATUSES)], "images": index % 3}
        gateway.post(f"/models/{IMAGE_MODEL}", json=body, headers=bearer(secret))
    flush(gateway)
    with engine(gateway).connect() as connection:
        raw = list(connection.execute(select(usage_requests)))
        daily = {(r.day, r.token_id, r.model): r for r in connection.execute(select(usage_daily))}
    sums: dict = defaultdict(Counter)
    for row in raw:
        key = (row.ts.date(), row.token_id, row.model)
        sums[key].update(
            requests=1,
            client_errors=int(400 <= row.status < 500),
            server_errors=int(row.status >= 500),
            characters=row.characters,
            images=row.images,
            request_bytes=row.request_bytes,
            response_bytes=row.response_bytes,
        )
        sums[key]["audio_seconds"] += row.audio_seconds
        sums[key]["latency_ms_sum"] += row.latency_ms
        sums[key]["compute_seconds"] += (row.compute_ms or 0) / 1000
        sums[key][f"latency_{latency_bucket(row.latency_ms):02d}"] += 1
    assert set(daily) == set(sums) and len(raw) >= 12
    for key, expected in sums.items():
        for name, value in expected.items():
            assert getattr(daily[key], name) == pytest.approx(value), (key, name)
        counted = sum(getattr(daily[key], f"latency_{bucket:02d}") for bucket in range(40))
        assert counted == expected["requests"], key  # every request in one latency bucket


def test_usage_json_for_a_token_an_admin_and_nobody(gateway):
    (alice, _), (admin, _) = (
        tokens(gateway, "json-alice")["json-alice"],
        tokens(gateway, "json-admin", admin=True)["json-admin"],
    )
    for index in range(5):
        gateway.post(
            f"/models/{TEXT_MODEL}", json={"inputs": "abc", "status": 200 if index else 500}, headers=bearer(alice)
        )
    gateway.post(f"/models/{AUDIO_MODEL}", json={"inputs": "", "audio": 2.5}, headers=bearer(alice))
    gateway.post(f"/models/{TEXT_MODEL}", json={"inputs": "zz"}, headers=bearer(admin))
    flush(gateway)
    today = utcnow().date()

    own = gateway.get("/usage", headers=bearer(alice)).json()
    assert own["token"] == "json-alice" and own["group_by"] == "day" and len(own["groups"]) == 30
    assert own["to"] == today.isoformat() and own["groups"][-1]["day"] == today.isoformat()
    totals = own["totals"]
    assert (totals["requests"], totals["characters"], totals["audio_seconds"], totals["server_errors"]) == (
        6,
        15,
        2.5,
        1,
    )
    assert totals["error_rate"] == round(1 / 6, 4) and 0 < totals["latency_ms"]["p50"] <= totals["latency_ms"]["p99"]
    assert own["groups"][-1]["requests"] == 6 and own["models"] == [AUDIO_MODEL, TEXT_MODEL]

    by_model = gateway.get("/usage", params={"group_by": "model"}, headers=bearer(alice)).json()
    assert [(g["model"], g["requests"]) for g in by_model["groups"]] == [(TEXT_MODEL, 5), (AUDIO_MODEL, 1)]
    one_model = gateway.get("/usage", params={"model": AUDIO_MODEL}, headers=bearer(alice)).json()
    assert one_model["totals"]["requests"] == 1 and one_model["totals"]["audio_seconds"] == 2.5

    # an admin sees everyone, or one token by name; a token sees only itself
    everyone = gateway.get("/usage", params={"group_by": "token"}, headers=bearer(admin)).json()
    names = {g["token"]: g["requests"] for g in everyone["groups"]}
    assert everyone["token"] is None and names["json-alice"] == 6 and names["json-admin"] == 1
    narrowed = gateway.get("/usage", params={"token": "json-alice"}, headers=bearer(admin)).json()
    assert narrowed["totals"] == totals and narrowed["token"] == "json-alice"
    assert gateway.get("/usage", params={"token": "json-admin"}, headers=bearer(alice)).status_code == 403

    yesterday = (today - timedelta(days=1)).isoformat()
    nothing = gateway.get("/usage", params={"from": yesterday, "to": yesterday}, headers=bearer(alice)).json()
    assert nothing["totals"]["requests"] == 0 and nothing["totals"]["latency_ms"]["p99"] == 0.0


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"from": "2026-13-01"}, "`from` must be a date"),
        ({"to": "yesterday"}, "`to` must be a date"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "is after"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "longer than 400 days"),
        ({"group_by": "hour"}, "`group_by` must be one of"),
        ({"to": "0001-01-02"}, "too early"),
    ],
)
def test_bad_usage_queries_are_400(gateway, reader, params, fragment):
    response = gateway.get("/usage", params=params, headers=bearer(reader))
    assert response.status_code == 400 and fragment in response.json()["error"]


def test_usage_needs_a_token(gateway):
    assert gateway.get("/usage").status_code == 401
    response = gateway.get("/usage", headers={"authorization": "Bearer aic_" + "q" * 43})
    assert response.status_code == 401 and response.json() == {"error": "Invalid token"}


def test_retention_deletes_old_raw_rows_and_keeps_the_rollups(gateway):
    old = utcnow() - timedelta(days=40)
    records = [
        UsageRecord(ts=old + timedelta(seconds=i), token_id=999_000 + i % 2, model="org/old", task="t", library="l",
                    status=200, latency_ms=5.0, characters=10)
        for i in range(30)
    ]  # fmt: skip
    storage.write_batch(engine(gateway), records)
    recent = UsageRecord(
        ts=utcnow(), token_id=999_000, model="org/old", task="t", library="l", status=200, latency_ms=5.0
    )
    storage.write_batch(engine(gateway), [recent])
    assert storage.delete_expired(engine(gateway), 30) == 30
    with engine(gateway).connect() as connection:
        left = list(connection.execute(select(usage_requests).where(usage_requests.c.model == "org/old")))
        kept = list(connection.execute(select(usage_daily).where(usage_daily.c.model == "org/old")))
    assert [row.ts for row in left] == [recent.ts]
    assert sorted((row.day, row.requests, row.characters) for row in kept) == [
        (old.date(), 15, 150),
        (old.date(), 15, 150),
        (recent.ts.date(), 1, 0),
    ]
    assert storage.delete_expired(engine(gateway), 0) == 0  # 0: kept forever
