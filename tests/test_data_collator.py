# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of `processing_cmt.data_collator`: padding, the fine-tuning collator and the pretraining masks of §3.2.2."""

import time

import numpy as np
import pytest
import torch
from testing_utils import TINY_CORPUS, tiny_hubert_config
from transformers import HubertConfig

from configuration_cmt import audio_frame_lengths
from processing_cmt.data_collator import (
    DataCollatorForCMT,
    DataCollatorForCMTPretraining,
    compute_span_mask,
    pad_cmt_features,
    recover_unmasked_input_ids,
)


# conv stack of the tiny backbone: kernel (10, 3), stride (5, 2) -> 10 samples per frame, receptive field 20 samples.
TINY_AUDIO_CONFIG = tiny_hubert_config()
# HuBERT's real feature encoder (20 ms frames at 16 kHz, receptive field 400 samples).
HUBERT_AUDIO_CONFIG = HubertConfig()


def make_features(
    tokenizer, feature_extractor, num_examples, audio_config=TINY_AUDIO_CONFIG, seed=0, frames=(30, 300)
):
    """Unpadded pretraining examples: tokenised transcripts, normalised audio of varied lengths, aligned codes."""
    rng = np.random.default_rng(seed)
    features = []
    for index in range(num_examples):
        text = " ".join(TINY_CORPUS[(index + k) % len(TINY_CORPUS)] for k in range(1 + index % 3))
        num_samples = int(rng.integers(frames[0], frames[1] + 1)) * 10 + int(rng.integers(0, 10)) + 10
        waveform = (0.1 * rng.standard_normal(num_samples)).astype(np.float32)
        input_values = feature_extractor(waveform, sampling_rate=16000)["input_values"][0]
        num_frames = int(audio_frame_lengths(audio_config, torch.tensor(num_samples)))
        features.append(
            {
                "input_ids": tokenizer(text)["input_ids"],
                "input_values": input_values,
                "audio_codes": rng.integers(0, 8, size=num_frames).tolist(),
            }
        )
    return features


def masked_runs(row: torch.Tensor) -> list[tuple[int, int]]:
    """(start, end) of the maximal runs of True in a 1-D bool tensor (reference, with a plain loop)."""
    runs, start = [], None
    for t, value in enumerate(row.tolist() + [False]):
        if value and start is None:
            start = t
        elif not value and start is not None:
            runs.append((start, t))
            start = None
    return runs


# ----------------------------------------------------------------------------------------------------------- padding


@pytest.mark.parametrize("multiple", [None, 8])
def test_padding_equals_tokenizer_and_feature_extractor_padding(tiny_tokenizer, tiny_feature_extractor, multiple):
    features = make_features(tiny_tokenizer, tiny_feature_extractor, 7)
    batch = pad_cmt_features(
        features, tiny_tokenizer.pad_token_id, pad_to_multiple_of=multiple, audio_pad_to_multiple_of=multiple
    )

    text = tiny_tokenizer.pad(
        [{"input_ids": f["input_ids"]} for f in features], pad_to_multiple_of=multiple, return_tensors="pt"
    )
    audio = tiny_feature_extractor.pad(
        [{"input_values": f["input_values"]} for f in features],
        pad_to_multiple_of=multiple,
        return_attention_mask=True,
        return_tensors="pt",
    )
    assert torch.equal(batch["input_ids"], text["input_ids"])
    assert torch.equal(batch["attention_mask"], text["attention_mask"].long())
    assert batch["input_values"].dtype == torch.float32
    assert torch.equal(batch["input_values"], audio["input_values"])
    assert batch["audio_attention_mask"].dtype == audio["attention_mask"].dtype == torch.int32
    assert torch.equal(batch["audio_attention_mask"], audio["attention_mask"])
    if multiple:
        assert batch["input_ids"].shape[1] % multiple == 0 and batch["input_values"].shape[1] % multiple == 0


