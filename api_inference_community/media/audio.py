"""Audio: decoding request bytes to mono float32 at a given rate, and encoding waveforms, with PyAV."""

from __future__ import annotations

import io
from collections.abc import Mapping
from types import MappingProxyType

import av
import numpy as np

from .formats import AUDIO_FORMATS, MediaError, describe

# Encoders to try for each output format, best first: (container, codecs).
_AUDIO_ENCODERS: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "flac": ("flac", ("flac",)),
        "wav": ("wav", ("pcm_s16le",)),
        "ogg": ("ogg", ("libvorbis", "libopus", "opus", "vorbis")),
        "mp3": ("mp3", ("libmp3lame", "libshine", "mp3")),
        "webm": ("webm", ("libopus", "opus")),
    }
)


def decode_audio(data: bytes, sampling_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Decode audio bytes of any container/codec PyAV knows.

    Returns a mono (channel average) float32 array resampled to ``sampling_rate``.
    With ``max_seconds``, decoding stops and fails as soon as the audio is longer.
    """
    if sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be positive, got {sampling_rate}")
    if not data:
        raise MediaError("Invalid audio: empty data")
    try:
        # No nested I/O: playlist/concat demuxers must not read other files.
        container = av.open(
            io.BytesIO(data),
            mode="r",
            options={"protocol_whitelist": "none"},
            metadata_errors="replace",
        )
    except MemoryError:
        raise
    except Exception as exc:
        raise MediaError(f"Invalid audio: {describe(exc)}") from exc

    with container:
        if not container.streams.audio:
            raise MediaError("Invalid audio: no audio stream found")
        stream = container.streams.audio[0]
        chunks: list[np.ndarray] = []
        resampler: av.AudioResampler | None = None
        input_rate = 0
        seconds = 0.0
        error: Exception | None = None
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.FFmpegError as exc:  # A corrupt packet: skip it.
                    error = exc
                    continue
                for frame in frames:
                    if frame.samples == 0 or frame.sample_rate <= 0:
                        continue
                    seconds += frame.samples / frame.sample_rate
                    if max_seconds is not None and seconds > max_seconds:
                        raise MediaError(f"Invalid audio: longer than the maximum of {max_seconds:g} seconds")
                    if resampler is None or frame.sample_rate != input_rate:
                        if resampler is not None:
                            _collect(chunks, resampler.resample(None))
                        resampler = av.AudioResampler(format="flt", layout="mono", rate=sampling_rate)
                        input_rate = frame.sample_rate
                    _collect(chunks, resampler.resample(_mono_frame(frame)))
        except MediaError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # Demuxing stopped early (e.g. truncated file).
            error = exc
        if resampler is not None:
            _collect(chunks, resampler.resample(None))

    waveform = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if waveform.size == 0:
        detail = f" ({describe(error)})" if error is not None else ""
        raise MediaError(f"Invalid audio: no audio samples could be decoded{detail}")
    return np.nan_to_num(waveform, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)


def encode_audio(waveform: np.ndarray, sampling_rate: int, fmt: str) -> bytes:
    """Encode a mono ``(samples,)`` or ``(channels, samples)`` waveform.

    ``fmt`` is one of :data:`AUDIO_FORMATS`. Float samples are expected in
    [-1, 1] (values outside are clipped); integer arrays are scaled from their
    full range. Rates a codec cannot take are resampled (48000 Hz for Opus).
    """
    key = fmt.strip().lower()
    if key not in AUDIO_FORMATS:
        raise ValueError(f"Unknown audio format {fmt!r}; expected one of {', '.join(AUDIO_FORMATS)}")
    if sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be positive, got {sampling_rate}")
    samples = _as_float_channels(waveform)
    channels = samples.shape[0]
    layout = {1: "mono", 2: "stereo"}.get(channels) or av.AudioLayout(channels).name

    container_format, codec_names = _AUDIO_ENCODERS[key]
    codec = _find_encoder(codec_names)
    if codec is None:
        raise RuntimeError(f"No {key} audio encoder is available in this PyAV build")
    rate = _encoder_rate(codec, sampling_rate)
    options = {"strict": "experimental"} if codec.experimental else {}

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream: av.AudioStream = container.add_stream(codec.name, rate=rate, layout=layout, options=options)  # type: ignore[assignment]
        formats = {f.name for f in codec.audio_formats or ()}
        if "flt" in formats and codec.name in ("libopus", "opus"):
            stream.format = "flt"
        container.start_encoding()  # Writes the header even for empty audio.
        if samples.shape[1]:
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
            frame.sample_rate = sampling_rate
            frame.pts = 0
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def audio_duration_seconds(waveform: np.ndarray, sampling_rate: int) -> float:
    """Duration of a ``(samples,)`` or ``(channels, samples)`` waveform."""
    if sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be positive, got {sampling_rate}")
    shape = np.shape(waveform)
    if not shape:
        raise ValueError("waveform must have at least one dimension")
    return shape[-1] / float(sampling_rate)


def _mono_frame(frame: av.AudioFrame) -> av.AudioFrame:
    """Average the channels of a decoded frame into a mono float frame."""
    channels = frame.layout.nb_channels or 1
    array = frame.to_ndarray()
    if not frame.format.is_planar:
        array = array.reshape(-1, channels).T
    array = _pcm_to_float(array)
    mono = array.mean(axis=0, dtype=np.float32) if channels > 1 else array[0]
    out = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(mono, dtype=np.float32)[None, :],
        format="flt",
        layout="mono",
    )
    out.sample_rate = frame.sample_rate
    return out


def _pcm_to_float(array: np.ndarray) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float32, copy=False)
    if kind == "i":
        return (array / float(2 ** (8 * array.dtype.itemsize - 1))).astype(np.float32)
    if kind == "u":
        middle = float(2 ** (8 * array.dtype.itemsize - 1))
        return ((array - middle) / middle).astype(np.float32)
    raise MediaError(f"Invalid audio: unsupported sample type {array.dtype}")


def _collect(chunks: list[np.ndarray], frames: list[av.AudioFrame]) -> None:
    for frame in frames:
        if frame is not None and frame.samples:
            chunks.append(frame.to_ndarray().reshape(-1).astype(np.float32))


def _as_float_channels(waveform: np.ndarray) -> np.ndarray:
    """Return a C-contiguous float32 ``(channels, samples)`` array in [-1, 1]."""
    array = np.asarray(waveform)
    if array.ndim == 1:
        array = array[None, :]
    elif array.ndim != 2:
        raise ValueError(f"waveform must be (samples,) or (channels, samples), got {array.shape}")
    if not 1 <= array.shape[0] <= 8:
        raise ValueError(f"waveform must be (channels, samples) with 1 to 8 channels, got shape {array.shape}")
    kind = array.dtype.kind
    if kind == "i":
        array = array / float(2 ** (8 * array.dtype.itemsize - 1))
    elif kind == "u":
        middle = float(2 ** (8 * array.dtype.itemsize - 1))
        array = (array - middle) / middle
    elif kind != "f":
        raise ValueError(f"waveform must hold numbers, got dtype {array.dtype}")
    array = np.nan_to_num(array.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.ascontiguousarray(np.clip(array, -1.0, 1.0))


def _find_encoder(names: tuple[str, ...]) -> av.Codec | None:
    for name in names:
        try:
            return av.Codec(name, "w")
        except Exception:  # Not built into this FFmpeg.
            continue
    return None


def _encoder_rate(codec: av.Codec, rate: int) -> int:
    """The rate to encode at: ``rate`` if the codec takes it, else a close one."""
    supported = sorted(codec.audio_rates or ())
    if not supported or rate in supported:
        return rate
    if codec.name in ("libopus", "opus") and 48000 in supported:
        return 48000
    higher = [r for r in supported if r >= rate]
    return higher[0] if higher else supported[-1]
