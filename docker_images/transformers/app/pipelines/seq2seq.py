"""What the text-to-text tasks share (summarization, translation, text2text-generation): an
encoder-decoder model, the input's truncation, and the generation parameters."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Mapping, Tuple

from app.pipelines import generation
from app.pipelines.base import TransformersPipeline, check_tokens

TRUNCATIONS = ("do_not_truncate", "longest_first", "only_first", "only_second")
NESTED = ("generate_parameters", "generation_parameters")
OWN_PARAMETERS = ["clean_up_tokenization_spaces", "truncation", *NESTED]


class Seq2SeqPipeline(TransformersPipeline):
    """`"text"` -> `[{<output_key>: str}]`, one item per returned sequence.

    `truncation` (longest_first by default: an input longer than the model reads is cut;
    do_not_truncate: such an input is a 400 naming `inputs`), `clean_up_tokenization_spaces`, and the generation
    parameters, at the top level or in `generate_parameters`.
    """

    output_key: ClassVar[str]
    extra_parameters: ClassVar[List[str]] = []

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        generation.use_model_defaults(self.pipe)
        self.position_limit = generation.max_positions(getattr(self.config, "decoder", self.config))

    def __call__(self, inputs: str, **parameters: Any) -> List[Dict[str, str]]:
        generation.unknown(parameters, OWN_PARAMETERS + self.extra_parameters)
        values = generation.split(parameters, *NESTED)
        text, kwargs = self.prepare(inputs, parameters)
        truncation = parameters.get("truncation") or "longest_first"
        if truncation == "do_not_truncate":
            check_tokens(self.pipe.tokenizer, text, "inputs")
        kwargs["truncation"] = truncation != "do_not_truncate"
        if parameters.get("clean_up_tokenization_spaces") is not None:
            kwargs["clean_up_tokenization_spaces"] = parameters["clean_up_tokenization_spaces"]
        seed = values.pop("seed", None)
        requested = values.pop("max_new_tokens", None)
        config = self.pipe.generation_config
        default = config.max_new_tokens or config.max_length
        kwargs["max_new_tokens"] = generation.new_token_budget(requested, default, 0, self.position_limit)
        if "max_length" in values:  # the decoder's length: max_new_tokens counts the same tokens here
            kwargs["max_new_tokens"] = min(kwargs["max_new_tokens"], values.pop("max_length"))
        kwargs.update(generation.generate_kwargs(values, default_do_sample=bool(config.do_sample)))
        with generation.seeded(seed):
            outputs = self.pipe(text, **kwargs)
        key = f"{self.pipe.return_name}_text"
        return [{self.output_key: item[key]} for item in outputs]

    def prepare(self, text: str, parameters: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]]:
        """The text the model reads and the task's own pipeline arguments (translation adds languages)."""
        return text, {}


def language_pairs(model_dir: str) -> Dict[str, Dict[str, Any]]:
    """{"en_to_de": settings} of the `translation_<src>_to_<tgt>` entries of a model's
    `task_specific_params` (T5-style models: the prefix that asks for that translation)."""
    from transformers import PretrainedConfig

    params = PretrainedConfig.get_config_dict(model_dir)[0].get("task_specific_params") or {}
    return {key[len("translation_") :]: value for key, value in params.items() if key.startswith("translation_")}
