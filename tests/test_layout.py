"""The layout: the runtime stands alone, tools read the tree without the environment, the map is true."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "api_inference_community"


def run_python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=str(ROOT), timeout=120)


def test_runtime_imports_neither_test_helpers_nor_maintainer_tools():
    # pytest, requests and docker made unimportable: the server of an image must still build and run
    program = """
import sys
for name in ("pytest", "requests", "docker", "httpx"):
    sys.modules[name] = None
from api_inference_community import Pipeline, create_app
from api_inference_community.runtime.settings import Settings
import api_inference_community.routes, api_inference_community.validation, api_inference_community.serve

class Echo(Pipeline):
    def __init__(self, model_id):
        pass
    def __call__(self, inputs, **parameters):
        return [{"label": "x", "score": 1.0}]

app = create_app({"text-classification": Echo}, Settings(task="text-classification", model_id="."))
loaded = sorted(m for m in sys.modules if m.startswith("api_inference_community."))
print("\\n".join(loaded))
"""
    result = run_python("-c", program)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.split()
    assert "api_inference_community.http.app" in loaded
    tools = ("api_inference_community.testing", "api_inference_community.maintainers")
    assert not [module for module in loaded if module.startswith(tools)]


def test_export_tasks_runs_on_a_bare_python():
    # -I: isolated, -S: no site-packages (neither the virtual environment's nor the system's)
    result = run_python("-I", "-S", str(ROOT / "scripts" / "export_tasks.py"))
    assert result.returncode == 0, result.stderr
    assert "sentence_transformers" in json.loads(result.stdout)


def mapped_paths() -> set:
    """The paths the map in CONTRIBUTING.md names under api_inference_community/."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    block = text.split("## Map of the tree", 1)[1].split("```", 2)[1]
    paths, folder = set(), ""
    for line in block.splitlines()[1:]:
        match = re.match(r"^(  +)(\S+)", line)
        if not match:
            continue
        indent, name = len(match.group(1)), match.group(2)
        if indent == 2:
            folder = name if name.endswith("/") else ""
            if name.endswith(".py"):
                paths.add(name)
        elif indent == 4 and folder:
            paths.add(folder + name)
    return paths


def tree_paths() -> set:
    paths = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if path.name == "__init__.py" and path.parent != PACKAGE:
            continue  # a sub-package is mapped by its folder and its modules
        paths.add(relative)
    return paths


def test_the_map_in_contributing_matches_the_tree():
    mapped, present = mapped_paths(), tree_paths()
    assert present - mapped == set(), "modules missing from the map in CONTRIBUTING.md"
    assert mapped - present == set(), "the map in CONTRIBUTING.md names modules that do not exist"