def test_padding_accepts_lists_arrays_and_tensors(tiny_tokenizer):
    features = [
        {"input_ids": [0, 10, 2], "input_values": [0.5, -0.5, 0.25]},
        {"input_ids": np.array([0, 11, 12, 2]), "input_values": np.array([1.0], dtype=np.float64)},
        {"input_ids": torch.tensor([0, 2]), "input_values": torch.tensor([0.1, 0.2], dtype=torch.float16)},
    ]
    batch = pad_cmt_features(features, pad_token_id=1)
    assert batch["input_ids"].tolist() == [[0, 10, 2, 1], [0, 11, 12, 2], [0, 2, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]]
    assert batch["audio_attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    expected = torch.tensor([[0.5, -0.5, 0.25], [1.0, 0.0, 0.0], [0.1, 0.2, 0.0]], dtype=torch.float16).float()
    torch.testing.assert_close(batch["input_values"], expected)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"input_values": [0.0]}, "Example 1 has no `input_ids`"),
        ({"input_ids": [0, 2]}, "Example 1 has no `input_values`"),
        ({"input_ids": [], "input_values": [0.0]}, "Example 1: `input_ids` must be a non-empty"),
        ({"input_ids": [0, 2], "input_values": np.zeros((2, 5))}, r"Example 1: `input_values` must be a 1-D"),
        ({"input_ids": [0, 2], "input_values": [0.0, float("nan")]}, "Example 1: `input_values` has NaN"),
        ({"input_ids": [0, 2, 1], "attention_mask": [1, 1, 0], "input_values": [0.0]}, "Example 1: `attention_mask`"),
    ],
)
def test_padding_rejects_bad_examples(bad, message):
    good = {"input_ids": [0, 5, 2], "input_values": [0.0, 0.1]}
    with pytest.raises(ValueError, match=message):
        pad_cmt_features([good, bad], pad_token_id=1)
    with pytest.raises(ValueError, match="empty list"):
        pad_cmt_features([], pad_token_id=1)


# ------------------------------------------------------------------------------------------- fine-tuning collator


def test_finetuning_collator_stacks_labels(tiny_tokenizer):
    collator = DataCollatorForCMT(tiny_tokenizer, pad_to_multiple_of=4)
    base = [{"input_ids": [0, 7, 2], "input_values": [0.1, 0.2]}, {"input_ids": [0, 2], "input_values": [0.3]}]

    batch = collator([{**f, "labels": label} for f, label in zip(base, [3, np.int64(1)])])
    assert batch["labels"].dtype == torch.long and batch["labels"].tolist() == [3, 1]
    assert batch["input_ids"].shape == (2, 4)

    batch = collator([{**f, "labels": label} for f, label in zip(base, [-1.5, np.float32(2.0)])])
    assert batch["labels"].dtype == torch.float32 and batch["labels"].tolist() == [-1.5, 2.0]

    batch = collator([{**f, "labels": label} for f, label in zip(base, [[1.0, 0.0], [0.0, 1.0]])])
    assert batch["labels"].dtype == torch.float32 and batch["labels"].shape == (2, 2)

    assert "labels" not in collator(base)


def test_finetuning_collator_rejects_mixed_or_missing_labels(tiny_tokenizer):
    collator = DataCollatorForCMT(tiny_tokenizer)
    base = [{"input_ids": [0, 7, 2], "input_values": [0.1, 0.2]}, {"input_ids": [0, 2], "input_values": [0.3]}]
    with pytest.raises(ValueError, match="Example 1 has a `labels` of kind float but example 0 has int"):
        collator([{**base[0], "labels": 1}, {**base[1], "labels": 0.5}])
    with pytest.raises(ValueError, match="Example 0 has no `labels`"):
        collator([base[0], {**base[1], "labels": 2}])
    with pytest.raises(ValueError, match="Example 1 has a `labels` of kind vector\\[3\\]"):
        collator([{**base[0], "labels": [1.0, 0.0]}, {**base[1], "labels": [1.0, 0.0, 0.0]}])


# --------------------------------------------------------------------------------------------- audio span masking


def test_span_mask_statistics_over_a_large_batch():
    generator = torch.Generator().manual_seed(0)
    frame_lengths = torch.randint(30, 400, (64,), generator=generator)
    num_frames = int(frame_lengths.max()) + 17  # some padding after the longest utterance too
    mask, starts = compute_span_mask(frame_lengths, num_frames, generator=generator, return_starts=True)

    valid = torch.arange(num_frames)[None, :] < frame_lengths[:, None]
    assert mask.shape == (64, num_frames) and mask.dtype == torch.bool
    assert not (mask & ~valid).any(), "a padded frame is masked"
    assert not (starts & ~valid).any(), "a span starts on a padded frame"
    assert (starts.sum(dim=1) >= 2).all(), "an utterance has fewer than 2 spans"
    fraction = mask.sum().item() / valid.sum().item()
    assert 0.40 <= fraction <= 0.60, fraction
    # start rate p = 0.075 (plus the few top-ups): about 1,400 expected starts, +-4 sigma = +-4 * 36
    start_rate = starts.sum().item() / valid.sum().item()
    assert 0.065 <= start_rate <= 0.085, start_rate

    # The mask is exactly the union of 10-frame spans from the starts, clipped at each utterance's end.
    reference = torch.zeros_like(mask)
    for row, column in starts.nonzero().tolist():
        reference[row, column : min(column + 10, int(frame_lengths[row]))] = True
    assert torch.equal(mask, reference)


