"""SIGTERM to a real gateway process in the middle of a burst: every answered request has its usage row.

The gateway (`python tests/usage_support.py`, replicas in its own process) holds usage records for
30 s before writing them, so that what reaches the database comes from the flush at shutdown.
On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from usage_support import DATABASES, TEXT_MODEL, database_url, models_dir

from api_inference_community.gateway.usage import migrate, storage
from api_inference_community.gateway.usage.database import make_engine, normalized_url
from api_inference_community.gateway.usage.schema import usage_requests
from api_inference_community.testing.live import LiveServer

HERE = Path(__file__).resolve().parent
CLIENTS = 12


@pytest.mark.parametrize("kind", DATABASES)
def test_sigterm_during_a_burst_loses_no_usage_row(kind, tmp_path):
    with database_url(kind, tmp_path / "db") as url:
        engine = make_engine(normalized_url(url))
        migrate.ensure_current(engine)
        secret, token = storage.create_token(engine, "burst")
        env = {
            "MODELS_DIR": str(models_dir(tmp_path / "models")),
            "HF_HUB_OFFLINE": "1",
            "DATABASE_URL": url,
            "GATEWAY_STATE_DIR": str(tmp_path / "state"),
            "GATEWAY_AUTH": "required",
            "GATEWAY_USAGE_FLUSH_INTERVAL": "30",
            "GATEWAY_USAGE_BATCH": "100000",
            "POOL_HEALTH_INTERVAL": "0.05",
            "SHUTDOWN_GRACE": "10",
            "LOG_LEVEL": "warning",
        }
        server = LiveServer("", env, command=[sys.executable, str(HERE / "usage_support.py")])
        answered: Counter = Counter()
        characters = [0]
        lock = threading.Lock()

        def client(index: int) -> None:
            session = requests.Session()
            headers = {"authorization": f"Bearer {secret}", "x-wait-for-model": "true"}
            count = 0
            while True:
                text = "c" * (index + count % 5)
                body = {"inputs": text, "delay": 0.02, "status": 200 if count % 7 else 400}
                try:
                    response = session.post(f"{server.url}/models/{TEXT_MODEL}", json=body, headers=headers, timeout=30)
                except requests.RequestException:
                    return  # the gateway stopped taking requests
                with lock:
                    answered[response.status_code] += 1
                    characters[0] += len(text)
                count += 1

        try:
            server.wait_until("/ready", 200, 60)
            threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while sum(answered.values()) < 100 and time.monotonic() < deadline:
                time.sleep(0.01)
            code = server.stop(30)  # SIGTERM with requests in flight
            for thread in threads:
                thread.join(30)
        finally:
            server.stop(5)
        assert code == 0, server.logs()[-3000:]
        with engine.connect() as connection:
            rows = Counter(
                dict(
                    connection.execute(
                        select(usage_requests.c.status, func.count()).group_by(usage_requests.c.status)
                    ).all()
                )
            )
            total_characters = connection.execute(select(func.sum(usage_requests.c.characters))).scalar()
            tokens = connection.execute(select(usage_requests.c.token_id).distinct()).scalars().all()
        engine.dispose()
        assert sum(answered.values()) >= 100 and set(answered) == {200, 400}
        assert rows == answered and total_characters == characters[0] and tokens == [token.id]
