# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Shared setup of the benchmark sections: size presets, the offline tokenizer, utterances and training examples, the
CMT configs, timing helpers and the paired-ratio median.

Importing it points the Hub client offline and puts the repository root first on `sys.path`, so that a source
checkout is measured rather than an installed copy.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is built locally; never reach the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)  # a source checkout, uninstalled

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import RobertaTokenizerFast, Wav2Vec2FeatureExtractor  # noqa: E402

from configuration_cmt import audio_frame_lengths  # noqa: E402
from configuration_cmt.configuration_cmt import HUBERT_LARGE_KWARGS, ROBERTA_LARGE_KWARGS  # noqa: E402
from modeling_cmt import CMTConfig  # noqa: E402
from processing_cmt import CMTProcessor, train_roberta_tokenizer  # noqa: E402
from processing_cmt.tokenizer_training import ROBERTA_SPECIAL_TOKENS  # noqa: E402


SAMPLING_RATE = 16000
NUM_LABELS = 4  # IEMOCAP's four emotion classes
SECTIONS = ("fine_tuning", "pretraining", "collator", "inference", "memory", "gpu")

ROBERTA_BASE_KWARGS = {**ROBERTA_LARGE_KWARGS, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12}
ROBERTA_BASE_KWARGS["intermediate_size"] = 3072
# facebook/hubert-base-ls960's shape: group-norm conv stack, post-LN transformer, no conv bias.
HUBERT_BASE_KWARGS = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "feat_extract_norm": "group",
    "do_stable_layer_norm": False,
    "conv_bias": False,
    "layer_norm_eps": 1e-5,
}


@dataclass(frozen=True)
class SizePreset:
    """Backbone shapes and the default input shapes of one `--size`."""

    text_config: dict
    audio_config: dict
    description: str
    batch_size: int
    audio_seconds: float
    text_tokens: int
    repeats: int
    inference_utterances: int


# A RoBERTa of 32 dimensions and 2 layers with RoBERTa's special-token ids: the tiny text backbone of the benchmark
# and of the rehearsal (`rehearsal_data.py`).
TINY_ROBERTA_KWARGS = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}

SIZES = {
    "tiny": SizePreset(
        text_config={"vocab_size": None, **TINY_ROBERTA_KWARGS},  # vocab_size None: the tokenizer's
        audio_config={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "conv_dim": [16, 16],
            "conv_kernel": [10, 3],
            "conv_stride": [5, 2],
            "conv_bias": True,
            "num_conv_pos_embeddings": 16,
            "num_conv_pos_embedding_groups": 2,
        },
        description="tiny backbones (32-d, 2 layers each), for the smoke test",
        batch_size=2,
        audio_seconds=0.1,
        text_tokens=12,
        repeats=1,
        inference_utterances=8,
    ),
    "base": SizePreset(
        text_config=ROBERTA_BASE_KWARGS,
        audio_config=HUBERT_BASE_KWARGS,
        description="RoBERTa-base shape (768-d, 12 layers, vocab 50265) + HuBERT-base shape (768-d, 12 layers)",
        batch_size=4,
        audio_seconds=4.0,
        text_tokens=32,
        repeats=3,
        inference_utterances=16,
    ),
    "large": SizePreset(
        text_config=ROBERTA_LARGE_KWARGS,
        audio_config=HUBERT_LARGE_KWARGS,
        description="RoBERTa-large shape (1024-d, 24 layers) + HuBERT-large shape (1024-d, 24 layers), the paper's",
        batch_size=4,
        audio_seconds=4.0,
        text_tokens=32,
        repeats=2,
        inference_utterances=16,
    ),
}

