# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of `processing_cmt.codebook` and `examples/build_codebook.py`: HuBERT-style codeword targets (§3.2.2)."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Audio, Dataset, load_from_disk
from safetensors.torch import save_file
from testing_utils import tiny_hubert_config, tone, write_wav_file
from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

from configuration_cmt import audio_frame_lengths
from processing_cmt.codebook import (
    assign_codes,
    extract_frame_features,
    fit_codebook,
    label_audio_codes,
    load_codebook,
    mfcc_frame_features,
    save_codebook,
)
from processing_cmt.data_collator import DataCollatorForCMTPretraining


REPO_ROOT = Path(__file__).resolve().parent.parent
NUM_CODEWORDS = 8


@pytest.fixture(scope="module")
def tiny_hubert():
    torch.manual_seed(0)
    return HubertModel(tiny_hubert_config()).eval()


@pytest.fixture(scope="module")
def tiny_hubert_dir(tiny_hubert, tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny_hubert")
    tiny_hubert.save_pretrained(directory)
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, write_wav):
    """12 short WAVs (0.05-0.16 s, 16 kHz; two at 8 kHz to exercise resampling) and a CSV manifest of them."""
    directory = tmp_path_factory.mktemp("corpus")
    rows = []
    for index in range(12):
        rate = 8000 if index in (3, 7) else 16000
        name = f"utt{index:02d}.wav"
        write_wav(directory / name, seconds=0.05 + 0.01 * index, sampling_rate=rate, seed=index)
        rows.append({"audio": name, "text": f"utterance number {index}"})
    with (directory / "manifest.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["audio", "text"])
        writer.writeheader()
        writer.writerows(rows)
    paths = [str(directory / row["audio"]) for row in rows]
    return directory, Dataset.from_dict({"audio": paths, "text": [row["text"] for row in rows]})


def expected_frames(dataset: Dataset, config) -> list[int]:
    from processing_cmt import load_audio

    lengths = [len(load_audio(path, 16000)) for path in dataset["audio"]]
    return audio_frame_lengths(config, torch.tensor(lengths)).tolist()


# ------------------------------------------------------------------------------------------------------ file format


def test_save_and_load_round_trip(tmp_path):
    centroids = torch.randn(NUM_CODEWORDS, 32)
    path = save_codebook(tmp_path / "sub" / "codebook.safetensors", centroids, {"backbone": "tiny", "layer": 1})
    loaded, metadata = load_codebook(path)
    assert torch.equal(loaded, centroids)
    assert metadata["layer"] == 1 and metadata["backbone"] == "tiny"
    assert metadata["num_codewords"] == NUM_CODEWORDS and metadata["hidden_size"] == 32
    assert not path.read_bytes().startswith(b"\x80"), "pickle protocol header"


def test_bad_codebook_files(tmp_path):
    with pytest.raises(ValueError, match="must record \\['layer'\\]"):
        save_codebook(tmp_path / "a.safetensors", torch.randn(4, 8), {"backbone": "tiny"})
    with pytest.raises(ValueError, match="non-empty \\(num_codewords, hidden_size\\)"):
        save_codebook(tmp_path / "a.safetensors", torch.randn(4), {"backbone": "tiny", "layer": 0})
    with pytest.raises(ValueError, match="No codebook file"):
        load_codebook(tmp_path / "missing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match=f"Cannot read codebook '{garbage}'"):
        load_codebook(garbage)
    other = tmp_path / "other.safetensors"
    save_file({"weights": torch.zeros(2, 2)}, str(other))
    with pytest.raises(ValueError, match="has no 'centroids' tensor; its tensors are \\['weights'\\]"):
        load_codebook(other)


# ------------------------------------------------------------------------------------------------ frame features


def test_frame_features_exclude_padding_and_match_unbatched(tiny_hubert):
    rng = np.random.default_rng(0)
    waveforms = [rng.standard_normal(n).astype(np.float32) for n in (800, 1234, 2000, 19)]
    batched = extract_frame_features(tiny_hubert, waveforms, layer=1)
    lengths = audio_frame_lengths(tiny_hubert.config, torch.tensor([len(w) for w in waveforms])).tolist()
    assert [f.shape for f in batched] == [(n, 32) for n in lengths] and lengths[-1] == 0
    for waveform, features in zip(waveforms[:3], batched):
        (alone,) = extract_frame_features(tiny_hubert, [waveform], layer=1)
        torch.testing.assert_close(features, alone, atol=1e-4, rtol=1e-4)


def test_group_norm_backbones_run_one_utterance_at_a_time():
    torch.manual_seed(0)
    model = HubertModel(tiny_hubert_config(feat_extract_norm="group", do_stable_layer_norm=False)).eval()
    waveforms = [np.random.default_rng(i).standard_normal(n).astype(np.float32) for i, n in enumerate((500, 1500))]
    batched = extract_frame_features(model, waveforms, layer=-1)
    for waveform, features in zip(waveforms, batched):
        (alone,) = extract_frame_features(model, [waveform], layer=-1)
        assert torch.equal(features, alone)  # no padding ever reaches the group norm


def test_layer_index_is_checked(tiny_hubert):
    with pytest.raises(ValueError, match="`layer` 3 is not an index into the 3 hidden states"):
        extract_frame_features(tiny_hubert, [np.zeros(100, np.float32)], layer=3)


# ------------------------------------------------------------------------------------------------------- k-means


def test_fit_codebook(tiny_hubert, corpus):
    _, dataset = corpus
    centroids, metadata = fit_codebook(
        dataset, tiny_hubert, layer=1, num_codewords=NUM_CODEWORDS, sample_size=10, seed=0, kmeans_kwargs={"n_init": 2}
    )
    assert centroids.shape == (NUM_CODEWORDS, 32) and centroids.dtype == torch.float32
    assert metadata["layer"] == 1 and metadata["num_codewords"] == NUM_CODEWORDS and metadata["num_utterances"] == 10
    assert 10 * 40 < metadata["num_frames"] < 10 * 170
    assert len(torch.unique(centroids, dim=0)) == NUM_CODEWORDS

    again, _ = fit_codebook(
        dataset, tiny_hubert, layer=1, num_codewords=NUM_CODEWORDS, sample_size=10, seed=0, kmeans_kwargs={"n_init": 2}
    )
    assert torch.equal(centroids, again), "same seed, same codebook"

    capped, capped_metadata = fit_codebook(
        dataset, tiny_hubert, 1, NUM_CODEWORDS, sample_size=4, max_frames_per_utterance=20, kmeans_kwargs={"n_init": 1}
    )
    assert capped_metadata["num_frames"] == 4 * 20


def test_fit_codebook_needs_enough_frames(tiny_hubert, corpus):
    _, dataset = corpus
    with pytest.raises(
        ValueError, match="k-means with 500 codewords needs at least as many frames, but the 2 sampled"
    ):
        fit_codebook(dataset, tiny_hubert, layer=1, num_codewords=500, sample_size=2)


# ------------------------------------------------------------------------------------------------------ labelling


def test_label_audio_codes_aligned_with_frames(tiny_hubert, corpus, tmp_path):
    _, dataset = corpus
    centroids, metadata = fit_codebook(dataset, tiny_hubert, 1, NUM_CODEWORDS, kmeans_kwargs={"n_init": 1})
    path = save_codebook(tmp_path / "codebook.safetensors", centroids, metadata)

    labelled = label_audio_codes(dataset, tiny_hubert, path, batch_size=5)  # layer from the codebook
    assert labelled.column_names == ["audio", "text", "audio_codes"]
    codes = labelled["audio_codes"]
    assert [len(row) for row in codes] == expected_frames(dataset, tiny_hubert.config)

    # Brute-force nearest centroid, one utterance at a time, in float64.
    from processing_cmt import load_audio

    extractor = Wav2Vec2FeatureExtractor()
    for index in (0, 3, 11):
        waveform = extractor(load_audio(dataset[index]["audio"], 16000), sampling_rate=16000)["input_values"][0]
        (features,) = extract_frame_features(tiny_hubert, [waveform], layer=1)
        nearest = torch.cdist(features.double(), centroids.double()).argmin(dim=1)
        assert codes[index] == nearest.tolist()
    assert len({code for row in codes for code in row}) > 1

    # Precomputed `input_values` give the same codes; so does an undecoded-by-us `datasets.Audio` column.
    processed = Dataset.from_dict(
        {
            "input_values": [
                extractor(load_audio(p, 16000), sampling_rate=16000)["input_values"][0] for p in dataset["audio"]
            ]
        }
    )
    assert label_audio_codes(processed, tiny_hubert, (centroids, metadata))["audio_codes"] == codes
    audio_feature = dataset.cast_column("audio", Audio(sampling_rate=16000))
    relabelled = label_audio_codes(audio_feature, tiny_hubert, path)
    assert relabelled["audio_codes"] == codes
    assert relabelled.features["audio"] == Audio(sampling_rate=16000), "the caller's column type is kept"


def test_labelled_corpus_feeds_the_pretraining_collator(tiny_hubert, corpus, tiny_tokenizer):
    from processing_cmt import load_audio

    _, dataset = corpus
    centroids = torch.randn(NUM_CODEWORDS, 32)
    labelled = label_audio_codes(dataset, tiny_hubert, centroids, layer=1)
    extractor = Wav2Vec2FeatureExtractor()
    features = [
        {
            "input_ids": tiny_tokenizer(row["text"])["input_ids"],
            "input_values": extractor(load_audio(row["audio"], 16000), sampling_rate=16000)["input_values"][0],
            "audio_codes": row["audio_codes"],
        }
        for row in labelled
    ]
    collator = DataCollatorForCMTPretraining(tiny_tokenizer, tiny_hubert.config, num_codewords=NUM_CODEWORDS, seed=0)
    batch = collator(features)
    with torch.no_grad():
        hidden = tiny_hubert(batch["input_values"], attention_mask=batch["audio_attention_mask"]).last_hidden_state
    assert batch["audio_labels"].shape == hidden.shape[:2], "codes are aligned with the backbone's output frames"


def test_label_audio_codes_rejects_a_codebook_of_another_backbone(tiny_hubert, corpus):
    _, dataset = corpus
    with pytest.raises(ValueError, match="width 48, but layer 1 of .* has hidden size 32"):
        label_audio_codes(dataset, tiny_hubert, torch.randn(NUM_CODEWORDS, 48), layer=1)
    with pytest.raises(ValueError, match="`layer` 2 differs from the layer the codebook was fitted on \\(1\\)"):
        label_audio_codes(dataset, tiny_hubert, (torch.randn(NUM_CODEWORDS, 32), {"layer": 1}), layer=2)
    with pytest.raises(ValueError, match="`layer` is not given and the codebook does not record one"):
        label_audio_codes(dataset, tiny_hubert, torch.randn(NUM_CODEWORDS, 32))
    broken = Dataset.from_dict({"audio": [dataset["audio"][0], "/no/such/file.wav"]})
    with pytest.raises(ValueError, match="audio\\[1\\]: no such audio file '/no/such/file.wav'"):
        label_audio_codes(broken, tiny_hubert, torch.randn(NUM_CODEWORDS, 32), layer=1)


def test_assign_codes_checks_width():
    with pytest.raises(ValueError, match="width 16 but the codebook's centroids have width 32"):
        assign_codes(torch.randn(5, 16), torch.randn(NUM_CODEWORDS, 32))


# ---------------------------------------------------------------------------------------------------- MFCC targets


def hubert_stride_config() -> HubertConfig:
    """HuBERT's feature encoder (400-sample receptive field, 320-sample stride: 25 ms frames every 20 ms), tiny."""
    return tiny_hubert_config(conv_dim=[8] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2])


def test_mfcc_features_are_framed_as_the_backbone(tmp_path):
    import librosa

    config = hubert_stride_config()
    rng = np.random.default_rng(0)
    lengths = [399, 400, 719, 720, 4000, 16321]
    waveforms = [rng.standard_normal(n).astype(np.float32) for n in lengths]
    features = mfcc_frame_features(config, waveforms)
    assert [f.shape for f in features] == [(int(n), 39) for n in audio_frame_lengths(config, torch.tensor(lengths))]
    assert all(torch.isfinite(f).all() for f in features)
    # Frame t covers samples [320 t, 320 t + 400): its 13 MFCCs are those of that slice alone.
    waveform, frames = waveforms[-1], features[-1]
    for t in (0, 1, 25, frames.shape[0] - 1):
        alone = librosa.feature.mfcc(
            y=waveform[320 * t : 320 * t + 400], sr=16000, n_fft=400, hop_length=320, center=False,
            n_mfcc=13, n_mels=23, fmin=20.0, window="hamming",
        )  # fmt: skip
        np.testing.assert_allclose(frames[t, :13].numpy(), alone[:, 0], rtol=1e-4, atol=1e-3)
    # Deltas: the 5-frame regression of the MFCCs, zero where the MFCCs are constant.
    (steady,) = mfcc_frame_features(config, [np.tile(waveforms[-1][:320], 20)])
    assert steady[3:-3, 13:].abs().max() < 1e-3

    with pytest.raises(ValueError, match="MFCC targets need backbone frames of at least 16 ms; .* 20 samples"):
        mfcc_frame_features(tiny_hubert_config(), waveforms)


def test_mfcc_codebook_separates_what_the_audio_says(tmp_path):
    """k-means over MFCCs puts the frames of a low and of a high tone in two codewords; the labeller reads the
    codebook's `layer="mfcc"` and gives each utterance one code per backbone frame."""
    from processing_cmt import load_audio

    config = hubert_stride_config()
    model = HubertModel(config).eval()  # random weights: only its framing matters
    paths, pitches = [], []
    for index in range(6):
        pitch = 200.0 if index % 2 == 0 else 3000.0
        paths.append(str(tmp_path / f"tone{index}.wav"))
        write_wav_file(paths[-1], waveform=tone(pitch, 0.3 + 0.05 * index, index))
        pitches.append(pitch)
    dataset = Dataset.from_dict({"audio": paths})
    centroids, metadata = fit_codebook(dataset, model, layer="mfcc", num_codewords=2, kmeans_kwargs={"n_init": 2})
    assert centroids.shape == (2, 39) and metadata["layer"] == "mfcc"
    # k-means ran on MFCCs standardised over the sample, with the statistics recorded for the labeller
    waveforms = [
        Wav2Vec2FeatureExtractor()(load_audio(p, 16000), sampling_rate=16000)["input_values"][0] for p in paths
    ]
    frames = torch.cat(mfcc_frame_features(config, waveforms))
    torch.testing.assert_close(torch.tensor(metadata["feature_mean"]), frames.mean(0), rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(
        torch.tensor(metadata["feature_std"]), frames.std(0, correction=0), rtol=1e-3, atol=1e-3
    )
    path = save_codebook(tmp_path / "mfcc.safetensors", centroids, metadata)
    assert load_codebook(path)[1]["layer"] == "mfcc"

    codes = label_audio_codes(dataset, model, path)["audio_codes"]
    assert [len(row) for row in codes] == expected_frames(dataset, config)
    low = {code for row, pitch in zip(codes, pitches) if pitch == 200.0 for code in row}
    high = {code for row, pitch in zip(codes, pitches) if pitch == 3000.0 for code in row}
    assert len(low) == len(high) == 1 and low != high

    with pytest.raises(ValueError, match="width 32, but layer mfcc of .* has hidden size 39"):
        label_audio_codes(dataset, model, torch.randn(2, 32), layer="mfcc")
    with pytest.raises(ValueError, match="records their `feature_mean` and `feature_std`"):
        label_audio_codes(dataset, model, centroids, layer="mfcc")
    with pytest.raises(ValueError, match="nor 'mfcc'"):
        fit_codebook(dataset, model, layer="mfc", num_codewords=2)


# --------------------------------------------------------------------------------------------------------- script


def test_build_codebook_script(tiny_hubert_dir, corpus, tmp_path):
    corpus_dir, _ = corpus
    output = tmp_path / "codebook.safetensors"
    labels_dir = tmp_path / "labelled"
    command = [
        sys.executable,
        str(REPO_ROOT / "examples" / "build_codebook.py"),
        "--audio_model", str(tiny_hubert_dir),
        "--layer", "1",
        "--num_codewords", str(NUM_CODEWORDS),
        "--sample_size", "10",
        "--kmeans_n_init", "2",
        "--dataset", str(corpus_dir / "manifest.csv"),
        "--output_path", str(output),
        "--label_output_dir", str(labels_dir),
        "--device", "cpu",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Codebook: {NUM_CODEWORDS} codewords x 32 dims from layer 1" in result.stdout
    centroids, metadata = load_codebook(output)
    assert centroids.shape == (NUM_CODEWORDS, 32)
    assert metadata["backbone"] == str(tiny_hubert_dir) and metadata["layer"] == 1 and metadata["num_utterances"] == 10
    labelled = load_from_disk(str(labels_dir))
    assert [len(row) for row in labelled["audio_codes"]] == expected_frames(
        labelled, HubertConfig.from_pretrained(tiny_hubert_dir)
    )
    assert max(code for row in labelled["audio_codes"] for code in row) < NUM_CODEWORDS


def test_build_codebook_script_with_mfcc_targets(corpus, tmp_path):
    corpus_dir, _ = corpus
    model_dir = tmp_path / "hubert"
    HubertModel(hubert_stride_config()).save_pretrained(model_dir)
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(model_dir)
    output = tmp_path / "codebook.safetensors"
    command = [
        sys.executable, str(REPO_ROOT / "examples" / "build_codebook.py"), "--audio_model", str(model_dir),
        "--layer", "mfcc", "--num_codewords", str(NUM_CODEWORDS), "--kmeans_n_init", "2",
        "--dataset", str(corpus_dir / "manifest.csv"), "--output_path", str(output), "--device", "cpu",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Codebook: {NUM_CODEWORDS} codewords x 39 dims from layer mfcc" in result.stdout
    assert load_codebook(output)[1]["layer"] == "mfcc"
    bad = subprocess.run([*command[:4], "--layer", "last", *command[6:]], capture_output=True, text=True)
    assert bad.returncode != 0 and "--layer must be an index into the backbone's hidden_states or 'mfcc'" in bad.stderr
