"""Models and where they come from: resolution (local folder, Hub cache, Hub), cards, availability, library images.

`hub_model_info` and `cached_revision_path` are the upstream package's names (`compat.hub_info`),
imported on first use.
"""

from typing import Any

UPSTREAM_NAMES = ("hub_model_info", "cached_revision_path")


def __getattr__(name: str) -> Any:
    if name in UPSTREAM_NAMES:
        from ..compat import hub_info

        return getattr(hub_info, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
