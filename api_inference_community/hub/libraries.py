"""The library images of a checkout, and their tasks, read without importing any library.

Each `docker_images/<library>/app/main.py` declares `ALLOWED_TASKS` as a literal dict; its
keys are read with `ast`, so listing tasks needs none of the libraries installed.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Optional

TEMPLATE = "common"  # docker_images/common is the template of new libraries, not an image
IMAGES_DIR = "docker_images"
DEFAULT_ROOT = Path(__file__).resolve().parents[2]  # the checkout this package lives in


class AllowedTasksError(ValueError):
    """An image's `app/main.py` does not declare ALLOWED_TASKS as a literal dict."""


def folder_name(library_name: str) -> str:
    """The image folder of a card's `library_name` ("sentence-transformers" -> "sentence_transformers")."""
    return library_name.strip().replace("-", "_").lower()


def image_dir(library: str, root: Path = DEFAULT_ROOT) -> Path:
    return Path(root) / IMAGES_DIR / folder_name(library)


def read_allowed_tasks(main_py: Path) -> List[str]:
    """The keys of the literal `ALLOWED_TASKS` dict of an image's `app/main.py`, in order."""
    try:
        tree = ast.parse(Path(main_py).read_text(encoding="utf-8"), filename=str(main_py))
    except SyntaxError as error:
        raise AllowedTasksError(f"{main_py}: cannot be parsed: {error}") from None
    for node in tree.body:
        targets: List[ast.expr]
        if isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "ALLOWED_TASKS" for t in targets):
            return _literal_keys(main_py, value)
    raise AllowedTasksError(f"{main_py}: no module-level `ALLOWED_TASKS = {{...}}` found")


def _literal_keys(main_py: Path, value: Optional[ast.expr]) -> List[str]:
    keys = value.keys if isinstance(value, ast.Dict) else None
    names = [k.value for k in keys or () if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    if keys is None or len(names) != len(keys):
        found = ast.unparse(value) if value is not None else "nothing"
        raise AllowedTasksError(
            f"{main_py}: ALLOWED_TASKS must be a literal dict with string keys, "
            f'{{"task-name": PipelineClass, ...}}, so that tools can read it without importing '
            f"the library; found `{found}`"
        )
    return names


def discover(root: Path = DEFAULT_ROOT) -> Dict[str, List[str]]:
    """{library folder: sorted tasks} of every image under `root/docker_images` (not the template).

    Folders without `app/main.py` are not images and are left out.
    """
    images = Path(root) / IMAGES_DIR
    found: Dict[str, List[str]] = {}
    for folder in sorted(images.iterdir()) if images.is_dir() else []:
        main_py = folder / "app" / "main.py"
        if folder.name != TEMPLATE and main_py.is_file():
            found[folder.name] = sorted(read_allowed_tasks(main_py))
    return found
