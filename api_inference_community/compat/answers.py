"""How upstream apps answer: the media format picked from `Accept`, and the usage headers.

Upstream picks the first listed format it knows, else its default (JPEG for images, FLAC for
audio), and never answers 406; it writes the audio length as a plain float (`13.69`). These
apply to `pipeline_route` only: `create_app` apps negotiate (`http.negotiation`) and write
`x-compute-audio-length` with three decimals (`http.headers`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .. import media
from ..http.headers import HEADER_AUDIO_LENGTH, HEADER_CHARACTERS, usage_headers
from ..tasks.registry import InputKind, OutputKind, TaskSpec

# The formats upstream lists, in its order, that the core can write.
IMAGE: List[str] = [fmt for fmt in ("jpeg", "png", "webp", "tiff", "bmp") if fmt in media.IMAGE_MIME]
AUDIO: List[str] = [fmt for fmt in ("flac", "ogg", "mp3", "wav", "m4a", "aac", "webm") if fmt in media.AUDIO_MIME]


def parse_accept(accept: str, accepted: List[str]) -> str:
    """The first format of `accept` (by its subtype: `image/png` -> `png`) in `accepted`, else `accepted[0]`."""
    for item in accept.split(","):
        subtype = item.split(";", 1)[0].strip().rsplit("/", 1)[-1]
        if subtype in accepted:
            return subtype
    return accepted[0]


def legacy_output_format(spec: TaskSpec, accept: Optional[str]) -> Optional[str]:
    """The media format of an upstream app's answer (None for JSON)."""
    if spec.output_kind == OutputKind.IMAGE:
        return parse_accept(accept or "", IMAGE)
    if spec.output_kind in (OutputKind.AUDIO, OutputKind.AUDIO_LIST):
        return parse_accept(accept or "", AUDIO)
    return None


def legacy_usage_headers(spec: TaskSpec, inputs: Any, sampling_rate: Optional[int]) -> Dict[str, str]:
    """Upstream's usage figure: seconds of audio as a plain float, characters for tensors too (0)."""
    if spec.input_kind == InputKind.AUDIO:
        return {HEADER_AUDIO_LENGTH: str(len(inputs) / sampling_rate if sampling_rate else 0.0)}
    if spec.input_kind == InputKind.TENSOR:
        return {HEADER_CHARACTERS: "0"}
    return usage_headers(spec, inputs, sampling_rate)
