"""Pipeline outputs to HTTP bodies: JSON, or the image or audio format the client accepts.

The format is chosen once, from `Accept`, before the request is queued (`output_format`: a 406
costs nothing); `encode_output` then writes the body in that format.
"""

from __future__ import annotations

import base64
import logging
from typing import Any, Optional, Tuple

from .. import media
from ..errors import InferenceFailed
from ..tasks.registry import OutputKind, TaskSpec
from .negotiation import negotiate
from .responses import dumps

logger = logging.getLogger(__name__)

MEDIA_OUTPUTS = (OutputKind.IMAGE, OutputKind.AUDIO, OutputKind.AUDIO_LIST)
JSON_MIME = {"json": "application/json"}


def output_format(spec: TaskSpec, accept: Optional[str]) -> Optional[str]:
    """The media format of this task's answer (None for JSON); NotAcceptable (406) if none fits."""
    if spec.output_kind == OutputKind.IMAGE:
        return negotiate(accept, media.IMAGE_MIME, "png")
    if spec.output_kind == OutputKind.AUDIO:
        return negotiate(accept, media.AUDIO_MIME, "flac")
    if spec.output_kind == OutputKind.AUDIO_LIST:  # JSON of audio blobs: Accept names JSON or the blobs' format
        return "flac" if accept and "json" in accept.lower() else negotiate(accept, media.AUDIO_MIME, "flac")
    negotiate(accept, JSON_MIME, "json")
    return None


def encode_output(spec: TaskSpec, outputs: Any, fmt: Optional[str]) -> Tuple[bytes, str]:
    """The response body and its content type for a pipeline's outputs, in `fmt` for media."""
    try:
        if spec.output_kind == OutputKind.IMAGE:
            fmt = fmt or "png"
            return media.encode_image(outputs, fmt), media.IMAGE_MIME[fmt]
        if spec.output_kind == OutputKind.AUDIO:
            fmt = fmt or "flac"
            waveform, sampling_rate = outputs
            return media.encode_audio(waveform, sampling_rate, fmt), media.AUDIO_MIME[fmt]
        if spec.output_kind == OutputKind.AUDIO_LIST:
            fmt = fmt or "flac"
            waveforms, sampling_rate, labels = outputs
            items = [
                {
                    "label": label,
                    "blob": base64.b64encode(media.encode_audio(w, sampling_rate, fmt)).decode("ascii"),
                    "content-type": media.AUDIO_MIME[fmt],
                }
                for w, label in zip(waveforms, labels)
            ]
            return dumps(items), "application/json"
        return dumps(outputs), "application/json"
    except (TypeError, ValueError) as error:
        logger.exception("Cannot encode the pipeline's output for %s", spec.name)
        raise InferenceFailed("The pipeline returned an output that cannot be encoded") from error