def test_span_mask_runs_are_full_spans_unless_clipped(tiny_tokenizer, tiny_feature_extractor):
    """At the collator's output, every masked run is >= 10 frames long or ends at the utterance end."""
    collator = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, seed=0)
    batch = collator(make_features(tiny_tokenizer, tiny_feature_extractor, 64))
    mask = batch["mask_time_indices"]
    frame_lengths = (batch["audio_labels"] != -100).sum(dim=1)
    valid = torch.arange(mask.shape[1])[None, :] < frame_lengths[:, None]
    assert not (mask & ~valid).any()
    assert 0.40 <= mask.sum().item() / valid.sum().item() <= 0.60
    for row in range(mask.shape[0]):
        runs = masked_runs(mask[row])
        assert runs, f"utterance {row} has no masked span"
        for start, end in runs:
            assert end - start >= 10 or end == frame_lengths[row], (row, start, end)


def test_span_mask_short_utterances():
    frame_lengths = torch.tensor([0, 1, 2, 5, 15, 25])
    for seed in range(20):
        mask, starts = compute_span_mask(
            frame_lengths, 30, generator=torch.Generator().manual_seed(seed), return_starts=True
        )
        assert mask.sum(dim=1).tolist()[:3] == [0, 1, 2]  # nothing to mask, then fully masked
        assert (starts.sum(dim=1)[2:] >= 2).all()
        # shorter than one span: masked from its first start to its end
        first_start = int(starts[3].nonzero()[0])
        assert mask[3, :5].tolist() == [t >= first_start for t in range(5)]
        assert not mask[:, 25:].any()


def test_span_mask_is_seedable():
    lengths = torch.tensor([50, 120, 300])
    first = compute_span_mask(lengths, 300, generator=torch.Generator().manual_seed(3))
    again = compute_span_mask(lengths, 300, generator=torch.Generator().manual_seed(3))
    other = compute_span_mask(lengths, 300, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)


# ----------------------------------------------------------------------------------------------------- text masking


def test_text_masking_statistics(tiny_tokenizer):
    collator = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, seed=0)
    texts = [" ".join(TINY_CORPUS[i % len(TINY_CORPUS) : i % len(TINY_CORPUS) + 3]) for i in range(400)]
    encoded = tiny_tokenizer(texts, padding=True, return_tensors="pt")
    original, attention_mask = encoded["input_ids"], encoded["attention_mask"]
    masked, labels = collator.mask_tokens(original.clone(), attention_mask, collator._rng())

    special = torch.isin(original, torch.tensor(tiny_tokenizer.all_special_ids))
    eligible = attention_mask.bool() & ~special
    selected = labels != -100
    assert not (selected & ~eligible).any(), "a special or padding token was selected"
    assert torch.equal(masked[~selected], original[~selected]), "an unselected token changed"
    assert torch.equal(labels[selected], original[selected])

    num_eligible, num_selected = eligible.sum().item(), selected.sum().item()
    rate = num_selected / num_eligible  # ~12,000 eligible tokens: sigma ~ 0.0033
    assert 0.13 <= rate <= 0.17, rate
    to_mask = (masked == tiny_tokenizer.mask_token_id) & selected
    changed = (masked != original) & selected & ~to_mask
    kept = selected & (masked == original)
    # ~1,800 selected: sigma <= 0.0095 for each share
    assert abs(to_mask.sum().item() / num_selected - 0.8) < 0.04
    assert abs(changed.sum().item() / num_selected - 0.1) < 0.035
    assert abs(kept.sum().item() / num_selected - 0.1) < 0.035
    assert not torch.isin(masked[changed], torch.tensor(tiny_tokenizer.all_special_ids)).any()
    assert torch.equal(recover_unmasked_input_ids(masked, labels), original)


