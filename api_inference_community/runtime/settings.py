"""Settings: one typed object, read from the environment once per process."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple, Type, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Field name -> environment variable. The README documents each of them.
ENVIRONMENT_VARIABLES = {
    "model_id": "MODEL_ID",
    "task": "TASK",
    "revision": "REVISION",
    "hf_home": "HF_HOME",
    "hf_hub_offline": "HF_HUB_OFFLINE",
    "hf_token": "HF_TOKEN",
    "compute_type": "COMPUTE_TYPE",
    "backend": "BACKEND",
    "host": "HOST",
    "port": "PORT",
    "log_level": "LOG_LEVEL",
    "max_body_bytes": "MAX_BODY_BYTES",
    "max_image_pixels": "MAX_IMAGE_PIXELS",
    "max_image_bytes": "MAX_IMAGE_BYTES",
    "max_audio_seconds": "MAX_AUDIO_SECONDS",
    "max_inputs": "MAX_INPUTS",
    "max_input_characters": "MAX_INPUT_CHARACTERS",
    "max_parameters": "MAX_PARAMETERS",
    "max_json_depth": "MAX_JSON_DEPTH",
    "max_new_tokens": "MAX_NEW_TOKENS",
    "max_sequences": "MAX_SEQUENCES",
    "max_inference_steps": "MAX_INFERENCE_STEPS",
    "body_memory_budget": "BODY_MEMORY_BUDGET",
    "queue_memory_budget": "QUEUE_MEMORY_BUDGET",
    "decode_workers": "DECODE_WORKERS",
    "wait_for_model_timeout_s": "WAIT_FOR_MODEL_TIMEOUT",
    "multi_model": "MULTI_MODEL",
    "models_dir": "MODELS_DIR",
    "library_name": "LIBRARY_NAME",
    "model_memory_budget": "MODEL_MEMORY_BUDGET",
    "max_loaded_models": "MAX_LOADED_MODELS",
    "pinned_models": "PINNED_MODELS",
    "min_residency_s": "MIN_RESIDENCY",
    "model_loaders": "MODEL_LOADERS",
    "compute_slots": "COMPUTE_SLOTS",
    "load_retry_backoff_s": "LOAD_RETRY_BACKOFF",
    "card_cache_ttl_s": "CARD_CACHE_TTL",
    "max_batch_size": "MAX_BATCH_SIZE",
    "max_batch_wait_ms": "MAX_BATCH_WAIT_MS",
    "max_queue_size": "MAX_QUEUE_SIZE",
    "request_timeout_s": "REQUEST_TIMEOUT",
    "num_threads": "NUM_THREADS",
    "shutdown_grace_s": "SHUTDOWN_GRACE",
    "cors_allow_origins": "CORS_ALLOW_ORIGINS",
    "gzip_min_bytes": "GZIP_MIN_BYTES",
}


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingsError(ValueError):
    """The environment holds a value that cannot be used."""


class Settings(BaseModel):
    """Everything the server can be configured with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_id: str = ""
    task: str = ""
    revision: Optional[str] = None
    hf_home: Optional[str] = None
    hf_hub_offline: bool = False
    hf_token: Optional[str] = Field(default=None, repr=False)
    compute_type: str = "cpu"
    backend: str = "torch"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: str = "info"  # one of LOG_LEVELS
    max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=89_478_485, ge=1)
    max_image_bytes: Optional[int] = Field(default=None, ge=1)  # None: 4 bytes per pixel of MAX_IMAGE_PIXELS
    max_audio_seconds: float = Field(default=600.0, gt=0)
    max_inputs: int = Field(default=256, ge=1)
    max_input_characters: int = Field(default=1_000_000, ge=1)
    max_parameters: int = Field(default=64, ge=1)
    max_json_depth: int = Field(default=32, ge=2, le=1000)
    max_new_tokens: int = Field(default=1024, ge=1)
    max_sequences: int = Field(default=10, ge=1)
    max_inference_steps: int = Field(default=100, ge=1)
    body_memory_budget: int = Field(default=256 * 1024 * 1024, ge=1)
    queue_memory_budget: int = Field(default=1024 * 1024 * 1024, ge=1)
    decode_workers: Optional[int] = Field(default=None, ge=1, le=64)
    wait_for_model_timeout_s: float = Field(default=300.0, gt=0)
    # multi-model mode (see runtime/models.py)
    multi_model: Optional[bool] = None  # None: on exactly when MODEL_ID is empty
    models_dir: Optional[str] = None
    library_name: Optional[str] = None
    model_memory_budget: Optional[int] = Field(default=None, ge=1)  # None: half the memory available
    max_loaded_models: Optional[int] = Field(default=None, ge=1)
    pinned_models: Tuple[str, ...] = ()
    min_residency_s: float = Field(default=10.0, ge=0)
    model_loaders: int = Field(default=1, ge=1, le=8)
    compute_slots: int = Field(default=1, ge=1, le=64)
    load_retry_backoff_s: float = Field(default=30.0, ge=0)
    card_cache_ttl_s: float = Field(default=60.0, ge=0)
    max_batch_size: int = Field(default=32, ge=1)
    max_batch_wait_ms: float = Field(default=0.0, ge=0)
    max_queue_size: int = Field(default=512, ge=1)
    request_timeout_s: float = Field(default=60.0, gt=0)
    num_threads: Optional[int] = Field(default=None, ge=1)
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    cors_allow_origins: Tuple[str, ...] = ()
    gzip_min_bytes: int = Field(default=1000, ge=0)

    @field_validator("cors_allow_origins", "pinned_models", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("hf_hub_offline", mode="before")
    @classmethod
    def _parse_flag(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @field_validator("multi_model", mode="before")
    @classmethod
    def _optional_flag(cls, value: object) -> object:
        if isinstance(value, str):
            return None if not value.strip() else value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> object:
        if isinstance(value, str):
            level = value.strip().lower()
            if level not in LOG_LEVELS:
                raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
            return level
        return value

    @model_validator(mode="after")
    def _budgets_hold_one_request(self) -> Settings:
        if self.body_memory_budget < self.max_body_bytes:
            raise ValueError(
                f"BODY_MEMORY_BUDGET ({self.body_memory_budget}) must hold at least one body of MAX_BODY_BYTES "
                f"({self.max_body_bytes})"
            )
        return self

    @field_validator(
        "num_threads",
        "decode_workers",
        "revision",
        "hf_token",
        "hf_home",
        "models_dir",
        "library_name",
        "max_image_bytes",
        "model_memory_budget",
        "max_loaded_models",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: object) -> Settings:
        """Build settings from environment variables; keyword overrides win."""
        try:
            return read_environment(cls, ENVIRONMENT_VARIABLES, environ, overrides)
        except ValueError as error:
            raise SettingsError(f"Invalid configuration: {error}") from None

    @property
    def serves_many_models(self) -> bool:
        """Multi-model mode: MULTI_MODEL when set, else whenever MODEL_ID is empty."""
        return self.multi_model if self.multi_model is not None else not self.model_id

    @property
    def hub_cache_dir(self) -> Optional[str]:
        """Where huggingface_hub keeps repositories (`$HF_HOME/hub`)."""
        return os.path.join(self.hf_home, "hub") if self.hf_home else None


SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


def read_environment(
    model: Type[SettingsModel],
    variables: Mapping[str, str],
    environ: Optional[Mapping[str, str]] = None,
    overrides: Optional[Mapping[str, object]] = None,
) -> SettingsModel:
    """`model` from the environment variables `variables` names (field -> variable; keyword
    overrides win). Invalid values raise ValueError naming each variable."""
    environ = os.environ if environ is None else environ
    values: Dict[str, object] = {field: environ[name] for field, name in variables.items() if name in environ}
    values.update(overrides or {})
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ValueError("; ".join(_describe_problem(e, variables) for e in error.errors())) from None


def _describe_problem(error: Any, variables: Mapping[str, str]) -> str:
    """One invalid setting, named by its environment variable (model-level checks name theirs)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return message
    return f"{variables.get(str(error['loc'][0]), error['loc'][0])}: {message}"


# The settings of the app whose pipeline is being built (see `use_settings`).
_ACTIVE_SETTINGS: contextvars.ContextVar[Optional[Settings]] = contextvars.ContextVar("aic_settings", default=None)


@functools.lru_cache(maxsize=1)
def _environment_settings() -> Settings:
    return Settings.from_env()


def get_settings() -> Settings:
    """The settings in force: those of the app loading a pipeline (`use_settings`), else the
    process-wide ones, read from the environment on first use (`get_settings.cache_clear()` rereads)."""
    active = _ACTIVE_SETTINGS.get()
    return active if active is not None else _environment_settings()


get_settings.cache_clear = _environment_settings.cache_clear  # type: ignore[attr-defined]


@contextlib.contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Make `get_settings()` return `settings` in this context (the engine wraps pipeline loading in it,
    so a pipeline reads the settings its app was created with, not only the environment's)."""
    token = _ACTIVE_SETTINGS.set(settings)
    try:
        yield settings
    finally:
        _ACTIVE_SETTINGS.reset(token)
