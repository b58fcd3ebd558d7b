"""The interface every library implements: one Pipeline subclass per task."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, List, Optional


class Pipeline(ABC):
    """Loads a model once and answers calls for one task.

    `model_id` is what the server resolved `MODEL_ID` to: a local directory holding the
    model files (a Hub id is downloaded or found in the cache first).
    """

    #: Audio-input pipelines set the sampling rate their model expects; the core decodes
    #: and resamples request audio to it.
    sampling_rate: Optional[int] = None

    @abstractmethod
    def __init__(self, model_id: str) -> None:
        """Load the model. Raise with a clear message if it cannot be loaded."""

    @abstractmethod
    def __call__(self, inputs: Any, **parameters: Any) -> Any:
        """Answer one request's validated inputs with the task's output.

        Raise ValueError with a message for the client when the inputs cannot be served (400).
        """

    def batch(self, inputs: List[Any], **parameters: Any) -> List[Any]:
        """Answer several requests at once: one output per element of `inputs`, in order.

        Opt in to dynamic batching by overriding this method. Every element is what
        `__call__` would receive for one request; all share the same parameters.
        """
        raise NotImplementedError

    @classmethod
    def supports_batching(cls) -> bool:
        return cls.batch is not Pipeline.batch
