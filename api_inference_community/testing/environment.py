"""Environment variables set for a block of a test, the process settings read again around it."""

from __future__ import annotations

import contextlib
import os
from typing import Dict, Iterator, Optional

from ..runtime.settings import get_settings


@contextlib.contextmanager
def environment(**values: Optional[str]) -> Iterator[None]:
    """Set (or, with None, remove) environment variables for the block; the settings follow them."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        _set(values)
        yield
    finally:
        _set(saved)


def _set(values: Dict[str, Optional[str]]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()  # type: ignore[attr-defined]
