"""The gateway's settings: one typed object, read from the environment once."""

from __future__ import annotations

import os
from typing import Mapping, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENVIRONMENT_VARIABLES = {
    "host": "GATEWAY_HOST",
    "port": "GATEWAY_PORT",
    "backend": "GATEWAY_BACKEND",
    "models_dir": "MODELS_DIR",
    "hf_home": "HF_HOME",
    "hf_hub_offline": "HF_HUB_OFFLINE",
    "hf_token": "HF_TOKEN",
    "libraries": "GATEWAY_LIBRARIES",
    "replicas": "GATEWAY_REPLICAS",
    "idle_timeout_s": "POOL_IDLE_TIMEOUT",
    "start_timeout_s": "POOL_START_TIMEOUT",
    "health_interval_s": "POOL_HEALTH_INTERVAL",
    "card_cache_ttl_s": "CARD_CACHE_TTL",
    "request_timeout_s": "GATEWAY_REQUEST_TIMEOUT",
    "connect_timeout_s": "GATEWAY_CONNECT_TIMEOUT",
    "max_body_bytes": "MAX_BODY_BYTES",
    "spill_in_flight": "GATEWAY_SPILL_IN_FLIGHT",
    "wait_for_pool_timeout_s": "WAIT_FOR_MODEL_TIMEOUT",
    "log_level": "LOG_LEVEL",
    "replica_env": "GATEWAY_REPLICA_ENV",
    "docker_image": "GATEWAY_DOCKER_IMAGE",
    "docker_volume": "GATEWAY_DOCKER_VOLUME",
    "docker_network": "GATEWAY_DOCKER_NETWORK",
    "shutdown_grace_s": "SHUTDOWN_GRACE",
}
BACKENDS = ("process", "docker")
# Settings of the library containers the gateway passes on to them (their names are the core's).
REPLICA_SETTINGS = (
    "MODEL_MEMORY_BUDGET",
    "MAX_LOADED_MODELS",
    "PINNED_MODELS",
    "MIN_RESIDENCY",
    "COMPUTE_SLOTS",
    "NUM_THREADS",
    "MAX_BATCH_SIZE",
    "MAX_QUEUE_SIZE",
    "REQUEST_TIMEOUT",
    "BACKEND",
    "COMPUTE_TYPE",
)


class GatewaySettingsError(ValueError):
    """The environment holds a value the gateway cannot use."""


class GatewaySettings(BaseModel):
    """Everything the gateway can be configured with (the README documents each variable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    backend: str = "process"
    models_dir: Optional[str] = None
    hf_home: Optional[str] = None
    hf_hub_offline: bool = False
    hf_token: Optional[str] = Field(default=None, repr=False)
    libraries: Tuple[str, ...] = ()  # empty: every image of the checkout
    replicas: int = Field(default=1, ge=1, le=64)
    idle_timeout_s: float = Field(default=600.0, gt=0)
    start_timeout_s: float = Field(default=300.0, gt=0)
    health_interval_s: float = Field(default=2.0, gt=0)
    card_cache_ttl_s: float = Field(default=60.0, ge=0)
    request_timeout_s: float = Field(default=120.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    spill_in_flight: int = Field(default=16, ge=1)
    wait_for_pool_timeout_s: float = Field(default=300.0, gt=0)
    log_level: str = "info"
    replica_env: Tuple[str, ...] = ()  # more variables passed on to the replicas
    docker_image: str = "api-inference/{library}"
    docker_volume: str = "aic-cache"
    docker_network: Optional[str] = None
    shutdown_grace_s: float = Field(default=30.0, ge=0)

    @field_validator("libraries", "replica_env", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("backend", mode="before")
    @classmethod
    def _known_backend(cls, value: object) -> object:
        if isinstance(value, str):
            backend = value.strip().lower()
            if backend not in BACKENDS:
                raise ValueError(f"must be one of {', '.join(BACKENDS)}, not {value!r}")
            return backend
        return value

    @field_validator("hf_hub_offline", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @field_validator("models_dir", "hf_home", "hf_token", "docker_network", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: object) -> GatewaySettings:
        environ = os.environ if environ is None else environ
        values: dict = {field: environ[name] for field, name in ENVIRONMENT_VARIABLES.items() if name in environ}
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{ENVIRONMENT_VARIABLES.get(str(e['loc'][0]), e['loc'][0]) if e['loc'] else 'settings'}: "
                f"{str(e['msg']).removeprefix('Value error, ')}"
                for e in error.errors()
            )
            raise GatewaySettingsError(f"Invalid gateway configuration: {problems}") from None

    def replica_environment(self, environ: Optional[Mapping[str, str]] = None) -> dict:
        """The variables every replica gets from the gateway's environment (container settings)."""
        environ = os.environ if environ is None else environ
        names = (*REPLICA_SETTINGS, *self.replica_env)
        return {name: environ[name] for name in names if name in environ}
