"""text-generation: a prompt continued by a causal language model, or a chat answered.

Inputs: a prompt (`"text"`), a list of chat messages (`[{"role", "content"}, ...]`, rendered with
the model's chat template), or a whole chat-completion request (`{"messages": [...], ...}`, what
`InferenceClient.chat_completion` posts), answered in the chat-completion shape (`chat`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from api_inference_community.errors import InvalidInput
from api_inference_community.runtime.settings import get_settings
from app.pipelines import chat, generation
from app.pipelines.base import TransformersPipeline, truncation_side

Prompt = Union[str, List[Dict[str, Any]]]
Completion = Tuple[str, int, bool]  # text, tokens generated, whether the token budget ran out

#: Text Generation Inference parameters this server takes only at their neutral value
TGI_ONLY = {
    "details": (None, False),
    "decoder_input_details": (None, False),
    "watermark": (None, False),
    "stream": (None, False),
    "best_of": (None, 1),
    "top_n_tokens": (None, 0),
    "adapter_id": (None,),
    "grammar": (None,),
    "frequency_penalty": (None, 0, 0.0),
}
OWN_PARAMETERS = ["return_full_text", "stop", "truncate", *TGI_ONLY]


def refuse_tgi_only(parameters: Mapping[str, Any]) -> None:
    """TGI-only features are refused in the words transformers uses for unused generation arguments,
    which `InferenceClient.text_generation` recognizes: it retries without them (and warns)."""
    refused = sorted(name for name, neutral in TGI_ONLY.items() if parameters.get(name) not in neutral)
    if refused:
        names = ", ".join(f"`parameters.{name}`" for name in refused)
        raise InvalidInput(
            f"{names}: not supported by this server. The following `model_kwargs` are not used by the model: {refused}"
        )


class TextGenerationPipeline(TransformersPipeline):
    """`"prompt"` or chat messages -> `[{"generated_text": str}]` (one item per returned sequence).

    Parameters: the generation parameters (`generation.GenerationParameters`: max_new_tokens,
    temperature, top_k, top_p, repetition_penalty, do_sample, seed...), `return_full_text` (false by
    default: only the new text), `stop` (strings that end generation; the text keeps them, as Text
    Generation Inference does), `truncate` (keep only the last N tokens of the prompt).
    """

    task = "text-generation"

    def __init__(self, model_id: str) -> None:
        super().__init__(model_id)
        generation.use_model_defaults(self.pipe)
        self.position_limit = generation.max_positions(self.config)
        self.model_name = get_settings().model_id or model_id  # what chat answers call the model

    def __call__(self, inputs: Any, **parameters: Any) -> Any:
        if chat.is_chat_request(inputs):
            return self.chat_completion(inputs)
        refuse_tgi_only(parameters)
        generation.unknown(parameters, OWN_PARAMETERS)
        values = generation.split(parameters)
        stop = parameters.get("stop") or []
        prompt = chat.messages(inputs, "inputs") if isinstance(inputs, list) else inputs
        completions, _ = self.generate(prompt, values, stop, parameters.get("truncate"))
        prefix = inputs if isinstance(inputs, str) and parameters.get("return_full_text") else ""
        return [{"generated_text": prefix + text} for text, _, _ in completions]

    def chat_completion(self, request: Mapping[str, Any]) -> Dict[str, Any]:
        """A chat-completion request answered in its own shape."""
        messages, values, count, stop = chat.parse(request)
        values = generation.check({**values, **({"num_return_sequences": count} if count > 1 else {})}, "inputs")
        if count > 1 and "do_sample" not in values and "temperature" not in values:
            values["do_sample"] = True  # n different answers, as chat clients mean it
        completions, prompt_tokens = self.generate(messages, values, stop)
        return chat.completion(self.model_name, completions, prompt_tokens, stop)

    # ------------------------------------------------------------------ generation

    def generate(
        self, prompt: Prompt, values: Dict[str, Any], stop: List[str], truncate: Optional[int] = None
    ) -> Tuple[List[Completion], int]:
        """Generate under checked generation parameters; returns the completions and the prompt's length."""
        tokenizer = self.pipe.tokenizer
        is_chat = isinstance(prompt, list)
        if is_chat and not tokenizer.chat_template:
            raise InvalidInput("`inputs`: this model has no chat template; send a prompt (a string)")
        continue_final = isinstance(prompt, list) and prompt[-1]["role"] == "assistant"
        encode = {"truncation": True, "max_length": truncate} if truncate else {}
        with truncation_side(tokenizer, "left" if truncate else None):  # keep the end of a long prompt
            if is_chat:
                ids = tokenizer.apply_chat_template(
                    prompt, add_generation_prompt=not continue_final, continue_final_message=continue_final, **encode
                )
            else:
                ids = tokenizer(prompt, **encode)["input_ids"]
            prompt_tokens = len(ids)
            values = dict(values)
            seed = values.pop("seed", None)
            requested = values.pop("max_new_tokens", None)
            max_length = values.pop("max_length", None)
            if requested is None and max_length is not None:
                requested = max_length - prompt_tokens
                if requested <= 0:
                    raise InvalidInput(
                        f"`parameters.max_length`: {max_length} leaves no room after {prompt_tokens} tokens"
                    )
            config = self.pipe.generation_config
            default = config.max_new_tokens or max(config.max_length - prompt_tokens, 1)
            budget = generation.new_token_budget(requested, default, prompt_tokens, self.position_limit)
            kwargs = generation.generate_kwargs(values, default_do_sample=bool(config.do_sample))
            kwargs["max_new_tokens"] = budget
            if stop:
                kwargs.update(stop_strings=stop, tokenizer=tokenizer)
            if encode:
                kwargs["tokenizer_encode_kwargs"] = encode
            if is_chat:
                kwargs["continue_final_message"] = continue_final
            with generation.seeded(seed):
                outputs = self.pipe(prompt, return_tensors=True, **kwargs)
        completions = []
        for output in outputs:
            new = list(output["generated_token_ids"])[prompt_tokens:]
            completions.append((tokenizer.decode(new, skip_special_tokens=True), len(new), len(new) >= budget))
        return completions, prompt_tokens
