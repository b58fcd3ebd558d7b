"""Content negotiation: the output format an HTTP Accept header asks for."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from ..errors import NotAcceptable

# Other names clients use for the types we produce.
_MIME_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "audio/x-wav": "audio/wav",
        "audio/wave": "audio/wav",
        "audio/vnd.wave": "audio/wav",
        "audio/x-pn-wav": "audio/wav",
        "audio/mp3": "audio/mpeg",
        "audio/x-mp3": "audio/mpeg",
        "audio/mpeg3": "audio/mpeg",
        "audio/x-mpeg": "audio/mpeg",
        "audio/x-mpeg-3": "audio/mpeg",
        "audio/mpg": "audio/mpeg",
        "audio/x-flac": "audio/flac",
        "audio/x-ogg": "audio/ogg",
        "application/ogg": "audio/ogg",
        "image/jpg": "image/jpeg",
        "image/pjpeg": "image/jpeg",
        "image/x-png": "image/png",
    }
)


def negotiate(accept: str | None, mimes: Mapping[str, str], default: str) -> str:
    """Pick the format key of ``mimes`` that best matches an HTTP Accept header.

    Honours q-values, ``type/*`` and ``*/*`` wildcards and common aliases (e.g.
    ``audio/x-wav``). Returns ``default`` when the header is absent or only
    wildcards match; raises :class:`NotAcceptable` when nothing matches.
    """
    if default not in mimes:
        raise ValueError(f"default {default!r} is not one of {list(mimes)}")
    ranges = _parse_accept(accept)
    if not ranges:
        return default

    best_key: tuple[float, int, int, int, int] | None = None
    best_fmt = default
    for position, (fmt, mime) in enumerate(mimes.items()):
        mime_type, _, mime_sub = _canonical_mime(mime).partition("/")
        specificity = -1
        quality = 0.0
        order = 0
        for index, (range_type, range_sub, q) in enumerate(ranges):
            if range_type == "*" and range_sub == "*":
                level = 0
            elif range_type == mime_type and range_sub == "*":
                level = 1
            elif range_type == mime_type and range_sub == mime_sub:
                level = 2
            else:
                continue
            if level > specificity or (level == specificity and q > quality):
                specificity, quality, order = level, q, index
        if specificity < 0 or quality <= 0:
            continue
        if specificity == 2:  # Named explicitly: earlier in the header wins ties.
            key = (quality, 1, -order, 0, -position)
        else:  # Wildcard only: prefer the default, then the order of ``mimes``.
            key = (quality, 0, 0, int(fmt == default), -position)
        if best_key is None or key > best_key:
            best_key, best_fmt = key, fmt
    if best_key is None:
        supported = ", ".join(dict.fromkeys(mimes.values()))
        raise NotAcceptable(f"Not acceptable: {accept!r}; supported media types are {supported}")
    return best_fmt


def _canonical_mime(mime: str) -> str:
    mime = mime.split(";", 1)[0].strip().lower()
    return _MIME_ALIASES.get(mime, mime)


def _parse_accept(accept: str | None) -> list[tuple[str, str, float]]:
    """Parse an Accept header into ``(type, subtype, q)``, skipping bad entries."""
    ranges: list[tuple[str, str, float]] = []
    if not accept:
        return ranges
    for item in accept.split(","):
        parts = [part.strip() for part in item.split(";")]
        mime = _canonical_mime(parts[0])
        if mime == "*":
            mime = "*/*"
        range_type, slash, range_sub = mime.partition("/")
        if not slash or not range_type or not range_sub or "/" in range_sub:
            continue
        if range_type == "*" and range_sub != "*":
            continue
        q = 1.0
        valid = True
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    valid = False
                    break
                if not math.isfinite(q):
                    valid = False
                    break
                q = min(max(q, 0.0), 1.0)
                break  # Parameters after q are accept-extensions.
        if valid:
            ranges.append((range_type, range_sub, q))
    return ranges
