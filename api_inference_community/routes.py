"""Upstream import path: `from api_inference_community.routes import pipeline_route, status_ok`.

A thin compatibility module for apps written for the upstream package (importing it also gives
Starlette back `on_event`, see `compat.events`); new images use `create_app`.
"""

from .compat.events import install_event_handlers
from .compat.legacy_route import pipeline_route, status_ok
from .http.headers import HEADER_COMPUTE_TIME, HEADER_COMPUTE_TYPE

install_event_handlers()

# The upstream names of the compute headers.
HF_HEADER_COMPUTE_TIME = HEADER_COMPUTE_TIME
HF_HEADER_COMPUTE_TYPE = HEADER_COMPUTE_TYPE

__all__ = [
    "HEADER_COMPUTE_TIME",
    "HEADER_COMPUTE_TYPE",
    "HF_HEADER_COMPUTE_TIME",
    "HF_HEADER_COMPUTE_TYPE",
    "pipeline_route",
    "status_ok",
]
