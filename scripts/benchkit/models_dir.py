"""A models directory's models (`org/name/` folders with a README card), their cards, and a request body
that suits each (by its card's task)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

SENTENCE = "The quick brown fox jumps over the lazy dog."


def card_values(folder: Path) -> Dict[str, str]:
    """The simple `key: value` lines of a model card's front matter."""
    try:
        text = (folder / "README.md").read_text(errors="replace")
    except OSError:
        return {}
    parts = text.split("---", 2)
    if len(parts) != 3:
        return {}
    values = {}
    for line in parts[1].splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "-")):
            values[key.strip()] = value.strip()
    return values


def listed_models(models_dir: Path, library: str) -> List[str]:
    """The `org/name` ids of the folders of `models_dir` whose card names `library`, sorted."""
    return [
        card.parent.relative_to(models_dir).as_posix()
        for card in sorted(models_dir.glob("*/*/README.md"))
        if card_values(card.parent).get("library_name") == library
    ]


def library_of(models_dir: Path, model_id: str) -> str:
    """The image folder of the library a model's card names ("sentence-transformers" -> "sentence_transformers")."""
    from api_inference_community.hub.libraries import folder_name

    return folder_name(card_values(models_dir / model_id).get("library_name", ""))


def body_for(models_dir: Path, model_id: str) -> Tuple[bytes, str]:
    """A legitimate request for the model's task: a JPEG for image tasks, a sentence otherwise."""
    from .payloads import photo_jpeg
    from .server import input_kind

    task = card_values(models_dir / model_id).get("pipeline_tag", "feature-extraction")
    if input_kind(task) == "image":
        return photo_jpeg(), "image/jpeg"
    return json.dumps({"inputs": SENTENCE}).encode(), "application/json"
