"""The audio tasks over HTTP (in-process): speech recognition, audio classification, text-to-speech."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tiny_models
from transformers_testing import answer, b64, refused, speech

from api_inference_community.media import decode_audio, encode_audio


def wav_of(waveform: np.ndarray, rate: int = 16000) -> bytes:
    return encode_audio(waveform, rate, "wav")


def test_speech_recognition(served):
    client = served("automatic-speech-recognition")
    audio = wav_of(speech(1.0))
    response = client.post("/", content=audio)
    assert response.status_code == 200 and response.headers["x-compute-audio-length"] == "1.000"
    transcript = response.json()
    assert set(transcript) == {"text"} and isinstance(transcript["text"], str)
    timed = answer(client, b64(audio), return_timestamps=True)
    assert timed["text"] == transcript["text"] and "chunks" in timed
    previous = 0.0
    for chunk in timed["chunks"]:
        start, end = chunk["timestamp"]
        assert previous <= start <= end <= 1.0 + 1e-6 and chunk["text"] in transcript["text"]
        previous = start
    assert " ".join(chunk["text"] for chunk in timed["chunks"]) == transcript["text"]
    assert client.post("/", content=encode_audio(speech(1.0, 44100), 44100, "flac")).status_code == 200  # resampled
    refused(
        client,
        {"inputs": b64(audio), "parameters": {"generation_parameters": {"num_beams": 2}}},
        "`parameters.generation_parameters`",
        "CTC",
    )
    refused(
        client, {"inputs": b64(audio), "parameters": {"return_timestamps": "word"}}, "`parameters.return_timestamps`"
    )
    refused(client, wav_of(speech(0.01)), "`inputs`", "samples")  # shorter than the model's receptive field


def test_speech_recognition_runs_one_request_at_a_time(pipeline):
    assert not type(pipeline("automatic-speech-recognition")).supports_batching()


def test_audio_classification(served, pipeline):
    client = served("audio-classification")
    audio = wav_of(speech(1.0))
    labels = client.post("/", content=audio).json()
    names = ["speech", "music", "noise", "silence"]
    assert sorted(item["label"] for item in labels) == sorted(names)
    assert [x["score"] for x in labels] == sorted((x["score"] for x in labels), reverse=True)
    assert sum(x["score"] for x in labels) == pytest.approx(1.0, abs=1e-5)
    assert len(answer(client, b64(audio), top_k=2)) == 2
    raw = answer(client, b64(audio), function_to_apply="none")
    sigmoid = answer(client, b64(audio), function_to_apply="sigmoid")
    assert [x["label"] for x in raw] == [x["label"] for x in sigmoid]
    assert [x["score"] for x in sigmoid] == pytest.approx([1 / (1 + np.exp(-x["score"])) for x in raw], abs=1e-5)
    refused(client, {"inputs": b64(audio), "parameters": {"top_k": 0}}, "`parameters.top_k`")
    pipe = pipeline("audio-classification")
    sounds = [speech(0.5, seed=i) for i in range(3)]
    sounds.append(speech(1.5, seed=5))  # padded in the batch: the attention mask leaves the padding out
    for one, many in zip([pipe(s) for s in sounds], pipe.batch(sounds)):
        assert [x["label"] for x in one] == [x["label"] for x in many]
        assert [x["score"] for x in one] == pytest.approx([x["score"] for x in many], abs=1e-5)


def test_text_to_speech(served):
    client = served("text-to-speech")
    response = client.post("/", json={"inputs": "Hello world"})
    assert response.status_code == 200 and response.headers["content-type"] == "audio/flac"
    waveform = decode_audio(response.content, tiny_models.SAMPLING_RATE)
    assert waveform.ndim == 1 and waveform.size > 0
    again = decode_audio(client.post("/", json={"inputs": "Hello world"}).content, tiny_models.SAMPLING_RATE)
    assert np.allclose(again, waveform, atol=1e-3)  # the same text, the same audio (a fixed seed)
    wav = client.post("/", json={"inputs": "Hello world"}, headers={"accept": "audio/wav"})
    assert wav.headers["content-type"] in ("audio/wav", "audio/x-wav") and wav.content[:4] == b"RIFF"
    reseeded = client.post("/", json={"inputs": "Hello world", "parameters": {"seed": 5}})
    assert reseeded.status_code == 200 and reseeded.content != response.content
    longer = decode_audio(client.post("/", json={"inputs": "Hello world, hello again"}).content, 16000)
    assert longer.size > waveform.size
    refused(client, {"inputs": "Hello", "parameters": {"do_sample": True}}, "`do_sample`", "does not generate")
    refused(
        client,
        {"inputs": "Hello", "parameters": {"generation_parameters": {"top_k": 0}}},
        "`parameters.generation_parameters.top_k`",
    )
    refused(client, {"inputs": "hello " * 300}, "`inputs`", "tokens")
    assert io.BytesIO(response.content).read(4) == b"fLaC"
