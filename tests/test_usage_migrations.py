"""Schema migrations of the usage database, on SQLite and on PostgreSQL: from an empty database, and
from the previous revision holding data (what an upgrade of a running installation meets)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text
from usage_support import DATABASES, database_url

from api_inference_community.gateway.usage import migrate, queries, storage
from api_inference_community.gateway.usage.database import make_engine, normalized_url
from api_inference_community.gateway.usage.records import UsageRecord
from api_inference_community.gateway.usage.schema import metadata, tokens, usage_requests
from api_inference_community.maintainers.cli import main


@pytest.fixture(params=DATABASES)
def engine(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        engine = make_engine(normalized_url(url))
        yield engine
        engine.dispose()


def differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), metadata)


def test_from_an_empty_database_to_the_schema_the_code_uses(engine):
    assert migrate.current_revision(engine) is None
    migrate.ensure_current(engine)
    assert migrate.current_revision(engine) == migrate.head_revision() == migrate.HEAD  # HEAD kept true
    assert differences(engine) == []  # the migrations build exactly schema.py's tables
    migrate.ensure_current(engine)  # a second start changes nothing


def test_from_the_previous_schema_with_its_data(engine):
    migrate.upgrade(engine, "0001")
    assert "latency_00" not in {column["name"] for column in inspect(engine).get_columns("usage_daily")}
    day = date(2026, 3, 1)
    with engine.begin() as connection:  # rows as the previous version wrote them
        connection.execute(
            insert(tokens).values(
                name="old", prefix="aic_oldoldol", hash="h" * 64, admin=True, created_at=datetime(2026, 3, 1)
            )
        )
        connection.execute(
            insert(usage_requests),
            [
                dict(ts=datetime(2026, 3, 1, 12), token_id=1, model="org/m", task="t", library="l", status=200,
                     latency_ms=3.0, compute_ms=1.0, characters=7, images=0, audio_seconds=0.0, request_bytes=10,
                     response_bytes=20)
            ],
        )  # fmt: skip
        connection.execute(
            text(
                "INSERT INTO usage_daily (day, token_id, model, requests, client_errors, server_errors, characters, "
                "images, audio_seconds, compute_seconds, latency_ms_sum, request_bytes, response_bytes) "
                "VALUES (:day, 1, 'org/m', 1, 0, 0, 7, 0, 0.0, 0.001, 3.0, 10, 20)"
            ),
            {"day": day},
        )  # the table as 0001 made it
    before = migrate.upgrade(engine)
    assert (before, migrate.current_revision(engine)) == ("0001", "0002")
    assert differences(engine) == []
    assert [token.name for token in storage.load_tokens(engine)] == ["old"]
    # the new version adds to the old roll-up, and knows the latency of what it recorded itself
    record = UsageRecord(ts=datetime(2026, 3, 1, 13), token_id=1, model="org/m", task="t", library="l", status=200,
                         latency_ms=3.0, characters=5)  # fmt: skip
    storage.write_batch(engine, [record])
    with engine.connect() as connection:
        assert connection.execute(select(usage_requests.c.id)).all().__len__() == 2
    figures = queries.usage_json(engine, queries.UsageQuery(day, day), {1: "old"})["totals"]
    assert figures["requests"] == 2 and figures["characters"] == 12 and figures["latency_ms"]["p50"] > 0


def test_the_migrate_command(engine, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    assert main(["gateway", "migrate", "--revision", "0001"]) == 0
    assert "empty -> 0001" in capsys.readouterr().err
    assert main(["gateway", "migrate"]) == 0
    assert "0001 -> 0002" in capsys.readouterr().err
    assert main(["gateway", "migrate", "--revision", "nonsense"]) == 2
    assert "error:" in capsys.readouterr().err