# ------------------------------------------------------------------------------------------ pretraining collator


def test_pretraining_collator_outputs_and_unmasked_text(tiny_tokenizer, tiny_feature_extractor):
    features = make_features(tiny_tokenizer, tiny_feature_extractor, 16)
    collator = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, num_codewords=8, seed=1)
    batch = collator(features)

    assert set(batch) == {
        "input_ids",
        "attention_mask",
        "labels",
        "input_values",
        "audio_attention_mask",
        "audio_labels",
        "mask_time_indices",
    }
    padded = pad_cmt_features(features, tiny_tokenizer.pad_token_id)
    assert torch.equal(recover_unmasked_input_ids(batch["input_ids"], batch["labels"]), padded["input_ids"])
    assert (batch["labels"] != -100).any()
    assert torch.equal(batch["input_values"], padded["input_values"])
    num_frames = int(audio_frame_lengths(TINY_AUDIO_CONFIG, torch.tensor(padded["input_values"].shape[1])))
    assert batch["audio_labels"].shape == batch["mask_time_indices"].shape == (16, num_frames)
    assert batch["mask_time_indices"].dtype == torch.bool


def test_pretraining_collator_same_seed_same_masks(tiny_tokenizer, tiny_feature_extractor):
    features = make_features(tiny_tokenizer, tiny_feature_extractor, 8)
    first = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, seed=7)(features)
    again = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, seed=7)(features)
    other = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, seed=8)(features)
    for key in ("input_ids", "labels", "mask_time_indices"):
        assert torch.equal(first[key], again[key]), key
    assert not torch.equal(first["mask_time_indices"], other["mask_time_indices"])

    # Without a seed the global RNG decides, so `torch.manual_seed` (and `transformers.set_seed`) reproduce it.
    torch.manual_seed(5)
    unseeded = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG)(features)
    torch.manual_seed(5)
    reseeded = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG)(features)
    assert torch.equal(unseeded["mask_time_indices"], reseeded["mask_time_indices"])


@pytest.mark.parametrize("audio_pad_to_multiple_of", [None, 320])
def test_codes_align_with_backbone_frames(tiny_tokenizer, audio_pad_to_multiple_of):
    # lengths around HuBERT's receptive field (400) and hop (320), and a few seconds
    sample_lengths = [400, 401, 719, 720, 16000, 16001, 23999]
    expected_frames = [1, 1, 1, 2, 49, 49, 74]
    features = []
    for index, num_samples in enumerate(sample_lengths):
        features.append(
            {
                "input_ids": tiny_tokenizer(TINY_CORPUS[index])["input_ids"],
                "input_values": np.zeros(num_samples, dtype=np.float32),
                "audio_codes": [(index + t) % 5 for t in range(expected_frames[index])],
            }
        )
    collator = DataCollatorForCMTPretraining(
        tiny_tokenizer, HUBERT_AUDIO_CONFIG, audio_pad_to_multiple_of=audio_pad_to_multiple_of, seed=0
    )
    batch = collator(features)
    padded_samples = batch["input_values"].shape[1]
    num_frames = (padded_samples - 400) // 320 + 1
    assert batch["audio_labels"].shape == (len(features), num_frames)
    for index, frames in enumerate(expected_frames):
        row = batch["audio_labels"][index]
        assert row[:frames].tolist() == features[index]["audio_codes"]
        assert (row[frames:] == -100).all()
        assert not batch["mask_time_indices"][index, frames:].any()


def test_pretraining_collator_rejects_bad_codes(tiny_tokenizer, tiny_feature_extractor):
    features = make_features(tiny_tokenizer, tiny_feature_extractor, 4)
    collator = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, num_codewords=8, seed=0)

    misaligned = [dict(f) for f in features]
    frames = len(misaligned[2]["audio_codes"])
    samples = len(misaligned[2]["input_values"])
    misaligned[2]["audio_codes"] = misaligned[2]["audio_codes"][:-1]
    message = f"Example 2: `audio_codes` has {frames - 1} codeword ids but its {samples} audio samples give {frames}"
    with pytest.raises(ValueError, match=message):
        collator(misaligned)

    missing = [dict(f) for f in features]
    del missing[3]["audio_codes"]
    with pytest.raises(ValueError, match="Example 3 has no `audio_codes`"):
        collator(missing)

    out_of_range = [dict(f) for f in features]
    out_of_range[1]["audio_codes"] = [8] * len(out_of_range[1]["audio_codes"])
    with pytest.raises(ValueError, match=r"Example 1: `audio_codes` ids must lie in \[0, 8\)"):
        collator(out_of_range)

    labelled = [dict(f) for f in features]
    labelled[0]["labels"] = 2
    with pytest.raises(ValueError, match="Example 0 carries a task label"):
        collator(labelled)


