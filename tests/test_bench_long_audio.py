# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of benchmark section 9 (`benchmarks/bench_long_audio.py`): the recordings it writes carry their truth, the
segment matching scores boundaries as the issue asks, and the stored report renders from its JSON."""

import json


import benchmark_testing  # noqa: F401  # isort: skip  (first: puts benchmarks/ on sys.path)
import bench_long_audio  # noqa: E402
import numpy as np
import pytest
import soundfile as sf
from report import long_audio_markdown  # noqa: E402


RESULTS = bench_long_audio.REPO_ROOT / "benchmarks" / "results"


def test_written_recordings_carry_their_truth(tmp_path):
    rate = 8000
    pool = [
        {"waveform": np.full(int(s * rate), 0.5, dtype=np.float32), "sampling_rate": rate, "text": t, "label": t}
        for s, t in ((1.0, "a"), (2.5, "b"), (0.7, "c"))
    ]
    path = tmp_path / "recording.wav"
    truth = bench_long_audio.write_recording(path, pool, 60.0, seed=3)
    audio, file_rate = sf.read(path, dtype="float32")
    assert file_rate == rate and audio.size == 60 * rate
    loud = np.abs(audio) > 0.25
    inside = np.zeros(audio.size, dtype=bool)
    for utterance in truth:
        first, stop = int(round(utterance["start"] * rate)), int(round(utterance["end"] * rate))
        assert loud[first:stop].all() and utterance["text"] == pool[utterance["pool"]]["text"]
        inside[first:stop] = True
    assert not loud[~inside].any()  # nothing but the truth is loud
    pauses = [b["start"] - a["end"] for a, b in zip(truth, truth[1:])]
    assert min(pauses) >= bench_long_audio.PAUSES[0] - 1e-3 and max(pauses) <= bench_long_audio.PAUSES[1] + 1e-3


def test_matching_scores_boundaries_within_the_tolerance():
    truth = [{"start": s, "end": e} for s, e in ((1.0, 3.0), (4.0, 6.0), (7.0, 8.0), (8.5, 9.5), (20.0, 21.0))]
    segments = [
        {"start": 0.75, "end": 3.25},  # both boundaries 0.25 s off: right
        {"start": 4.0, "end": 6.35},  # end 0.35 s off: wrong
        {"start": 6.9, "end": 9.6},  # two utterances in one segment: both wrong
    ]
    matches = bench_long_audio.match_segments(truth, segments)
    assert [m["right"] for m in matches] == [True, False, False, False, False]
    assert [m["segment"] for m in matches] == [0, 1, 2, 2, None]
    assert matches[2]["shared"] and matches[3]["shared"] and not matches[0]["shared"]
    assert matches[1]["end_error"] == pytest.approx(0.35) and matches[4]["start_error"] is None


@pytest.mark.skipif(not (RESULTS / "long_audio.json").is_file(), reason="no stored section 9 results")
def test_stored_report_renders_from_its_json():
    result = json.loads((RESULTS / "long_audio.json").read_text())
    assert (RESULTS / "long_audio.md").read_text() == long_audio_markdown(result) + "\n"
    assert [row["minutes"] for row in result["lengths"]] == [1, 5, 10, 30]
    assert set(result["targets_met"]) == {"time", "memory", "boundaries", "labels"}
