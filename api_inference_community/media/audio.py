"""Audio: decoding request bytes to mono float32 at a given rate, and encoding waveforms, with PyAV."""

from __future__ import annotations

import io
from collections.abc import Mapping
from types import MappingProxyType

import av
import numpy as np

from .formats import AUDIO_FORMATS, MediaError, describe

# Decoded samples (at the requested rate) one input may have: 256 MiB of float32, 70 minutes at 16 kHz.
DEFAULT_MAX_AUDIO_SAMPLES = 1 << 26
# The highest input sample rate accepted (studio audio goes to 384 kHz).
DEFAULT_MAX_SAMPLE_RATE = 768_000
# A declared duration is refused early only this far beyond a limit (durations from bitrates are estimates);
# the samples decoded are held to the exact limit.
DECLARED_MARGIN = 1.1

_CHUNK_SAMPLES = 1 << 20  # samples cleaned of NaN and infinities at a time

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


def decode_audio(
    data: bytes,
    sampling_rate: int,
    max_seconds: float | None = None,
    *,
    max_samples: int | None = DEFAULT_MAX_AUDIO_SAMPLES,
    max_sample_rate: int = DEFAULT_MAX_SAMPLE_RATE,
) -> np.ndarray:
    """Decode audio bytes of any container/codec PyAV knows.

    Returns a mono (channel average) float32 array resampled to ``sampling_rate``. Refused with a
    MediaError: audio longer than ``max_seconds``, or of more than ``max_samples`` samples once
    resampled (its memory: 4 bytes each), or at a rate above ``max_sample_rate``. What the
    container declares (duration, rate) is checked before decoding; the samples are counted while
    decoding too, so a container that lies is stopped as soon as it goes past a limit.
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

    limits = _Limits(sampling_rate, max_seconds, max_samples, max_sample_rate)
    with container:
        if not container.streams.audio:
            raise MediaError("Invalid audio: no audio stream found")
        stream = container.streams.audio[0]
        declared = limits.check_declared(container, stream)
        output = _Samples(limits.expected_samples(declared), limits.max_samples)
        resampler: av.AudioResampler | None = None
        input_rate = 0
        read = 0  # samples read at `input_rate`
        earlier = 0.0  # seconds read at other rates before
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
                    limits.check_rate(frame.sample_rate)
                    if resampler is None or frame.sample_rate != input_rate:
                        if resampler is not None:
                            _collect(output, resampler.resample(None), limits)
                            earlier += read / input_rate
                        resampler = av.AudioResampler(format="flt", layout="mono", rate=sampling_rate)
                        input_rate, read = frame.sample_rate, 0
                    read += frame.samples
                    limits.check_seconds(earlier + read / input_rate)
                    _collect(output, resampler.resample(_mono_frame(frame)), limits)
        except MediaError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # Demuxing stopped early (e.g. truncated file).
            error = exc
        if resampler is not None:
            _collect(output, resampler.resample(None), limits)

    waveform = output.result()
    if waveform.size == 0:
        detail = f" ({describe(error)})" if error is not None else ""
        raise MediaError(f"Invalid audio: no audio samples could be decoded{detail}")
    for start in range(0, waveform.size, _CHUNK_SAMPLES):  # in place, with small temporaries
        np.nan_to_num(waveform[start : start + _CHUNK_SAMPLES], copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return waveform


class _Limits:
    """The limits of one decoding, checked on what the container declares and on what it gives."""

    def __init__(self, sampling_rate: int, max_seconds: float | None, max_samples: int | None, max_rate: int) -> None:
        self.sampling_rate = sampling_rate
        self.max_seconds = max_seconds
        self.max_samples = max_samples
        self.max_rate = max_rate

    def check_declared(self, container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
        """Refuse early what the header declares beyond a limit (with a margin: some durations are estimates);
        returns the declared duration, if any."""
        if stream.codec_context is None:
            raise MediaError("Invalid audio: no decoder for this audio codec")
        if stream.codec_context.sample_rate:
            self.check_rate(stream.codec_context.sample_rate)
        declared = _declared_seconds(container, stream)
        if declared is None:
            return None
        if self.max_seconds is not None and declared > self.max_seconds * DECLARED_MARGIN + 1.0:
            raise MediaError(
                f"Invalid audio: longer than the maximum of {self.max_seconds:g} seconds "
                f"(the file declares {declared:.0f} seconds)"
            )
        if self.max_samples is not None and declared * self.sampling_rate > self.max_samples * DECLARED_MARGIN:
            raise MediaError(
                f"Invalid audio: too long to decode (the file declares {declared:.0f} seconds, the limit is "
                f"{self.max_samples} samples at {self.sampling_rate} Hz)"
            )
        return declared

    def expected_samples(self, declared: float | None) -> int:
        """How many samples to make room for: what the file declares (else a second), within the limits."""
        expected = self.sampling_rate if declared is None else int(declared * self.sampling_rate) + 4096
        if self.max_seconds is not None:
            expected = min(expected, int(self.max_seconds * self.sampling_rate) + 4096)
        expected = min(expected, DEFAULT_MAX_AUDIO_SAMPLES if self.max_samples is None else self.max_samples)
        return max(expected, 1)

    def check_rate(self, rate: int) -> None:
        if rate > self.max_rate:
            raise MediaError(f"Invalid audio: sample rate {rate} Hz is above the maximum of {self.max_rate} Hz")

    def check_seconds(self, seconds: float) -> None:
        if self.max_seconds is not None and seconds > self.max_seconds:
            raise MediaError(f"Invalid audio: longer than the maximum of {self.max_seconds:g} seconds")

    def check_samples(self, samples: int) -> None:
        if self.max_samples is not None and samples > self.max_samples:
            raise MediaError(
                f"Invalid audio: too long to decode (more than {self.max_samples} samples at {self.sampling_rate} Hz)"
            )


def _declared_seconds(container: av.container.InputContainer, stream: av.AudioStream) -> float | None:
    """The duration the stream's header (else the container's) declares, if any."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def encode_audio(waveform: np.ndarray, sampling_rate: int, fmt: str, sample_format: str | None = None) -> bytes:
    """Encode a mono ``(samples,)`` or ``(channels, samples)`` waveform.

    ``fmt`` is one of :data:`AUDIO_FORMATS`. Float samples are expected in
    [-1, 1] (values outside are clipped); integer arrays are scaled from their
    full range. Rates a codec cannot take are resampled (48000 Hz for Opus).
    ``sample_format``: the samples as the codec stores them, one it supports
    (e.g. ``"s32"`` for FLAC, as the ffmpeg command line writes float input);
    by default the codec's first (16-bit for FLAC and WAV).
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
        if sample_format is not None:
            if sample_format not in formats:
                raise ValueError(f"The {key} encoder takes the sample formats {', '.join(sorted(formats))}")
            stream.format = sample_format
        elif "flt" in formats and codec.name in ("libopus", "opus"):
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


class _Samples:
    """Decoded float32 samples, appended in place: room is made for what the file declares (pages are
    only used as they are written), grown by half when it holds more, trimmed to size at the end."""

    def __init__(self, capacity: int, limit: int | None) -> None:
        self.array = np.empty(capacity, dtype=np.float32)
        self.size = 0
        self.limit = limit  # never room for more (`_Limits.check_samples` refuses more first)

    def append(self, samples: np.ndarray) -> None:
        end = self.size + samples.size
        if end > self.array.size:  # in place (realloc), no copy of what is there
            grown = max(end, self.array.size * 3 // 2)
            self.array.resize(grown if self.limit is None else max(end, min(grown, self.limit)), refcheck=False)
        self.array[self.size : end] = samples
        self.size = end

    def result(self) -> np.ndarray:
        self.array.resize(self.size, refcheck=False)
        return self.array


def _collect(output: _Samples, frames: list[av.AudioFrame], limits: _Limits) -> None:
    """Append resampled mono float frames to `output`, within the sample limit."""
    for frame in frames:
        if frame is not None and frame.samples:
            limits.check_samples(output.size + frame.samples)
            output.append(frame.to_ndarray().reshape(-1))


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
