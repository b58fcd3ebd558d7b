"""Settings: one typed object, read from the environment once per process."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from typing import Iterator, Mapping, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
    "max_audio_seconds": "MAX_AUDIO_SECONDS",
    "max_inputs": "MAX_INPUTS",
    "max_batch_size": "MAX_BATCH_SIZE",
    "max_batch_wait_ms": "MAX_BATCH_WAIT_MS",
    "max_queue_size": "MAX_QUEUE_SIZE",
    "request_timeout_s": "REQUEST_TIMEOUT",
    "num_threads": "NUM_THREADS",
    "shutdown_grace_s": "SHUTDOWN_GRACE",
    "cors_allow_origins": "CORS_ALLOW_ORIGINS",
    "gzip_min_bytes": "GZIP_MIN_BYTES",
}


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
    log_level: str = "info"
    max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(default=89_478_485, ge=1)
    max_audio_seconds: float = Field(default=600.0, gt=0)
    max_inputs: int = Field(default=256, ge=1)
    max_batch_size: int = Field(default=32, ge=1)
    max_batch_wait_ms: float = Field(default=0.0, ge=0)
    max_queue_size: int = Field(default=512, ge=1)
    request_timeout_s: float = Field(default=60.0, gt=0)
    num_threads: Optional[int] = Field(default=None, ge=1)
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    cors_allow_origins: Tuple[str, ...] = ()
    gzip_min_bytes: int = Field(default=1000, ge=0)

    @field_validator("cors_allow_origins", mode="before")
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

    @field_validator("num_threads", "revision", "hf_token", "hf_home", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: object) -> Settings:
        """Build settings from environment variables; keyword overrides win."""
        environ = os.environ if environ is None else environ
        values: dict = {field: environ[name] for field, name in ENVIRONMENT_VARIABLES.items() if name in environ}
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{ENVIRONMENT_VARIABLES.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in error.errors()
            )
            raise SettingsError(f"Invalid configuration: {problems}") from None

    @property
    def hub_cache_dir(self) -> Optional[str]:
        """Where huggingface_hub keeps repositories (`$HF_HOME/hub`)."""
        return os.path.join(self.hf_home, "hub") if self.hf_home else None


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
