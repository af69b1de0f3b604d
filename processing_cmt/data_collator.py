# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Data collators for the Cross-Modal Transformer: fine-tuning batches and the cross-modal pretraining batches of §3.2.2.

Paper: "Cross-modal pretrained transformer for audio-text emotion and sentiment" (`shared/paper/cmt-paper.txt`).

Both collators pad with the processor's [`pad_cmt_features`] (the processor owns padding, as in transformers'
`processing_wav2vec2.py`), which pads already tokenised text and already normalised audio directly in numpy/torch.
"""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedConfig, PreTrainedTokenizerBase

from configuration_cmt import audio_frame_lengths

from .processing_cmt import pad_cmt_features, pad_rows


__all__ = [
    "DataCollatorForCMT",
    "DataCollatorForCMTPretraining",
    "compute_span_mask",
    "recover_unmasked_input_ids",
]

# Positions without a target, ignored by `torch.nn.CrossEntropyLoss` (its default `ignore_index`).
IGNORE_INDEX = -100


def _resolve_tokenizer(tokenizer: Any) -> PreTrainedTokenizerBase:
    # A processor (e.g. `CMTProcessor`) is accepted for convenience: its tokenizer carries the ids we need.
    tokenizer = getattr(tokenizer, "tokenizer", tokenizer)
    if getattr(tokenizer, "pad_token_id", None) is None:
        raise ValueError(f"The tokenizer ({type(tokenizer).__name__}) has no pad token; set `tokenizer.pad_token`.")
    return tokenizer


def _stack_labels(features: Sequence[Mapping[str, Any]]) -> torch.Tensor | None:
    """Task labels: int64 `(batch,)` for classes, float32 `(batch,)` for scores, float32 `(batch, n)` for multi-label."""
    present = ["labels" in feature and feature["labels"] is not None for feature in features]
    if not any(present):
        return None
    if not all(present):
        missing = present.index(False)
        raise ValueError(f"Example {missing} has no `labels` while other examples of the batch have one.")

    def kind(value: Any) -> str:
        if isinstance(value, torch.Tensor | np.ndarray) and np.ndim(value) == 0:
            value = value.item()
        if isinstance(value, bool | np.bool_):
            return "bool"
        if isinstance(value, int | np.integer):
            return "int"
        if isinstance(value, float | np.floating):
            return "float"
        if isinstance(value, Sequence | np.ndarray | torch.Tensor) and not isinstance(value, str):
            return f"vector[{len(value)}]"
        return type(value).__name__

    kinds = [kind(feature["labels"]) for feature in features]
    first = kinds[0]
    for index, this in enumerate(kinds):
        if this != first:
            raise ValueError(
                f"Example {index} has a `labels` of kind {this} but example 0 has {first}; a batch needs all class "
                "ids (int), all scores (float) or all multi-label vectors of one length."
            )
    if first == "int":
        return torch.tensor([int(feature["labels"]) for feature in features], dtype=torch.long)
    if first == "float":
        return torch.tensor([float(feature["labels"]) for feature in features], dtype=torch.float32)
    if first.startswith("vector"):
        return torch.tensor(np.stack([np.asarray(f["labels"], dtype=np.float32) for f in features]))
    raise ValueError(f"Example 0 has a `labels` of unsupported kind {first}; expected int, float or a float vector.")


@dataclass
class DataCollatorForCMT:
    """
    Collates fine-tuning examples (§3.4): pads text and audio with [`pad_cmt_features`] and stacks the task labels.

    Args:
        tokenizer (`PreTrainedTokenizerBase`):
            The text tokenizer (for its pad id); a processor with a `tokenizer` attribute (e.g. `CMTProcessor`) works
            too.
        pad_to_multiple_of (`int`, *optional*):
            Pad the text length up to a multiple of this.
        audio_pad_to_multiple_of (`int`, *optional*):
            Pad the audio length, in samples, up to a multiple of this.

    Examples carry `input_ids`, `input_values` and optionally `labels`: an `int` class id (stacked as int64), a
    `float` score (float32, regression) or a list of floats (multi-label, float32 `(batch, num_labels)`). A batch mixes
    no kinds; a batch without any `labels` is collated for inference.
    """

    tokenizer: PreTrainedTokenizerBase
    pad_to_multiple_of: int | None = None
    audio_pad_to_multiple_of: int | None = None

    def __post_init__(self):
        self.tokenizer = _resolve_tokenizer(self.tokenizer)

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        batch = pad_cmt_features(
            features, self.tokenizer.pad_token_id, self.pad_to_multiple_of, self.audio_pad_to_multiple_of
        )
        labels = _stack_labels(features)
        if labels is not None:
            batch["labels"] = labels
        return batch


def compute_span_mask(
    frame_lengths: torch.Tensor,
    num_frames: int,
    mask_prob: float = 0.075,
    mask_length: int = 10,
    min_masks: int = 2,
    generator: torch.Generator | None = None,
    return_starts: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """
    Span masks over backbone frames with wav2vec 2.0 / HuBERT semantics (§3.2.2), vectorised over the whole batch.

    Every valid (non-padded) frame starts a span with probability `mask_prob`; each span covers `mask_length` frames
    and overlapping spans merge. Spans are *clipped* at the utterance's valid length, so they never reach padding:
    a span starting within `mask_length` frames of the end is shorter. Utterances with fewer than `min_masks` starts
    get extra starts drawn uniformly among their other valid frames, so every utterance with at least `min_masks`
    frames has at least `min_masks` spans. An utterance shorter than that gets one start per frame, i.e. is fully
    masked; so is any utterance shorter than about `mask_length` frames, as nothing smaller than a span fits.
    Utterances with zero frames get no mask.

    With `mask_prob=0.075` and `mask_length=10` a frame is masked with probability 1 - 0.925**10 ≈ 0.54 away from the
    utterance ends. Note that transformers' `_compute_mask_indices` reads its `mask_prob` as the expected masked
    fraction instead (about `mask_prob * mask_length` of ours).

    Args:
        frame_lengths (`torch.Tensor`): int `(batch,)`, valid frames of each utterance.
        num_frames (`int`): frames of the padded batch (the mask's second dimension), `>= frame_lengths.max()`.
        mask_prob (`float`, *optional*, defaults to 0.075): probability that a valid frame starts a span.
        mask_length (`int`, *optional*, defaults to 10): span length in frames.
        min_masks (`int`, *optional*, defaults to 2): minimum number of spans per utterance.
        generator (`torch.Generator`, *optional*): random source; the global one if not given.
        return_starts (`bool`, *optional*, defaults to `False`): also return the span starts.

    Returns:
        `torch.BoolTensor` `(batch, num_frames)`, True on masked frames; with `return_starts`, also the bool starts.
    """
    if not 0.0 <= mask_prob <= 1.0:
        raise ValueError(f"`mask_prob` (a span-start probability) must be in [0, 1], got {mask_prob}.")
    if mask_length < 1:
        raise ValueError(f"`mask_length` must be >= 1 frame, got {mask_length}.")
    if min_masks < 0:
        raise ValueError(f"`min_masks` must be >= 0, got {min_masks}.")
    frame_lengths = torch.as_tensor(frame_lengths, dtype=torch.long)
    if frame_lengths.numel() and int(frame_lengths.max()) > num_frames:
        raise ValueError(f"`frame_lengths` reach {int(frame_lengths.max())} frames but `num_frames` is {num_frames}.")
    batch_size = frame_lengths.shape[0]
    valid = torch.arange(num_frames)[None, :] < frame_lengths[:, None]  # (batch, frames)

    starts = (torch.rand(batch_size, num_frames, generator=generator) < mask_prob) & valid
    if min_masks > 0 and num_frames > 0:
        # Top up utterances with too few starts: rank the remaining valid frames by a random score and take the
        # best `missing` of them (scores of ineligible frames are -1, below any uniform draw).
        missing = (min_masks - starts.sum(dim=1)).clamp(min=0)  # (batch,)
        scores = torch.rand(batch_size, num_frames, generator=generator).masked_fill(~valid | starts, -1.0)
        top_scores, top_frames = scores.topk(min(min_masks, num_frames), dim=1)  # (batch, k)
        take = (torch.arange(top_frames.shape[1])[None, :] < missing[:, None]) & (top_scores >= 0)
        starts.scatter_(1, top_frames, take | starts.gather(1, top_frames))

    # Frame t is masked iff a span starts in (t - mask_length, t]: a windowed count of starts via a cumulative sum.
    counts = starts.long().cumsum(dim=1)
    behind = torch.nn.functional.pad(counts, (mask_length, 0))[:, :num_frames]
    mask = ((counts - behind) > 0) & valid  # `& valid` clips spans at the utterance end
    return (mask, starts) if return_starts else mask


def recover_unmasked_input_ids(input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """
    The original token ids of a [`DataCollatorForCMTPretraining`] batch: `labels` where it holds a target (the
    original id of every selected token, whatever it was replaced by), `input_ids` elsewhere (never modified there).

    The audio stream's cross-attention reads the unmasked text (§3.2.2); this recovers it exactly.
    """
    return torch.where(labels != IGNORE_INDEX, labels, input_ids)


@dataclass
class DataCollatorForCMTPretraining:
    """
    Collates cross-modal pretraining examples (§3.2.2): pads, applies RoBERTa-style dynamic text masking and
    wav2vec 2.0 / HuBERT span masking of the audio backbone's frames, and pads the codeword targets.

    Text MLM: each token that is neither special (`tokenizer.all_special_ids`) nor padding is selected with
    probability `mlm_probability`; a selected token becomes the mask token (80%), a random non-special token (10%) or
    stays unchanged (10%). `labels` holds the original id at selected positions and -100 elsewhere, so the unmasked
    text is exactly `where(labels != -100, labels, input_ids)` ([`recover_unmasked_input_ids`]).

    Audio masking: see [`compute_span_mask`] (per-frame start probability `mask_time_prob`, spans of
    `mask_time_length` frames clipped at the valid length, at least `mask_time_min_masks` spans per utterance), over
    the frames the backbone outputs for the padded batch, counted with `configuration_cmt.audio_frame_lengths`.

    Examples carry `input_ids`, `input_values` (normalised waveform) and `audio_codes` (one codeword id per backbone
    frame of the example's own audio, as written by `processing_cmt.codebook.label_audio_codes`).

    Output: `input_ids` (masked), `attention_mask`, `labels`, `input_values`, `audio_attention_mask`, `audio_labels`
    (codeword ids, -100 on padded frames) and `mask_time_indices` (bool, `(batch, frames)`).

    Args:
        tokenizer (`PreTrainedTokenizerBase`):
            The text tokenizer (pad, mask and special ids, vocabulary size); a processor with a `tokenizer`
            attribute works too.
        audio_config (`PreTrainedConfig`):
            Config of the audio backbone (wav2vec 2.0 family, with `conv_kernel`/`conv_stride`), or a `CMTConfig`
            whose `audio_config` is used.
        mlm_probability (`float`, *optional*, defaults to 0.15):
            Share of eligible text tokens selected for the text MLM.
        mask_time_prob (`float`, *optional*, defaults to 0.075):
            Probability that a valid audio frame starts a masked span (not the masked fraction, see
            [`compute_span_mask`]).
        mask_time_length (`int`, *optional*, defaults to 10):
            Span length in frames.
        mask_time_min_masks (`int`, *optional*, defaults to 2):
            Minimum number of spans per utterance.
        num_codewords (`int`, *optional*):
            Codebook size; when set, codeword ids outside `[0, num_codewords)` are an error.
        pad_to_multiple_of (`int`, *optional*):
            Pad the text length up to a multiple of this.
        audio_pad_to_multiple_of (`int`, *optional*):
            Pad the audio length, in samples, up to a multiple of this.
        seed (`int`, *optional*):
            Makes the masks reproducible. In the main process the k-th batch it collates is masked from a generator
            seeded with (seed, k) alone, k counted by `num_batches`: a training run resumed after n batches sets
            `num_batches = n` and draws exactly the masks of an uninterrupted run, whatever the data loader had
            prefetched. In a DataLoader worker the generator is seeded once from `seed` and the worker's own seed,
            which PyTorch draws anew every epoch from the main process's RNG (so `transformers.set_seed` fixes it,
            and epochs differ). Without a seed the global torch RNG is used.
    """

    tokenizer: PreTrainedTokenizerBase
    audio_config: PreTrainedConfig
    mlm_probability: float = 0.15
    mask_time_prob: float = 0.075
    mask_time_length: int = 10
    mask_time_min_masks: int = 2
    num_codewords: int | None = None
    pad_to_multiple_of: int | None = None
    audio_pad_to_multiple_of: int | None = None
    seed: int | None = None
    num_batches: int = field(default=0, init=False)
    generator: torch.Generator | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.tokenizer = _resolve_tokenizer(self.tokenizer)
        self.audio_config = getattr(self.audio_config, "audio_config", self.audio_config)
        if not hasattr(self.audio_config, "conv_kernel"):
            raise ValueError(
                f"`audio_config` must be a wav2vec 2.0-family config with `conv_kernel` and `conv_stride`, got "
                f"{type(self.audio_config).__name__}."
            )
        if self.tokenizer.mask_token_id is None:
            raise ValueError(f"The tokenizer ({type(self.tokenizer).__name__}) has no mask token for the text MLM.")
        if not 0.0 <= self.mlm_probability <= 1.0:
            raise ValueError(f"`mlm_probability` must be in [0, 1], got {self.mlm_probability}.")
        self._special_ids = torch.tensor(sorted(set(self.tokenizer.all_special_ids)), dtype=torch.long)
        # Random replacements come from the ordinary vocabulary, as in fairseq's RoBERTa (specials get weight 0).
        vocabulary = torch.arange(len(self.tokenizer))
        self._random_ids = vocabulary[~torch.isin(vocabulary, self._special_ids)]
        self._generator_pid = None

    def _rng(self) -> torch.Generator | None:
        if self.seed is None:
            return None
        worker = torch.utils.data.get_worker_info()
        if worker is None:  # main process: batch k is masked from (seed, k) alone
            return torch.Generator().manual_seed((self.seed * 1_000_003 + self.num_batches) % 2**63)
        if self.generator is None or self._generator_pid != os.getpid():
            # a worker starts from a copy of the parent's collator; its seed differs per worker and per epoch
            self.generator = torch.Generator().manual_seed((self.seed * 1_000_003 + worker.seed) % 2**63)
            self._generator_pid = os.getpid()
        return self.generator

    def mask_tokens(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """RoBERTa's dynamic 80/10/10 masking of a padded `(batch, tokens)` batch; returns `(masked_ids, labels)`."""
        eligible = attention_mask.bool() & ~torch.isin(input_ids, self._special_ids)
        selected = (torch.rand(input_ids.shape, generator=generator) < self.mlm_probability) & eligible
        labels = torch.where(selected, input_ids, IGNORE_INDEX)
        # One uniform draw per token splits the selected ones 80 / 10 / 10.
        split = torch.rand(input_ids.shape, generator=generator)
        to_mask = selected & (split < 0.8)
        to_random = selected & (split >= 0.8) & (split < 0.9)
        random_ids = self._random_ids[torch.randint(len(self._random_ids), input_ids.shape, generator=generator)]
        masked = input_ids.masked_fill(to_mask, self.tokenizer.mask_token_id)
        masked = torch.where(to_random, random_ids, masked)
        return masked, labels

    def _pad_codes(self, features: Sequence[Mapping[str, Any]], frame_lengths: torch.Tensor, num_frames: int):
        rows = []
        for index, (feature, frames) in enumerate(zip(features, frame_lengths.tolist())):
            if feature.get("audio_codes") is None:
                raise ValueError(
                    f"Example {index} has no `audio_codes`; label the corpus with "
                    "`processing_cmt.codebook.label_audio_codes` first."
                )
            codes = np.asarray(feature["audio_codes"], dtype=np.int64).reshape(-1)
            if codes.size != frames:
                samples = int(np.size(feature["input_values"]))
                raise ValueError(
                    f"Example {index}: `audio_codes` has {codes.size} codeword ids but its {samples} audio samples "
                    f"give {frames} backbone frames; the codes were computed on different audio or another backbone."
                )
            if codes.size and (
                codes.min() < 0 or (self.num_codewords is not None and codes.max() >= self.num_codewords)
            ):
                raise ValueError(
                    f"Example {index}: `audio_codes` ids must lie in [0, {self.num_codewords or 'num_codewords'}), "
                    f"got values from {codes.min()} to {codes.max()}."
                )
            rows.append(codes)
        return pad_rows(rows, num_frames, IGNORE_INDEX, np.int64)

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        for index, feature in enumerate(features):
            if feature.get("labels") is not None:
                raise ValueError(
                    f"Example {index} carries a task label `labels`, but pretraining makes its own MLM labels; drop "
                    "the column (e.g. `dataset.remove_columns('labels')`)."
                )
        batch = pad_cmt_features(
            features, self.tokenizer.pad_token_id, self.pad_to_multiple_of, self.audio_pad_to_multiple_of
        )
        generator = self._rng()
        self.num_batches += 1

        batch["input_ids"], batch["labels"] = self.mask_tokens(batch["input_ids"], batch["attention_mask"], generator)

        frame_lengths = audio_frame_lengths(self.audio_config, batch["audio_attention_mask"].sum(-1))
        num_frames = int(audio_frame_lengths(self.audio_config, torch.tensor(batch["input_values"].shape[1])))
        batch["audio_labels"] = self._pad_codes(features, frame_lengths, num_frames)
        batch["mask_time_indices"] = compute_span_mask(
            frame_lengths,
            num_frames,
            mask_prob=self.mask_time_prob,
            mask_length=self.mask_time_length,
            min_masks=self.mask_time_min_masks,
            generator=generator,
        )
        return batch
