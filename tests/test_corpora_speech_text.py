# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""`load_speech_text_corpus` on CSV manifests, saved datasets and loaded `Dataset`s."""

from collections import Counter

import numpy as np
import pytest
import soundfile as sf
from corpus_fixtures import make_speech_text_manifest, write_audio
from datasets import Audio, Dataset, DatasetDict

from processing_cmt.audio_utils import load_audio
from processing_cmt.corpora import load_speech_text_corpus


def test_speech_text_csv_manifest(tmp_path):
    manifest, rows = make_speech_text_manifest(tmp_path, audio_column="path", text_column="sentence")
    dataset, report = load_speech_text_corpus(
        manifest, audio_column="path", text_column="sentence", return_report=True
    )
    train = dataset["train"]
    assert set(train.column_names) == {"audio", "text", "speaker"}
    kept = [row for row in rows if row.skip_reason is None]
    assert train["audio"] == [str(row.path.resolve()) for row in kept]
    # Upper-case text is re-cased, cased text passes through.
    assert train["text"] == ["The quick brown fox", 'She said "yes", twice.']
    assert train["speaker"] == ["spk0", "spk1"]
    assert report.skipped == Counter({"missing audio file": 1, "empty transcript": 1})
    assert report.skipped_examples["missing audio file"] == ["train[2]"]

    with pytest.raises(ValueError, match=r"no column\(s\) \['audio'\]"):
        load_speech_text_corpus(manifest, text_column="sentence")
    with pytest.raises(ValueError, match="neither a CSV manifest"):
        load_speech_text_corpus(tmp_path / "nothing.txt")


def test_speech_text_hf_dataset(tmp_path):
    clips = [write_audio(tmp_path / f"{name}.flac", 0.2, seed) for seed, name in enumerate("abc")]
    source = Dataset.from_dict(
        {
            "file": [str(clip) for clip in clips],
            "transcription": ["HELLO THERE", "Fine.", "LOST"],
            "id": ["x0", "x1", "x2"],
        }
    ).cast_column("file", Audio(sampling_rate=16000))
    # save_to_disk embeds the audio bytes: the saved copy no longer needs the files.
    DatasetDict({"train": source, "validation": source.select([1])}).save_to_disk(str(tmp_path / "saved"))
    clips[2].unlink()

    dataset = load_speech_text_corpus(tmp_path / "saved", audio_column="file", text_column="transcription")
    assert list(dataset) == ["train", "validation"]
    assert dataset["train"]["text"] == ["Hello there", "Fine.", "Lost"]
    assert dataset["train"].features["audio"] == Audio(sampling_rate=16000, decode=False)
    # Undecoded {"path", "bytes"} dicts that the package's own decoder reads.
    waveform = load_audio(dataset["train"][0]["audio"], 16000)
    np.testing.assert_allclose(waveform, sf.read(str(clips[0]), dtype="float32")[0], atol=1e-6)

    # A loaded dataset that only refers to files: the one whose file is gone is skipped and reported.
    dataset, report = load_speech_text_corpus(
        source, audio_column="file", text_column="transcription", normalize_text=False, return_report=True
    )
    assert list(dataset) == ["train"]
    assert dataset["train"]["text"] == ["HELLO THERE", "Fine."] and dataset["train"]["id"] == ["x0", "x1"]
    assert report.skipped == Counter({"missing audio file": 1})
    assert report.skipped_examples["missing audio file"] == ["x2"]
    with pytest.raises(ValueError, match="not one written by `save_to_disk`"):
        load_speech_text_corpus(tmp_path)


def test_speech_text_in_memory_arrays_and_bad_columns():
    source = Dataset.from_dict(
        {
            "audio": [
                {"array": [0.1, -0.2, 0.3], "sampling_rate": 16000},
                {"array": [], "sampling_rate": 16000},
                {"array": [0.5], "sampling_rate": 8000},
            ],
            "text": ["ONE", "TWO", None],
        }
    )
    dataset, report = load_speech_text_corpus(source, return_report=True)
    assert dataset["train"]["text"] == ["One"]
    assert dataset["train"][0]["audio"]["array"] == pytest.approx([0.1, -0.2, 0.3])
    assert report.skipped_examples == {"missing audio file": ["train[1]"], "missing transcript": ["train[2]"]}
    with pytest.raises(ValueError, match="audio column 'audio' has type int64"):
        load_speech_text_corpus(Dataset.from_dict({"audio": [1], "text": ["a"]}))
    with pytest.raises(ValueError, match="must be a path, a Dataset or a DatasetDict"):
        load_speech_text_corpus([{"audio": "a.wav", "text": "a"}])
