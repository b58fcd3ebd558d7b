"""The gateway's settings: one typed object, read from the environment once."""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..runtime.settings import read_environment

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
    # tokens, rate limits and usage accounting (gateway/usage/)
    "auth": "GATEWAY_AUTH",
    "usage": "GATEWAY_USAGE",
    "state_dir": "GATEWAY_STATE_DIR",
    "database_url": "DATABASE_URL",
    "token_rate_limit": "GATEWAY_TOKEN_RATE_LIMIT",
    "token_concurrency": "GATEWAY_TOKEN_CONCURRENCY",
    "anonymous_rate_limit": "GATEWAY_ANONYMOUS_RATE_LIMIT",
    "anonymous_concurrency": "GATEWAY_ANONYMOUS_CONCURRENCY",
    "token_refresh_s": "GATEWAY_TOKEN_REFRESH",
    "usage_buffer": "GATEWAY_USAGE_BUFFER",
    "usage_batch": "GATEWAY_USAGE_BATCH",
    "usage_flush_interval_s": "GATEWAY_USAGE_FLUSH_INTERVAL",
    "usage_retention_days": "GATEWAY_USAGE_RETENTION_DAYS",
    "session_secret": "GATEWAY_SESSION_SECRET",
    "session_ttl_s": "GATEWAY_SESSION_TTL",
    # replicas discovered by DNS (swarm, kubernetes) and the autoscaler (gateway/autoscale/)
    "service_name": "GATEWAY_SERVICE_NAME",
    "replica_port": "GATEWAY_REPLICA_PORT",
    "docker_labels": "GATEWAY_DOCKER_LABELS",
    "models_source": "GATEWAY_MODELS_SOURCE",
    "swarm_health_interval_s": "GATEWAY_SWARM_HEALTH_INTERVAL",
    "autoscale": "AUTOSCALE",
    "autoscale_target": "AUTOSCALE_TARGET",
    "autoscale_min_replicas": "AUTOSCALE_MIN_REPLICAS",
    "autoscale_max_replicas": "AUTOSCALE_MAX_REPLICAS",
    "autoscale_stable_window_s": "AUTOSCALE_STABLE_WINDOW",
    "autoscale_panic_window_s": "AUTOSCALE_PANIC_WINDOW",
    "autoscale_panic_threshold": "AUTOSCALE_PANIC_THRESHOLD",
    "autoscale_interval_s": "AUTOSCALE_INTERVAL",
}
BACKENDS = ("process", "docker", "swarm", "kubernetes")
AUTH_MODES = ("required", "optional", "off")
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
    # tokens, rate limits and usage accounting (the README's "Tokens and usage")
    auth: str = "optional"  # required | optional (anonymous callers get the anonymous limits) | off
    usage: bool = True  # record one usage row per request
    state_dir: Optional[str] = None  # default: $HF_HOME/gateway, else .cache/gateway
    database_url: Optional[str] = Field(default=None, repr=False)  # default: SQLite in state_dir
    token_rate_limit: int = Field(default=6000, ge=0)  # requests per minute of a token without its own (0: none)
    token_concurrency: int = Field(default=64, ge=0)  # requests in flight of a token without its own (0: none)
    anonymous_rate_limit: int = Field(default=1200, ge=0)  # per anonymous caller (client address)
    anonymous_concurrency: int = Field(default=16, ge=0)
    token_refresh_s: float = Field(default=2.0, gt=0)  # how often the tokens table is read again
    usage_buffer: int = Field(default=10_000, ge=1)  # usage records waiting to be written, at most
    usage_batch: int = Field(default=500, ge=1)  # usage records written per transaction, at most
    usage_flush_interval_s: float = Field(default=1.0, gt=0)  # longest wait of a record before its write
    usage_retention_days: int = Field(default=30, ge=0)  # raw usage rows older than this are deleted (0: never)
    session_secret: Optional[str] = Field(default=None, repr=False)  # default: a key file in state_dir
    session_ttl_s: float = Field(default=12 * 3600.0, gt=0)

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

    @field_validator("auth", mode="before")
    @classmethod
    def _known_auth_mode(cls, value: object) -> object:
        if isinstance(value, str):
            mode = value.strip().lower()
            if mode not in AUTH_MODES:
                raise ValueError(f"must be one of {', '.join(AUTH_MODES)}, not {value!r}")
            return mode
        return value

    @field_validator("hf_hub_offline", "usage", mode="before")
    @classmethod
    def _flag(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @field_validator(
        "models_dir",
        "hf_home",
        "hf_token",
        "docker_network",
        "state_dir",
        "database_url",
        "session_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: object) -> GatewaySettings:
        try:
            return read_environment(cls, ENVIRONMENT_VARIABLES, environ, overrides)
        except ValueError as error:
            raise GatewaySettingsError(f"Invalid gateway configuration: {error}") from None

    @property
    def state_path(self) -> str:
        """The gateway's own files (the SQLite database, the session key): GATEWAY_STATE_DIR."""
        if self.state_dir:
            return self.state_dir
        return os.path.join(self.hf_home, "gateway") if self.hf_home else os.path.join(".cache", "gateway")

    def replica_environment(self, environ: Optional[Mapping[str, str]] = None) -> dict:
        """The variables every replica gets from the gateway's environment (container settings)."""
        environ = os.environ if environ is None else environ
        names = (*REPLICA_SETTINGS, *self.replica_env)
        return {name: environ[name] for name in names if name in environ}

    # ---- replicas discovered by DNS (swarm, kubernetes) and the autoscaler (the README's "Autoscaling")
    service_name: str = "aic-{library}"  # a library's Swarm service or Kubernetes headless Service
    replica_port: int = Field(default=80, ge=1, le=65535)  # where discovered replicas listen
    docker_labels: Tuple[str, ...] = ()  # key=value labels on what the gateway creates (swarm services)
    models_source: Optional[str] = None  # swarm: host folder or volume mounted at /models (default MODELS_DIR)
    swarm_health_interval_s: float = Field(default=2.0, gt=0)  # a swarm replica is in DNS once healthy
    autoscale: bool = False
    autoscale_target: float = Field(default=4.0, gt=0)  # concurrency per replica
    autoscale_min_replicas: int = Field(default=0, ge=0, le=64)
    autoscale_max_replicas: int = Field(default=8, ge=1, le=64)
    autoscale_stable_window_s: float = Field(default=60.0, gt=0)
    autoscale_panic_window_s: float = Field(default=6.0, gt=0)
    autoscale_panic_threshold: float = Field(default=2.0, ge=1)
    autoscale_interval_s: float = Field(default=1.0, gt=0)

    @field_validator("docker_labels", mode="before")
    @classmethod
    def _split_labels(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("docker_labels")
    @classmethod
    def _key_value(cls, value: Tuple[str, ...]) -> Tuple[str, ...]:
        for label in value:
            if "=" not in label or not label.partition("=")[0].strip():
                raise ValueError(f"each label is key=value, not {label!r}")
        return value

    @field_validator("autoscale", mode="before")
    @classmethod
    def _autoscale_flag(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return value

    @field_validator("models_source", mode="before")
    @classmethod
    def _no_source(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("service_name")
    @classmethod
    def _names_a_library(cls, value: str) -> str:
        if value.count("{library}") != 1 or "{" in value.replace("{library}", ""):
            raise ValueError(f"must contain `{{library}}` once (e.g. aic-{{library}}), not {value!r}")
        return value

    @model_validator(mode="after")
    def _autoscale_bounds(self) -> GatewaySettings:
        if self.autoscale_min_replicas > self.autoscale_max_replicas:
            raise ValueError("AUTOSCALE_MIN_REPLICAS is above AUTOSCALE_MAX_REPLICAS")
        if self.autoscale_panic_window_s > self.autoscale_stable_window_s:
            raise ValueError("AUTOSCALE_PANIC_WINDOW is longer than AUTOSCALE_STABLE_WINDOW")
        return self

    def labels(self) -> Dict[str, str]:
        """GATEWAY_DOCKER_LABELS as a dict."""
        return {key.strip(): value for key, _, value in (label.partition("=") for label in self.docker_labels)}
