"""What the audio-input pipelines share: the sampling rate the core resamples requests to."""

from __future__ import annotations

from typing import Any

from api_inference_community.errors import InvalidInput


def model_sampling_rate(pipe: Any) -> int:
    """The rate the model's feature extractor expects (16 kHz for most speech models)."""
    extractor = getattr(pipe, "feature_extractor", None)
    rate = getattr(extractor, "sampling_rate", None)
    if not rate:
        raise ValueError("the model's folder has no feature extractor with a sampling rate (preprocessor_config.json)")
    return int(rate)


def minimum_samples(config: Any) -> int:
    """The fewest samples the model's convolutional feature encoder can read (its receptive field;
    1 for models without one): shorter audio is refused with a 400 rather than failing in the model."""
    kernels, strides = getattr(config, "conv_kernel", None), getattr(config, "conv_stride", None)
    if not kernels or not strides:
        return 1
    field, jump = 1, 1
    for kernel, stride in zip(kernels, strides):
        field += (kernel - 1) * jump
        jump *= stride
    return field


def check_length(waveform: Any, minimum: int, sampling_rate: int, where: str = "inputs") -> None:
    if len(waveform) < minimum:
        raise InvalidInput(
            f"`{where}`: the audio is {len(waveform)} samples long ({1000 * len(waveform) / sampling_rate:.1f} ms "
            f"at {sampling_rate} Hz); this model reads at least {minimum} samples"
        )