# Sentences in the register of IEMOCAP / CMU-MOSEI transcripts: the tokenizer's training corpus and the transcripts.
CORPUS = [
    "I am so happy to see you today, it has been far too long since we last talked.",
    "This is terrible, I hate it and I do not want to hear another word about it.",
    "Why would you do something like that without telling anyone in the family first?",
    "Excuse me, I need to talk to the manager about the order that never arrived.",
    "That's wonderful news, congratulations to both of you on the new baby!",
    "Honestly, the acting was brilliant and the plot kept me hooked until the end.",
    "The food was cold, the service was slow and nobody apologised for anything.",
    "I would definitely recommend it to a friend who likes quiet and thoughtful movies.",
    "My flight got cancelled again, so I am stuck at the airport for another night.",
    "Um, yeah, I mean, it's fine I guess, but I expected a lot more from them.",
    "Leave me alone, I'm tired of this and I just want to go home and sleep.",
    "She said yes! We're getting married next summer by the lake where we met.",
]
SPECIAL_TOKENS = ROBERTA_SPECIAL_TOKENS


# ---------------------------------------------------------------------------------------------------------------------
# Inputs


def build_tokenizer(max_vocab_size: int) -> RobertaTokenizerFast:
    """A RoBERTa-style byte-level BPE trained offline on `CORPUS` (the package's `train_roberta_tokenizer`), at most
    `max_vocab_size` entries, so that all its ids are valid ids of the model's embedding table."""
    tokenizer = train_roberta_tokenizer(CORPUS, vocab_size=min(500, max_vocab_size), model_max_length=512)
    if [tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS] != [0, 1, 2, 3, 4]:
        raise RuntimeError("The benchmark tokenizer's special tokens are not at RoBERTa's ids 0-4.")
    return tokenizer


def transcript_of_length(tokenizer, target_tokens: int, offset: int) -> str:
    """Corpus words from sentence `offset` on, then "!" (one token each), until the transcript is `target_tokens`
    long, specials included."""

    def length(text: str) -> int:
        return len(tokenizer(text)["input_ids"])

    words = " ".join(CORPUS[offset % len(CORPUS) :] + CORPUS[: offset % len(CORPUS)]).split()
    text = words[0]
    for word in words[1:] * 4:
        if length(f"{text} {word}") > target_tokens:
            break
        text = f"{text} {word}"
    for _ in range(target_tokens):
        if length(text) >= target_tokens or length(f"{text}!") > target_tokens:
            break
        text = f"{text}!"
    return text


def build_utterances(tokenizer, count: int, audio_seconds: float, text_tokens: int, seed: int) -> list[dict]:
    """`count` raw utterances `{"audio", "sampling_rate", "text"}`. In every run of four the first has the longest
    audio and transcript and the others are up to 10% / 3 tokens shorter, so padded batches carry padding as real
    ones do while their padded shape is the nominal one."""
    rng = np.random.default_rng(seed)
    utterances = []
    for index in range(count):
        shrink = (index % 4) / 3 if count > 1 else 0.0
        samples = int(round(audio_seconds * SAMPLING_RATE * (1.0 - 0.1 * shrink)))
        waveform = (0.1 * rng.standard_normal(samples)).astype(np.float32)
        text = transcript_of_length(tokenizer, text_tokens - index % 4, index)
        utterances.append({"audio": waveform, "sampling_rate": SAMPLING_RATE, "text": text})
    return utterances


