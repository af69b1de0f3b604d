# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""`load_librispeech` on a fixture tree laid out like the OpenSLR LibriSpeech release."""

import logging
from collections import Counter

import pytest
from corpus_fixtures import make_librispeech_tree
from datasets import Value

from processing_cmt.corpora import load_librispeech, normalize_transcript


def test_librispeech_release_layout(tmp_path, caplog):
    tree = make_librispeech_tree(tmp_path)
    with caplog.at_level(logging.WARNING, logger="processing_cmt.corpora"):
        dataset, report = load_librispeech(tmp_path, return_report=True)

    assert list(dataset) == ["train", "validation", "test"]
    assert dataset["train"].features["audio"] == Value("string")
    expected = {
        "train": tree.kept(["train-clean-100", "train-clean-360", "train-other-500"]),
        "validation": tree.kept(["dev-clean"]),
        "test": tree.kept(["test-clean"]),
    }
    for split, utterances in expected.items():
        assert sorted(dataset[split]["id"]) == sorted(u.id for u in utterances)
    rows = {row["id"]: row for split in dataset.values() for row in split}
    for utterance in tree.kept():
        row = rows[utterance.id]
        assert row["audio"] == str(utterance.flac.resolve())
        assert row["speaker_id"] == utterance.speaker_id and row["chapter_id"] == utterance.chapter_id
        assert row["subset"] == utterance.subset
        assert row["gender"] == tree.genders[utterance.speaker_id]
        assert row["text"] == normalize_transcript(utterance.text)
    assert rows["19-198-0000"]["text"] == "I'm afraid I don't know"
    assert rows["60-121082-0000"]["gender"] == "M"  # the speaker whose name contains "|"

    assert report.skipped == Counter({"missing audio file": 1, "missing transcript": 1})
    assert report.skipped_examples == {"missing audio file": ["19-227-0001"], "missing transcript": ["19-198-0002"]}
    assert report.split_sizes == {split: len(utterances) for split, utterances in expected.items()}
    assert "missing audio file" in caplog.text and "19-227-0001" in caplog.text


def test_librispeech_subset_selection_and_raw_text(tmp_path):
    tree = make_librispeech_tree(tmp_path)
    librispeech = tmp_path / "LibriSpeech"

    dataset = load_librispeech(librispeech, ["train-clean-100", "train-other-500"], normalize_text=False)
    assert list(dataset) == ["train"]
    assert set(dataset["train"]["subset"]) == {"train-clean-100", "train-other-500"}
    assert sorted(dataset["train"]["text"]) == sorted(
        u.text for u in tree.kept(["train-clean-100", "train-other-500"])
    )

    dataset = load_librispeech(
        librispeech, {"pretrain": ["train-clean-360"], "dev": "dev-clean"}, normalize_text=str.lower
    )
    assert list(dataset) == ["pretrain", "dev"]
    assert dataset["pretrain"]["text"] == ["chapter one", "he was the best teacher i ever had"]
    assert dataset["dev"].num_rows == 2

    with pytest.raises(ValueError, match="train-clean-999.*available"):
        load_librispeech(librispeech, ["train-clean-999"])

    (librispeech / "SPEAKERS.TXT").unlink()
    dataset, report = load_librispeech(librispeech, "test-clean", return_report=True)
    assert dataset["train"]["gender"] == [None]
    assert any("SPEAKERS.TXT" in note for note in report.notes)


def test_librispeech_bad_roots(tmp_path):
    with pytest.raises(ValueError, match="not a directory.*LibriSpeech/<subset>"):
        load_librispeech(tmp_path / "nowhere")
    (tmp_path / "LibriSpeech" / "train-clean-100").mkdir(parents=True)
    with pytest.raises(ValueError, match="No LibriSpeech subset found"):
        load_librispeech(tmp_path)
    make_librispeech_tree(tmp_path / "ok")
    with pytest.raises(ValueError, match="normalize_text"):
        load_librispeech(tmp_path / "ok", normalize_text="yes")
