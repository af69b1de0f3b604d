# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""`load_iemocap` on a fixture tree laid out like `IEMOCAP_full_release`."""

from collections import Counter

import pytest
from corpus_fixtures import IEMOCAP_FOUR_CLASS, make_iemocap_tree
from datasets import ClassLabel

from processing_cmt.corpora import IEMOCAP_LABEL_NAMES, iemocap_validation_speaker, load_iemocap


@pytest.fixture(scope="module")
def iemocap_tree(tmp_path_factory):
    return make_iemocap_tree(tmp_path_factory.mktemp("iemocap"))


def test_iemocap_all_utterances_and_class_mapping(iemocap_tree):
    dataset, report = load_iemocap(iemocap_tree.root.parent, return_report=True)
    assert list(dataset) == ["all"]
    data = dataset["all"]
    assert data.features["label"] == ClassLabel(names=["angry", "happy", "neutral", "sad"])
    assert IEMOCAP_LABEL_NAMES == ("angry", "happy", "neutral", "sad")

    kept = {u.id: u for u in iemocap_tree.kept()}
    assert sorted(data["id"]) == sorted(kept) and len(kept) == 33
    names = data.features["label"].names
    assert Counter(names[label] for label in data["label"]) == {"angry": 5, "happy": 10, "neutral": 8, "sad": 10}
    for row in data:
        utterance = kept[row["id"]]
        assert names[row["label"]] == IEMOCAP_FOUR_CLASS[utterance.label] and row["emotion"] == utterance.label
        assert row["audio"] == str(utterance.wav.resolve())
        assert row["text"] == utterance.text
        assert (row["session"], row["speaker"], row["gender"]) == (
            utterance.session,
            utterance.speaker,
            utterance.gender,
        )
        assert row["dialog"] == utterance.dialog and row["improvised"] == utterance.improvised
        assert row["start"] == pytest.approx(utterance.start) and row["end"] == pytest.approx(utterance.end)
        assert [row["valence"], row["activation"], row["dominance"]] == pytest.approx(list(utterance.vad))
    assert {row["label"] for row in data if row["emotion"] == "exc"} == {names.index("happy")}

    # The speaker is the letter of the turn, not the letter of the dialog: a female turn in a male-led script.
    row = next(row for row in data if row["id"] == "Ses03M_script01_1_F001")
    assert (row["speaker"], row["gender"], row["improvised"], row["session"]) == ("Ses03F", "F", False, 3)

    expected = Counter(u.skip_reason for u in iemocap_tree.utterances if u.skip_reason)
    assert report.skipped == expected
    assert report.skipped["excluded label 'xxx'"] == 5 and report.skipped["excluded label 'fru'"] == 5
    assert report.skipped_examples["missing audio file"] == ["Ses01F_impro01_M000"]
    assert report.skipped_examples["missing transcript"] == ["Ses02M_script01_1_M001"]
    assert report.split_sizes == {"all": 33}


@pytest.mark.parametrize("fold", [1, 2, 3, 4, 5])
def test_iemocap_leave_one_session_out(iemocap_tree, fold):
    dataset = load_iemocap(iemocap_tree.root, fold=fold)
    assert list(dataset) == ["train", "validation", "test"]
    held_out = iemocap_validation_speaker(fold)
    assert held_out == f"Ses{fold % 5 + 1:02d}F"
    assert set(dataset["test"]["session"]) == {fold}
    assert set(dataset["validation"]["speaker"]) == {held_out}
    assert fold not in dataset["train"]["session"] and held_out not in dataset["train"]["speaker"]
    ids = [set(split["id"]) for split in dataset.values()]
    assert sum(map(len, ids)) == len(set.union(*ids)) == 33
    expected_test = [u.id for u in iemocap_tree.kept() if u.session == fold]
    assert sorted(dataset["test"]["id"]) == sorted(expected_test)
    if fold == 1:
        assert [split.num_rows for split in dataset.values()] == [23, 4, 6]


def test_iemocap_validation_speaker_options(iemocap_tree):
    dataset = load_iemocap(iemocap_tree.root, fold=2, validation_speaker="Ses05M")
    assert set(dataset["validation"]["speaker"]) == {"Ses05M"}
    dataset = load_iemocap(iemocap_tree.root, fold=2, validation_speaker=False)
    assert list(dataset) == ["train", "test"] and dataset["train"].num_rows + dataset["test"].num_rows == 33
    with pytest.raises(ValueError, match="Ses02F.*not a speaker of the training sessions"):
        load_iemocap(iemocap_tree.root, fold=2, validation_speaker="Ses02F")


@pytest.mark.parametrize("fold", [0, 6, -1, "1", 1.0, True])
def test_iemocap_fold_outside_range(iemocap_tree, fold):
    with pytest.raises(ValueError, match="fold"):
        load_iemocap(iemocap_tree.root, fold=fold)
    with pytest.raises(ValueError, match="fold"):
        iemocap_validation_speaker(fold)


def test_iemocap_wrong_layout(tmp_path):
    with pytest.raises(ValueError, match="not a directory"):
        load_iemocap(tmp_path / "missing")
    (tmp_path / "IEMOCAP_full_release" / "Session1" / "dialog" / "EmoEvaluation").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"Session1/dialog/transcriptions.*Session\{1..5\}/dialog/EmoEvaluation"):
        load_iemocap(tmp_path)


def test_iemocap_custom_label_map_unknown_labels_and_bad_lines(tmp_path):
    tree = make_iemocap_tree(tmp_path)
    evaluation = tree.root / "Session4" / "dialog" / "EmoEvaluation" / "Ses04F_impro01.txt"
    text = evaluation.read_text().replace("\tang\t", "\tbored\t")
    evaluation.write_text(text + "[30.0 - 31.0]\tSes04F_impro01_FXX0\tneu\t[2.0, 2.0, 2.0]\n")

    label_map = {"ang": "angry", "fru": "frustrated", "neu": "neutral"}
    dataset, report = load_iemocap(tree.root, label_map=label_map, return_report=True)
    assert dataset["all"].features["label"].names == ["angry", "frustrated", "neutral"]
    assert Counter(dataset["all"]["emotion"]) == {"ang": 4, "fru": 5, "neu": 8}
    assert report.skipped["unknown label 'bored'"] == 1
    assert report.skipped_examples["unknown label 'bored'"] == ["Ses04F_impro01_F000"]
    assert report.skipped["excluded label 'exc'"] == 5 and report.skipped["excluded label 'xxx'"] == 5
    assert report.skipped_examples["unrecognised utterance id"] == ["Ses04F_impro01.txt:Ses04F_impro01_FXX0"]

    evaluation.write_text(evaluation.read_text() + "[12.0 - x]\tSes04F_impro01_F009\tneu\t[2.0, 2.0, 2.0]\n")
    with pytest.raises(ValueError, match=r"Ses04F_impro01\.txt:\d+: cannot parse"):
        load_iemocap(tree.root)
