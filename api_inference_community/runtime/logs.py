"""Logging, configured once per process (never per request), for the core and the image's own code.

One handler on the root logger: the core (`api_inference_community.*`) and the image's code
(`app.*`) log at LOG_LEVEL; other libraries only from WARNING up, so their chatter stays out.
"""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OWN_LOGGERS = ("api_inference_community", "app")
_configured = False


def configure_logging(level: str = "info") -> None:
    """Send every record to stderr once; later calls only change the level of our own loggers."""
    global _configured
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
    if _configured:
        return
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    _configured = True
