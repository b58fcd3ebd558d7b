"""The interface every library implements: one Pipeline subclass per task."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from .runtime.settings import Settings


class Pipeline(ABC):
    """Loads a model once and answers calls for one task.

    `model_id` is what the server resolved `MODEL_ID` to: a local directory holding the
    model files (a Hub id is downloaded or found in the cache first).
    """

    #: Audio-input pipelines set the sampling rate their model expects; the core decodes
    #: and resamples request audio to it.
    sampling_rate: Optional[int] = None

    #: Image-input pipelines may set the (width, height) their model reads: large JPEGs are then
    #: decoded downscaled (never below it), at a fraction of their memory.
    image_size: Optional[Tuple[int, int]] = None

    @abstractmethod
    def __init__(self, model_id: str) -> None:
        """Load the model. Raise with a clear message if it cannot be loaded."""

    @abstractmethod
    def __call__(self, inputs: Any, **parameters: Any) -> Any:
        """Answer one request's validated inputs with the task's output.

        Raise `api_inference_community.errors.InvalidInput("message")` when the inputs cannot be
        served: the client gets a 400 with that message. Any other exception's message stays in
        the server log (a ValueError is a 400, anything else a 500, both with a generic message).
        """

    def batch(self, inputs: List[Any], **parameters: Any) -> List[Any]:
        """Answer several requests at once: one output per element of `inputs`, in order.

        Opt in to dynamic batching by overriding this method. Every element is what
        `__call__` would receive for one request; all share the same parameters.
        """
        raise NotImplementedError

    @classmethod
    def model_files(cls, settings: Settings) -> Optional[Sequence[str]]:
        """The files of a model repository this pipeline loads, as `huggingface_hub` allow patterns.

        Only these are downloaded for a Hub id (None: every file). Override to leave out the
        formats the library does not read (ONNX, TensorFlow, Rust, other backends' exports...).
        """
        return None

    @classmethod
    def supports_batching(cls) -> bool:
        return cls.batch is not Pipeline.batch
