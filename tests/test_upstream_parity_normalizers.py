"""Upstream parity: `normalizers.speaker_diarization_normalize` turns speaker activity into labelled segments."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from api_inference_community.normalizers import speaker_diarization_normalize

RATE = 16000


def activity(speakers: int, runs: dict) -> torch.Tensor:
    frames = torch.zeros((10, speakers))
    for speaker, spans in runs.items():
        for start, end in spans:
            frames[start:end, speaker] = 1
    return frames


def segment(name: str, start: int, end: int) -> dict:
    return {"class": name, "start": start / RATE, "end": end / RATE}


def test_silence_has_no_segments():
    assert speaker_diarization_normalize(torch.zeros((10, 2)), RATE, ["A", "B"]) == []


def test_segments_are_sorted_by_start():
    frames = activity(2, {0: [(1, 4), (8, 10)], 1: [(3, 8)]})
    assert speaker_diarization_normalize(frames, RATE, ["A", "B"]) == [
        segment("A", 1, 4),
        segment("B", 3, 8),
        segment("A", 8, 10),
    ]


def test_each_column_is_named():
    frames = activity(3, {0: [(1, 4)], 1: [(3, 8)], 2: [(8, 10)]})
    assert speaker_diarization_normalize(frames, RATE, ["A", "B", "C"]) == [
        segment("A", 1, 4),
        segment("B", 3, 8),
        segment("C", 8, 10),
    ]


def test_names_must_match_the_speakers():
    with pytest.raises(ValueError, match=r"classnames \(2\) and number of speakers \(3\)"):
        speaker_diarization_normalize(torch.zeros((10, 3)), RATE, ["A", "B"])


def test_numpy_activity_works_too():
    frames = activity(1, {0: [(0, 2)]}).numpy().astype(np.int64)
    assert speaker_diarization_normalize(frames, RATE, ["A"]) == [segment("A", 0, 2)]


def test_importing_it_does_not_import_torch():
    code = "import sys, api_inference_community.normalizers; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
