"""The automatic-speech-recognition pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from api_inference_community import Pipeline


class AutomaticSpeechRecognitionPipeline(Pipeline):
    """Answers automatic-speech-recognition requests.

    Receives:
        `inputs`: numpy.ndarray, float32, 1-D (mono), sampled at `self.sampling_rate` Hz: the core decodes any audio
        format, downmixes and resamples to it. Set `sampling_rate` to the rate the model expects.

    Parameters:
        `return_timestamps`, `generation_parameters`, validated by the core (schemas.py), and any other the client
        sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot take.

    Returns:
        dict {"text": str}, optionally with "chunks": List[{"text": str, "timestamp": [float, float]}].

    Batching:
        Implement `batch(list_of_inputs, **parameters)` to answer several requests in one model call: one output per
        input, in order. It turns dynamic batching on.
    """

    sampling_rate = 16000  # Hz the model expects; the core resamples request audio to it

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: np.ndarray, **parameters: Any) -> Dict[str, Any]:
        raise NotImplementedError(
            "AutomaticSpeechRecognitionPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/automatic_speech_recognition.py"
        )
