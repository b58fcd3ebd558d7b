"""Generation parameters: the Hub's `GenerationParameters` (and the few more the API has always
taken), checked and turned into arguments of transformers' `generate`.

Only the names below reach `generate`: a request can never pass it code-loading or
output-changing arguments (`custom_generate`, `assistant_model`, `streamer`...).

Sampling follows the Text Generation Inference convention: greedy unless `do_sample` is true or a
sampling knob (`temperature`, `top_k`, `top_p`, `typical_p`, `epsilon_cutoff`, `eta_cutoff`) is
given; `temperature: 0` means greedy. `seed` makes sampling repeatable.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, List, Mapping, Optional

from pydantic import ConfigDict, Field, ValidationError
from typing_extensions import Annotated

from api_inference_community.errors import InvalidInput
from api_inference_community.tasks import schemas
from api_inference_community.tasks.validation import readable_errors

DEFAULT_NEW_TOKENS = 256  # when neither the request nor the model says (the pipelines' default)
SAMPLING_KNOBS = ("temperature", "top_k", "top_p", "typical_p", "epsilon_cutoff", "eta_cutoff")


class GenerationParameters(schemas.GenerationParameters):
    """The Hub's GenerationParameters, plus repetition_penalty, no_repeat_ngram_size,
    num_return_sequences, max_time and seed; nothing else (the core's model is open)."""

    model_config = ConfigDict(extra="forbid")

    repetition_penalty: Optional[Annotated[float, Field(gt=0.0, le=100.0)]] = None
    no_repeat_ngram_size: Optional[schemas.NonNegativeInt] = None
    num_return_sequences: Optional[Annotated[int, Field(strict=True, ge=1, le=10)]] = None
    max_time: Optional[Annotated[float, Field(gt=0.0, le=120.0)]] = None
    seed: Optional[schemas.NonNegativeInt] = None


GENERATION_NAMES = frozenset(GenerationParameters.model_fields)


def check(values: Mapping[str, Any], where: str = "parameters") -> Dict[str, Any]:
    """`values` validated as generation parameters (ValueError naming the field otherwise); unset ones dropped."""
    try:
        return GenerationParameters.model_validate(dict(values)).model_dump(exclude_none=True)
    except ValidationError as error:
        raise InvalidInput("; ".join(readable_errors(error, where))) from None


def split(parameters: Mapping[str, Any], *nested: str) -> Dict[str, Any]:
    """The generation parameters of a request: those at the top level (open specifications take them
    there) and those inside the `nested` objects (`generation_parameters`, `generate_parameters`)."""
    found = {name: value for name, value in parameters.items() if name in GENERATION_NAMES}
    for key in nested:
        inner = parameters.get(key)
        if inner is None:
            continue
        if not isinstance(inner, dict):
            raise InvalidInput(f"`parameters.{key}` must be an object")
        found.update(check(inner, f"parameters.{key}"))
    return check(found)


def generate_kwargs(values: Mapping[str, Any], default_do_sample: bool = False) -> Dict[str, Any]:
    """`generate` arguments for checked generation parameters (`seed` is not one: see `seeded`)."""
    kwargs = {name: value for name, value in values.items() if name != "seed"}
    if kwargs.get("temperature") == 0.0:  # greedy, as OpenAI-style clients mean it
        kwargs.pop("temperature")
        kwargs.setdefault("do_sample", False)
    if "do_sample" not in kwargs:
        kwargs["do_sample"] = default_do_sample or any(name in kwargs for name in SAMPLING_KNOBS)
    if kwargs.get("num_return_sequences", 1) > 1 and not kwargs["do_sample"]:
        kwargs["num_beams"] = max(kwargs.get("num_beams", 1), kwargs["num_return_sequences"])
    return kwargs


@contextlib.contextmanager
def seeded(seed: Optional[int]) -> Iterator[None]:
    """Run a call under `seed` (repeatable sampling) without changing the process's random state."""
    if seed is None:
        yield
        return
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def unknown(parameters: Mapping[str, Any], known: List[str]) -> None:
    """Refuse (ValueError, a 400) parameters that are neither `known` nor generation parameters."""
    extra = sorted(name for name in parameters if name not in known and name not in GENERATION_NAMES)
    if extra:
        names = ", ".join(f"`parameters.{name}`" for name in extra)
        raise InvalidInput(f"{names}: unknown parameter (not a parameter of this task nor a generation parameter)")


def max_positions(config: Any) -> Optional[int]:
    """How many positions a decoder can attend to (None: no fixed table, e.g. relative positions)."""
    for name in ("n_positions", "max_position_embeddings", "max_target_positions", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def new_token_budget(requested: Optional[int], default: Optional[int], prompt_tokens: int, limit: Optional[int]) -> int:
    """How many tokens to generate: the request's `max_new_tokens` (400 when the model has no room
    for them), else the default, capped to the room the model's position table leaves."""
    room = None if limit is None else limit - prompt_tokens
    if room is not None and room <= 0:
        raise InvalidInput(
            f"`inputs`: {prompt_tokens} tokens, as many as the model reads ({limit}): no room to generate"
        )
    if requested is not None:
        if room is not None and requested > room:
            raise InvalidInput(
                f"`parameters.max_new_tokens`: {requested} is more than the {room} tokens the model has room for "
                f"after the {prompt_tokens} tokens of the input (it reads {limit} at most)"
            )
        return requested
    budget = default or DEFAULT_NEW_TOKENS
    return budget if room is None else min(budget, room)


def use_model_defaults(pipe: Any) -> None:
    """Generate with the model's own generation config, not the pipeline's task defaults (sampling at
    temperature 0.7 for text generation, 4 beams for text-to-text): the request decides, else the
    model. A model that bounds nothing generates at most DEFAULT_NEW_TOKENS tokens."""
    import copy

    from transformers import GenerationConfig

    config = copy.deepcopy(pipe.model.generation_config)
    if config.max_new_tokens is None and config.max_length == GenerationConfig().max_length:
        config.max_new_tokens = DEFAULT_NEW_TOKENS
    pipe.generation_config = config
