"""The text-to-speech pipeline: fill in `__init__` and `__call__`."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from api_inference_community import Pipeline


class TextToSpeechPipeline(Pipeline):
    """Answers text-to-speech requests.

    Receives:
        `inputs`: str, the text to say.

    Parameters:
        `min_length`, `max_length`, `max_new_tokens`, `top_k`, `top_p`, `max_time`, `repetition_penalty`,
        `temperature`, `num_return_sequences`, `do_sample`, `seed`, `generation_parameters`, validated by the core
        (schemas.py), and any other the client sends, as is: raise `api_inference_community.errors.InvalidInput` (a
        400) for one it cannot take.

    Returns:
        a tuple (waveform, sampling_rate): waveform a 1-D numpy float32 array in [-1, 1] (mono), sampling_rate an
        int in Hz; the core encodes it (FLAC by default, or what `Accept` asks).
    """

    def __init__(self, model_id: str) -> None:
        # `model_id` is a local folder holding the model's files: load the model from it here.
        self.model_dir = model_id

    def __call__(self, inputs: str, **parameters: Any) -> Tuple[np.ndarray, int]:
        raise NotImplementedError(
            "TextToSpeechPipeline.__call__ is not implemented: "
            "fill in docker_images/common/app/pipelines/text_to_speech.py"
        )
