"""The audio-to-audio pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, List, Tuple

import numpy as np

from api_inference_community import Pipeline


class AudioToAudioPipeline(Pipeline):
    """Answers audio-to-audio requests.

    Receives:
        `inputs`: numpy.ndarray, float32, 1-D (mono), sampled at `self.sampling_rate` Hz: the core decodes any audio
        format, downmixes and resamples to it. Set `sampling_rate` to the rate the model expects.

    Parameters:
        Any the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a 400) for one it cannot
        take.

    Returns:
        a tuple (waveforms, sampling_rate, labels): waveforms a list of 1-D numpy float32 arrays, sampling_rate an
        int in Hz, labels one str per waveform; the core sends [{"label", "blob" (base64 audio), "content-type"}].
    """

    sampling_rate = 16000  # Hz the model expects; the core resamples request audio to it

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: np.ndarray, **parameters: Any) -> Tuple[List[np.ndarray], int, List[str]]:
        raise NotImplementedError(
            "AudioToAudioPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/audio_to_audio.py"
        )
