"""automatic-speech-recognition: the words spoken in a sound (CTC or sequence-to-sequence models)."""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from api_inference_community.errors import InvalidInput
from app.pipelines import generation
from app.pipelines.audio import check_length, minimum_samples, model_sampling_rate
from app.pipelines.base import TransformersPipeline

NESTED = ("generation_parameters", "generate_parameters")

Transcript = Dict[str, Any]


class AutomaticSpeechRecognitionPipeline(TransformersPipeline):
    """mono float32 audio at the model's rate -> `{"text"}`, with `"chunks": [{"text", "timestamp":
    [start, end]}, ...]` (seconds) when `return_timestamps` is true: words for CTC models, segments
    for sequence-to-sequence ones. The generation parameters (sequence-to-sequence models only) at
    the top level or in `generation_parameters`."""

    task = "automatic-speech-recognition"

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        self.sampling_rate = model_sampling_rate(self.pipe)
        self.minimum_samples = minimum_samples(self.config)
        self.ctc = self.pipe.type.startswith("ctc")  # ctc, ctc_with_lm; else seq2seq, seq2seq_whisper
        if not self.ctc:
            generation.use_model_defaults(self.pipe)

    def __call__(self, inputs: np.ndarray, return_timestamps: Optional[bool] = None, **parameters: Any) -> Transcript:
        """One sound at a time: padded batches change what CTC models read at the end of the shorter
        sounds (this pipeline does not opt in to batching)."""
        generation.unknown(parameters, list(NESTED))
        values = generation.split(parameters, *NESTED)
        kwargs: Dict[str, Any] = {}
        if return_timestamps:
            if self.pipe.type == "seq2seq":
                raise InvalidInput("`parameters.return_timestamps`: this model cannot time what it transcribes")
            kwargs["return_timestamps"] = "word" if self.ctc else True
        seed = values.pop("seed", None)
        if values:
            if self.ctc:
                names = ", ".join(f"`{name}`" for name in sorted(values))
                raise InvalidInput(
                    f"`parameters.generation_parameters`: {names} apply to sequence-to-sequence models, "
                    "not to this CTC model"
                )
            kwargs["generate_kwargs"] = generation.generate_kwargs(values, bool(self.pipe.generation_config.do_sample))
        check_length(inputs, self.minimum_samples, self.sampling_rate)
        with generation.seeded(seed):
            output = self.pipe({"raw": inputs, "sampling_rate": self.sampling_rate}, **kwargs)
        return self._transcript(output)

    @staticmethod
    def _transcript(output: Dict[str, Any]) -> Transcript:
        transcript: Transcript = {"text": output["text"]}
        if "chunks" in output:
            transcript["chunks"] = [
                {"text": chunk["text"], "timestamp": [float(t) if t is not None else None for t in chunk["timestamp"]]}
                for chunk in output["chunks"]
            ]
        return transcript
