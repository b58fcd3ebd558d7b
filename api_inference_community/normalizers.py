"""Upstream import path: `from api_inference_community.normalizers import speaker_diarization_normalize`.

A thin compatibility module for apps written for the upstream package.
"""

from .compat.diarization import Classes, speaker_diarization_normalize

__all__ = ["Classes", "speaker_diarization_normalize"]
