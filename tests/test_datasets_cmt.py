# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Dataset builders on fixture trees laid out like the real LibriSpeech, IEMOCAP and CMU-MOSEI releases."""

import json
import logging
import os
from collections import Counter

import h5py
import numpy as np
import pytest
import soundfile as sf
from corpus_fixtures import (
    IEMOCAP_FOUR_CLASS,
    default_mmsa_clips,
    make_iemocap_tree,
    make_librispeech_tree,
    make_mmsa_tree,
    make_mosei_tree,
    make_speech_text_manifest,
    write_audio,
)
from datasets import Audio, ClassLabel, Dataset, DatasetDict, Value

from processing_cmt.audio_utils import load_audio
from processing_cmt.datasets_cmt import (
    IEMOCAP_LABEL_NAMES,
    MOSEI_EMOTION_NAMES,
    BuildReport,
    iemocap_validation_speaker,
    load_iemocap,
    load_librispeech,
    load_mosei,
    load_mosei_folds,
    load_mosei_mmsa,
    load_speech_text_corpus,
    normalize_transcript,
)


# ---------------------------------------------------------------------------------------------------------------------
# Text normalisation and reports
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("I'M AFRAID I DON'T KNOW", "I'm afraid I don't know"),
        ("WELL I'LL SEE WHAT I'VE GOT AND I'D SAY", "Well I'll see what I've got and I'd say"),
        ("O LORD IT IS FIVE O'CLOCK", "O lord it is five o'clock"),
        ("  CHAPTER   ONE  ", "Chapter one"),
        ("'TWAS THE NIGHT", "'Twas the night"),
        ("IT IS MINE AND IS IT", "It is mine and is it"),
        ("Already cased, I think.", "Already cased, I think."),
        ("NASA and i", "NASA and i"),  # any lower-case letter: taken as cased, left alone
        ("", ""),
    ],
)
def test_normalize_transcript(raw, expected):
    assert normalize_transcript(raw) == expected


def test_build_report_counts_and_summary():
    report = BuildReport("X")
    for index in range(7):
        report.skip("missing audio file", f"u{index}")
    report.skip("excluded label 'fru'", "v0")
    report.split_sizes = {"train": 3, "test": 2}
    assert report.kept == 5 and report.num_skipped == 8
    assert report.skipped_examples["missing audio file"] == ["u0", "u1", "u2", "u3", "u4"]
    summary = report.summary()
    assert "kept 5" in summary and "skipped 7 x missing audio file" in summary and "excluded label 'fru'" in summary


# ---------------------------------------------------------------------------------------------------------------------
# LibriSpeech and generic speech-text corpora
# ---------------------------------------------------------------------------------------------------------------------


def test_librispeech_release_layout(tmp_path, caplog):
    tree = make_librispeech_tree(tmp_path)
    with caplog.at_level(logging.WARNING, logger="processing_cmt.datasets_cmt"):
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


# ---------------------------------------------------------------------------------------------------------------------
# IEMOCAP
# ---------------------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------------------
# CMU-MOSEI
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mosei_tree(tmp_path_factory):
    return make_mosei_tree(tmp_path_factory.mktemp("mosei"))


def _load_mosei(tree, tmp_path, **kwargs):
    return load_mosei(tree.labels_path, tree.audio_dir, tree.transcripts_dir, cache_dir=tmp_path / "cache", **kwargs)


