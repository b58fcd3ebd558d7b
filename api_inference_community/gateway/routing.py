"""Which library serves a model, for which task: the card decision of the core, over every library image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from ..hub.availability import serving_decision
from ..hub.libraries import DEFAULT_ROOT, discover
from ..hub.sources import SourceCache
from ..runtime.settings import Settings
from .settings import GatewaySettings


@dataclass(frozen=True)
class Route:
    """Where a request goes: the library's pool, and the task the model is served for."""

    model_id: str
    library: str
    task: str


def library_table(settings: GatewaySettings, root: Path = DEFAULT_ROOT) -> Dict[str, List[str]]:
    """{library: tasks} of the images the gateway serves (all of the checkout, or GATEWAY_LIBRARIES)."""
    table = discover(root)
    if settings.libraries:
        unknown = sorted(set(settings.libraries) - set(table))
        if unknown:
            raise ValueError(f"GATEWAY_LIBRARIES names unknown libraries: {', '.join(unknown)}")
        table = {name: tasks for name, tasks in table.items() if name in settings.libraries}
    return table


def core_settings(settings: GatewaySettings) -> Settings:
    """The core settings the model sources read (models directory, Hub cache, token)."""
    return Settings(
        models_dir=settings.models_dir,
        hf_home=settings.hf_home,
        hf_hub_offline=settings.hf_hub_offline,
        hf_token=settings.hf_token,
        multi_model=True,
    )


class Router:
    """Decides, from the model's card (cached), which library pool serves a request."""

    def __init__(self, settings: GatewaySettings, libraries: Mapping[str, List[str]]) -> None:
        self.libraries = dict(libraries)
        self.sources = SourceCache(core_settings(settings), settings.card_cache_ttl_s)

    async def route(self, model_id: str, task: Optional[str] = None) -> Route:
        """The route of a request; NotFound (404), ModelTurnedOff (403) or NotServed (400) otherwise."""
        source = await self.sources.get(model_id)
        decision = serving_decision(source.card, model_id, self.libraries, task)
        assert decision.library is not None and decision.task is not None
        return Route(model_id, decision.library, decision.task)
