# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The one audio decoding path of the package: files, bytes, arrays and datasets-style dicts → float32 mono waveforms.

Decoding goes through soundfile (libsndfile: WAV, FLAC, OGG, MP3, ...) and resampling through librosa's soxr backend,
never through `datasets.Audio` decoding, which needs torchcodec and FFmpeg.
"""

import io
import numbers
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch


__all__ = ["audio_duration", "load_audio", "load_audio_segment"]

# A 2-D array whose smaller axis is at most this long is read as (channels, samples) or (samples, channels).
MAX_CHANNELS = 16

# soxr's high-quality preset: what librosa uses by default, stated here so that every caller resamples identically.
RESAMPLE_TYPE = "soxr_hq"


def _describe(name: str | None, audio: Any) -> str:
    if name is not None:
        return str(name)
    if isinstance(audio, (str, os.PathLike)):
        return str(audio)
    if isinstance(audio, Mapping) and audio.get("path"):
        return str(audio["path"])
    return "audio"


def _check_rate(rate: Any, what: str, key: str = "sampling_rate") -> int:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or rate <= 0 or float(rate) != int(rate):
        raise ValueError(f"{what}: `{key}` must be a positive integer number of samples per second, got {rate!r}.")
    return int(rate)


def _wav_shortfall(stream: Any) -> tuple[int, int, int] | None:
    """
    `(declared, present, block_align)` bytes of a RIFF/WAVE stream's `data` chunk when the file holds fewer bytes than
    its header promises, else `None` (not a WAV, complete, or a length the writer left open).

    libsndfile clamps the data length of a cut-off WAV to what is there and decodes the fragment without an error (it
    only notes "should be N" in its log), so a partly downloaded file would pass for a short one; this reads the
    header's own promise.
    """
    head = stream.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return None  # RF64 keeps its lengths in a `ds64` chunk; other formats fail in their own decoders
    order = "<" if head[:4] == b"RIFF" else ">"
    block_align = 0
    while True:
        header = stream.read(8)
        if len(header) < 8:
            return None
        ident, size = header[:4], struct.unpack(order + "I", header[4:])[0]
        if ident == b"fmt ":
            fmt = stream.read(min(size, 16))
            if len(fmt) >= 14:
                block_align = struct.unpack(order + "H", fmt[12:14])[0]
            stream.seek(size - len(fmt) + (size & 1), io.SEEK_CUR)
        elif ident == b"data":
            if size in (0, 0xFFFFFFFF):  # streaming writers (ffmpeg to a pipe, sox) leave the length unknown
                return None
            start = stream.tell()
            present = stream.seek(0, io.SEEK_END) - start
            return (size, present, block_align) if present < size else None
        else:
            stream.seek(size + (size & 1), io.SEEK_CUR)


def _check_complete(source: str | os.PathLike | bytes, what: str) -> None:
    """Raises naming the file when `source` (a path or the file's bytes) is a WAV cut short of its header's length."""
    if isinstance(source, bytes):
        shortfall = _wav_shortfall(io.BytesIO(source))
        label = "the audio `bytes`"
    else:
        try:
            with open(source, "rb") as stream:
                shortfall = _wav_shortfall(stream)
        except OSError:
            return  # unreadable: soundfile reports it, with its own reason
        label = f"audio file {str(source)!r}"
    if shortfall is None:
        return
    declared, present, block_align = shortfall
    if block_align:
        amount = f"{declared // block_align} frames but it holds {present // block_align}"
    else:
        amount = f"{declared} bytes of samples but it holds {present}"
    raise ValueError(
        f"{what}: {label} is truncated: its WAV header promises {amount}; the file was cut short (an interrupted "
        "download or copy?). Fetch it again."
    )


# Decoded past `max_seconds` before resampling, so that the resampler's filter sees the same samples at the cut as when
# the whole file is decoded (soxr_hq's reach is a few milliseconds: the waveforms are equal).
READ_MARGIN_SECONDS = 0.1


def _read(source, max_seconds: float | None) -> tuple[np.ndarray, int]:
    """(frames, channels) float32 whatever the sample format (integer PCM scaled to [-1, 1)); with a finite
    `max_seconds`, only the frames up to it (plus `READ_MARGIN_SECONDS`) are decoded, not the whole recording."""
    frames = -1
    if max_seconds is not None and np.isfinite(max_seconds):
        with sf.SoundFile(source) as handle:
            frames = min(handle.frames, int(np.ceil((max_seconds + READ_MARGIN_SECONDS) * handle.samplerate)))
            data = handle.read(frames, dtype="float32", always_2d=True)
            return data, int(handle.samplerate)
    data, rate = sf.read(source, frames=frames, dtype="float32", always_2d=True)
    return data, int(rate)


def _read_file(path: str | os.PathLike, what: str, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what}: no such audio file {str(path)!r}.")
    _check_complete(path, what)
    try:
        return _read(str(path), max_seconds)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise ValueError(f"{what}: cannot decode audio file {str(path)!r} with soundfile: {error}") from error


def _read_bytes(data: bytes, what: str, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    if len(data) == 0:
        raise ValueError(f"{what}: `bytes` is empty.")
    _check_complete(data, what)
    try:
        return _read(io.BytesIO(data), max_seconds)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise ValueError(f"{what}: cannot decode the audio `bytes` with soundfile: {error}") from error


def _to_numpy(array: Any, what: str) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu()
        if array.dtype in (torch.bfloat16, torch.float16):
            array = array.float()
        array = array.numpy()
    elif isinstance(array, (list, tuple)):
        array = np.asarray(array)
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{what}: expected a numpy array or torch tensor of samples, got {type(array).__name__}.")
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise ValueError(f"{what}: audio samples must be real numbers, got dtype {array.dtype}.")
    if np.issubdtype(array.dtype, np.integer):
        # Integer PCM as a file reader would scale it: int16 32767 -> ~1.0.
        scale = float(np.iinfo(array.dtype).max) + 1.0
        if np.issubdtype(array.dtype, np.unsignedinteger):
            return ((array.astype(np.float64) - scale / 2) / (scale / 2)).astype(np.float32)
        return (array.astype(np.float64) / scale).astype(np.float32)
    return array.astype(np.float32, copy=False)


def _to_mono(array: np.ndarray, what: str, channels_last: bool | None) -> np.ndarray:
    """Averages the channels of a 2-D array; `channels_last=None` takes the channel axis to be the short one."""
    if array.ndim == 1:
        return array
    if array.ndim != 2:
        raise ValueError(f"{what}: expected a 1-D (samples,) or 2-D multichannel waveform, got shape {array.shape}.")
    if channels_last is None:
        rows, columns = array.shape
        if min(rows, columns) > MAX_CHANNELS or rows == columns:
            raise ValueError(
                f"{what}: cannot tell the channel axis of a waveform of shape {array.shape}; pass (samples,) mono, "
                f"(channels, samples) or (samples, channels) with at most {MAX_CHANNELS} channels."
            )
        channels_last = columns < rows
    return array.mean(axis=1 if channels_last else 0, dtype=np.float64).astype(np.float32)


def _finish(waveform: np.ndarray, rate: int, sampling_rate: int, max_seconds: float | None, what: str) -> np.ndarray:
    if waveform.size == 0:
        raise ValueError(f"{what}: the audio is empty (0 samples).")
    if not np.all(np.isfinite(waveform)):
        bad = int(np.size(waveform) - np.count_nonzero(np.isfinite(waveform)))
        raise ValueError(f"{what}: the audio has {bad} NaN or infinite samples.")
    if rate != sampling_rate:
        import librosa  # only when resampling: librosa costs a second to import and the model package imports this

        waveform = librosa.resample(waveform, orig_sr=rate, target_sr=sampling_rate, res_type=RESAMPLE_TYPE)
    if max_seconds is not None and np.isfinite(max_seconds):  # inf: no limit
        waveform = waveform[: max(1, int(round(max_seconds * sampling_rate)))]
    return np.ascontiguousarray(waveform, dtype=np.float32)


def audio_duration(audio: Any, source_sampling_rate: int | None = None) -> float | None:
    """
    The duration in seconds of an audio input that [`load_audio`] takes, read without decoding it: from a file's or
    `bytes`' header (soundfile), or from an array's shape and rate. Used to order inputs by length.

    Args:
        audio: as for [`load_audio`].
        source_sampling_rate (`int`, *optional*): rate of a raw array or tensor `audio`.

    Returns:
        `float` or `None`: `None` when the duration is not known without decoding (an unreadable header, a truncated
        WAV, a raw array without a rate, an unsupported type); [`load_audio`] then reports the problem, if any, with
        the input's name.
    """
    try:
        if isinstance(audio, Mapping):  # the keys in `load_audio`'s order: array, bytes, path
            if audio.get("array") is not None:
                return audio_duration(audio["array"], audio.get("sampling_rate"))
            if audio.get("bytes") is not None:
                return audio_duration(audio["bytes"])
            return audio_duration(audio["path"]) if audio.get("path") is not None else None
        # A truncated WAV's header length is not its duration, and soundfile's is the fragment's: unknown.
        if isinstance(audio, (str, os.PathLike)):
            _check_complete(audio, "audio")
            return float(sf.info(os.fspath(audio)).duration)
        if isinstance(audio, bytes):
            _check_complete(audio, "audio")
            return float(sf.info(io.BytesIO(audio)).duration)
        if isinstance(audio, (np.ndarray, torch.Tensor)) and source_sampling_rate and audio.ndim in (1, 2):
            return max(audio.shape) / float(source_sampling_rate)  # the longer axis holds the samples
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    return None


def load_audio(
    audio: Any,
    sampling_rate: int,
    *,
    max_seconds: float | None = None,
    name: str | None = None,
    source_sampling_rate: int | None = None,
) -> np.ndarray:
    """
    Decodes one audio input into a float32 mono waveform at `sampling_rate`.

    Args:
        audio (`str`, `os.PathLike`, `dict`, `np.ndarray` or `torch.Tensor`):
            One of
            - a path to a file soundfile can read (WAV, FLAC, OGG, MP3, ...);
            - a datasets-style dict `{"array": ..., "sampling_rate": ...}` (as a decoded `datasets.Audio` column) or
              `{"path": ..., "bytes": ...}` (an undecoded one, `decode=False`; `bytes` win over `path` when set);
            - a raw array or tensor, only together with `source_sampling_rate`.
            Arrays may be 1-D `(samples,)` or 2-D multichannel, either `(channels, samples)` or `(samples, channels)`
            (the shorter axis, at most 16 long, is the channel axis); channels are averaged. Integer arrays are read
            as PCM and scaled to [-1, 1).
        sampling_rate (`int`):
            Target rate; audio at another rate is resampled with soxr.
        max_seconds (`float`, *optional*):
            Keep only the first `max_seconds` seconds (after resampling); a file or `bytes` is decoded only that far
            (with a margin for the resampler: the result equals decoding the whole file, then cutting).
        name (`str`, *optional*):
            How to call this input in error messages (e.g. `"audio[3]"`); defaults to its path.
        source_sampling_rate (`int`, *optional*):
            Rate of a raw array or tensor `audio`. Ignored for files and dicts, which carry their own rate.

    Returns:
        `np.ndarray`: float32, shape `(samples,)`, at `sampling_rate`.

    Raises:
        `ValueError`: naming the input, for a missing, truncated (a WAV shorter than its header says) or undecodable
        file, empty audio, NaN/infinite samples, a missing or invalid sampling rate, an unsupported type or shape, or a
        non-positive `max_seconds`.
    """
    what = _describe(name, audio)
    sampling_rate = _check_rate(sampling_rate, what)
    if max_seconds is not None and not (isinstance(max_seconds, numbers.Real) and max_seconds > 0):
        raise ValueError(f"{what}: `max_seconds` must be a positive number of seconds, got {max_seconds!r}.")

    channels_last = None
    if isinstance(audio, (str, os.PathLike)):
        waveform, rate = _read_file(audio, what, max_seconds)
        channels_last = True
    elif isinstance(audio, Mapping):
        if audio.get("array") is not None:
            if audio.get("sampling_rate") is None:
                raise ValueError(
                    f"{what}: a dict with an `array` needs its `sampling_rate`, e.g. "
                    "{'array': waveform, 'sampling_rate': 16000}."
                )
            waveform = _to_numpy(audio["array"], what)
            rate = _check_rate(audio["sampling_rate"], what)
        elif audio.get("bytes") is not None:
            waveform, rate = _read_bytes(audio["bytes"], what, max_seconds)
            channels_last = True
        elif audio.get("path") is not None:
            waveform, rate = _read_file(audio["path"], what, max_seconds)
            channels_last = True
        else:
            raise ValueError(
                f"{what}: an audio dict needs `array` + `sampling_rate`, `bytes` or `path`; got keys {sorted(audio)}."
            )
    elif isinstance(audio, (np.ndarray, torch.Tensor)):
        if source_sampling_rate is None:
            raise ValueError(
                f"{what}: a raw waveform has no sampling rate; pass {{'array': waveform, 'sampling_rate': rate}} "
                "(or `sampling_rate=` to the processor, or `source_sampling_rate=` to `load_audio`)."
            )
        waveform = _to_numpy(audio, what)
        rate = _check_rate(source_sampling_rate, what, key="source_sampling_rate")
    else:
        raise ValueError(
            f"{what}: unsupported audio input of type {type(audio).__name__}; expected a path, a numpy array or "
            "torch tensor, or a dict with `array` + `sampling_rate` or `path`/`bytes`."
        )
    waveform = _to_mono(waveform, what, channels_last)
    return _finish(waveform, rate, sampling_rate, max_seconds, what)


def load_audio_segment(
    path: str | os.PathLike,
    start: float,
    end: float,
    sampling_rate: int,
    *,
    name: str | None = None,
    max_overrun_seconds: float = 0.5,
) -> np.ndarray:
    """
    Decodes only the interval `[start, end)` seconds of a (long) audio file, e.g. one CMU-MOSEI segment of a video.

    Only the frames of the interval are read from disk. Segment intervals derived from transcripts often end a little
    past the end of the recording; an `end` up to `max_overrun_seconds` beyond it is clipped to the end of the file.

    Args:
        path (`str` or `os.PathLike`):
            An audio file soundfile can seek in (WAV, FLAC, ...).
        start (`float`):
            Start of the segment in seconds, `>= 0`.
        end (`float`):
            End of the segment in seconds, `> start`.
        sampling_rate (`int`):
            Target rate; the segment is resampled with soxr if the file's rate differs.
        name (`str`, *optional*):
            How to call this segment in error messages; defaults to `"<path> [start-end s]"`.
        max_overrun_seconds (`float`, *optional*, defaults to 0.5):
            How far `end` may lie past the end of the file before it is an error.

    Returns:
        `np.ndarray`: float32 mono, shape `(samples,)`, at `sampling_rate`.

    Raises:
        `ValueError`: for a missing, truncated or undecodable file, an invalid interval, an interval starting after the
        end of the file or ending more than `max_overrun_seconds` past it, or an empty/NaN segment.
    """
    what = name if name is not None else f"{path} [{start}-{end} s]"
    sampling_rate = _check_rate(sampling_rate, what)
    if not Path(path).is_file():
        raise ValueError(f"{what}: no such audio file {str(path)!r}.")
    if not (np.isfinite(start) and np.isfinite(end)) or start < 0 or end <= start:
        raise ValueError(f"{what}: invalid interval start={start!r}, end={end!r}; need 0 <= start < end.")
    # Even a segment inside the part that is there: the file is damaged, and later segments would be "outside" it.
    _check_complete(path, what)
    try:
        info = sf.info(str(path))
        rate, total = int(info.samplerate), int(info.frames)
        duration = total / rate
        if start >= duration or end > duration + max_overrun_seconds:
            raise ValueError(
                f"{what}: interval [{start}, {end}] s lies outside the file, which lasts {duration:.3f} s."
            )
        first = int(round(start * rate))
        last = min(int(round(end * rate)), total)
        waveform, _ = sf.read(str(path), start=first, stop=last, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise ValueError(f"{what}: cannot decode audio file {str(path)!r} with soundfile: {error}") from error
    waveform = _to_mono(waveform, what, channels_last=True)
    return _finish(waveform, rate, sampling_rate, None, what)
