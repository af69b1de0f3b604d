# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What the corpus readers do with a partial download or a hand-edited CSV (issue #14, "crashes instead of reports"):
an empty split is built and reported with where its examples would be (datasets' `Dataset.from_list([])` with
features crashed with "Keys mismatch"); a CSV with a byte-order mark reads as one without; rows shorter or longer than
the header are reported by line. The errors (a non-UTF-8 file, a header without rows) are in the catalogue,
`test_bad_input_catalogue.py`."""

import shutil

from corpus_fixtures import (
    MMSAClip,
    make_iemocap_tree,
    make_librispeech_tree,
    make_mmsa_tree,
    make_mosei_tree,
    make_speech_text_manifest,
)

from processing_cmt.corpora import (
    load_iemocap,
    load_librispeech,
    load_mosei,
    load_mosei_mmsa,
    load_speech_text_corpus,
)


def test_iemocap_without_the_audio_of_a_session_reports_the_empty_test_split(tmp_path):
    tree = make_iemocap_tree(tmp_path)
    wav_dir = tree.root / "Session5" / "sentences" / "wav"
    shutil.rmtree(wav_dir)
    wav_dir.mkdir()  # a partial download: the folder is there, its files are not
    dataset, report = load_iemocap(tree.root, fold=5, return_report=True)
    assert dataset["test"].num_rows == 0 and dataset["train"].num_rows > 0
    assert dataset["test"].features == dataset["train"].features
    assert f"split 'test' is empty: no usable utterance of {tree.root / 'Session5'}" in report.summary()
    assert report.skipped["missing audio file"] > 0  # and each utterance it lost, as before


def test_iemocap_with_no_audio_at_all_reports_the_empty_corpus(tmp_path):
    tree = make_iemocap_tree(tmp_path)
    for wav in tree.root.glob("Session*/sentences/wav/*/*.wav"):
        wav.unlink()
    dataset, report = load_iemocap(tree.root, return_report=True)
    assert dataset["all"].num_rows == 0
    assert f"split 'all' is empty: no usable utterance under {tree.root}" in report.summary()


def test_librispeech_subset_without_flac_files_reports_the_empty_split(tmp_path):
    utterances = [("19-198-0000", "train-clean-100", "HELLO THERE", True, True)]
    utterances += [("84-121-0000", "dev-clean", "NO AUDIO HERE", False, True)]
    tree = make_librispeech_tree(tmp_path, utterances)
    dataset, report = load_librispeech(tree.root, return_report=True)
    assert dataset["train"].num_rows == 1 and dataset["validation"].num_rows == 0
    assert f"split 'validation' is empty: no utterance with its FLAC file and transcript line under {tree.root}" in (
        report.summary()
    )


def test_mosei_sdk_fold_without_audio_reports_the_empty_split(tmp_path):
    tree = make_mosei_tree(tmp_path / "mosei")
    for wav in tree.audio_dir.glob("*.wav"):
        wav.unlink()
    dataset, report = load_mosei(
        tree.labels_path,
        tree.audio_dir,
        tree.transcripts_dir,
        folds=tree.folds_path,
        cache_dir=tmp_path / "cache",
        return_report=True,
    )
    assert {split: dataset[split].num_rows for split in dataset} == {"train": 0, "validation": 0, "test": 0}
    assert f"split 'test' is empty: no labelled segment with its audio in {tree.audio_dir}" in report.summary()


def test_mmsa_keeps_every_split_and_reports_an_empty_one(tmp_path):
    clips = [MMSAClip("v1", "1", "Fine.", "1.0", "train", "wav"), MMSAClip("v1", "2", "Bad.", "-1.0", "test", None)]
    make_mmsa_tree(tmp_path, clips)
    dataset, report = load_mosei_mmsa(tmp_path, return_report=True)
    assert {split: dataset[split].num_rows for split in dataset} == {"train": 1, "validation": 0, "test": 0}
    assert f"split 'test' is empty: no usable row of {str(tmp_path / 'label.csv')!r}" in report.summary()


def test_mmsa_label_csv_with_a_byte_order_mark_reads_as_without(tmp_path):
    clips = [MMSAClip("v1", "1", "Fine.", "1.0", "train", "wav"), MMSAClip("v1", "2", "Bad.", "-1.0", "test", "wav")]
    make_mmsa_tree(tmp_path, clips)
    plain = load_mosei_mmsa(tmp_path)
    label_csv = tmp_path / "label.csv"
    label_csv.write_bytes(b"\xef\xbb\xbf" + label_csv.read_bytes())  # Excel's "CSV UTF-8"
    with_bom = load_mosei_mmsa(tmp_path)
    assert {split: with_bom[split].to_list() for split in with_bom} == {
        split: plain[split].to_list() for split in plain
    }


def test_mmsa_short_long_and_garbage_rows_are_reported_by_line(tmp_path):
    make_mmsa_tree(tmp_path, [MMSAClip("v1", "1", "Fine.", "1.0", "train", "wav")])
    label_csv = tmp_path / "label.csv"
    with label_csv.open("a", encoding="utf-8") as file:
        file.write("v2,7\n")  # line 3: short
        file.write("v3,8,Hi.,1.0,,,,Positive,train,surplus\n")  # line 4: long
        file.write("\x00garbage;;;\n")  # line 5: one field
    dataset, report = load_mosei_mmsa(tmp_path, return_report=True)
    assert dataset["train"]["id"] == ["v1[1]"]
    assert report.skipped_examples == {
        "row with 2 of the header's 9 fields": ["label.csv:3"],
        "row with more fields than the header's 9": ["label.csv:4"],
        "row with 1 of the header's 9 fields": ["label.csv:5"],
    }


def test_speech_text_manifest_with_a_byte_order_mark_and_a_short_row(tmp_path):
    manifest, rows = make_speech_text_manifest(tmp_path, audio_column="audio", text_column="text")
    plain = load_speech_text_corpus(manifest)
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes() + b"clips/a.wav\n")
    dataset, report = load_speech_text_corpus(manifest, return_report=True)
    assert dataset["train"].to_list() == plain["train"].to_list()
    assert report.skipped_examples["row with 1 of the header's 3 fields"] == [f"manifest.csv:{len(rows) + 2}"]
