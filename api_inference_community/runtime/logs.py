"""Logging, configured once per process (never per request)."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_configured = False


def configure_logging(level: str = "info") -> None:
    """Send the framework's records to stderr; later calls only change the level."""
    global _configured
    root = logging.getLogger("api_inference_community")
    root.setLevel(level.upper() if isinstance(level, str) else level)
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.propagate = False
    _configured = True
