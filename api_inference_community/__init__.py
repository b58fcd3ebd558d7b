"""api-inference-community: serve any ML library's models over the Hugging Face Inference API.

The public names, `Pipeline` (what a library implements) and `create_app` (what an image's
`app/main.py` calls), are imported on first use, so that tools reading this package (the
maintainers' scripts, `scripts/export_tasks.py`) need nothing beyond the standard library.
"""

from typing import TYPE_CHECKING, Any

__all__ = ["Pipeline", "create_app"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .http.app import create_app
    from .pipelines import Pipeline


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .http.app import create_app

        return create_app
    if name == "Pipeline":
        from .pipelines import Pipeline

        return Pipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
