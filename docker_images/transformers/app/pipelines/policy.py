"""What the operator allows and asks for when a model is loaded: this image's own settings.

Read once per load from the environment (the core's `Settings` holds the variables every image
shares: MODEL_ID, BACKEND, COMPUTE_TYPE, NUM_THREADS...):

- `ALLOW_PICKLE_WEIGHTS` (default 0): load `pytorch_model.bin` (pickle) weights when a model has no
  safetensors. Unpickling runs code from the file: only for models you trust.
- `TRUST_REMOTE_CODE_MODELS` (default empty): comma-separated model ids (`MODEL_ID` values) whose
  own Python code may run (`trust_remote_code`). Every other model loads without it.
- `QUANTIZE` (default empty): `dynamic-int8` quantizes the linear layers' weights to int8 at load
  (PyTorch dynamic quantization, or ONNX Runtime's with `BACKEND=onnx`).
"""

from __future__ import annotations

import os
from typing import Mapping, Optional, Tuple

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

QUANTIZATIONS = ("dynamic-int8",)
ENVIRONMENT_VARIABLES = {
    "allow_pickle_weights": "ALLOW_PICKLE_WEIGHTS",
    "trust_remote_code_models": "TRUST_REMOTE_CODE_MODELS",
    "quantize": "QUANTIZE",
}


class LoadPolicy(BaseModel):
    """The image's loading settings (see the module docstring for their variables)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_pickle_weights: bool = False
    trust_remote_code_models: Tuple[str, ...] = ()
    quantize: Optional[str] = None

    @field_validator("allow_pickle_weights", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @field_validator("trust_remote_code_models", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("quantize", mode="before")
    @classmethod
    def _quantization(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower() or None
        if value is not None and value not in QUANTIZATIONS:
            raise ValueError(f"must be one of: {', '.join(QUANTIZATIONS)} (or empty)")
        return value

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> LoadPolicy:
        environ = os.environ if environ is None else environ
        values = {field: environ[name] for field, name in ENVIRONMENT_VARIABLES.items() if name in environ}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(f"{ENVIRONMENT_VARIABLES[str(e['loc'][0])]}: {e['msg']}" for e in error.errors())
            raise ValueError(f"Invalid configuration: {problems}") from None

    def trusts_remote_code(self, model_id: str) -> bool:
        """Whether `model_id` (as given in MODEL_ID) may run its own code."""
        return model_id in self.trust_remote_code_models
