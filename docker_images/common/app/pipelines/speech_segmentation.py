"""The speech-segmentation pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from api_inference_community import Pipeline


class SpeechSegmentationPipeline(Pipeline):
    """Answers speech-segmentation requests.

    Receives:
        `inputs`: numpy.ndarray, float32, 1-D (mono), sampled at `self.sampling_rate` Hz: the core decodes any audio
        format, downmixes and resamples to it. Set `sampling_rate` to the rate the model expects.

    Parameters:
        Any the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot
        take.

    Returns:
        list of {"class": str, "start": float, "end": float}: seconds, start <= end, in time order.
    """

    sampling_rate = 16000  # Hz the model expects; the core resamples request audio to it

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: np.ndarray, **parameters: Any) -> List[Dict[str, Any]]:
        raise NotImplementedError(
            "SpeechSegmentationPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/speech_segmentation.py"
        )
