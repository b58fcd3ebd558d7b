"""Model cards: the metadata that decides how a model is served (`pipeline_tag`, `library_name`, `inference`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..runtime.settings import Settings
from .resolve import ModelNotFound, is_local_model, resolve_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardMetadata:
    """The model card fields that decide how a model is served."""

    pipeline_tag: Optional[str] = None
    library_name: Optional[str] = None
    inference: bool = True


def read_card_metadata(model_dir: Path) -> CardMetadata:
    """Card metadata from the model's README.md front matter (offline, no network)."""
    readme = Path(model_dir) / "README.md"
    if not readme.is_file():
        return CardMetadata()
    from huggingface_hub.repocard import metadata_load

    try:
        data = metadata_load(readme) or {}
    except Exception as error:  # a malformed card must not stop the server
        logger.warning("Cannot read the model card %s: %s", readme, error)
        return CardMetadata()
    inference = data.get("inference", True)
    return CardMetadata(
        pipeline_tag=data.get("pipeline_tag"),
        library_name=data.get("library_name"),
        inference=inference is not False,
    )


def card_metadata(settings: Settings) -> CardMetadata:
    """Card metadata of `settings.model_id`, resolved as the server would resolve it."""
    return read_card_metadata(resolve_model(settings))


def model_card(settings: Settings) -> CardMetadata:
    """The card metadata of `settings.model_id`, fetching only its README from the Hub.

    A local folder is read as is; offline (HF_HUB_OFFLINE), the model is looked up in the cache.
    Raises ModelNotFound when the model cannot be found.
    """
    if is_local_model(settings.model_id) or settings.hf_hub_offline:
        return card_metadata(settings)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    try:
        readme = hf_hub_download(
            settings.model_id,
            "README.md",
            revision=settings.revision,
            cache_dir=settings.hub_cache_dir,
            token=settings.hf_token,
        )
    except LocalEntryNotFoundError as error:  # unreachable Hub, README not in the cache
        raise ModelNotFound(f"Cannot read the model card of `{settings.model_id}`: {error}") from None
    except EntryNotFoundError:  # the repo has no README: a card without metadata
        return CardMetadata()
    except (HFValidationError, HfHubHTTPError, OSError) as error:
        raise ModelNotFound(f"Cannot read the model card of `{settings.model_id}`: {error}") from None
    return read_card_metadata(Path(readme).parent)