def build_spread_utterances(tokenizer, count: int, audio_seconds: float, text_tokens: int, seed: int) -> list[dict]:
    """`count` raw utterances whose durations spread as speech corpora's do: log-normal around `audio_seconds`
    (sigma 0.5, clipped to 0.25x-2.5x; IEMOCAP's utterances run from under 1 s to over 20 s around a 4.5 s mean),
    transcripts of 50% to 100% of `text_tokens`, in random order."""
    rng = np.random.default_rng(seed)
    factors = np.clip(rng.lognormal(0.0, 0.5, size=count), 0.25, 2.5)
    utterances = []
    for index, factor in enumerate(factors):
        samples = int(round(audio_seconds * SAMPLING_RATE * factor))
        waveform = (0.1 * rng.standard_normal(samples)).astype(np.float32)
        tokens = int(rng.integers(max(text_tokens // 2, 4), text_tokens + 1))
        text = transcript_of_length(tokenizer, tokens, index)
        utterances.append({"audio": waveform, "sampling_rate": SAMPLING_RATE, "text": text})
    return utterances


def build_features(processor: CMTProcessor, utterances: list[dict], config: CMTConfig, seed: int) -> list[dict]:
    """Unpadded training examples as `processor(..., padding=False)` prepares a corpus: token ids, normalised audio, a
    class label and, for pretraining, random codeword ids (one per backbone frame)."""
    encoded = processor(
        text=[u["text"] for u in utterances],
        audio=[{"array": u["audio"], "sampling_rate": u["sampling_rate"]} for u in utterances],
        padding=False,
    )
    rng = np.random.default_rng(seed)
    features = []
    for index, (ids, values) in enumerate(zip(encoded["input_ids"], encoded["input_values"])):
        frames = int(audio_frame_lengths(config.audio_config, torch.tensor(len(values))))
        codes = rng.integers(0, config.num_codewords, size=frames)
        features.append({"input_ids": ids, "input_values": values, "labels": index % NUM_LABELS, "audio_codes": codes})
    return features


def default_feature_extractor() -> Wav2Vec2FeatureExtractor:
    # HuBERT's: normalising, with an attention mask.
    return Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLING_RATE, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )


# ---------------------------------------------------------------------------------------------------------------------
# Models, training steps and timing


def cmt_config(preset: SizePreset, vocab_size: int, cmt_preset: str = "cmt-base", **kwargs) -> CMTConfig:
    """The `cmt_preset` ("cmt-base" or "cmt-large") of `CMTConfig.from_preset` on `preset`'s backbone shapes."""
    text_config = dict(preset.text_config)
    text_config["vocab_size"] = text_config["vocab_size"] or vocab_size
    # HuBERT's LayerDrop (0.1 by default) skips random layers in training: every step runs every layer here, so that
    # FLOPs and times describe the same work.
    audio_config = {**preset.audio_config, "layerdrop": 0.0}
    # The cross-modal FFN is 4x the stream width, as in the backbones (4096 = the paper's default for 1024-d).
    cross_intermediate_size = 4 * text_config["hidden_size"]
    return CMTConfig.from_preset(
        cmt_preset,
        text_config=text_config,
        audio_config=audio_config,
        cross_intermediate_size=cross_intermediate_size,
        num_labels=NUM_LABELS,
        **kwargs,
    )


def unique_parameters(models) -> list[torch.nn.Parameter]:
    seen, params = set(), []
    for model in models:
        for param in model.parameters():
            if id(param) not in seen:
                seen.add(id(param))
                params.append(param)
    return params


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in unique_parameters([model]))


TEXT_KEYS = ("input_ids", "attention_mask")
AUDIO_KEYS = ("input_values", "audio_attention_mask")
CLOCKS = ("wall", "cpu")


def make_optimizer(params) -> torch.optim.Optimizer:
    # Trainer's default ("adamw_torch_fused"). It skips parameters without a gradient, so one optimizer over the
    # shared weights updates exactly the weights of the variant that just ran.
    return torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0, fused=True)


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def timed(function: Callable[[], Any]) -> dict[str, float]:
    """Wall-clock and process CPU seconds of one call."""
    start = _now()
    function()
    end = _now()
    return {clock: end[i] - start[i] for i, clock in enumerate(CLOCKS)}


def training_step(model, batch: dict[str, torch.Tensor], optimizer, mark: Callable[[], None] | None = None) -> dict:
    """One forward + backward + optimizer step + zero_grad; seconds per phase on both clocks."""
    start = _now()
    loss = model(**batch).loss
    forward_end = _now()
    if mark is not None:
        mark()
    loss.backward()
    backward_end = _now()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    end = _now()
    return {
        clock: {
            "step": end[i] - start[i],
            "forward": forward_end[i] - start[i],
            "backward": backward_end[i] - forward_end[i],
            "optimizer": end[i] - backward_end[i],
        }
        for i, clock in enumerate(CLOCKS)
    }


def within(value: float, target: float, tolerance: float) -> bool:
    return abs(value / target - 1.0) <= tolerance


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median over repeats of numerator / denominator within each repeat. The variants of one repeat run back to
    back, so a drift of the machine's speed between repeats cancels in each ratio, where a ratio of medians keeps it
    (we saw every variant run 8% slower in a first repeat than in the next two)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))
