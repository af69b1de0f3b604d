# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of `processing_cmt.long_audio`: windowed reading, streaming voice-activity detection (Silero VAD) and the
cutting of a recording into utterance-sized segments.

Segmentation is tested on speech that sounds human (piper's neural voice, and LibriVox recordings where the Debian
package is installed), joined with pauses so that the utterance boundaries are known; the cutting rules on their own
are tested on hand-made probability curves.
"""

import tracemalloc

import numpy as np
import pytest
import soundfile as sf
import torch
from speech_fixtures import join_utterances, librivox_utterances, requires_librivox, requires_piper, trim_silence

from processing_cmt.audio_utils import load_audio_segment
from processing_cmt.long_audio import (
    VAD_FRAME_SECONDS,
    SegmentationOptions,
    SileroVAD,
    open_recording,
    recording_duration,
    segment_recording,
    speech_probabilities,
    speech_segments,
)


pytest.importorskip("onnxruntime")
pytest.importorskip("silero_vad")

BOUNDARY_TOLERANCE = 0.3  # seconds: the target for segment boundaries

SENTENCES = [
    "I can't believe you forgot my birthday again.",
    "Honestly, the acting was brilliant, and the plot kept me hooked.",
    "Leave me alone.",
    "We should go to the beach this weekend, if the weather holds.",
    "Thank you so much for helping me move.",
]


def assert_boundaries_match(segments, truth, tolerance=BOUNDARY_TOLERANCE):
    assert len(segments) == len(truth), (segments, truth)
    for (start, end), (true_start, true_end, text) in zip(segments, truth):
        assert abs(start - true_start) <= tolerance, (text, start, true_start)
        assert abs(end - true_end) <= tolerance, (text, end, true_end)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    """Five piper utterances joined with pauses of 0.7-1.4 s, written at 22.05 kHz, with their true boundaries."""
    recording = join_utterances(SENTENCES, pauses=[0.7, 1.4, 0.9, 1.1], lead=0.8, tail=1.0, noise_level=0.002)
    path = tmp_path_factory.mktemp("long_audio") / "spoken.wav"
    sf.write(path, recording.waveform, recording.sampling_rate)
    return path, recording


# --- streaming VAD ----------------------------------------------------------------------------------------------------


@requires_piper
def test_streaming_vad_equals_silero_on_the_whole_audio(spoken):
    """Fed in pieces of any size, the VAD gives the probabilities of silero's own one-pass batched model."""
    path, _ = spoken
    waveform = load_audio_segment(path, 0.0, 6.0, 16000)
    vad = SileroVAD()
    pieces = [vad(waveform[start : start + 3001]) for start in range(0, waveform.size, 3001)]
    streamed = np.concatenate([*pieces, vad.flush()])

    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad

        reference = load_silero_vad(sequence=True).audio_forward(waveform)
    finally:
        torch.set_num_threads(threads)  # importing silero_vad sets torch to 1 thread for the process
    assert streamed.shape == reference.shape == (int(np.ceil(waveform.size / 512)),)
    np.testing.assert_allclose(streamed, reference, atol=1e-6)
    assert streamed.max() > 0.9 and streamed.min() < 0.1  # speech and pauses both there


@requires_piper
def test_probabilities_do_not_depend_on_the_window(spoken):
    """Windows are resampled by one streaming resampler, so they join without seams: any window size gives the same
    probabilities (and the VAD leaves torch's thread count alone)."""
    path, recording = spoken
    threads = torch.get_num_threads()
    with open_recording(path) as opened:
        assert opened.sampling_rate == 22050
        small = speech_probabilities(opened, window_seconds=1.37)
        whole = speech_probabilities(opened, window_seconds=1000)
    assert small.shape == whole.shape == (int(np.ceil(recording.duration / VAD_FRAME_SECONDS)),)
    np.testing.assert_allclose(small, whole, atol=1e-5)
    assert torch.get_num_threads() == threads


# --- segmentation on speech -------------------------------------------------------------------------------------------


@requires_piper
def test_segments_match_the_utterances_of_neural_speech(spoken):
    path, recording = spoken
    with open_recording(path) as opened:
        segments = segment_recording(opened)
    assert_boundaries_match(segments, recording.segments)
    # the pause inside "Honestly, the acting was brilliant, and ..." (commas) does not split the utterance
    assert all(end <= recording.duration for _, end in segments)


