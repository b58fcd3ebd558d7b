"""The usage benchmark's generated rows leave the tables as the gateway would: roll-ups equal raw rows."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from usage_support import DATABASES, database_url

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from benchkit.usage_rows import Shape, fill  # noqa: E402

from api_inference_community.gateway.usage import migrate, queries  # noqa: E402
from api_inference_community.gateway.usage.database import make_engine, normalized_url  # noqa: E402
from api_inference_community.gateway.usage.records import utcnow  # noqa: E402
from api_inference_community.gateway.usage.schema import usage_requests  # noqa: E402


@pytest.mark.parametrize("kind", DATABASES)
def test_generated_rows_and_their_rollups_agree(kind, tmp_path):
    with database_url(kind, tmp_path) as url:
        engine = make_engine(normalized_url(url))
        migrate.ensure_current(engine)
        shape = Shape(rows=6000, days=10, tokens=5, models=6, models_per_token=2, chunk=2500)
        timings = fill(engine, shape, progress=lambda line: None)
        assert timings["daily_rows"] > 0
        today = utcnow().date()
        figures = queries.usage_json(engine, queries.UsageQuery(today - timedelta(days=11), today), {})
        with engine.connect() as connection:
            count, characters, images = connection.execute(
                select(func.count(), func.sum(usage_requests.c.characters), func.sum(usage_requests.c.images))
            ).one()
            errors = connection.execute(select(func.count()).where(usage_requests.c.status >= 400)).scalar()
        engine.dispose()
        totals = figures["totals"]
        assert (
            (totals["requests"], totals["characters"], totals["images"])
            == (count, characters, images)
            == (
                6000,
                characters,
                images,
            )
        )
        assert totals["client_errors"] + totals["server_errors"] == errors
        assert totals["latency_ms"]["p50"] > 0 and set(figures["models"]) <= set(shape.model_names())