def test_mosei_sdk_layout_standard_folds(mosei_tree, tmp_path):
    dataset, report = _load_mosei(mosei_tree, tmp_path, folds=mosei_tree.folds_path, return_report=True)
    assert list(dataset) == ["train", "validation", "test"]
    assert dataset["train"].cache_files, "segments must be written to disk"
    assert set(dataset["train"].features["audio"]) == {"array", "sampling_rate"}

    videos = {video.video_id: video for video in mosei_tree.videos}
    waveforms = {v: sf.read(str(video.wav), dtype="float32")[0] for v, video in videos.items() if video.wav}
    for split in dataset:
        expected = mosei_tree.kept(split)
        assert dataset[split]["id"] == [label.id for label in expected]
        for row, label in zip(dataset[split], expected, strict=True):
            assert row["video_id"] == label.video_id and row["segment_id"] == label.segment_id
            assert row["text"] == mosei_tree.segment_text(label)
            assert row["score"] == pytest.approx(label.sentiment, abs=1e-5)
            assert row["emotions"] == pytest.approx(list(label.emotions), abs=1e-5)
            start = max(label.start, 0.0)
            assert row["start"] == pytest.approx(start) and row["end"] == pytest.approx(label.end)
            # Cut by the label interval out of the full-video WAV.
            full = waveforms[label.video_id]
            expected_audio = full[int(round(start * 16000)) : min(int(round(label.end * 16000)), len(full))]
            assert row["audio"]["sampling_rate"] == 16000
            np.testing.assert_array_equal(np.asarray(row["audio"]["array"], dtype=np.float32), expected_audio)

    texts = dataset["train"]["text"]
    assert "And, um, the ___ thing is it's fine." in texts
    assert dataset["validation"]["video_id"] == ["100178", "100178"]
    # Out-of-order label rows come back sorted by time; overlapping ones are both kept.
    assert dataset["train"]["segment_id"][:4] == [0, 1, 2, 3]
    expected_skips = Counter(
        label.skip_reason for video in mosei_tree.videos for label in video.labels if label.skip_reason
    )
    assert report.skipped == expected_skips
    assert report.skipped_examples["interval outside audio"] == ["_dI--eQ6qVU[2]"]
    assert report.skipped_examples["no transcript segment within tolerance"] == ["_dI--eQ6qVU@1.300-1.500"]
    assert any("noLabels001" in note for note in report.notes)
    assert any("1 negative segment starts clamped" in note for note in report.notes)
    assert report.split_sizes == {"train": 6, "validation": 2, "test": 1}

    # The segment dicts feed the package's decoder as they are.
    decoded = load_audio(dataset["test"][0]["audio"], 16000)
    assert decoded.dtype == np.float32 and decoded.shape == (8000,)


def test_mosei_without_folds_tolerance_and_resampling(mosei_tree, tmp_path):
    dataset, report = _load_mosei(mosei_tree, tmp_path, return_report=True)
    assert list(dataset) == ["all"]
    assert "noFold00001[0]" in dataset["all"]["id"] and "video not in any fold" not in report.skipped

    # 0.0124716553288 s vs the transcript's 0.0 s no longer matches at 10 ms.
    dataset, report = _load_mosei(mosei_tree, tmp_path, tolerance=0.01, sampling_rate=8000, return_report=True)
    assert "-3g5yACwYnA[0]" not in dataset["all"]["id"]
    assert "-3g5yACwYnA@0.012-0.500" in report.skipped_examples["no transcript segment within tolerance"]
    row = next(row for row in dataset["all"] if row["id"] == "zhpQhgha_KU[0]")
    assert row["audio"]["sampling_rate"] == 8000 and len(row["audio"]["array"]) == 4000

    with pytest.raises(ValueError, match="tolerance"):
        _load_mosei(mosei_tree, tmp_path, tolerance=-1)