@requires_librivox
def test_segments_match_the_utterances_of_human_speech(tmp_path):
    """Four LibriVox recordings (a human reader), their own lead-in and tail trimmed, joined with 1 s pauses."""
    utterances = [
        (trim_silence(u.waveform, u.sampling_rate), u.sampling_rate, u.text) for u in librivox_utterances()[:4]
    ]
    recording = join_utterances(utterances, pauses=[1.0, 1.2, 0.9], noise_level=0.002)
    path = tmp_path / "librivox.flac"
    sf.write(path, recording.waveform, recording.sampling_rate)
    with open_recording(path) as opened:
        segments = segment_recording(opened, SegmentationOptions(max_segment_s=30))
    assert_boundaries_match(segments, recording.segments)


@requires_piper
def test_a_long_utterance_is_split_at_a_pause_not_blindly(spoken):
    """With a maximum shorter than an utterance, the cut falls where the VAD hears the least speech: the short pause at
    a comma ("Honestly, the acting was brilliant, and ..."), not in mid-word; every piece fits the maximum."""
    path, recording = spoken
    with open_recording(path) as opened:
        probabilities = speech_probabilities(opened)
    segments = speech_segments(probabilities, recording.duration, SegmentationOptions(max_segment_s=3.0))
    assert all(end - start <= 3.0 + 1e-9 for start, end in segments)
    cuts = [end for (_, end), (start, _) in zip(segments, segments[1:]) if end == start]
    # the two utterances longer than 3 s (with commas) are cut once each, the others not at all
    assert len(cuts) == 2 and len(segments) == len(recording.segments) + 2
    for cut in cuts:
        assert probabilities[int(cut / VAD_FRAME_SECONDS)] < 0.1, cut  # in a pause; speech is ~1
        assert any(start < cut < end for start, end, _ in recording.segments)


# --- the cutting rules ------------------------------------------------------------------------------------------------


def curve(*pieces):
    """A probability per 32 ms frame from `(seconds, probability)` pieces, and the start time of each piece (after
    rounding the pieces to whole frames)."""
    frames = [int(round(seconds / VAD_FRAME_SECONDS)) for seconds, _ in pieces]
    probabilities = np.concatenate([np.full(n, p, dtype=np.float32) for n, (_, p) in zip(frames, pieces)])
    starts = np.concatenate([[0], np.cumsum(frames)]) * VAD_FRAME_SECONDS
    return probabilities, starts


def test_split_at_the_lowest_probability():
    # 30 s of speech with a dip (still speech: above the exit threshold) at 10 s and a deeper one at 18 s
    probabilities, starts = curve((1, 0.0), (9, 0.95), (0.096, 0.6), (8, 0.95), (0.096, 0.4), (12, 0.95), (1, 0.0))
    duration = probabilities.size * VAD_FRAME_SECONDS
    segments = speech_segments(probabilities, duration, SegmentationOptions(max_segment_s=20, speech_pad_s=0))
    assert len(segments) == 2
    cut = segments[0][1]
    assert segments[1][0] == cut
    assert starts[4] < cut < starts[5]  # the deeper dip, not the first one nor the 20 s mark
    # every piece fits, recursively, and the pieces cover the speech exactly
    segments = speech_segments(probabilities, duration, SegmentationOptions(max_segment_s=9, speech_pad_s=0))
    assert all(end - start <= 9 for start, end in segments)
    cuts = [end for _, end in segments[:-1]]  # both dips, then flat speech cut in the middle
    assert any(starts[2] <= cut <= starts[3] for cut in cuts) and any(starts[4] <= cut <= starts[5] for cut in cuts)
    assert segments[0][0] == pytest.approx(starts[1]) and segments[-1][1] == pytest.approx(starts[6])
    assert all(left[1] == right[0] for left, right in zip(segments, segments[1:]))


def test_pauses_noise_and_padding():
    probabilities, starts = curve(
        (1.0, 0.02),
        (2.0, 0.9),
        (0.3, 0.05),  # shorter than min_silence_s: stays inside the segment
        (1.5, 0.9),
        (0.8, 0.05),  # a pause: ends the segment
        (0.128, 0.9),  # a click: shorter than min_speech_s, noise
        (1.0, 0.05),
        (1.0, 0.8),
        (0.15, 0.02),  # a short pause between two regions
        (1.0, 0.8),
        (0.5, 0.02),
    )
    duration = probabilities.size * VAD_FRAME_SECONDS
    segments = speech_segments(probabilities, duration, SegmentationOptions(speech_pad_s=0.1))
    assert len(segments) == 2, segments
    (first_start, first_end), (second_start, second_end) = segments
    assert first_start == pytest.approx(starts[1] - 0.1) and first_end == pytest.approx(starts[4] + 0.1)
    # the click was dropped; the last two regions stay one segment across their 0.15 s pause
    assert second_start == pytest.approx(starts[7] - 0.1) and second_end == pytest.approx(starts[10] + 0.1)
    # with min_silence_s=0.1 the 0.3 s and 0.15 s pauses end segments too; the padding of the regions around the
    # 0.15 s pause stops at its middle instead of overlapping
    segments = speech_segments(probabilities, duration, SegmentationOptions(min_silence_s=0.1, speech_pad_s=0.1))
    assert len(segments) == 4
    assert segments[2][1] == segments[3][0] == pytest.approx((starts[8] + starts[9]) / 2, abs=1e-3)
    assert all(0 <= start < end <= duration for start, end in segments)
    assert all(left[1] <= right[0] for left, right in zip(segments, segments[1:]))