def test_pretraining_collator_time_per_batch(tiny_tokenizer, tiny_feature_extractor):
    """Reports the collator's cost on a batch of 64 utterances of up to 4 s of 16 kHz audio (no timed assertion)."""
    rng = np.random.default_rng(0)
    features = []
    for index in range(64):
        num_samples = int(rng.integers(16000, 64000))
        frames = int(audio_frame_lengths(HUBERT_AUDIO_CONFIG, torch.tensor(num_samples)))
        features.append(
            {
                "input_ids": tiny_tokenizer(" ".join(TINY_CORPUS[index % 30 : index % 30 + 4]))["input_ids"],
                "input_values": rng.standard_normal(num_samples).astype(np.float32),
                "audio_codes": rng.integers(0, 500, frames).tolist(),
            }
        )
    collator = DataCollatorForCMTPretraining(tiny_tokenizer, HUBERT_AUDIO_CONFIG, seed=0)
    collator(features)  # warm-up
    start = time.perf_counter()
    for _ in range(5):
        batch = collator(features)
    per_batch = (time.perf_counter() - start) / 5
    start = time.perf_counter()
    for _ in range(5):
        tiny_tokenizer.pad([{"input_ids": f["input_ids"]} for f in features], return_tensors="pt")
        tiny_feature_extractor.pad([{"input_values": f["input_values"]} for f in features], return_tensors="pt")
    reference = (time.perf_counter() - start) / 5
    print(
        f"\nDataCollatorForCMTPretraining: {per_batch * 1000:.1f} ms per batch of 64 utterances "
        f"(audio {tuple(batch['input_values'].shape)}); tokenizer.pad + feature_extractor.pad alone: "
        f"{reference * 1000:.1f} ms"
    )
    assert batch["mask_time_indices"].shape[0] == 64


def test_dataloader_workers_get_their_own_masks(tiny_tokenizer, tiny_feature_extractor):
    """Each DataLoader worker seeds from `seed` and its own per-epoch seed: identical inputs, different masks per
    worker and per epoch; with the global RNG seeded (as `set_seed` does) reruns reproduce."""
    features = make_features(tiny_tokenizer, tiny_feature_extractor, 4)
    collator = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, seed=11)
    loader = torch.utils.data.DataLoader(features * 4, batch_size=4, collate_fn=collator, num_workers=2)

    def masks(global_seed):
        # Four identical batches; workers 0 and 1 take turns.
        torch.manual_seed(global_seed)
        return [batch["mask_time_indices"] for batch in loader]

    first = masks(0)
    assert not torch.equal(first[0], first[1]), "both workers drew the same masks"
    assert not torch.equal(first[0], first[2]), "a worker repeated its masks"
    next_epoch = [batch["mask_time_indices"] for batch in loader]
    assert not torch.equal(first[0], next_epoch[0]), "the next epoch repeated the masks"
    first = masks(0)
    assert all(torch.equal(a, b) for a, b in zip(first, masks(0)))


def test_main_process_masks_depend_on_seed_and_batch_index_only(tiny_tokenizer, tiny_feature_extractor):
    """A run resumed after n batches sets `num_batches = n` and draws the masks of the uninterrupted run."""
    features = make_features(tiny_tokenizer, tiny_feature_extractor, 8)
    uninterrupted = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, seed=3)
    masks = [uninterrupted(features)["mask_time_indices"] for _ in range(4)]
    assert not torch.equal(masks[2], masks[3])
    resumed = DataCollatorForCMTPretraining(tiny_tokenizer, TINY_AUDIO_CONFIG, seed=3)
    resumed.num_batches = 2
    torch.manual_seed(123)  # the global RNG plays no part
    assert torch.equal(resumed(features)["mask_time_indices"], masks[2])
    assert torch.equal(resumed(features)["mask_time_indices"], masks[3])
