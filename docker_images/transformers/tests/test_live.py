"""A real server process, as the image runs it: the model by its Hub id from an offline cache, on
ONNX Runtime; a restart finds the export stored under HF_HOME instead of exporting again."""

from __future__ import annotations

import requests
from huggingface_hub import InferenceClient
from transformers_testing import IMAGE_DIR

from api_inference_community.testing.live import live_server


def test_onnx_server_by_hub_id_and_its_restart(models, tmp_path):
    import shutil

    home = shutil.copytree(models.hf_home, tmp_path / "hf_home", symlinks=True)
    env = {
        "MODEL_ID": models.repo_id("text-classification"),
        "TASK": "text-classification",
        "HF_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
        "BACKEND": "onnx",
        "LOG_LEVEL": "info",
    }
    answers = []
    for start in ("first", "restart"):
        with live_server("app.main:app", env, cwd=IMAGE_DIR) as server:
            info = requests.get(server.url + "/info", timeout=10).json()
            assert info["backend"] == "onnx" and info["batching"] is True
            labels = InferenceClient(server.url, timeout=60).text_classification("I like you", top_k=3)
            answers.append([(item.label, round(item.score, 5)) for item in labels])
        logs = server.logs()
        assert ("Stored the ONNX export" if start == "first" else "Using the stored ONNX export") in logs, logs[-3000:]
        assert server.process.returncode == 0 and "Traceback" not in logs
    assert answers[0] == answers[1]
    assert list((home / "exports" / "transformers" / "onnx").glob("*/model.onnx"))
