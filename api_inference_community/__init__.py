"""api-inference-community: serve any ML library's models over the Hugging Face Inference API."""

from .app import create_app
from .pipelines import Pipeline

__all__ = ["Pipeline", "create_app"]
__version__ = "0.1.0"
