"""Tests for api_inference_community.config: settings from the environment."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from api_inference_community.runtime import settings as config
from api_inference_community.runtime.settings import ENVIRONMENT_VARIABLES, Settings, SettingsError, get_settings

DEFAULTS = {
    "model_id": "",
    "task": "",
    "revision": None,
    "hf_home": None,
    "hf_hub_offline": False,
    "hf_token": None,
    "compute_type": "cpu",
    "backend": "torch",
    "host": "127.0.0.1",
    "port": 8000,
    "log_level": "info",
    "max_body_bytes": 50 * 1024 * 1024,
    "max_image_pixels": 89_478_485,
    "max_image_bytes": None,
    "max_audio_seconds": 600.0,
    "max_inputs": 256,
    "max_input_characters": 1_000_000,
    "max_parameters": 64,
    "max_json_depth": 32,
    "max_new_tokens": 1024,
    "max_sequences": 10,
    "max_inference_steps": 100,
    "body_memory_budget": 256 * 1024 * 1024,
    "queue_memory_budget": 1024 * 1024 * 1024,
    "decode_workers": None,
    "wait_for_model_timeout_s": 300.0,
    "multi_model": None,
    "models_dir": None,
    "library_name": None,
    "model_memory_budget": None,
    "max_loaded_models": None,
    "pinned_models": (),
    "min_residency_s": 10.0,
    "model_loaders": 1,
    "compute_slots": 1,
    "load_retry_backoff_s": 30.0,
    "card_cache_ttl_s": 60.0,
    "max_batch_size": 32,
    "max_batch_wait_ms": 0.0,
    "max_queue_size": 512,
    "request_timeout_s": 60.0,
    "num_threads": None,
    "shutdown_grace_s": 30.0,
    "cors_allow_origins": (),
    "gzip_min_bytes": 1000,
}


def test_defaults_from_empty_environment():
    settings = Settings.from_env({})
    assert settings.model_dump() == DEFAULTS


def test_every_field_has_an_environment_variable():
    assert set(ENVIRONMENT_VARIABLES) == set(Settings.model_fields)
    assert len(set(ENVIRONMENT_VARIABLES.values())) == len(ENVIRONMENT_VARIABLES)


def test_unrelated_environment_variables_are_ignored():
    settings = Settings.from_env({"PATH": "/bin", "model_id": "lowercase-is-not-read", "TRANSFORMERS_CACHE": "/x"})
    assert settings.model_dump() == DEFAULTS


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("MODEL_ID", "org/from-os-environ")
    monkeypatch.setenv("PORT", "8123")
    settings = Settings.from_env()
    assert settings.model_id == "org/from-os-environ"
    assert settings.port == 8123


@pytest.mark.parametrize(
    "variable, value, field, expected",
    [
        ("MODEL_ID", "org/name", "model_id", "org/name"),
        ("TASK", "fill-mask", "task", "fill-mask"),
        ("REVISION", "abc123", "revision", "abc123"),
        ("REVISION", "", "revision", None),
        ("HF_HOME", "/data/hf", "hf_home", "/data/hf"),
        ("HF_HOME", "", "hf_home", None),
        ("HF_TOKEN", "hf_abc", "hf_token", "hf_abc"),
        ("HF_TOKEN", "", "hf_token", None),
        ("COMPUTE_TYPE", "gpu", "compute_type", "gpu"),
        ("BACKEND", "onnx", "backend", "onnx"),
        ("HOST", "0.0.0.0", "host", "0.0.0.0"),
        ("PORT", "80", "port", 80),
        ("PORT", "0", "port", 0),
        ("PORT", "65535", "port", 65535),
        ("PORT", " 8080 ", "port", 8080),
        ("LOG_LEVEL", "debug", "log_level", "debug"),
        ("LOG_LEVEL", " WARNING ", "log_level", "warning"),
        ("MAX_NEW_TOKENS", "64", "max_new_tokens", 64),
        ("MAX_PARAMETERS", "3", "max_parameters", 3),
        ("MAX_JSON_DEPTH", "4", "max_json_depth", 4),
        ("QUEUE_MEMORY_BUDGET", "1000", "queue_memory_budget", 1000),
        ("DECODE_WORKERS", "3", "decode_workers", 3),
        ("DECODE_WORKERS", "", "decode_workers", None),
        ("WAIT_FOR_MODEL_TIMEOUT", "5", "wait_for_model_timeout_s", 5.0),
        ("MULTI_MODEL", "1", "multi_model", True),
        ("MULTI_MODEL", "", "multi_model", None),
        ("MODELS_DIR", "/models", "models_dir", "/models"),
        ("PINNED_MODELS", "a/b, c/d", "pinned_models", ("a/b", "c/d")),
        ("MODEL_MEMORY_BUDGET", "1000000", "model_memory_budget", 1_000_000),
        ("MAX_LOADED_MODELS", "3", "max_loaded_models", 3),
        ("MAX_BODY_BYTES", "1024", "max_body_bytes", 1024),
        ("MAX_IMAGE_PIXELS", "1000000", "max_image_pixels", 1_000_000),
        ("MAX_AUDIO_SECONDS", "1.5", "max_audio_seconds", 1.5),
        ("MAX_AUDIO_SECONDS", "30", "max_audio_seconds", 30.0),
        ("MAX_INPUTS", "8", "max_inputs", 8),
        ("MAX_BATCH_SIZE", "1", "max_batch_size", 1),
        ("MAX_BATCH_WAIT_MS", "2.5", "max_batch_wait_ms", 2.5),
        ("MAX_BATCH_WAIT_MS", "0", "max_batch_wait_ms", 0.0),
        ("MAX_QUEUE_SIZE", "10", "max_queue_size", 10),
        ("REQUEST_TIMEOUT", "0.5", "request_timeout_s", 0.5),
        ("NUM_THREADS", "4", "num_threads", 4),
        ("NUM_THREADS", "", "num_threads", None),
        ("SHUTDOWN_GRACE", "0", "shutdown_grace_s", 0.0),
        ("SHUTDOWN_GRACE", "12.5", "shutdown_grace_s", 12.5),
        ("GZIP_MIN_BYTES", "0", "gzip_min_bytes", 0),
        ("CORS_ALLOW_ORIGINS", "https://a.example", "cors_allow_origins", ("https://a.example",)),
        ("CORS_ALLOW_ORIGINS", "a, b ,,c ", "cors_allow_origins", ("a", "b", "c")),
        ("CORS_ALLOW_ORIGINS", "*", "cors_allow_origins", ("*",)),
        ("CORS_ALLOW_ORIGINS", "", "cors_allow_origins", ()),
        ("CORS_ALLOW_ORIGINS", " , ", "cors_allow_origins", ()),
    ],
)
def test_parses_each_variable(variable, value, field, expected):
    settings = Settings.from_env({variable: value})
    actual = getattr(settings, field)
    assert actual == expected
    assert type(actual) is type(expected)
    others = {k: v for k, v in settings.model_dump().items() if k != field}
    assert others == {k: v for k, v in DEFAULTS.items() if k != field}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("yes", True),
        ("on", True),
        (" 1 ", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_hf_hub_offline_flag(value, expected):
    assert Settings.from_env({"HF_HUB_OFFLINE": value}).hf_hub_offline is expected


@pytest.mark.parametrize(
    "variable, value",
    [
        ("PORT", "abc"),
        ("PORT", "80.5"),
        ("PORT", "-1"),
        ("PORT", "65536"),
        ("PORT", ""),
        ("MAX_BODY_BYTES", "0"),
        ("MAX_BODY_BYTES", "1e6x"),
        ("MAX_IMAGE_PIXELS", "0"),
        ("MAX_AUDIO_SECONDS", "0"),
        ("MAX_AUDIO_SECONDS", "-3"),
        ("MAX_AUDIO_SECONDS", "ten"),
        ("MAX_INPUTS", "0"),
        ("MAX_BATCH_SIZE", "0"),
        ("MAX_BATCH_WAIT_MS", "-1"),
        ("MAX_QUEUE_SIZE", "0"),
        ("REQUEST_TIMEOUT", "0"),
        ("REQUEST_TIMEOUT", "soon"),
        ("NUM_THREADS", "0"),
        ("NUM_THREADS", "two"),
        ("NUM_THREADS", "1.5"),
        ("SHUTDOWN_GRACE", "-0.1"),
        ("GZIP_MIN_BYTES", "-1"),
        ("LOG_LEVEL", "verbose"),
        ("LOG_LEVEL", "5"),
        ("MAX_NEW_TOKENS", "0"),
        ("MAX_JSON_DEPTH", "1"),
        ("QUEUE_MEMORY_BUDGET", "0"),
        ("DECODE_WORKERS", "0"),
        ("WAIT_FOR_MODEL_TIMEOUT", "0"),
    ],
)
def test_invalid_values_name_the_variable(variable, value):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({variable: value})
    message = str(info.value)
    assert message.startswith("Invalid configuration: ")
    assert f"{variable}: " in message
    assert isinstance(info.value, ValueError)


def test_body_budget_must_hold_one_body():
    with pytest.raises(SettingsError, match="BODY_MEMORY_BUDGET .* MAX_BODY_BYTES"):
        Settings.from_env({"MAX_BODY_BYTES": "1000", "BODY_MEMORY_BUDGET": "999"})


def test_several_invalid_values_are_all_reported():
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"PORT": "x", "MAX_INPUTS": "0", "MODEL_ID": "fine"})
    message = str(info.value)
    assert "PORT: " in message
    assert "MAX_INPUTS: " in message
    assert "MODEL_ID" not in message


def test_overrides_win_over_environment():
    settings = Settings.from_env({"PORT": "1234", "MODEL_ID": "env/model"}, port=4321, task="fill-mask")
    assert settings.port == 4321
    assert settings.model_id == "env/model"
    assert settings.task == "fill-mask"


def test_overrides_are_validated():
    with pytest.raises(SettingsError, match="PORT: "):
        Settings.from_env({}, port=70000)
    with pytest.raises(SettingsError, match="bogus"):
        Settings.from_env({}, bogus=1)


def test_override_can_replace_an_invalid_environment_value():
    assert Settings.from_env({"PORT": "not-a-port"}, port=9000).port == 9000


def test_overrides_accept_python_values():
    settings = Settings.from_env({}, cors_allow_origins=["a", "b"], hf_hub_offline=True, num_threads=2)
    assert settings.cors_allow_origins == ("a", "b")
    assert settings.hf_hub_offline is True
    assert settings.num_threads == 2


def test_hf_token_not_shown():
    settings = Settings.from_env({"HF_TOKEN": "hf_supersecret", "MODEL_ID": "org/name"})
    assert settings.hf_token == "hf_supersecret"
    assert "hf_supersecret" not in repr(settings)
    assert "hf_supersecret" not in str(settings)
    assert "hf_token" not in repr(settings)
    assert "org/name" in repr(settings)


def test_settings_are_frozen():
    settings = Settings.from_env({})
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]


def test_unknown_fields_rejected_directly():
    with pytest.raises(ValidationError):
        Settings(unknown=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "hf_home, expected",
    [
        (None, None),
        ("", None),
        ("/data/hf", os.path.join("/data/hf", "hub")),
        ("relative/dir", os.path.join("relative/dir", "hub")),
    ],
)
def test_hub_cache_dir(hf_home, expected):
    environ = {} if hf_home is None else {"HF_HOME": hf_home}
    assert Settings.from_env(environ).hub_cache_dir == expected


def test_get_settings_is_cached(monkeypatch):
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("MODEL_ID", "first/model")
        first = get_settings()
        monkeypatch.setenv("MODEL_ID", "second/model")
        assert get_settings() is first
        assert first.model_id == "first/model"
    finally:
        get_settings.cache_clear()


def test_module_exports():
    assert config.SettingsError.__mro__[1] is ValueError
