"""Upstream parity: images and audio through the `validation` helpers, as upstream apps use them."""

from __future__ import annotations

import base64
import io
import json

import av
import numpy as np
import pytest
from PIL import Image

from api_inference_community import media
from api_inference_community.validation import (
    ffmpeg_convert,
    ffmpeg_read,
    normalize_payload,
    normalize_payload_audio,
    normalize_payload_image,
    normalize_payload_tensor,
)

SR = 16000
SAMPLES = 219040  # 13.69 s at 16 kHz


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def tone(samples: int = SAMPLES, rate: int = SR) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)).astype(np.float32)


@pytest.fixture(scope="module")
def flac() -> bytes:
    return media.encode_audio(tone(), SR, "flac")


@pytest.mark.parametrize("size", [(300, 200), (2560, 1440)])
def test_raw_image_bytes(size):
    image, parameters = normalize_payload_image(jpeg(*size))
    assert isinstance(image, Image.Image) and image.size == size
    assert parameters == {}


def test_base64_image_keeps_its_parameters_unchecked():
    document = {"inputs": base64.b64encode(jpeg(30, 20)).decode(), "parameters": {"candidate_labels": ["a", "b"]}}
    image, parameters = normalize_payload_image(json.dumps(document).encode())
    assert image.size == (30, 20)
    assert parameters == {"candidate_labels": ["a", "b"]}


@pytest.mark.parametrize("rate, samples", [(16000, SAMPLES), (48000, 3 * SAMPLES), (8000, SAMPLES // 2)])
def test_audio_is_resampled_to_the_pipeline_rate(flac, rate, samples):
    waveform, parameters = normalize_payload_audio(flac, rate)
    assert type(waveform) is np.ndarray and waveform.dtype == np.float32
    assert waveform.shape == (samples,)
    assert parameters == {}


@pytest.mark.parametrize("fmt", ["ogg", "webm"])
def test_two_channels_become_one(fmt):
    stereo = np.stack([tone(), 0.5 * tone()])
    waveform, _ = normalize_payload_audio(media.encode_audio(stereo, SR, fmt), SR)
    assert waveform.shape == (SAMPLES,)


@pytest.mark.parametrize("data", [b"fLaC" + bytes(100), b"not audio at all", b""], ids=["header-only", "text", "empty"])
def test_malformed_audio_is_a_value_error_with_upstreams_message(data):
    with pytest.raises(ValueError, match="^Malformed soundfile$"):
        normalize_payload_audio(data, SR)
    with pytest.raises(ValueError, match="^Malformed soundfile$"):
        ffmpeg_read(data, SR)


def test_truncated_audio_is_malformed(flac):
    with pytest.raises(ValueError, match="^Malformed soundfile$"):
        normalize_payload_audio(flac[:200], SR)


def test_audio_dispatch_needs_a_sampling_rate(flac):
    with pytest.raises(OSError, match="sampling rate"):
        normalize_payload(flac, "automatic-speech-recognition", None)
    waveform, _ = normalize_payload(flac, "automatic-speech-recognition", SR)
    assert waveform.shape == (SAMPLES,)


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("fmt", ["flac", "wav"])
def test_convert_then_read_keeps_every_sample(flac, rate, fmt):
    waveform, _ = normalize_payload_audio(flac, rate)
    encoded = ffmpeg_convert(waveform, rate, fmt)
    again, _ = normalize_payload_audio(encoded, rate)
    assert again.shape == waveform.shape


def test_wav_size_matches_upstream():
    assert len(ffmpeg_convert(tone(), SR, "wav")) == 438158  # 16-bit PCM and the same header as the ffmpeg CLI


def test_flac_holds_32_bit_samples_as_the_ffmpeg_cli_writes_them():
    with av.open(io.BytesIO(ffmpeg_convert(tone(1000), SR, "flac"))) as container:
        assert container.streams.audio[0].format.name == "s32"


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_tensor_with_shape_and_dtype_in_parameters_is_a_torch_tensor(dtype):
    torch = pytest.importorskip("torch")
    values = torch.arange(6, dtype=getattr(torch, dtype)).reshape(2, 3)
    raw = values.view(torch.int16).numpy().tobytes() if dtype == "bfloat16" else values.numpy().tobytes()
    parameters = {"shape": [2, 3], "dtype": dtype, "num_inference_steps": 4}
    document = {"inputs": base64.b64encode(raw).decode(), "parameters": parameters}
    tensor, rest = normalize_payload_tensor(json.dumps(document).encode())
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == getattr(torch, dtype)
    assert torch.equal(tensor, values)
    assert rest == {"num_inference_steps": 4}


@pytest.mark.parametrize("missing", ["shape", "dtype"])
def test_tensor_parameters_must_name_shape_and_dtype(missing):
    parameters = {"shape": [1], "dtype": "float32"}
    del parameters[missing]
    document = {"inputs": base64.b64encode(bytes(4)).decode(), "parameters": parameters}
    with pytest.raises(ValueError, match=f"Expected `{missing}` in parameters."):
        normalize_payload_tensor(json.dumps(document).encode())
