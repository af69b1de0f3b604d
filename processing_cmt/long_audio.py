# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Long recordings read window by window, and cut at speech pauses into utterance-sized segments.

Nothing here holds a whole recording in memory: a file is opened once and read in windows with seeks (soundfile),
each window resampled on its own (a streaming soxr resampler, so that the windows join without seams), and the
voice-activity detector (Silero VAD, whose weights ship in the `silero-vad` wheel) runs on the windows as they come,
keeping only one speech probability per 32 ms frame (0.1 % of the samples). The segments are then read back one by one.

A recording is cut into speech regions by the VAD's probabilities with hysteresis (speech starts at `threshold`,
ends after `min_silence_s` below `threshold - 0.15`); regions shorter than `min_speech_s` are noise, the others are
padded by `speech_pad_s` (never into a neighbour), and a region longer than `max_segment_s` is split at its least
speech-like frame (the lowest VAD probability, the one nearest the middle among near-ties), again until every segment
fits. Every second of the recording is then either in a segment or between segments (non-speech).
"""

import functools
import importlib.util
import io
import numbers
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from .audio_utils import _check_complete, load_audio


__all__ = [
    "SegmentationOptions",
    "Recording",
    "SileroVAD",
    "open_recording",
    "recording_duration",
    "segment_recording",
    "speech_probabilities",
    "speech_segments",
]

VAD_SAMPLING_RATE = 16000
VAD_FRAME_SAMPLES = 512  # one probability per 32 ms at 16 kHz
VAD_CONTEXT_SAMPLES = 64  # the model sees the last 64 samples of the previous frame too
VAD_FRAME_SECONDS = VAD_FRAME_SAMPLES / VAD_SAMPLING_RATE
VAD_MODEL_FILE = "silero_vad_16k_sequence.onnx"  # the batched export: one ONNX call per block of frames
VAD_BLOCK_FRAMES = 512  # frames per ONNX call (16.4 s of audio)
VAD_STATE_SHAPE = (1, 1, 128)

# Seconds of the file decoded at a time; memory is bounded by this, whatever the recording's length.
DEFAULT_WINDOW_SECONDS = 30.0

# Two probabilities this close count as equally low when choosing where to split a long region.
SPLIT_TOLERANCE = 0.05


@dataclass(frozen=True)
class SegmentationOptions:
    """
    How a recording is cut into segments at its speech pauses.

    Args:
        max_segment_s (`float`, *optional*, defaults to 15.0):
            Longest segment; longer speech is split at its least speech-like point.
        threshold (`float`, *optional*, defaults to 0.5):
            VAD probability at which speech starts.
        neg_threshold (`float`, *optional*):
            Probability below which speech may end; defaults to `threshold - 0.15` (Silero's hysteresis).
        min_silence_s (`float`, *optional*, defaults to 0.5):
            A pause must last this long to end a segment; shorter ones (between words, at commas) stay inside it.
        min_speech_s (`float`, *optional*, defaults to 0.25):
            Speech regions shorter than this are taken for noise (clicks, breaths) and counted as non-speech.
        speech_pad_s (`float`, *optional*, defaults to 0.1):
            Padding added on each side of a speech region (never past the middle of the pause to the next one), so
            that word onsets and trailing consonants stay in the segment.
    """

    max_segment_s: float = 15.0
    threshold: float = 0.5
    neg_threshold: float | None = None
    min_silence_s: float = 0.5
    min_speech_s: float = 0.25
    speech_pad_s: float = 0.1

    def __post_init__(self):
        for key in ("max_segment_s", "min_silence_s", "min_speech_s", "speech_pad_s", "threshold"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
                raise ValueError(f"`{key}` must be a non-negative number, got {value!r}.")
        if not 0 < self.threshold < 1:
            raise ValueError(f"`threshold` (vad_threshold) must lie in (0, 1), got {self.threshold!r}.")
        if self.neg_threshold is not None and not 0 < self.neg_threshold <= self.threshold:
            raise ValueError(
                f"`neg_threshold` must lie in (0, threshold={self.threshold}], got {self.neg_threshold!r}."
            )
        if self.max_segment_s < 4 * VAD_FRAME_SECONDS:
            raise ValueError(
                f"`max_segment_s` must be at least {4 * VAD_FRAME_SECONDS:.3f} s (4 VAD frames), got "
                f"{self.max_segment_s!r}."
            )

    @property
    def exit_threshold(self) -> float:
        return self.neg_threshold if self.neg_threshold is not None else max(self.threshold - 0.15, 0.01)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "neg_threshold": self.exit_threshold}


# --- reading ----------------------------------------------------------------------------------------------------------


class Recording:
    """
    A recording opened for reading in windows: a file (seekable with soundfile) or an array already in memory.

    Use [`open_recording`] to build one; it is a context manager that closes the file.

    Attributes:
        name (`str`): how errors call it (the path, or `inputs`).
        sampling_rate (`int`): the recording's own rate.
        num_frames (`int`): its length in samples per channel, from the header.
    """

    def __init__(
        self,
        name: str,
        sampling_rate: int,
        num_frames: int,
        sound_file: sf.SoundFile | None = None,
        array: np.ndarray | None = None,
    ):
        self.name, self.sampling_rate, self.num_frames = name, int(sampling_rate), int(num_frames)
        self._sound_file, self._array = sound_file, array
        if self.num_frames == 0:
            self.close()
            raise ValueError(f"{name}: the audio is empty (0 samples).")

    @property
    def duration(self) -> float:
        return self.num_frames / self.sampling_rate

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples `[start, stop)` (frames at the recording's rate), float32 mono; channels are averaged."""
        start, stop = max(0, int(start)), min(int(stop), self.num_frames)
        if stop <= start:
            return np.zeros(0, dtype=np.float32)
        if self._array is not None:
            samples = self._array[start:stop]
        else:
            try:
                self._sound_file.seek(start)
                data = self._sound_file.read(stop - start, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as error:
                raise ValueError(
                    f"{self.name}: cannot decode the audio at {start / self.sampling_rate:.2f} s: {error}"
                ) from error
            if data.shape[0] < stop - start:
                raise ValueError(
                    f"{self.name}: the file ends at {(start + data.shape[0]) / self.sampling_rate:.2f} s, but its header "
                    f"promises {self.duration:.2f} s: it is truncated or corrupt."
                )
            samples = data.mean(axis=1, dtype=np.float64).astype(np.float32) if data.shape[1] > 1 else data[:, 0]
        if not np.all(np.isfinite(samples)):
            raise ValueError(
                f"{self.name}: NaN or infinite samples between {start / self.sampling_rate:.2f} s and "
                f"{stop / self.sampling_rate:.2f} s."
            )
        return np.ascontiguousarray(samples, dtype=np.float32)

    def read_seconds(self, start: float, end: float, sampling_rate: int) -> np.ndarray:
        """The interval `[start, end)` seconds, resampled to `sampling_rate` as [`load_audio`] resamples a file."""
        first, last = int(round(start * self.sampling_rate)), int(round(end * self.sampling_rate))
        samples = self.read(first, last)
        name = f"{self.name} [{start:.2f}-{end:.2f} s]"
        return load_audio({"array": samples, "sampling_rate": self.sampling_rate}, sampling_rate, name=name)

    def windows(self, window_seconds: float = DEFAULT_WINDOW_SECONDS) -> Iterator[np.ndarray]:
        """The whole recording, `window_seconds` at a time, at its own rate."""
        size = max(1, int(round(window_seconds * self.sampling_rate)))
        for start in range(0, self.num_frames, size):
            yield self.read(start, start + size)

    def close(self) -> None:
        if self._sound_file is not None:
            self._sound_file.close()
            self._sound_file = None

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _open_file(source: str | os.PathLike | bytes, name: str) -> sf.SoundFile:
    if isinstance(source, bytes):
        if not source:
            raise ValueError(f"{name}: `bytes` is empty.")
        _check_complete(source, name)
        stream, label = io.BytesIO(source), "the audio `bytes`"
    else:
        if not Path(source).is_file():
            raise ValueError(f"{name}: no such audio file {os.fspath(source)!r}.")
        _check_complete(source, name)
        stream, label = os.fspath(source), f"audio file {os.fspath(source)!r}"
    try:
        return sf.SoundFile(stream)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise ValueError(f"{name}: cannot decode {label} with soundfile: {error}") from error


def open_recording(audio: Any, *, sampling_rate: int | None = None, name: str | None = None) -> Recording:
    """
    Opens a recording for windowed reading, reading only its header.

    Args:
        audio (`str`, `os.PathLike`, `bytes`, `dict`, `np.ndarray` or `torch.Tensor`):
            A path or the bytes of a file soundfile can seek in (WAV, FLAC, OGG, ...), a datasets-style dict
            (`{"array", "sampling_rate"}`, `{"path"}` or `{"bytes"}`), or a raw array / tensor with `sampling_rate`.
        sampling_rate (`int`, *optional*):
            The rate of a raw array. For a file it is the rate the caller believes the file has: a file whose header
            says otherwise is refused, since its timestamps would be wrong by that factor.
        name (`str`, *optional*):
            How errors call it; defaults to the path.

    Returns:
        [`Recording`]

    Raises:
        `ValueError`: naming the recording, for a missing, truncated (a WAV whose header promises more frames than it
        holds), undecodable or empty file, a declared rate the file does not have, or an array without a rate.
    """
    if isinstance(audio, Mapping):
        if audio.get("array") is not None:
            rate = audio.get("sampling_rate", sampling_rate)
            return open_recording(audio["array"], sampling_rate=rate, name=name or "audio")
        source = audio.get("bytes") if audio.get("bytes") is not None else audio.get("path")
        if source is None:
            raise ValueError(
                f"{name or 'audio'}: an audio dict needs `array` + `sampling_rate`, `bytes` or `path`; got keys "
                f"{sorted(audio)}."
            )
        return open_recording(source, sampling_rate=sampling_rate or audio.get("sampling_rate"), name=name)
    if isinstance(audio, (str, os.PathLike, bytes)):
        name = name or (os.fspath(audio) if not isinstance(audio, bytes) else "audio bytes")
        sound_file = _open_file(audio, name)
        if sampling_rate is not None and int(sampling_rate) != sound_file.samplerate:
            sound_file.close()
            raise ValueError(
                f"{name}: sampling_rate={sampling_rate} was given, but the file's header says "
                f"{sound_file.samplerate} Hz. A file carries its own rate: drop `sampling_rate`, or fix the file's "
                "header if the samples really are at the rate you gave."
            )
        return Recording(name, sound_file.samplerate, sound_file.frames, sound_file=sound_file)
    if isinstance(audio, (np.ndarray, torch.Tensor)):
        name = name or "audio"
        if sampling_rate is None:
            raise ValueError(
                f"{name}: a raw waveform has no sampling rate; pass {{'array': waveform, 'sampling_rate': rate}} or "
                "`sampling_rate=`."
            )
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, numbers.Integral) or sampling_rate <= 0:
            raise ValueError(f"{name}: `sampling_rate` must be a positive integer, got {sampling_rate!r}.")
        # `load_audio` checks the array (dtype, shape, NaN) and averages its channels, without resampling.
        array = load_audio(audio, int(sampling_rate), source_sampling_rate=int(sampling_rate), name=name)
        return Recording(name, int(sampling_rate), array.size, array=array)
    raise ValueError(
        f"{name or 'audio'}: unsupported recording of type {type(audio).__name__}; expected a path, bytes, an audio "
        "dict, or an array / tensor with `sampling_rate`."
    )


def recording_duration(audio: Any, *, sampling_rate: int | None = None) -> float:
    """The duration in seconds of a recording, from its header (nothing is decoded); errors as [`open_recording`]."""
    with open_recording(audio, sampling_rate=sampling_rate) as recording:
        return recording.duration


# --- voice activity ---------------------------------------------------------------------------------------------------


@functools.cache
def _vad_session():
    """The ONNX Runtime session of Silero VAD's batched model, loaded once from the `silero-vad` wheel.

    The file is found without importing `silero_vad`: its import sets torch's thread count to 1 for the whole process
    (`torch.set_num_threads(1)` in `silero_vad.model`), which would slow the classifier down."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "Voice-activity detection needs the `silero-vad` package (its wheel ships the model): "
            "`pip install 'cmt[long]'` or `pip install silero-vad onnxruntime`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / VAD_MODEL_FILE
    if not path.is_file():
        raise ImportError(f"{path} is missing: install silero-vad >= 6.2.3, which ships it.")
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            "Silero VAD runs with ONNX Runtime: `pip install 'cmt[long]'` or `pip install onnxruntime`."
        ) from error
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1  # per-frame work is tiny; threads only cost
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


class SileroVAD:
    """
    Silero VAD run as a stream: feed 16 kHz audio in pieces of any size, get one speech probability per complete
    32 ms frame. The recurrent state and the 64-sample context carry over from piece to piece, so the probabilities
    equal those of one pass over the whole audio, whatever the pieces.
    """

    def __init__(self):
        self._session = _vad_session()
        self.reset()

    def reset(self) -> None:
        self._hidden = np.zeros(VAD_STATE_SHAPE, dtype=np.float32)
        self._cell = np.zeros(VAD_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(VAD_CONTEXT_SAMPLES, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def _run(self, frames: np.ndarray) -> np.ndarray:
        """Probabilities of `(n, 512)` consecutive frames, in blocks of `VAD_BLOCK_FRAMES`."""
        outputs = []
        for first in range(0, frames.shape[0], VAD_BLOCK_FRAMES):
            block = frames[first : first + VAD_BLOCK_FRAMES]
            contexts = np.empty((block.shape[0], VAD_CONTEXT_SAMPLES), dtype=np.float32)
            contexts[0] = self._context
            contexts[1:] = block[:-1, -VAD_CONTEXT_SAMPLES:]
            self._context = block[-1, -VAD_CONTEXT_SAMPLES:].copy()
            probabilities, self._hidden, self._cell = self._session.run(
                ["speech_probs", "hn", "cn"],
                {"input": np.concatenate([contexts, block], axis=1), "h": self._hidden, "c": self._cell},
            )
            outputs.append(np.asarray(probabilities, dtype=np.float32).reshape(-1))
        return np.concatenate(outputs) if outputs else np.zeros(0, dtype=np.float32)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        samples = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).reshape(-1)])
        complete = samples.size // VAD_FRAME_SAMPLES * VAD_FRAME_SAMPLES
        self._pending = samples[complete:]
        return self._run(samples[:complete].reshape(-1, VAD_FRAME_SAMPLES))

    def flush(self) -> np.ndarray:
        """The probability of the last, partial frame (zero-padded), if any samples are left."""
        if self._pending.size == 0:
            return np.zeros(0, dtype=np.float32)
        frame = np.zeros((1, VAD_FRAME_SAMPLES), dtype=np.float32)
        frame[0, : self._pending.size] = self._pending
        self._pending = np.zeros(0, dtype=np.float32)
        return self._run(frame)


def speech_probabilities(recording: Recording, window_seconds: float = DEFAULT_WINDOW_SECONDS) -> np.ndarray:
    """
    Silero VAD's speech probability of every 32 ms frame of a recording (frame `i` covers `[0.032 i, 0.032 (i + 1))`
    seconds), computed window by window: the recording is never decoded whole.

    Args:
        recording ([`Recording`]): see [`open_recording`].
        window_seconds (`float`, *optional*, defaults to 30): seconds decoded at a time.

    Returns:
        `np.ndarray`: float32, `ceil(duration / 0.032)` probabilities.
    """
    vad = SileroVAD()
    resampler = None
    if recording.sampling_rate != VAD_SAMPLING_RATE:
        import soxr  # librosa's resampler; streaming keeps the windows seamless

        resampler = soxr.ResampleStream(recording.sampling_rate, VAD_SAMPLING_RATE, 1, dtype="float32", quality="HQ")
    outputs = []
    windows = list(range(0, recording.num_frames, max(1, int(round(window_seconds * recording.sampling_rate)))))
    for index, samples in enumerate(recording.windows(window_seconds)):
        if resampler is not None:
            samples = resampler.resample_chunk(samples, last=index == len(windows) - 1)
        outputs.append(vad(samples))
    outputs.append(vad.flush())
    probabilities = np.concatenate(outputs)
    # The resampler's rounding may leave a frame more or less than the recording's length at 16 kHz.
    expected = int(np.ceil(recording.duration / VAD_FRAME_SECONDS))
    if probabilities.size < expected:
        probabilities = np.pad(probabilities, (0, expected - probabilities.size))
    return probabilities[:expected]


# --- segmentation -----------------------------------------------------------------------------------------------------


def _speech_regions(probabilities: np.ndarray, options: SegmentationOptions) -> list[tuple[int, int]]:
    """Frame intervals `[first, stop)` of speech by hysteresis: speech starts at `threshold` and ends once the
    probability has stayed below the exit threshold for `min_silence_s` (the region ends where that pause began)."""
    min_silence_frames = max(1, int(round(options.min_silence_s / VAD_FRAME_SECONDS)))
    regions, start, silence_start = [], None, None
    for index, probability in enumerate(probabilities.tolist()):
        if start is None:
            if probability >= options.threshold:
                start, silence_start = index, None
            continue
        if probability >= options.threshold:
            silence_start = None
        elif probability < options.exit_threshold:
            if silence_start is None:
                silence_start = index
            if index + 1 - silence_start >= min_silence_frames:
                regions.append((start, silence_start))
                start = silence_start = None
    if start is not None:
        regions.append((start, silence_start if silence_start is not None else probabilities.size))
    min_speech_frames = options.min_speech_s / VAD_FRAME_SECONDS
    return [(first, stop) for first, stop in regions if stop - first >= min_speech_frames]


def _split_point(probabilities: np.ndarray, start: float, end: float, max_segment_s: float) -> float:
    """Where to split `[start, end)` seconds: the centre of its least speech-like frame at least a quarter of
    `max_segment_s` (at most 1 s) from either end; among probabilities within `SPLIT_TOLERANCE` of the lowest, the one
    nearest the middle."""
    margin = min(max_segment_s / 4, 1.0)
    first = int(np.ceil((start + margin) / VAD_FRAME_SECONDS))
    stop = int(np.floor((end - margin) / VAD_FRAME_SECONDS))
    stop = min(stop, probabilities.size)
    if stop <= first:  # no probabilities there (an array shorter than its frames): cut in the middle
        return (start + end) / 2
    window = probabilities[first:stop]
    candidates = np.flatnonzero(window <= window.min() + SPLIT_TOLERANCE) + first
    centres = (candidates + 0.5) * VAD_FRAME_SECONDS
    return float(centres[np.argmin(np.abs(centres - (start + end) / 2))])


def speech_segments(
    probabilities: np.ndarray, duration: float, options: SegmentationOptions | None = None
) -> list[tuple[float, float]]:
    """
    Utterance-sized speech segments from per-frame VAD probabilities (see the module docstring for the rules).

    Args:
        probabilities (`np.ndarray`): one per 32 ms frame, as [`speech_probabilities`] returns them.
        duration (`float`): the recording's duration in seconds (segments never reach past it).
        options ([`SegmentationOptions`], *optional*): the cutting rules.

    Returns:
        `list[tuple[float, float]]`: `(start, end)` seconds, sorted, disjoint, each at most `max_segment_s` long.
    """
    options = options or SegmentationOptions()
    probabilities = np.asarray(probabilities, dtype=np.float32)
    regions = [
        (first * VAD_FRAME_SECONDS, min(stop * VAD_FRAME_SECONDS, duration))
        for first, stop in _speech_regions(probabilities, options)
    ]
    padded = []
    for index, (start, end) in enumerate(regions):
        # pad, but never past the middle of the pause to a neighbour
        low = (regions[index - 1][1] + start) / 2 if index else 0.0
        high = (end + regions[index + 1][0]) / 2 if index + 1 < len(regions) else duration
        padded.append((max(low, start - options.speech_pad_s), min(high, end + options.speech_pad_s)))
    segments = []
    pending = list(reversed(padded))
    while pending:
        start, end = pending.pop()
        if end - start <= options.max_segment_s:
            segments.append((round(start, 3), round(end, 3)))
            continue
        cut = _split_point(probabilities, start, end, options.max_segment_s)
        pending += [(cut, end), (start, cut)]  # the left half comes off the stack first
    return segments


def segment_recording(
    recording: Recording,
    options: SegmentationOptions | None = None,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
) -> list[tuple[float, float]]:
    """The speech segments of a recording: [`speech_probabilities`] then [`speech_segments`]."""
    probabilities = speech_probabilities(recording, window_seconds)
    return speech_segments(probabilities, recording.duration, options)