def test_silence_has_no_segments():
    assert speech_segments(np.zeros(300, dtype=np.float32), 9.6) == []


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_segment_s": 0.05}, "max_segment_s"),
        ({"threshold": 1.2}, "threshold"),
        ({"threshold": 0.5, "neg_threshold": 0.7}, "neg_threshold"),
        ({"min_silence_s": -1}, "min_silence_s"),
        ({"speech_pad_s": float("nan")}, "speech_pad_s"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SegmentationOptions(**kwargs)


# --- reading ----------------------------------------------------------------------------------------------------------


def test_windowed_reading_equals_load_audio_segment(tmp_path):
    rng = np.random.default_rng(0)
    stereo = (0.1 * rng.standard_normal((44100 * 3, 2))).astype(np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 44100, subtype="FLOAT")
    with open_recording(path) as opened:
        assert (opened.sampling_rate, opened.num_frames, opened.duration) == (44100, 44100 * 3, 3.0)
        np.testing.assert_array_equal(opened.read(1000, 5000), stereo[1000:5000].mean(axis=1))
        segment = opened.read_seconds(0.5, 1.75, 16000)
    np.testing.assert_allclose(segment, load_audio_segment(path, 0.5, 1.75, 16000), atol=1e-6)
    assert recording_duration(path) == 3.0
    # an array recording reads the same way
    with open_recording({"array": stereo[:, 0], "sampling_rate": 44100}) as opened:
        np.testing.assert_array_equal(opened.read(10, 20), stereo[10:20, 0])


def test_memory_is_bounded_by_the_window(tmp_path):
    """The VAD pass over a 4-minute file allocates a few windows' worth, not the recording (42 MB as float32)."""
    rate, seconds = 44100, 240
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as stream:
        for _ in range(seconds // 10):
            stream.write((0.01 * rng.standard_normal(rate * 10)).astype(np.float32))
    whole_bytes = rate * seconds * 4
    with open_recording(path) as opened:
        tracemalloc.start()
        try:
            probabilities = speech_probabilities(opened, window_seconds=5.0)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert probabilities.size == int(np.ceil(seconds / VAD_FRAME_SECONDS))
    assert peak < whole_bytes / 10, f"peak {peak / 2**20:.1f} MiB for a {whole_bytes / 2**20:.0f} MiB recording"


# --- bad input --------------------------------------------------------------------------------------------------------


def test_truncated_wav_is_named(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, np.zeros(16000 * 4, dtype=np.float32), 16000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the header still promises 4 s
    with pytest.raises(ValueError, match=r"cut\.wav.*truncated"):
        open_recording(path)


def test_corrupt_and_missing_files_are_named(tmp_path):
    corrupt = tmp_path / "noise.wav"
    corrupt.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ValueError, match=r"noise\.wav.*cannot decode"):
        open_recording(corrupt)
    with pytest.raises(ValueError, match=r"absent\.wav"):
        open_recording(tmp_path / "absent.wav")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match=r"empty\.wav.*empty"):
        open_recording(empty)


def test_a_rate_the_file_does_not_have_is_refused(tmp_path):
    path = tmp_path / "rate.wav"
    sf.write(path, np.zeros(22050, dtype=np.float32), 22050)
    with pytest.raises(ValueError, match=r"rate\.wav.*sampling_rate=16000.*22050 Hz"):
        open_recording(path, sampling_rate=16000)
    with open_recording(path, sampling_rate=22050) as opened:  # the right rate is fine
        assert opened.duration == 1.0


def test_bad_arrays():
    with pytest.raises(ValueError, match="no sampling rate"):
        open_recording(np.zeros(100, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        open_recording({"array": np.full(100, np.nan, dtype=np.float32), "sampling_rate": 16000})
    with pytest.raises(ValueError, match="unsupported recording"):
        open_recording(3.5)
