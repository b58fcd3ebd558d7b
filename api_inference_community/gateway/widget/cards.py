"""What a page shows of a model's files beyond the serving decision: the card's title, the mask token.

Read from the model's local folder (the models directory) only, bounded, never from the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

MAX_CARD_BYTES = 256 * 1024  # the title is read from the first part of the card only
MAX_TITLE = 200
TOKEN_FILES = ("special_tokens_map.json", "tokenizer_config.json")
MAX_TOKEN_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class CardDetails:
    title: Optional[str] = None  # the card's first `# ` heading after its front matter
    mask_token: Optional[str] = None  # the tokenizer's mask token (fill-mask examples)


def card_title(readme: Path) -> Optional[str]:
    """The first level-one heading of a README card, outside its front matter and code blocks."""
    try:
        with open(readme, encoding="utf-8", errors="replace") as handle:
            lines = handle.read(MAX_CARD_BYTES).splitlines()
    except OSError:
        return None
    index = 0
    if lines and lines[0].strip() == "---":  # the YAML front matter
        index = next((i + 1 for i in range(1, len(lines)) if lines[i].strip() == "---"), len(lines))
    fenced = False
    for line in lines[index:]:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and line.startswith("# ") and line[2:].strip():
            return line[2:].strip()[:MAX_TITLE]
    return None


def mask_token(folder: Path) -> Optional[str]:
    """The mask token its tokenizer files declare (`[MASK]`, `<mask>`...), if any."""
    for name in TOKEN_FILES:
        path = folder / name
        try:
            if not path.is_file() or path.stat().st_size > MAX_TOKEN_FILE_BYTES:
                continue
            token = json.loads(path.read_text(encoding="utf-8")).get("mask_token")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(token, dict):  # {"content": "[MASK]", ...}
            token = token.get("content")
        if isinstance(token, str) and 0 < len(token) <= 40:
            return token
    return None


def card_details(folder: Optional[Path]) -> CardDetails:
    """The details of a model's local folder (none for a model without one: the Hub or its cache)."""
    if folder is None:
        return CardDetails()
    return CardDetails(card_title(folder / "README.md"), mask_token(folder))
