"""The models of the local models directory (`MODELS_DIR`), for the index page.

A model is a folder `org/name` (or `name`) holding a README card; hidden folders and names the Hub
would not accept are skipped, and at most MAX_LISTED are listed, in order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

from ...hub.sources import MODEL_ID
from .status import ModelView, describe

if TYPE_CHECKING:
    from ..app import Gateway

MAX_LISTED = 500


def model_ids(models_dir: Optional[str], limit: int = MAX_LISTED) -> List[str]:
    """The ids of the models of `models_dir`, sorted, at most `limit`."""
    if not models_dir:
        return []
    root = Path(models_dir)
    found: List[str] = []
    try:
        for first in sorted(root.iterdir()):
            if not first.is_dir() or first.name.startswith("."):
                continue
            if (first / "README.md").is_file():
                found.append(first.name)
            for second in sorted(first.iterdir()):
                if second.is_dir() and not second.name.startswith(".") and (second / "README.md").is_file():
                    found.append(f"{first.name}/{second.name}")
            if len(found) >= limit:
                break
    except OSError:
        pass
    return [model_id for model_id in found if MODEL_ID.match(model_id)][:limit]


async def local_models(gateway: Gateway) -> List[ModelView]:
    """Every model of the models directory, with the gateway's decision for it."""
    ids = await asyncio.to_thread(model_ids, gateway.settings.models_dir)
    return [await describe(gateway, model_id, None) for model_id in ids]
