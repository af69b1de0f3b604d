# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""`load_mosei` and `load_mosei_mmsa` on fixture trees laid out like the CMU-MOSEI SDK and MMSA releases."""

import json
import os
from collections import Counter

import h5py
import numpy as np
import pytest
import soundfile as sf
from corpus_fixtures import default_mmsa_clips, make_mmsa_tree, make_mosei_tree, write_audio

from processing_cmt.audio_utils import load_audio
from processing_cmt.corpora import MOSEI_EMOTION_NAMES, load_mosei, load_mosei_folds, load_mosei_mmsa


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
