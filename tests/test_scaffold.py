"""`new` scaffolds a library from the template; its contract tests fail until the stubs are filled in."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from api_inference_community.hub.libraries import read_allowed_tasks
from api_inference_community.maintainers import pipeline_docs, scaffold
from api_inference_community.maintainers.cli import main
from api_inference_community.tasks.registry import TASKS
from api_inference_community.testing import examples, output_checks

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "docker_images" / "common"
NOT_IMPLEMENTED = (
    "TextClassificationPipeline.__call__ is not implemented: "
    "fill in docker_images/mylib/app/pipelines/text_classification.py"
)
FILLED = '''"""A trivial text-classification: the share of long words decides between LONG and SHORT."""

from typing import Any, Dict, List

from api_inference_community import Pipeline


class TextClassificationPipeline(Pipeline):
    def __init__(self, model_id: str) -> None:
        self.labels = ("LONG", "SHORT")

    def __call__(self, inputs: str, **parameters: Any) -> List[Dict[str, Any]]:
        words = inputs.split() or [""]
        long = sum(len(word) > 4 for word in words) / len(words)
        scores = sorted(zip(self.labels, (long, 1.0 - long)), key=lambda pair: -pair[1])
        return [{"label": label, "score": score} for label, score in scores][: parameters.get("top_k")]
'''


def digest(folder: Path) -> dict:
    """Every file under `folder` (caches left out) -> its sha256."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and ".pytest_cache" not in path.parts
    }


def run_contract_tests(image: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "--no-header"]
    return subprocess.run(command, cwd=image, capture_output=True, text=True, timeout=120)


@pytest.fixture
def scaffolded(tmp_path: Path) -> Path:
    before = sorted(p.name for p in (ROOT / "docker_images").iterdir())
    assert main(["new", "mylib", "--task", "text-classification", "--root", str(tmp_path)]) == 0
    assert sorted(p.name for p in (ROOT / "docker_images").iterdir()) == before  # nothing written in the repo
    return tmp_path / "docker_images" / "mylib"


def test_scaffolded_files(scaffolded: Path):
    assert sorted(digest(scaffolded)) == [
        "Dockerfile",
        "app/__init__.py",
        "app/main.py",
        "app/pipelines/__init__.py",
        "app/pipelines/text_classification.py",
        "requirements.txt",
        "tests/conftest.py",
        "tests/models.py",
        "tests/test_contract.py",
    ]
    assert read_allowed_tasks(scaffolded / "app" / "main.py") == ["text-classification"]
    dockerfile = (scaffolded / "Dockerfile").read_text()
    assert "docker_images/mylib/" in dockerfile and "docker_images/common" not in dockerfile
    stub = (scaffolded / "app" / "pipelines" / "text_classification.py").read_text()
    assert 'list of {"label": str, "score": float}, sorted by score descending' in stub


def test_unfilled_stub_fails_with_not_implemented(scaffolded: Path):
    result = run_contract_tests(scaffolded)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 failed" in result.stdout, result.stdout
    assert result.stdout.count(f"Failed: {NOT_IMPLEMENTED}") == 2 or result.stdout.count(NOT_IMPLEMENTED) >= 2
    assert "Traceback" not in result.stdout and "Internal error" not in result.stdout


def test_filled_stub_passes_and_touches_nothing_else(scaffolded: Path):
    stub = scaffolded / "app" / "pipelines" / "text_classification.py"
    stub.write_text(FILLED)
    before = digest(scaffolded)
    result = run_contract_tests(scaffolded)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert digest(scaffolded) == before


def test_scaffolded_files_are_lint_clean(tmp_path: Path):
    assert (
        main(["new", "a_rather_long_library_name", "--root", str(tmp_path), *sum((["--task", t] for t in TASKS), [])])
        == 0
    )
    config = ROOT / "pyproject.toml"
    for check in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *check, "--config", str(config), str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["new", "mylib", "--task", "text-clasification"],
            "unknown task `text-clasification`; did you mean text-classification",
        ),
        (["new", "mylib", "--task", "quantum-teleportation"], "known tasks: audio-classification, audio-to-audio"),
        (["new", "common", "--task", "fill-mask"], "`common` is the template's folder"),
        (["new", "my lib!", "--task", "fill-mask"], "cannot be a folder name"),
    ],
)
def test_refusals(tmp_path, capsys, argv, message):
    assert main([*argv, "--root", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "docker_images" / "mylib").exists()


def test_refuses_an_existing_folder(tmp_path, capsys):
    (tmp_path / "docker_images" / "mylib").mkdir(parents=True)
    assert main(["new", "mylib", "--task", "fill-mask", "--root", str(tmp_path)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert list((tmp_path / "docker_images" / "mylib").iterdir()) == []


def test_every_task_has_docs_examples_and_checks():
    assert set(pipeline_docs.DOCS) == set(TASKS)
    assert set(output_checks.CHECKS) == set(TASKS)
    assert set(examples.BUILDERS) == set(TASKS)
    assert all(examples.valid_examples(task) for task in TASKS)


def test_template_is_the_generated_output_for_every_task():
    """docker_images/common holds a stub per task; `api-inference-community template` regenerates it."""
    expected = scaffold.generated_files("common", sorted(TASKS))
    on_disk = {path: (TEMPLATE / path).read_text() for path in expected if (TEMPLATE / path).is_file()}
    assert on_disk == expected, "run `python manage.py template` after changing the registry or pipeline_docs"
    assert read_allowed_tasks(TEMPLATE / "app" / "main.py") == sorted(TASKS)


@pytest.mark.parametrize("main_py", sorted((ROOT / "docker_images").glob("*/app/main.py")), ids=lambda p: p.parts[-3])
def test_every_image_offers_get_pipeline_to_tests_written_for_the_upstream(main_py):
    assert "\nget_pipeline = pipeline_getter(ALLOWED_TASKS)" in main_py.read_text(encoding="utf-8")
