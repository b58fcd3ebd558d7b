"""text-to-speech: a text spoken (the text-to-audio pipeline of transformers)."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from api_inference_community.errors import InvalidInput
from app.pipelines import generation
from app.pipelines.base import UNBOUNDED, TransformersPipeline, check_tokens

NESTED = ("generation_parameters", "generate_parameters")
DEFAULT_SEED = 0  # the same text gives the same audio unless the request asks for another `seed`
MAX_TOKENS = 1000  # the longest input of a model whose tokenizer sets no maximum (the audio grows with it)


class TextToSpeechPipeline(TransformersPipeline):
    """`"text"` -> (mono float32 waveform, sampling rate): the core encodes it (FLAC by default, or
    what `Accept` asks). Generation parameters, at the top level or in `generation_parameters`,
    for models that generate tokens (Bark, MusicGen...); `seed` for every model. Texts longer than
    the model reads (MAX_TOKENS tokens when its tokenizer sets no maximum) are refused."""

    task = "text-to-speech"

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        self.generates = bool(self.pipe.model.can_generate())
        if self.generates:
            generation.use_model_defaults(self.pipe)

    def __call__(self, inputs: str, **parameters: Any) -> Tuple[np.ndarray, int]:
        tokenizer = self.pipe.tokenizer
        if tokenizer is not None:
            limit = tokenizer.model_max_length if tokenizer.model_max_length < UNBOUNDED else MAX_TOKENS
            check_tokens(tokenizer, inputs, "inputs", limit)
        generation.unknown(parameters, list(NESTED))
        values = generation.split(parameters, *NESTED)
        seed = values.pop("seed", DEFAULT_SEED)
        kwargs = {}
        if values:
            if not self.generates:
                names = ", ".join(f"`{name}`" for name in sorted(values))
                raise InvalidInput(
                    f"`parameters`: {names}: this model does not generate tokens and takes no generation parameters"
                )
            kwargs["generate_kwargs"] = generation.generate_kwargs(values, bool(self.pipe.generation_config.do_sample))
        with generation.seeded(seed):
            output = self.pipe(inputs, **kwargs)
        waveform = np.asarray(output["audio"], dtype=np.float32).reshape(-1)
        return waveform, int(output["sampling_rate"])