def test_mosei_rebuilds_when_audio_changes(tmp_path):
    tree = make_mosei_tree(tmp_path / "corpus")
    first = _load_mosei(tree, tmp_path, folds=tree.folds_path)["test"][0]["audio"]["array"]
    # Same length and size, other content: the cached Arrow file must not be reused.
    wav = tree.audio_dir / "zhpQhgha_KU.wav"
    stat = wav.stat()
    write_audio(wav, 0.8, seed=99)
    os.utime(wav, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert wav.stat().st_size == stat.st_size
    second = _load_mosei(tree, tmp_path, folds=tree.folds_path)["test"][0]["audio"]["array"]
    expected = sf.read(str(wav), dtype="float32")[0][int(0.2 * 16000) : int(0.7 * 16000)]
    np.testing.assert_array_equal(np.asarray(second, dtype=np.float32), expected)
    assert not np.array_equal(first, second)


def test_mosei_fold_files(tmp_path):
    (tmp_path / "train.txt").write_text("a\n\nb\n# comment\n")
    folds = load_mosei_folds({"standard_train_fold": tmp_path / "train.txt", "valid": ["c"], "test": ("d",)})
    assert folds == {"train": ["a", "b"], "validation": ["c"], "test": ["d"]}
    (tmp_path / "folds.json").write_text(json.dumps({"train": ["a"], "dev": ["b"]}))
    assert load_mosei_folds(tmp_path / "folds.json") == {"train": ["a"], "validation": ["b"]}

    with pytest.raises(ValueError, match="'a' is in both"):
        load_mosei_folds({"train": ["a"], "test": ["a"]})
    with pytest.raises(ValueError, match="Unknown MOSEI fold name 'holdout'"):
        load_mosei_folds({"holdout": ["a"]})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_mosei_folds(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="does not exist"):
        load_mosei_folds(tmp_path / "none.json")


def test_mosei_bad_inputs(mosei_tree, tmp_path):
    with pytest.raises(ValueError, match="audio_dir.*not a directory"):
        load_mosei(mosei_tree.labels_path, tmp_path / "nowhere", mosei_tree.transcripts_dir)
    with pytest.raises(ValueError, match="does not exist"):
        load_mosei(tmp_path / "none.csd", mosei_tree.audio_dir, mosei_tree.transcripts_dir)
    (tmp_path / "text.csd").write_text("not hdf5")
    with pytest.raises(ValueError, match="not HDF5"):
        load_mosei(tmp_path / "text.csd", mosei_tree.audio_dir, mosei_tree.transcripts_dir)
    with h5py.File(tmp_path / "shape.csd", "w") as handle:
        group = handle.create_group("All Labels/data/vid")
        group.create_dataset("features", data=np.zeros((2, 3)))
        group.create_dataset("intervals", data=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"'vid'.*\(2, 3\).*expected \(N, 7\)"):
        load_mosei(tmp_path / "shape.csd", mosei_tree.audio_dir, mosei_tree.transcripts_dir)
    with h5py.File(tmp_path / "other.csd", "w") as handle:
        handle.create_group("Something")
    with pytest.raises(ValueError, match="All Labels/data"):
        load_mosei(tmp_path / "other.csd", mosei_tree.audio_dir, mosei_tree.transcripts_dir)
    assert MOSEI_EMOTION_NAMES == ("happy", "sad", "anger", "surprise", "disgust", "fear")


def test_mosei_mmsa_layout(tmp_path):
    clips = make_mmsa_tree(tmp_path)
    dataset, report = load_mosei_mmsa(tmp_path, return_report=True)
    assert list(dataset) == ["train", "validation", "test"]
    kept = [clip for clip in clips if clip.skip_reason is None]
    assert [row["id"] for split in dataset.values() for row in split] == [clip.id for clip in kept]
    validation = dataset["validation"][0]
    assert (validation["video_id"], validation["clip_id"]) == ("100178", "0001")
    assert validation["score"] == pytest.approx(-0.3333) and validation["annotation"] == "Negative"
    assert validation["score_text"] is None
    train = dataset["train"][0]
    assert train["text"] == 'He said "great", and left.' and train["audio"] == str(kept[0].path.resolve())
    assert report.skipped == Counter(clip.skip_reason for clip in clips if clip.skip_reason)


def test_mosei_mmsa_bad_inputs(tmp_path):
    clips = default_mmsa_clips()
    clips[0].audio = "mp4"
    make_mmsa_tree(tmp_path / "mp4", clips)
    with pytest.raises(ValueError, match="only as mp4.*ffmpeg -i .*1.mp4 -vn -ac 1 -ar 16000 .*1.wav"):
        load_mosei_mmsa(tmp_path / "mp4")
    with pytest.raises(ValueError, match="label.csv"):
        load_mosei_mmsa(tmp_path / "none")
    (tmp_path / "cols").mkdir()
    (tmp_path / "cols" / "label.csv").write_text("video_id,clip_id,text\nv,1,hi\n")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['label', 'mode'\]"):
        load_mosei_mmsa(tmp_path / "cols")
