"""Static checks of the Dockerfiles and of the build context (no engine needed: these always run)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import List

import docker_harness as dh
from docker.utils.build import exclude_paths

from api_inference_community.hub.libraries import TEMPLATE, discover

SHARED_START = "# ---- shared block:"
SHARED_END = "# ---- end of the shared block ----"


def dockerfile(library: str) -> str:
    return (dh.IMAGES_DIR / library / "Dockerfile").read_text()


def instructions(text: str) -> List[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [line.strip() for line in joined.splitlines() if line.strip()]


def shared_block(text: str) -> str:
    start, end = text.find(SHARED_START), text.find(SHARED_END)
    assert 0 <= start < end, "the Dockerfile has no shared block (see docker_images/*/Dockerfile)"
    return text[start:end]


def test_every_image_has_a_dockerfile() -> None:
    missing = [library for library in discover(dh.ROOT) if library != TEMPLATE and library not in dh.libraries()]
    assert not missing, f"image folders without a Dockerfile: {missing}"


def test_pytorch_images_share_their_first_layers() -> None:
    """Identical first steps: the second image built reuses the first one's PyTorch layer."""
    texts = {library: dockerfile(library) for library in dh.libraries()}
    unmarked = [
        library for library, text in texts.items() if "requirements/torch.txt" in text and SHARED_START not in text
    ]
    assert not unmarked, f"{unmarked} install PyTorch outside the shared block of the other Dockerfiles"
    blocks = {library: shared_block(text) for library, text in texts.items() if SHARED_START in text}
    first = next(iter(blocks.values()), "")
    different = [library for library, block in blocks.items() if block != first]
    assert not different, f"the shared block of {different} differs from the others': keep it byte-identical"


def test_dockerfile(library: str) -> None:
    text = dockerfile(library)
    steps = instructions(text)
    assert steps[0] == "ARG BASE_IMAGE=python:3.11-slim" and steps[1] == "FROM ${BASE_IMAGE}"
    torch = "requirements/torch.txt" in text
    if torch:
        assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in steps
        assert "ARG TORCH_FIND_LINKS=" in steps
    # layer order: PyTorch, the library, the core, the app
    order = [
        *(["COPY requirements/torch.txt"] if torch else []),
        f"COPY docker_images/{library}/requirements.txt",
        "COPY api_inference_community",
        f"COPY docker_images/{library}/app",
    ]
    positions = [next((i for i, step in enumerate(steps) if step.startswith(prefix)), -1) for prefix in order]
    assert -1 not in positions and positions == sorted(positions), f"layer order {dict(zip(order, positions))}"
    user = next(step.split()[1] for step in steps if step.startswith("USER "))
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0", "USER must be a numeric, non-root uid"
    assert "VOLUME /data" in steps and "STOPSIGNAL SIGTERM" in steps and "EXPOSE 80" in steps
    assert any(step.startswith("HEALTHCHECK") and "/health" in step for step in steps)
    assert steps[-1] == 'CMD ["python", "-m", "api_inference_community.serve", "app.main:app"]'
    tasks = re.search(r'org\.huggingface\.api-inference\.tasks="([^"]*)"', text)
    assert tasks and tasks.group(1).split(",") == sorted(dh.libraries()[library])
    version = re.search(r"ARG VERSION=(\S+)", text)
    assert version and version.group(1) == dh.project_version(), "ARG VERSION must default to setup.py's version"
    assert f"api-inference/{library}" in text


def test_build_context_is_small_and_complete() -> None:
    """What .dockerignore lets through: every file a Dockerfile copies, and little else."""
    patterns = [
        line.strip()
        for line in (dh.ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = {path for path in exclude_paths(str(dh.ROOT), patterns) if (dh.ROOT / path).is_file()}
    size = sum((dh.ROOT / path).stat().st_size for path in files)
    assert size < 5_000_000, f"the build context is {size / 1e6:.1f} MB"
    assert not [path for path in files if path.startswith((".venv", ".cache", ".git/", "tests/"))]
    assert not [path for path in files if "__pycache__" in path]
    needed = {
        "setup.py",
        "pyproject.toml",
        "README.md",
        "requirements/torch.txt",
        "api_inference_community/http/app.py",
    }
    for library in dh.libraries():
        needed.add(f"docker_images/{library}/requirements.txt")
        needed.add(f"docker_images/{library}/app/main.py")
        for source in re.findall(r"^COPY (.+) \S+$", dockerfile(library), re.M):
            for item in source.split():
                path = Path(item)
                if (dh.ROOT / path).is_dir():
                    assert any(f.startswith(f"{item}/") for f in files), f"{item}/ is not in the build context"
                else:
                    needed.add(os.fspath(path))
    assert not needed - files, f"missing from the build context: {sorted(needed - files)}"


def test_dockerfiles_are_rendered_from_the_template() -> None:
    """No image carries a hand-edited copy: `python manage.py dockerfiles` renders them all."""
    from api_inference_community.maintainers.scaffold import render_dockerfile

    template = dh.IMAGES_DIR / TEMPLATE
    stale = [
        library
        for library, tasks in discover(dh.ROOT).items()
        if dockerfile(library) != render_dockerfile(library, tasks, template)
    ]
    assert not stale, f"{stale}: Dockerfile differs from the template's rendering; run `python manage.py dockerfiles`"
