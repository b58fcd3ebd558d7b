"""scripts/export_tasks.py and the CLI's show/export-tasks: tasks read without importing libraries."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api_inference_community.hub.libraries import AllowedTasksError, read_allowed_tasks
from api_inference_community.maintainers.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "export_tasks.py"


def tasks_by_regex(main_py: Path) -> list:
    """The ALLOWED_TASKS keys, found by text (independently of the core's ast reader)."""
    block = re.search(r"^ALLOWED_TASKS\b[^=]*=\s*\{(.*?)\}", main_py.read_text(), re.S | re.M).group(1)
    return sorted(re.findall(r"[\"']([\w-]+)[\"']\s*:", block))


def images_present(root: Path) -> dict:
    return {
        folder.name: tasks_by_regex(folder / "app" / "main.py")
        for folder in sorted((root / "docker_images").iterdir())
        if folder.name != "common" and (folder / "app" / "main.py").is_file()
    }


def run_script(*args: str) -> subprocess.CompletedProcess:
    # from another directory, with a Python that has the core on its path only through the script
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd="/")


def test_script_prints_the_tasks_of_every_image():
    result = run_script()
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    assert exported == images_present(ROOT)
    assert "common" not in exported
    assert result.stdout.strip() == json.dumps(exported, sort_keys=True, indent=4)  # upstream's format


def write_image(root: Path, name: str, main_py: str) -> Path:
    path = root / "docker_images" / name / "app" / "main.py"
    path.parent.mkdir(parents=True)
    path.write_text(main_py)
    return path


def test_sorted_and_template_and_non_images_left_out(tmp_path):
    write_image(tmp_path, "zlib", 'ALLOWED_TASKS = {"text-classification": A, "fill-mask": B}\n')
    write_image(tmp_path, "alib", 'from x import Y\nALLOWED_TASKS: Dict[str, Type[Pipeline]] = {"translation": Y}\n')
    write_image(tmp_path, "common", 'ALLOWED_TASKS = {"summarization": A}\n')
    (tmp_path / "docker_images" / "half_written").mkdir()
    result = run_script("--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert list(json.loads(result.stdout).items()) == [
        ("alib", ["translation"]),
        ("zlib", ["fill-mask", "text-classification"]),
    ]


@pytest.mark.parametrize(
    "source, found",
    [
        ("ALLOWED_TASKS = dict(a=A)\n", "dict(a=A)"),
        ("TASKS = {'x': A}\nALLOWED_TASKS = {**TASKS}\n", "{**TASKS}"),
        ("ALLOWED_TASKS = {TASK_NAME: A}\n", "{TASK_NAME: A}"),
        ("ALLOWED_TASKS: Dict[str, Type[Pipeline]] = make_tasks()\n", "make_tasks()"),
    ],
)
def test_a_non_literal_dict_is_a_clear_error(tmp_path, source, found):
    main_py = write_image(tmp_path, "bad", source)
    result = run_script("--root", str(tmp_path))
    assert result.returncode == 1 and result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith(f"error: {main_py}: ALLOWED_TASKS must be a literal dict with string keys")
    assert message.endswith(f"found `{found}`")


def test_missing_or_unparsable_main(tmp_path):
    with pytest.raises(AllowedTasksError, match="no module-level `ALLOWED_TASKS"):
        read_allowed_tasks(write_image(tmp_path, "none", "app = 1\n"))
    with pytest.raises(AllowedTasksError, match="cannot be parsed"):
        read_allowed_tasks(write_image(tmp_path, "broken", "ALLOWED_TASKS = {\n"))


def test_cli_show_and_export_tasks(tmp_path, capsys):
    write_image(tmp_path, "lib", 'ALLOWED_TASKS = {"text-generation": A, "summarization": B}\n')
    assert main(["show", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "lib\n    summarization\n    text-generation\n"
    assert main(["export-tasks", "--root", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"lib": ["summarization", "text-generation"]}
    write_image(tmp_path, "bad", "ALLOWED_TASKS = tasks()\n")
    assert main(["show", "--root", str(tmp_path)]) == 2
    assert "ALLOWED_TASKS must be a literal dict" in capsys.readouterr().err
