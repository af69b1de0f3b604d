# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What CMT costs against its floor: training-step time against FLOPs, pretraining against fine-tuning, collator and
pipeline overheads, and peak memory with and without activation checkpointing.

    python benchmarks/run_benchmarks.py                      # base size: RoBERTa-base + HuBERT-base shapes
    python benchmarks/run_benchmarks.py --size tiny --repeats 1 --output_dir /tmp/bench
    python benchmarks/run_benchmarks.py --gpu_only              # section 6 alone, on a CUDA machine

One process, one run; every model is built locally from a config with random weights (nothing is downloaded). The
sections:

1. Fine-tuning step (forward + backward + AdamW step) of CMT-Base, shallow fusion (`num_cross_layers=0`) and each
   backbone alone (`modalities="text"|"audio"`). The time ratio CMT / shallow is compared with the FLOP ratio of the
   same steps, counted by `torch.utils.flop_counter.FlopCounterMode` on one real step.
2. Pretraining step (`CMTForPreTraining`, whose text backbone runs twice) against the fine-tuning step.
3. Collator time per batch as a share of the training step.
4. Inference: the `audio-text-sentiment` pipeline at batch 8 against the bare model forward on the same pre-batched
   inputs, and against transformers' own audio-classification (HuBERT) + text-classification (RoBERTa) pipelines.
5. Peak memory of a training step without and with activation checkpointing, one subprocess per variant.
6. On a CUDA device (`--device auto|cuda`): bf16 mixed-precision training throughput (samples/s) and model FLOP
   utilisation (counted FLOPs / step time / the device's peak dense bf16 FLOP/s) at the paper's full size,
   RoBERTa-large + HuBERT-large shapes, 10 s audio: CMT-Base, CMT-Large and shallow fusion fine-tuning steps and the
   CMT-Base pretraining step, with peak device memory. Without a CUDA device the report says it was not run.

Sections 1-5 always run on the CPU, in float32.

Writes `<output_dir>/latest.md` and `latest.json` and prints the Markdown table.
"""

import gc
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal


os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is built locally; never reach the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from transformers import (  # noqa: E402
    HfArgumentParser,
    HubertConfig,
    HubertForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaTokenizerFast,
    Wav2Vec2FeatureExtractor,
    pipeline,
)


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)  # a source checkout, uninstalled

from configuration_cmt import audio_frame_lengths  # noqa: E402
from configuration_cmt.configuration_cmt import HUBERT_LARGE_KWARGS, ROBERTA_LARGE_KWARGS  # noqa: E402
from modeling_cmt import CMTConfig, CMTForPreTraining, CMTForSequenceClassification  # noqa: E402
from processing_cmt import (  # noqa: E402
    PIPELINE_TASK,
    CMTProcessor,
    DataCollatorForCMT,
    DataCollatorForCMTPretraining,
    train_roberta_tokenizer,
)
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


SIZES = {
    "tiny": SizePreset(
        text_config={
            "vocab_size": None,  # the tokenizer's
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "max_position_embeddings": 514,
            "type_vocab_size": 1,
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
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


@dataclass
class BenchmarkArguments:
    size: Literal["tiny", "base", "large"] = field(
        default="base", metadata={"help": "Backbone shapes: tiny (smoke test), base (default) or large (the paper's)."}
    )
    repeats: int | None = field(
        default=None, metadata={"help": "Timed repeats per measurement (the median is reported); default per size."}
    )
    warmup: int = field(
        default=1,
        metadata={"help": "Untimed steps per variant before timing (>= 1); the first runs under the FLOP counter."},
    )
    threads: int = field(
        default=1,
        metadata={
            "help": "torch intra-op threads (torch.set_num_threads). 1 by default: on a machine shared with other "
            "processes, multi-threaded steps stall at every OpenMP barrier whose partner thread is descheduled."
        },
    )
    timer: Literal["auto", "cpu", "wall"] = field(
        default="auto",
        metadata={
            "help": "Clock of the reported times and ratios: 'cpu' (process CPU time), 'wall', or 'auto' (CPU time "
            "with 1 thread, where it equals the wall-clock time of an idle machine, wall-clock otherwise). Both "
            "clocks are always recorded."
        },
    )
    batch_size: int | None = field(default=None, metadata={"help": "Training batch size; default per size."})
    audio_seconds: float | None = field(
        default=None, metadata={"help": "Longest audio of a batch in seconds; default per size."}
    )
    text_tokens: int | None = field(
        default=None,
        metadata={"help": "Longest transcript of a batch in tokens, specials included; default per size."},
    )
    inference_batch_size: int = field(default=8, metadata={"help": "Batch size of the inference section."})
    inference_utterances: int | None = field(
        default=None, metadata={"help": "Utterances per inference run; default per size."}
    )
    collator_calls: int = field(default=50, metadata={"help": "Collator calls timed (the median is reported)."})
    skip_memory: bool = field(default=False, metadata={"help": "Skip section 5 (the memory subprocesses)."})
    profile: bool = field(
        default=False,
        metadata={"help": "Also profile (torch.profiler) one step of CMT, shallow fusion and pretraining: top ops."},
    )
    output_dir: str | None = field(
        default=None, metadata={"help": "Where latest.md and latest.json go; default benchmarks/results."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of weights and inputs."})
    memory_probe: str | None = field(
        default=None,
        metadata={"help": "Internal: measure one step's memory ('off' or 'on' checkpointing), print JSON, exit."},
    )
    device: Literal["auto", "cpu", "cuda"] = field(
        default="auto",
        metadata={
            "help": "Where section 6 (bf16 training throughput and MFU at full size) runs: 'cuda', 'cpu' (section 6 "
            "not run) or 'auto' (cuda if available). Sections 1-5 always run on the CPU."
        },
    )
    gpu_only: bool = field(
        default=False, metadata={"help": "Run section 6 alone (needs a CUDA device); sections 1-5 are skipped."}
    )
    gpu_batch_size: int = field(default=8, metadata={"help": "Section 6: training batch size."})
    gpu_audio_seconds: float = field(
        default=10.0, metadata={"help": "Section 6: longest audio of a batch in seconds."}
    )
    gpu_text_tokens: int = field(
        default=32, metadata={"help": "Section 6: longest transcript of a batch in tokens, specials included."}
    )
    gpu_warmup: int = field(
        default=3,
        metadata={"help": "Section 6: untimed steps per variant after the FLOP-counted one (allocator, kernels)."},
    )
    gpu_repeats: int = field(
        default=10, metadata={"help": "Section 6: timed steps per variant (the median is reported)."}
    )
    peak_tflops: float | None = field(
        default=None,
        metadata={
            "help": "Section 6: the device's peak dense bf16 TFLOP/s for MFU, overriding the built-in table of "
            "NVIDIA datasheet figures (a device not in the table gets no MFU without it)."
        },
    )


# ---------------------------------------------------------------------------------------------------------------------
# FLOP counting


def _conv_backward_flop(grad_out_shape, x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
    """Group-aware FLOPs of `aten.convolution_backward`: each requested gradient (input, weight) costs one forward.

    torch's own formula computes the weight gradient as if the convolution had one group, which counts HuBERT's
    positional convolution (16 groups) 16 times over.
    """
    transposed, output_mask = args[4], args[7]
    positions = np.prod(x_shape if transposed else grad_out_shape, dtype=np.int64)
    forward = 2 * int(positions) * int(np.prod(w_shape[1:], dtype=np.int64))
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def _cpu_attention_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    # QK^T and PV, as torch counts its CUDA attention kernels.
    batch, heads, q_len, head_dim = query_shape
    kv_len, v_dim = key_shape[2], value_shape[3]
    return 2 * batch * heads * q_len * kv_len * (head_dim + v_dim)


def _cpu_attention_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    # Recomputed scores, dP, dV, dQ, dK: five (q_len x kv_len) products, as torch counts its CUDA backward kernels.
    batch, heads, q_len, head_dim = query_shape
    kv_len, v_dim = key_shape[2], value_shape[3]
    return 2 * batch * heads * q_len * kv_len * (3 * head_dim + 2 * v_dim)


# The CPU flash-attention kernel that sdpa picks in eval mode is not in torch's FLOP registry (training with dropout
# takes the math path, plain matmuls, which are counted).
FLOP_FORMULAS = {
    torch.ops.aten.convolution_backward: _conv_backward_flop,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention_flop,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_attention_backward_flop,
}

FLOP_METHOD = (
    "torch.utils.flop_counter.FlopCounterMode on one real step (matmul, batched matmul, convolution and attention "
    "kernels, forward + backward; elementwise ops, norms and the optimizer are not counted), with a group-aware "
    "convolution backward and the CPU flash-attention kernels added"
)


def count_flops(run: Callable[[], Any]) -> tuple[int, dict[str, int]]:
    """FLOPs of everything `run` executes, and the forward FLOPs per module (counted until `run` calls the `mark`
    callback it receives, i.e. before backward: FlopCounterMode's attribution of backward ops to modules is
    unreliable)."""
    forward_by_module: dict[str, int] = {}
    with FlopCounterMode(display=False, custom_mapping=FLOP_FORMULAS) as counter:

        def mark():
            for name, ops in counter.get_flop_counts().items():
                forward_by_module[name] = int(sum(ops.values()))

        run(mark)
    return int(counter.get_total_flops()), forward_by_module


def module_flops(by_module: dict[str, int], suffix: str) -> int:
    """FLOPs of the module whose qualified name ends with `suffix` (0 if it did not run)."""
    matches = [flops for name, flops in by_module.items() if name.endswith(suffix)]
    return max(matches) if matches else 0


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


def padding_share(lengths: list[int], order: list[int], batch_size: int) -> float:
    """The share of padding in the audio of batches of `batch_size` taken in `order`: padded samples / all samples."""
    padded = total = 0
    for start in range(0, len(order), batch_size):
        batch = [lengths[index] for index in order[start : start + batch_size]]
        padded += max(batch) * len(batch) - sum(batch)
        total += max(batch) * len(batch)
    return padded / total


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


# ---------------------------------------------------------------------------------------------------------------------
# Models


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


def build_training_models(config: CMTConfig) -> dict[str, torch.nn.Module]:
    """CMT-Base, shallow fusion, each backbone alone and CMTForPreTraining, all sharing one pair of backbone modules
    (and the CMT models one cross-modal encoder): each variant computes exactly what it would standalone, while the
    machine holds one copy of the weights."""
    cmt = CMTForSequenceClassification(config)
    shallow = CMTForSequenceClassification(CMTConfig(**{**config.to_dict(), "num_cross_layers": 0}))
    single = {"num_cross_layers": 0, "ortho_loss_weight": 0.0}
    text_only = CMTForSequenceClassification(CMTConfig(**{**config.to_dict(), **single, "modalities": "text"}))
    audio_only = CMTForSequenceClassification(CMTConfig(**{**config.to_dict(), **single, "modalities": "audio"}))
    pretraining = CMTForPreTraining(config)
    for model in (shallow, text_only, audio_only):
        if model.cmt.text_model is not None:
            model.cmt.text_model = cmt.cmt.text_model
        if model.cmt.audio_model is not None:
            model.cmt.audio_model = cmt.cmt.audio_model
    pretraining.cmt = cmt.cmt
    models = {"cmt": cmt, "shallow": shallow, "text": text_only, "audio": audio_only, "pretraining": pretraining}
    for model in models.values():
        model.train()
    return models


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


def variant_batch(name: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inputs a variant reads: single-modal baselines get only their modality (and the labels)."""
    keys = {"text": TEXT_KEYS, "audio": AUDIO_KEYS}.get(name, TEXT_KEYS + AUDIO_KEYS)
    return {key: batch[key] for key in (*keys, "labels")}


def step_inputs(name: str, batches: dict[str, dict]) -> dict[str, torch.Tensor]:
    return batches["pretraining"] if name == "pretraining" else variant_batch(name, batches["fine_tuning"])


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


# ---------------------------------------------------------------------------------------------------------------------
# Sections


def bench_training(models, batches, optimizer, repeats: int, warmup: int, timer: str) -> dict[str, dict]:
    """Sections 1-2: every variant's step, interleaved over the repeats so that load changes on the machine hit all
    variants alike. The first warm-up step of each variant runs under the FLOP counter."""
    results = {}
    for name, model in models.items():
        inputs = step_inputs(name, batches)
        total, forward_by_module = count_flops(
            lambda mark, model=model, inputs=inputs: training_step(model, inputs, optimizer, mark)
        )
        results[name] = {
            "parameters": count_parameters(model),
            "flops": total,
            "forward_flops": forward_by_module.get(type(model).__name__, 0),
            "forward_flops_by_component": {
                "text_backbone": module_flops(forward_by_module, ".cmt.text_model"),
                "audio_backbone": module_flops(forward_by_module, ".cmt.audio_model"),
                "audio_conv_feature_encoder": module_flops(forward_by_module, ".cmt.audio_model.feature_extractor"),
                "cross_modal_encoder": module_flops(forward_by_module, ".cmt.encoder"),
            },
            "batch_shapes": {key: list(value.shape) for key, value in inputs.items()},
        }
    for _ in range(warmup - 1):
        for name, model in models.items():
            training_step(model, step_inputs(name, batches), optimizer)
    samples = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            samples[name].append(training_step(model, step_inputs(name, batches), optimizer))
    for name in models:
        for clock in CLOCKS:
            phases = samples[name][0][clock]
            results[name][clock] = {
                phase: statistics.median(s[clock][phase] for s in samples[name]) for phase in phases
            }
            results[name][f"{clock}_steps"] = [s[clock]["step"] for s in samples[name]]
        results[name]["time"] = results[name][timer]
        results[name]["gflop_per_s"] = results[name]["flops"] / results[name]["time"]["step"] / 1e9
    return results


def profile_steps(models, batches, optimizer, names: tuple[str, ...], top: int = 12) -> dict[str, dict]:
    """One step of each named variant under torch.profiler: the ops with the most self CPU time."""
    from torch.profiler import ProfilerActivity, profile

    profiles = {}
    for name in names:
        with profile(activities=[ProfilerActivity.CPU]) as profiler:
            training_step(models[name], step_inputs(name, batches), optimizer)
        events = list(profiler.key_averages())
        ranked = sorted(events, key=lambda event: event.self_cpu_time_total, reverse=True)[:top]
        profiles[name] = {
            "self_cpu_s": sum(event.self_cpu_time_total for event in events) / 1e6,
            "top_ops": [
                {"op": event.key, "self_cpu_s": event.self_cpu_time_total / 1e6, "calls": event.count}
                for event in ranked
            ],
        }
    return profiles


def within(value: float, target: float, tolerance: float) -> bool:
    return abs(value / target - 1.0) <= tolerance


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median over repeats of numerator / denominator within each repeat. The variants of one repeat run back to
    back, so a drift of the machine's speed between repeats cancels in each ratio, where a ratio of medians keeps it
    (we saw every variant run 8% slower in a first repeat than in the next two)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def step_ratio(numerator: dict, denominator: dict, clock: str) -> float:
    return paired_ratio(numerator[f"{clock}_steps"], denominator[f"{clock}_steps"])


def fine_tuning_section(training: dict, timer: str) -> dict:
    cmt, shallow = training["cmt"], training["shallow"]
    time_ratio = step_ratio(cmt, shallow, timer)
    flop_ratio = cmt["flops"] / shallow["flops"]
    return {
        "variants": {name: training[name] for name in ("cmt", "shallow", "text", "audio")},
        "time_ratio": time_ratio,
        "time_ratio_by_clock": {clock: step_ratio(cmt, shallow, clock) for clock in CLOCKS},
        "flop_ratio": flop_ratio,
        "time_over_flop_ratio": time_ratio / flop_ratio,
        # 1.0: the cross-modal layers cost exactly their FLOP share; below 1 they run slower than the backbones do.
        "efficiency": flop_ratio / time_ratio,
        "target": "CMT / shallow time ratio within 5% of the FLOP ratio",
        "target_met": within(time_ratio, flop_ratio, 0.05),
    }


def pretraining_section(training: dict, timer: str) -> dict:
    pre, fine = training["pretraining"], training["cmt"]
    pre_text = pre["forward_flops_by_component"]["text_backbone"]
    fine_text = fine["forward_flops_by_component"]["text_backbone"]
    return {
        "pretraining": pre,
        "time_ratio": step_ratio(pre, fine, timer),
        "time_ratio_by_clock": {clock: step_ratio(pre, fine, clock) for clock in CLOCKS},
        "flop_ratio": pre["flops"] / fine["flops"],
        "text_backbone_forward_flops": {"fine_tuning": fine_text, "pretraining": pre_text},
        "text_backbone_passes": pre_text / fine_text if fine_text else None,
        # the text-alone step is one text-backbone pass, forward + backward (plus a negligible head)
        "second_text_pass_share": training["text"]["flops"] / fine["flops"],
        "note": (
            "The pretraining step runs the text backbone twice (masked tokens for the text stream, unmasked tokens as "
            "the audio stream's keys/values; one call over both batches), both with gradients; the FLOP ratio "
            "includes that second pass. On the CPU it also pays for summing two dense vocabulary-sized gradients of "
            "the word embeddings (the lookup and the tied MLM output layer) in freshly mapped memory, which the FLOPs "
            "do not count."
        ),
    }


def median_call(function: Callable[[], Any], calls: int) -> dict[str, float]:
    function()  # warm-up
    samples = [timed(function) for _ in range(calls)]
    return {clock: statistics.median(s[clock] for s in samples) for clock in CLOCKS}


def collator_section(collators: dict, features: dict[str, list[dict]], training: dict, calls: int, timer: str):
    """Section 3: each collator on its unpadded examples, against its own training step."""
    fine = median_call(lambda: collators["fine_tuning"](features["fine_tuning"]), calls)
    pre = median_call(lambda: collators["pretraining"](features["pretraining"]), calls)
    fine_share = fine[timer] / training["cmt"]["time"]["step"]
    pre_share = pre[timer] / training["pretraining"]["time"]["step"]
    return {
        "batch_size": len(features["fine_tuning"]),
        "fine_tuning_collator_s": fine,
        "fine_tuning_share": fine_share,
        "pretraining_collator_s": pre,
        "pretraining_share": pre_share,
        "target": "collator time under 2% of the training step",
        "target_met": fine_share < 0.02 and pre_share < 0.02,
    }


def bench_inference(
    cmt_model,
    processor,
    config: CMTConfig,
    utterances,
    spread_utterances,
    batch_size: int,
    repeats: int,
    timer: str,
) -> dict:
    """Section 4: the CMT pipeline (in the input order, and by default grouped by length) vs the bare forward on
    pre-batched inputs vs transformers' HuBERT + RoBERTa classification pipelines, all on the same utterances; then
    the CMT pipeline with and without length grouping on utterances of spread durations. One warm-up batch each, then
    interleaved repeats."""
    cmt_model.eval()
    text_config = RobertaConfig(**{**config.text_config.to_dict(), "num_labels": NUM_LABELS})
    audio_config = HubertConfig(**{**config.audio_config.to_dict(), "num_labels": NUM_LABELS})
    text_model = RobertaForSequenceClassification(text_config).eval()
    audio_model = HubertForSequenceClassification(audio_config).eval()

    cmt_pipe = pipeline(PIPELINE_TASK, model=cmt_model, processor=processor, device="cpu")
    audio_pipe = pipeline(
        "audio-classification", model=audio_model, feature_extractor=processor.feature_extractor, device="cpu"
    )
    text_pipe = pipeline("text-classification", model=text_model, tokenizer=processor.tokenizer, device="cpu")

    texts = [u["text"] for u in utterances]
    raw_audio = [{"raw": u["audio"], "sampling_rate": u["sampling_rate"]} for u in utterances]
    batches = []
    for start in range(0, len(utterances), batch_size):
        chunk = utterances[start : start + batch_size]
        batch = processor(
            text=[u["text"] for u in chunk],
            audio=[{"array": u["audio"], "sampling_rate": u["sampling_rate"]} for u in chunk],
            return_tensors="pt",
        )
        batches.append({key: batch[key] for key in TEXT_KEYS + AUDIO_KEYS})

    def bare_forward(count: int):
        with torch.no_grad():  # what Pipeline.forward uses
            for batch in batches[: -(-count // batch_size)]:
                cmt_model(**batch)

    runs = {
        "cmt_pipeline": lambda n: cmt_pipe(utterances[:n], batch_size=batch_size),
        "cmt_pipeline_input_order": lambda n: cmt_pipe(utterances[:n], batch_size=batch_size, group_by_length=False),
        "cmt_bare_forward": bare_forward,
        "hubert_audio_classification_pipeline": lambda n: audio_pipe(raw_audio[:n], batch_size=batch_size),
        "roberta_text_classification_pipeline": lambda n: text_pipe(texts[:n], batch_size=batch_size),
    }
    warm = min(batch_size, len(utterances))
    for name, run in runs.items():
        outputs = run(warm)
        if name == "cmt_pipeline" and len(outputs) != warm:
            raise RuntimeError(f"The CMT pipeline returned {len(outputs)} results for {warm} utterances.")
    samples = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(timed(lambda run=run: run(len(utterances))))
    seconds = {
        clock: {name: statistics.median(s[clock] for s in values) for name, values in samples.items()}
        for clock in CLOCKS
    }

    # Length grouping where durations spread: the same pipeline, grouped (default) and in the input order.
    spread_runs = {
        "grouped": lambda: cmt_pipe(spread_utterances, batch_size=batch_size),
        "input_order": lambda: cmt_pipe(spread_utterances, batch_size=batch_size, group_by_length=False),
    }
    spread_samples = {name: [] for name in spread_runs}
    for _ in range(repeats):
        for name, run in spread_runs.items():
            spread_samples[name].append(timed(run))
    spread_seconds = {name: statistics.median(s[timer] for s in values) for name, values in spread_samples.items()}
    spread_lengths = [u["audio"].size for u in spread_utterances]
    spread_orders = {
        "grouped": cmt_pipe._length_order(spread_utterances),
        "input_order": list(range(len(spread_utterances))),
    }

    with torch.no_grad():
        cmt_flops, _ = count_flops(lambda mark: cmt_model(**batches[0]))
        audio_inputs = processor.feature_extractor(
            [u["audio"] for u in utterances[:batch_size]],
            sampling_rate=SAMPLING_RATE,
            return_tensors="pt",
            padding=True,
        )
        audio_flops, _ = count_flops(lambda mark: audio_model(**audio_inputs))
        text_inputs = processor.tokenizer(texts[:batch_size], padding=True, return_tensors="pt")
        text_flops, _ = count_flops(lambda mark: text_model(**text_inputs))
    cmt_model.train()

    count = len(utterances)
    primary = seconds[timer]
    combined_s = primary["hubert_audio_classification_pipeline"] + primary["roberta_text_classification_pipeline"]
    per_repeat = {name: [s[timer] for s in values] for name, values in samples.items()}
    combined_per_repeat = [
        a + b
        for a, b in zip(
            per_repeat["hubert_audio_classification_pipeline"], per_repeat["roberta_text_classification_pipeline"]
        )
    ]
    # On the same batches as the bare forward and the two transformers pipelines: the input order.
    overhead = paired_ratio(per_repeat["cmt_pipeline_input_order"], per_repeat["cmt_bare_forward"]) - 1.0
    vs_transformers = paired_ratio(combined_per_repeat, per_repeat["cmt_pipeline_input_order"])  # throughput ratio
    return {
        "utterances": count,
        "batch_size": batch_size,
        "seconds": seconds,
        "seconds_all": {
            clock: {name: [round(s[clock], 4) for s in values] for name, values in samples.items()} for clock in CLOCKS
        },
        "utterances_per_s": {name: count / value for name, value in primary.items()},
        "combined_transformers_utterances_per_s": count / combined_s,
        "pipeline_overhead": overhead,
        "pipeline_overhead_target": "under 10% over the bare forward",
        "pipeline_overhead_target_met": overhead < 0.10,
        "vs_transformers_pipelines": vs_transformers,
        "vs_transformers_pipelines_grouped": paired_ratio(combined_per_repeat, per_repeat["cmt_pipeline"]),
        "forward_flops_first_batch": {"cmt": cmt_flops, "hubert": audio_flops, "roberta": text_flops},
        # The throughput ratio the FLOPs allow: CMT does both backbones' work plus its cross-modal layers.
        "flop_bound_vs_transformers": (audio_flops + text_flops) / cmt_flops,
        "vs_transformers_target": "at least 0.9x the combined throughput of the two transformers pipelines",
        "vs_transformers_target_met": vs_transformers >= 0.9,
        "length_grouping": {
            "utterances": len(spread_utterances),
            "audio_seconds": [round(length / SAMPLING_RATE, 3) for length in spread_lengths],
            "seconds": spread_seconds,
            "seconds_all": {name: [round(s[timer], 4) for s in values] for name, values in spread_samples.items()},
            "speedup": paired_ratio(
                [s[timer] for s in spread_samples["input_order"]], [s[timer] for s in spread_samples["grouped"]]
            ),
            "audio_padding_share": {
                name: padding_share(spread_lengths, order, batch_size) for name, order in spread_orders.items()
            },
        },
    }


# ---------------------------------------------------------------------------------------------------------------------
# Memory (section 5): one subprocess per variant


MEMORY_METHOD = (
    "resident set size (RSS) of a fresh process per variant, with glibc's mmap threshold pinned at 64 KiB "
    "(MALLOC_MMAP_THRESHOLD_) so that every buffer of 64 KiB or more is mmapped and returned to the OS when freed: "
    "RSS then follows live tensor memory (torch's CPU allocator is plain malloc). After one warm-up step, which "
    "creates the AdamW state, the kernel's peak-RSS counter (VmHWM) is reset through /proc/self/clear_refs; the peak "
    "of the next step minus the RSS just before it is the step's transient memory: activations, gradients and "
    "temporaries"
)


def _proc_status_kib(key: str) -> int:
    with open("/proc/self/status") as handle:
        return int(re.search(rf"^{key}:\s+(\d+) kB", handle.read(), re.MULTILINE).group(1))


def run_memory_probe(args: BenchmarkArguments, preset: SizePreset) -> dict:
    """Inside the probe subprocess: the memory of one CMT fine-tuning step, checkpointing `args.memory_probe`."""
    checkpointing = args.memory_probe == "on"
    torch.manual_seed(args.seed)
    tokenizer = build_tokenizer(preset.text_config["vocab_size"] or 10**9)
    processor = CMTProcessor(feature_extractor=default_feature_extractor(), tokenizer=tokenizer)
    config = cmt_config(preset, len(tokenizer))
    utterances = build_utterances(tokenizer, args.batch_size, args.audio_seconds, args.text_tokens, args.seed)
    batch = DataCollatorForCMT(tokenizer)(build_features(processor, utterances, config, args.seed))
    model = CMTForSequenceClassification(config).train()
    if checkpointing:
        model.activation_checkpointing_enable()
    optimizer = make_optimizer(model.parameters())
    training_step(model, batch, optimizer)  # creates the AdamW state
    gc.collect()
    resident_kib = _proc_status_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM (Linux >= 4.0)
        reset = True
    except OSError:
        reset = False
    timing = training_step(model, batch, optimizer)
    peak_kib = _proc_status_kib("VmHWM")
    return {
        "activation_checkpointing": checkpointing,
        "peak_reset": reset,
        "resident_before_step_mib": resident_kib / 1024,
        "peak_mib": peak_kib / 1024,
        # without the reset the peak covers the whole process (warm-up step included): no transient figure then
        "step_transient_mib": (peak_kib - resident_kib) / 1024 if reset else None,
        "gradients_mib": sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad) / 2**20,
        "step_s": {clock: timing[clock]["step"] for clock in CLOCKS},
    }


def memory_section(args: BenchmarkArguments) -> dict:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}
    probes = {}
    for variant in ("off", "on"):
        command = [
            sys.executable,
            os.path.abspath(__file__),
            f"--size={args.size}",
            f"--threads={args.threads}",
            f"--batch_size={args.batch_size}",
            f"--audio_seconds={args.audio_seconds}",
            f"--text_tokens={args.text_tokens}",
            f"--seed={args.seed}",
            f"--memory_probe={variant}",
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"The memory probe (checkpointing {variant}) failed:\n{result.stderr[-3000:]}")
        probes[variant] = json.loads(result.stdout.strip().splitlines()[-1])
    off, on = probes["off"], probes["on"]
    saved = None
    if off["step_transient_mib"] and on["step_transient_mib"] is not None:
        saved = 1.0 - on["step_transient_mib"] / off["step_transient_mib"]
    return {
        "method": MEMORY_METHOD,
        "without_checkpointing": off,
        "with_checkpointing": on,
        "transient_saved_by_checkpointing": saved,
        "note": "one measured step per variant, after a warm-up step; its times are single samples",
    }


# ---------------------------------------------------------------------------------------------------------------------
# GPU (section 6): bf16 training throughput and model FLOP utilisation at full size


# Peak dense bf16 tensor-core TFLOP/s (no 2:4 structured sparsity) from NVIDIA's datasheets; where a datasheet prints
# only the sparsity figure, the dense one is half of it. Each regular expression is tried in order (the more specific
# names first) against torch.cuda.get_device_name(): "NVIDIA H100 80GB HBM3" (SXM), "NVIDIA H100 PCIe",
# "NVIDIA A100-SXM4-80GB", "NVIDIA L4", ... A device that is not listed (A10G, for which NVIDIA publishes no datasheet,
# consumer cards, ...) gets no MFU unless --peak_tflops gives its peak: a guessed peak would make a wrong MFU look
# measured.
PEAK_BF16_DENSE_TFLOPS: tuple[tuple[str, float, str], ...] = (
    (r"\bH200\b.*\bNVL\b", 835.5, "NVIDIA H200 datasheet, H200 NVL: 1,671 TFLOPS bf16 with sparsity"),
    (r"\bGH200\b", 989.4, "NVIDIA GH200 datasheet: 1,979 TFLOPS bf16 with sparsity"),
    (r"\bH200\b", 989.4, "NVIDIA H200 datasheet, H200 SXM: 1,979 TFLOPS bf16 with sparsity"),
    (r"\bH100\b.*\bNVL\b", 835.5, "NVIDIA H100 datasheet, H100 NVL: 1,671 TFLOPS bf16 with sparsity"),
    (r"\bH100\b.*\bPCIe\b", 756.0, "NVIDIA H100 datasheet, H100 PCIe: 1,513 TFLOPS bf16 with sparsity"),
    (r"\bH100\b", 989.4, "NVIDIA H100 datasheet, H100 SXM (HBM3): 1,979 TFLOPS bf16 with sparsity"),
    (r"\bA100\b", 312.0, "NVIDIA A100 datasheet: 312 TFLOPS bf16 dense (624 with sparsity)"),
    (r"\bA10\b", 125.0, "NVIDIA A10 datasheet: 125 TFLOPS bf16 dense (250 with sparsity)"),
    (r"\bL40S\b", 362.05, "NVIDIA L40S datasheet: 362.05 TFLOPS bf16 dense (733 with sparsity)"),
    (r"\bL40\b", 181.05, "NVIDIA L40 datasheet: 181.05 TFLOPS bf16 dense (362.1 with sparsity)"),
    (r"\bL4\b", 121.0, "NVIDIA L4 datasheet: 242 TFLOPS bf16 with sparsity"),
)

GPU_VARIANTS = ("cmt_base", "cmt_large", "shallow", "pretraining")
GPU_VARIANT_LABELS = {
    "cmt_base": "CMT-Base fine-tuning",
    "cmt_large": "CMT-Large fine-tuning",
    "shallow": "shallow fusion (0 cross layers) fine-tuning",
    "pretraining": "CMT-Base pretraining",
}
MIXED_PRECISION = (
    "bf16 mixed precision as Trainer's `--bf16` runs it: fp32 weights, gradients and fused AdamW state; the forward "
    "pass (loss included) under torch.autocast(device_type, dtype=torch.bfloat16), backward and optimizer step "
    "outside it; no loss scaling"
)


def peak_bf16_flops(device_name: str, peak_tflops: float | None = None) -> tuple[float | None, str]:
    """The peak dense bf16 FLOP/s of a device, and where the figure comes from.

    Args:
        device_name (`str`):
            The device's name as `torch.cuda.get_device_name()` gives it.
        peak_tflops (`float`, *optional*):
            The peak in TFLOP/s (`--peak_tflops`); it overrides the table.

    Returns:
        `tuple[float | None, str]`: the peak in FLOP/s, or `None` when `peak_tflops` is not given and no entry of
        `PEAK_BF16_DENSE_TFLOPS` matches the name (then no MFU is reported), and the source of the figure or the
        reason there is none.
    """
    if peak_tflops is not None:
        if not peak_tflops > 0:
            raise ValueError(f"--peak_tflops must be > 0, got {peak_tflops}.")
        return peak_tflops * 1e12, f"--peak_tflops {peak_tflops:g}"
    for pattern, tflops, source in PEAK_BF16_DENSE_TFLOPS:
        if re.search(pattern, device_name, re.IGNORECASE):
            return tflops * 1e12, source
    return None, f"{device_name!r} is not in the table of peak bf16 FLOP/s: pass --peak_tflops for an MFU"


def throughput_figures(flops: int, step_seconds: list[float], batch_size: int, peak_flops: float | None) -> dict:
    """Samples/s, achieved FLOP/s and model FLOP utilisation of a training step.

    Args:
        flops (`int`):
            The step's counted FLOPs (forward + backward).
        step_seconds (`list[float]`):
            The timed repeats of the step; the median is used.
        batch_size (`int`):
            Examples per step.
        peak_flops (`float`, *optional*):
            The device's peak FLOP/s; without it the MFU is `None`.
    """
    if not step_seconds or min(step_seconds) <= 0:
        raise ValueError(f"step_seconds must be one or more positive times, got {step_seconds}.")
    step = statistics.median(step_seconds)
    achieved = flops / step
    return {
        "step_s": step,
        "step_s_all": [round(seconds, 6) for seconds in step_seconds],
        "samples_per_s": batch_size / step,
        "achieved_flop_per_s": achieved,
        "mfu": None if peak_flops is None else achieved / peak_flops,
    }


def synchronize(device: torch.device):
    # CUDA kernels run asynchronously: without a synchronisation the clock would stop when the step is queued.
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def mixed_precision_step(
    model, batch: dict[str, torch.Tensor], optimizer, dtype: torch.dtype, mark: Callable[[], None] | None = None
) -> tuple[float, torch.Tensor]:
    """One training step in mixed precision, the way Trainer runs it with `--bf16` (`dtype=torch.bfloat16`): fp32
    weights, gradients and optimizer state; the forward pass, loss included, under `torch.autocast`; backward and the
    optimizer step outside it. The device is the one `batch` is on.

    Returns:
        `tuple[float, torch.Tensor]`: wall-clock seconds between a device synchronisation before the step and one
        after it, and the detached loss.
    """
    device = next(iter(batch.values())).device
    synchronize(device)
    start = time.perf_counter()
    with torch.autocast(device.type, dtype=dtype):
        loss = model(**batch).loss
    if mark is not None:
        mark()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    synchronize(device)
    return time.perf_counter() - start, loss.detach()


def bench_mixed_precision(
    model, batch: dict[str, torch.Tensor], dtype: torch.dtype, warmup: int, repeats: int, peak_flops: float | None
) -> dict:
    """Section 6 for one model: its FLOPs counted on a first step, `warmup` untimed steps, then `repeats` timed steps;
    on CUDA, the allocated memory before a step and its peak over the timed steps."""
    device = next(iter(batch.values())).device
    optimizer = make_optimizer(model.parameters())
    losses = []
    flops, _ = count_flops(lambda mark: losses.append(mixed_precision_step(model, batch, optimizer, dtype, mark)[1]))
    first_loss = float(losses[0])
    if not np.isfinite(first_loss):
        raise RuntimeError(f"The first {dtype} training step of {type(model).__name__} gave a loss of {first_loss}.")
    for _ in range(warmup):
        mixed_precision_step(model, batch, optimizer, dtype)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
        allocated = torch.cuda.memory_allocated(device)
    steps = [mixed_precision_step(model, batch, optimizer, dtype)[0] for _ in range(repeats)]
    batch_size = batch["input_ids"].shape[0]
    return {
        "parameters": count_parameters(model),
        "flops": flops,
        "first_loss": first_loss,
        **throughput_figures(flops, steps, batch_size, peak_flops),
        # weights, gradients' buffers and AdamW state; the peak adds activations and temporaries
        "allocated_before_step_gib": allocated / 2**30 if cuda else None,
        "peak_allocated_gib": torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None,
    }


def build_gpu_model(name: str, configs: dict[str, CMTConfig]) -> torch.nn.Module:
    """The model of one section-6 variant (`GPU_VARIANTS`), from the "cmt-base" and "cmt-large" configs."""
    if name == "cmt_base":
        return CMTForSequenceClassification(configs["cmt-base"])
    if name == "cmt_large":
        return CMTForSequenceClassification(configs["cmt-large"])
    if name == "shallow":
        return CMTForSequenceClassification(CMTConfig(**{**configs["cmt-base"].to_dict(), "num_cross_layers": 0}))
    if name == "pretraining":
        return CMTForPreTraining(configs["cmt-base"])
    raise ValueError(f"Unknown section-6 variant {name!r}; choose from {GPU_VARIANTS}.")


def gpu_section(
    preset: SizePreset,
    device: torch.device,
    dtype: torch.dtype,
    batch_size: int,
    audio_seconds: float,
    text_tokens: int,
    warmup: int,
    repeats: int,
    peak_flops: float | None,
    peak_source: str,
    seed: int = 0,
    variants: tuple[str, ...] = GPU_VARIANTS,
) -> dict:
    """Section 6: mixed-precision training throughput and model FLOP utilisation of `variants` on `device`.

    The script runs it on CUDA at the paper's full size (`SIZES["large"]`, bfloat16); the tests run it on the CPU at
    the tiny size, with CPU autocast. One model at a time is built on the device, measured and freed, each with its
    own AdamW, so that its peak memory is its own.

    Args:
        preset (`SizePreset`):
            Backbone shapes.
        device (`torch.device`):
            Where models and inputs live.
        dtype (`torch.dtype`):
            The autocast dtype.
        batch_size (`int`), audio_seconds (`float`), text_tokens (`int`):
            Shape of the training batch (the longest example of it).
        warmup (`int`):
            Untimed steps per variant after the FLOP-counted one.
        repeats (`int`):
            Timed steps per variant; the median is reported.
        peak_flops (`float`, *optional*):
            The device's peak FLOP/s in `dtype` (see `peak_bf16_flops`); without it no MFU.
        peak_source (`str`):
            Where `peak_flops` comes from, or why there is none.
        seed (`int`, *optional*, defaults to 0):
            Seed of weights and inputs.
        variants (`tuple[str, ...]`, *optional*):
            Which of `GPU_VARIANTS` to run.
    """
    torch.manual_seed(seed)
    tokenizer = build_tokenizer(preset.text_config["vocab_size"] or 10**9)
    processor = CMTProcessor(feature_extractor=default_feature_extractor(), tokenizer=tokenizer)
    configs = {name: cmt_config(preset, len(tokenizer), name) for name in ("cmt-base", "cmt-large")}
    utterances = build_utterances(tokenizer, batch_size, audio_seconds, text_tokens, seed)
    features = build_features(processor, utterances, configs["cmt-base"], seed)
    collated = {
        "fine_tuning": DataCollatorForCMT(tokenizer)(
            [{k: v for k, v in f.items() if k != "audio_codes"} for f in features]
        ),
        "pretraining": DataCollatorForCMTPretraining(
            tokenizer, configs["cmt-base"], num_codewords=configs["cmt-base"].num_codewords, seed=seed
        )([{k: v for k, v in f.items() if k != "labels"} for f in features]),
    }
    # inputs are moved once: host-to-device copies, which a DataLoader overlaps with compute, are not timed
    on_device = {name: {k: v.to(device) for k, v in batch.items()} for name, batch in collated.items()}
    measured = {}
    for name in variants:
        torch.manual_seed(seed)
        with torch.device(device):  # weights are created on the device, not copied there
            model = build_gpu_model(name, configs).to(device).train()
        batch = on_device["pretraining" if name == "pretraining" else "fine_tuning"]
        measured[name] = bench_mixed_precision(model, batch, dtype, warmup, repeats, peak_flops)
        del model
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    audio_samples = int(collated["fine_tuning"]["input_values"].shape[1])
    cuda = device.type == "cuda"
    return {
        "run": True,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine(),
        "cuda": torch.version.cuda if cuda else None,
        "compute_capability": list(torch.cuda.get_device_capability(device)) if cuda else None,
        "device_memory_gib": torch.cuda.get_device_properties(device).total_memory / 2**30 if cuda else None,
        "dtype": str(dtype).removeprefix("torch."),
        "precision": MIXED_PRECISION,
        "backbones": preset.description,
        "cross_intermediate_size": configs["cmt-base"].cross_intermediate_size,
        "batch_size": batch_size,
        "audio_seconds": audio_seconds,
        "audio_samples": audio_samples,
        "audio_frames": int(audio_frame_lengths(configs["cmt-base"].audio_config, torch.tensor(audio_samples))),
        "text_tokens": int(collated["fine_tuning"]["input_ids"].shape[1]),
        "warmup": warmup,
        "repeats": repeats,
        "peak_flop_per_s": peak_flops,
        "peak_source": peak_source,
        "flop_method": FLOP_METHOD,
        "variants": measured,
    }


# ---------------------------------------------------------------------------------------------------------------------
# Report


def machine_info(threads: int, device: str) -> dict:
    cpu = platform.processor() or platform.machine()
    memory_gib = None
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as handle:
            found = re.search(r"^model name\s*:\s*(.+)$", handle.read(), re.MULTILINE)
            cpu = found.group(1).strip() if found else cpu
    if os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo") as handle:
            memory_gib = int(re.search(r"MemTotal:\s+(\d+)", handle.read()).group(1)) / 2**20
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "memory_gib": memory_gib,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        # sections 1-5 always run on the CPU; section 6 runs on the GPU when `device` is "cuda"
        "device_used": "cpu + cuda" if device == "cuda" else "cpu",
        "torch_threads": threads,
        "torch_interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "commit": commit,
        "load_average_start": list(os.getloadavg()),
    }


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def _percent(share: float) -> str:
    return f"{100 * share:.3f}%" if share < 0.01 else f"{100 * share:.2f}%"


CLOCK_NAMES = {"cpu": "process CPU time", "wall": "wall-clock time"}
VARIANT_LABELS = {
    "cmt": "CMT-Base",
    "shallow": "shallow fusion (0 cross layers)",
    "text": "text backbone alone",
    "audio": "audio backbone alone",
    "pretraining": "CMT-Base pretraining",
}
INFERENCE_LABELS = {
    "cmt_pipeline": "pipeline('audio-text-sentiment'), grouped by length (default)",
    "cmt_pipeline_input_order": "pipeline('audio-text-sentiment', group_by_length=False)",
    "cmt_bare_forward": "CMT forward on pre-batched inputs",
    "hubert_audio_classification_pipeline": "pipeline('audio-classification'), HuBERT",
    "roberta_text_classification_pipeline": "pipeline('text-classification'), RoBERTa",
}


def render_markdown(results: dict) -> str:
    """The Markdown report of `main`'s results."""
    machine, setup, gpu = results["machine"], results["setup"], results["gpu"]
    cpu_ran = results["fine_tuning"] is not None
    if cpu_ran and gpu["run"]:
        where = f"sections 1-5 ran on the CPU in float32, section 6 on the GPU in {gpu['dtype']} mixed precision"
    elif cpu_ran:
        where = "everything ran on the CPU in float32"
    else:
        where = f"section 6 alone ran (`--gpu_only`), on the GPU in {gpu['dtype']} mixed precision"
    title = setup["size"] if cpu_ran else "GPU only"
    lines = [
        f"# CMT benchmarks ({title}{', GPU at full size' if cpu_ran and gpu['run'] else ''})",
        "",
        f"- Machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs, {_fmt(machine['memory_gib'], 1)} GiB "
        f"RAM, GPU: {machine['gpu'] or 'none'}; {where}. Load average (1 min) "
        f"{machine['load_average_start'][0]:.2f} at start, {machine['load_average_end'][0]:.2f} at end.",
        f"- Software: Python {machine['python']}, torch {machine['torch']} ({machine['torch_threads']} intra-op "
        f"thread(s), {machine['torch_interop_threads']} inter-op), transformers {machine['transformers']}; commit "
        f"{machine['commit'] or 'n/a'}; {setup['date']}.",
    ]
    if cpu_ran:
        lines += cpu_setup_lines(setup)
    lines += ["", "## Targets", "", "| measure | value | target | met |", "|---|---|---|---|"]
    if cpu_ran:
        lines += cpu_target_rows(results)
    lines += gpu_target_rows(gpu)
    if cpu_ran:
        lines += cpu_section_lines(results)
    else:
        lines += ["", "## 1-5. CPU sections", "", "Skipped (`--gpu_only`)."]
    lines += gpu_lines(gpu)
    for name, profile in (results.get("profile") or {}).items():
        lines += [
            "",
            f"## Profile: one {VARIANT_LABELS[name]} step ({profile['self_cpu_s']:.2f} s self CPU time in all)",
            "",
            "| op | self CPU s | share | calls |",
            "|---|---|---|---|",
        ]
        for op in profile["top_ops"]:
            share = op["self_cpu_s"] / profile["self_cpu_s"]
            lines.append(f"| `{op['op']}` | {op['self_cpu_s']:.3f} | {100 * share:.1f}% | {op['calls']} |")
    return "\n".join(lines) + "\n"


def cpu_setup_lines(setup: dict) -> list[str]:
    """The setup bullets of sections 1-5."""
    timer = setup["timer"]
    return [
        f"- Models: {setup['backbones']}, random weights built from configs, HuBERT LayerDrop off (every step runs "
        f"every layer). CMT-Base: {setup['cross_layers']} cross-modal layers per stream, {setup['cross_heads']} "
        f"heads, FFN {setup['cross_intermediate_size']}. The tokenizer is a byte-level BPE of "
        f"{setup['tokenizer_vocab_size']} entries trained offline; its ids are valid ids of the "
        f"{setup['text_vocab_size']}-entry embedding table.",
        f"- Shapes: batch {setup['batch_size']}, audio {setup['audio_seconds']} s ({setup['audio_samples']} samples, "
        f"{setup['audio_frames']} frames), text {setup['text_tokens']} tokens: the padded batch, whose other examples "
        f"are up to 10% / 3 tokens shorter.",
        f"- Times: {CLOCK_NAMES[timer]} (the other clock is in the JSON), median of {setup['repeats']} repeats "
        f"interleaved across variants, after {setup['warmup']} warm-up step(s) per variant; every ratio is the median "
        "over the repeats of the ratio within one repeat. Optimizer: AdamW (fused, Trainer's default), lr 1e-5.",
        f"- FLOPs: {setup['flop_method']}.",
    ]


def cpu_target_rows(results: dict) -> list[str]:
    """The Targets rows of sections 1-4."""
    fine, coll, inf = results["fine_tuning"], results["collator"], results["inference"]
    return [
        f"| CMT / shallow fine-tuning step: time ratio vs FLOP ratio | {fine['time_ratio']:.3f} vs "
        f"{fine['flop_ratio']:.3f} (time / FLOP {fine['time_over_flop_ratio']:.3f}) | within 5% | "
        f"{_yes(fine['target_met'])} |",
        f"| collator time / training step (fine-tuning, pretraining) | {_percent(coll['fine_tuning_share'])}, "
        f"{_percent(coll['pretraining_share'])} | < 2% | {_yes(coll['target_met'])} |",
        f"| pipeline overhead over the bare forward (batch {inf['batch_size']}, same batches) | "
        f"{100 * inf['pipeline_overhead']:.1f}% | < 10% | {_yes(inf['pipeline_overhead_target_met'])} |",
        f"| pipeline throughput / HuBERT + RoBERTa pipelines', same batches | {inf['vs_transformers_pipelines']:.3f}x "
        f"(FLOPs allow {inf['flop_bound_vs_transformers']:.3f}x; grouped by length "
        f"{inf['vs_transformers_pipelines_grouped']:.3f}x) | >= 0.9x | {_yes(inf['vs_transformers_target_met'])} |",
    ]


def cpu_section_lines(results: dict) -> list[str]:
    """The Markdown of sections 1-5."""
    timer = results["setup"]["timer"]
    other = "wall" if timer == "cpu" else "cpu"
    fine, pre, coll = results["fine_tuning"], results["pretraining"], results["collator"]
    inf, mem = results["inference"], results["memory"]
    lines = [
        "",
        "## 1. Fine-tuning step (forward + backward + optimizer step)",
        "",
        f"| model | parameters | step s | forward s | backward s | optimizer s | step s ({other}) | GFLOP / step | "
        "GFLOP/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in [*fine["variants"].items(), ("pretraining", pre["pretraining"])]:
        time_ = row["time"]
        lines.append(
            f"| {VARIANT_LABELS[name]} | {row['parameters'] / 1e6:.1f} M | {time_['step']:.3f} | "
            f"{time_['forward']:.3f} | {time_['backward']:.3f} | {time_['optimizer']:.3f} | "
            f"{row[other]['step']:.3f} | {row['flops'] / 1e9:.1f} | {row['gflop_per_s']:.1f} |"
        )
    components = fine["variants"]["cmt"]["forward_flops_by_component"]
    forward = fine["variants"]["cmt"]["forward_flops"] or 1
    lines += [
        "",
        f"CMT / shallow: time ratio **{fine['time_ratio']:.3f}** ({other}: "
        f"{fine['time_ratio_by_clock'][other]:.3f}), FLOP ratio **{fine['flop_ratio']:.3f}**; efficiency against the "
        f"floor (FLOP ratio / time ratio) **{fine['efficiency']:.3f}**. Forward FLOPs of CMT-Base: text backbone "
        f"{100 * components['text_backbone'] / forward:.1f}%, audio backbone "
        f"{100 * components['audio_backbone'] / forward:.1f}% (its conv feature encoder "
        f"{100 * components['audio_conv_feature_encoder'] / forward:.1f}%), cross-modal encoder "
        f"{100 * components['cross_modal_encoder'] / forward:.1f}%.",
        "",
        "## 2. Pretraining step vs fine-tuning step",
        "",
        f"Time ratio pretraining / fine-tuning **{pre['time_ratio']:.3f}** ({other}: "
        f"{pre['time_ratio_by_clock'][other]:.3f}), FLOP ratio **{pre['flop_ratio']:.3f}**. {pre['note']} "
        f"Text-backbone forward FLOPs: {pre['text_backbone_forward_flops']['fine_tuning'] / 1e9:.2f} G (fine-tuning) "
        f"vs {pre['text_backbone_forward_flops']['pretraining'] / 1e9:.2f} G (pretraining, "
        f"{_fmt(pre['text_backbone_passes'])} passes); the second pass, forward + backward, is about the text-alone "
        f"step: {100 * pre['second_text_pass_share']:.1f}% of the fine-tuning step's FLOPs.",
        "",
        f"## 3. Collator (batch {coll['batch_size']})",
        "",
        "| collator | ms / batch | share of its training step |",
        "|---|---|---|",
        f"| DataCollatorForCMT | {1e3 * coll['fine_tuning_collator_s'][timer]:.3f} | "
        f"{_percent(coll['fine_tuning_share'])} |",
        f"| DataCollatorForCMTPretraining | {1e3 * coll['pretraining_collator_s'][timer]:.3f} | "
        f"{_percent(coll['pretraining_share'])} |",
        "",
        f"## 4. Inference ({inf['utterances']} utterances, batch {inf['batch_size']})",
        "",
        f"| run | s | utterances / s | s ({other}) |",
        "|---|---|---|---|",
    ]
    for name, seconds in inf["seconds"][timer].items():
        lines.append(
            f"| {INFERENCE_LABELS[name]} | {seconds:.3f} | {inf['utterances_per_s'][name]:.2f} | "
            f"{inf['seconds'][other][name]:.3f} |"
        )
    combined = inf["combined_transformers_utterances_per_s"]
    flops, grouping = inf["forward_flops_first_batch"], inf["length_grouping"]
    lines += [
        f"| HuBERT + RoBERTa pipelines together | {inf['utterances'] / combined:.3f} | {combined:.2f} | |",
        "",
        f"Forward GFLOP of one batch: CMT {flops['cmt'] / 1e9:.1f}, HuBERT classifier {flops['hubert'] / 1e9:.1f}, "
        f"RoBERTa classifier {flops['roberta'] / 1e9:.1f}. The overhead and the comparison with the transformers "
        "pipelines use the input order, i.e. the same batches as the bare forward and those pipelines (which do not "
        "group by length).",
        "",
        f"Length grouping on {grouping['utterances']} utterances of spread durations "
        f"({min(grouping['audio_seconds']):.1f} to {max(grouping['audio_seconds']):.1f} s, log-normal): "
        f"{grouping['seconds']['input_order']:.3f} s in the input order vs {grouping['seconds']['grouped']:.3f} s "
        f"grouped (default), **{grouping['speedup']:.2f}x**; padding is "
        f"{_percent(grouping['audio_padding_share']['input_order'])} vs "
        f"{_percent(grouping['audio_padding_share']['grouped'])} of the batched audio.",
        "",
        "## 5. Peak memory of a CMT-Base fine-tuning step",
        "",
    ]
    if mem is None:
        lines.append("Skipped (`--skip_memory`).")
    else:
        lines += memory_lines(mem, timer)
    return lines


def memory_lines(mem: dict, timer: str) -> list[str]:
    """The Markdown of section 5."""
    lines = [
        "| activation checkpointing | RSS before step MiB | peak RSS MiB | step transient MiB | "
        f"of which gradients MiB | step s ({timer}, 1 run) |",
        "|---|---|---|---|---|---|",
    ]
    for label, probe in (("off", mem["without_checkpointing"]), ("on", mem["with_checkpointing"])):
        lines.append(
            f"| {label} | {probe['resident_before_step_mib']:.0f} | {probe['peak_mib']:.0f} | "
            f"{_fmt(probe['step_transient_mib'], 0)} | {probe['gradients_mib']:.0f} | {probe['step_s'][timer]:.3f} |"
        )
    saved = mem["transient_saved_by_checkpointing"]
    lines += [
        "",
        f"Checkpointing saves {_fmt(None if saved is None else 100 * saved, 1)}% of the step's transient memory. "
        f"Method: {mem['method']}. The probes' step times are single samples taken with every buffer mmapped (page "
        "faults on each allocation): compare them with each other, not with section 1.",
    ]
    return lines


GPU_HEADING = "## 6. GPU: bf16 training throughput and MFU"


def _mfu(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def gpu_target_rows(gpu: dict) -> list[str]:
    """The Targets rows of section 6: figures without a target."""
    if not gpu["run"]:
        return [f"| GPU: bf16 training samples/s and MFU at full size | not run: {gpu['reason']} | figures only | — |"]
    return [
        f"| GPU, {gpu['dtype']}: {GPU_VARIANT_LABELS[name]} step (batch {gpu['batch_size']}, "
        f"{gpu['audio_seconds']} s audio) | "
        f"{row['samples_per_s']:.1f} samples/s, MFU {_mfu(row['mfu'])} | figures only | — |"
        for name, row in gpu["variants"].items()
    ]


def gpu_lines(gpu: dict) -> list[str]:
    """The Markdown of section 6, or the reason it did not run."""
    lines = ["", GPU_HEADING, ""]
    if not gpu["run"]:
        return lines + [f"Not run: {gpu['reason']}."]
    details = []
    if gpu["device_memory_gib"] is not None:
        details.append(f"{gpu['device_memory_gib']:.0f} GiB")
    if gpu["compute_capability"] is not None:
        details.append(f"compute capability {'.'.join(map(str, gpu['compute_capability']))}")
    if gpu["cuda"] is not None:
        details.append(f"CUDA {gpu['cuda']}")
    peak = gpu["peak_flop_per_s"]
    peak_text = (
        f"peak dense {gpu['dtype']} {peak / 1e12:.1f} TFLOP/s ({gpu['peak_source']})"
        if peak is not None
        else f"peak {gpu['dtype']} FLOP/s unknown ({gpu['peak_source']})"
    )
    detail_text = f" ({', '.join(details)})" if details else ""
    lines += [
        f"- Device: {gpu['device_name']}{detail_text}; {peak_text}.",
        f"- Models: {gpu['backbones']}, random weights built from configs, HuBERT LayerDrop off. CMT-Base: 2 "
        f"cross-modal layers per stream, 4 heads; CMT-Large: 4 layers, 8 heads; cross-modal FFN "
        f"{gpu['cross_intermediate_size']}.",
        f"- Shapes: batch {gpu['batch_size']}, audio {gpu['audio_seconds']} s ({gpu['audio_samples']} samples, "
        f"{gpu['audio_frames']} frames), text {gpu['text_tokens']} tokens: the padded batch, whose other examples are "
        "up to 10% / 3 tokens shorter.",
        f"- Precision: {gpu['precision']}.",
        f"- Times: wall-clock, with torch.cuda.synchronize() before and after each step; median of {gpu['repeats']} "
        f"steps after one FLOP-counted step and {gpu['warmup']} warm-up step(s). Each model is built alone on the "
        "device with its own fused AdamW (lr 1e-5); inputs are already on the device.",
        "- FLOPs: the same counter as section 1, run on the first step of each model (under autocast). MFU = counted "
        "FLOPs per step / median step time / peak: backward included, no activation recomputation, optimizer and "
        "elementwise ops not counted.",
        "",
        "| step | parameters | step s | samples / s | GFLOP / step | achieved TFLOP/s | MFU | allocated before "
        "step GiB | peak allocated GiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in gpu["variants"].items():
        lines.append(
            f"| {GPU_VARIANT_LABELS[name]} | {row['parameters'] / 1e6:.1f} M | {row['step_s']:.4f} | "
            f"{row['samples_per_s']:.2f} | {row['flops'] / 1e9:.1f} | {row['achieved_flop_per_s'] / 1e12:.2f} | "
            f"{_mfu(row['mfu'])} | {_fmt(row['allocated_before_step_gib'])} | {_fmt(row['peak_allocated_gib'])} |"
        )
    notes = []
    if peak is None:
        notes.append(f"MFU: n/a, {gpu['peak_source']}.")
    if gpu["cuda"] is not None:
        notes.append(
            "Memory: torch.cuda.memory_allocated before a timed step (weights, AdamW state) and "
            "torch.cuda.max_memory_allocated over the timed steps (plus activations, gradients and temporaries)."
        )
    return lines + ([""] + notes if notes else [])


def default_feature_extractor() -> Wav2Vec2FeatureExtractor:
    # HuBERT's: normalising, with an attention mask.
    return Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLING_RATE, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )


def resolve_arguments(argv: list[str] | None) -> tuple[BenchmarkArguments, SizePreset]:
    (args,) = HfArgumentParser(BenchmarkArguments).parse_args_into_dataclasses(args=argv)
    preset = SIZES[args.size]
    for name in ("repeats", "batch_size", "audio_seconds", "text_tokens", "inference_utterances"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(preset, name))
    args.output_dir = args.output_dir or os.path.join(REPO_ROOT, "benchmarks", "results")
    if args.timer == "auto":
        args.timer = "cpu" if args.threads == 1 else "wall"
    for name in (
        "repeats",
        "warmup",
        "threads",
        "batch_size",
        "text_tokens",
        "inference_batch_size",
        "collator_calls",
    ):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}.")
    if args.audio_seconds <= 0:
        raise ValueError(f"--audio_seconds must be > 0, got {args.audio_seconds}.")
    if args.memory_probe not in (None, "off", "on"):
        raise ValueError(f"--memory_probe must be 'off' or 'on', got {args.memory_probe!r}.")
    for name in ("gpu_batch_size", "gpu_text_tokens", "gpu_repeats"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}.")
    if args.gpu_warmup < 0:
        raise ValueError(f"--gpu_warmup must be >= 0, got {args.gpu_warmup}.")
    if args.gpu_audio_seconds <= 0:
        raise ValueError(f"--gpu_audio_seconds must be > 0, got {args.gpu_audio_seconds}.")
    if args.peak_tflops is not None and not args.peak_tflops > 0:
        raise ValueError(f"--peak_tflops must be > 0, got {args.peak_tflops}.")
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    elif args.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False).")
    if args.gpu_only and args.device != "cuda":
        raise ValueError("--gpu_only runs section 6 alone, which needs a CUDA device; none is in use (--device).")
    return args, preset


def gpu_not_run_reason() -> str:
    """Why section 6 did not run (`--device` resolved to "cpu")."""
    return "--device cpu" if torch.cuda.is_available() else "no CUDA device"


def cpu_sections(args: BenchmarkArguments, preset: SizePreset, progress: Callable[[int, str], None]) -> dict:
    """Sections 1-5, on the CPU at `--size`: their results and their setup figures."""
    # 1. Inputs: tokenizer, processor, utterances, collated batches
    torch.manual_seed(args.seed)
    tokenizer = build_tokenizer(preset.text_config["vocab_size"] or 10**9)
    processor = CMTProcessor(feature_extractor=default_feature_extractor(), tokenizer=tokenizer)
    config = cmt_config(preset, len(tokenizer))
    utterances = build_utterances(tokenizer, args.batch_size, args.audio_seconds, args.text_tokens, args.seed)
    features = build_features(processor, utterances, config, args.seed)
    collators = {
        "fine_tuning": DataCollatorForCMT(tokenizer),
        "pretraining": DataCollatorForCMTPretraining(
            tokenizer, config, num_codewords=config.num_codewords, seed=args.seed
        ),
    }
    split_features = {
        "fine_tuning": [{k: v for k, v in f.items() if k != "audio_codes"} for f in features],
        "pretraining": [{k: v for k, v in f.items() if k != "labels"} for f in features],
    }
    batches = {name: collators[name](split_features[name]) for name in collators}
    audio_samples = batches["fine_tuning"]["input_values"].shape[1]
    progress(1, f"{args.size}: batch {args.batch_size}, {audio_samples} samples, {args.threads} thread(s)")

    # 2. Training steps (sections 1-2)
    models = build_training_models(config)
    optimizer = make_optimizer(unique_parameters(models.values()))
    training = bench_training(models, batches, optimizer, args.repeats, args.warmup, args.timer)
    progress(2, f"training steps: CMT {training['cmt']['time']['step']:.3f} s")
    profiles = profile_steps(models, batches, optimizer, ("cmt", "shallow", "pretraining")) if args.profile else None

    # 3. Collators
    collator = collator_section(collators, split_features, training, args.collator_calls, args.timer)
    progress(3, "collators")

    # 4. Inference, with the fine-tuning model alone kept
    cmt_model = models.pop("cmt")
    del optimizer, models
    gc.collect()
    inference_utterances = build_utterances(
        tokenizer, args.inference_utterances, args.audio_seconds, args.text_tokens, args.seed + 1
    )
    spread_utterances = build_spread_utterances(
        tokenizer, args.inference_utterances, args.audio_seconds, args.text_tokens, args.seed + 2
    )
    inference = bench_inference(
        cmt_model,
        processor,
        config,
        inference_utterances,
        spread_utterances,
        args.inference_batch_size,
        args.repeats,
        args.timer,
    )
    progress(4, f"inference: pipeline {inference['utterances_per_s']['cmt_pipeline']:.2f} utterances/s")
    del cmt_model
    gc.collect()

    # 5. Memory, in subprocesses
    memory = None if args.skip_memory else memory_section(args)
    progress(5, "memory")

    return {
        "setup": {
            "backbones": preset.description,
            "cross_layers": config.num_cross_layers,
            "cross_heads": config.num_cross_attention_heads,
            "cross_intermediate_size": config.cross_intermediate_size,
            "text_vocab_size": config.text_config.vocab_size,
            "tokenizer_vocab_size": len(tokenizer),
            "batch_size": args.batch_size,
            "audio_seconds": args.audio_seconds,
            "audio_samples": int(audio_samples),
            "audio_frames": int(audio_frame_lengths(config.audio_config, torch.tensor(audio_samples))),
            "text_tokens": int(batches["fine_tuning"]["input_ids"].shape[1]),
            "repeats": args.repeats,
            "warmup": args.warmup,
            "flop_method": FLOP_METHOD,
            "dtype": "float32",
        },
        "fine_tuning": fine_tuning_section(training, args.timer),
        "pretraining": pretraining_section(training, args.timer),
        "collator": collator,
        "inference": inference,
        "memory": memory,
        "profile": profiles,
    }


def main(argv: list[str] | None = None) -> dict | None:
    args, preset = resolve_arguments(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    transformers.utils.logging.set_verbosity_error()
    if args.memory_probe is not None:
        print(json.dumps(run_memory_probe(args, preset)))
        return None
    started = time.perf_counter()

    def progress(step: int, message: str):
        print(f"[{step}/6, {time.perf_counter() - started:.0f} s] {message}", flush=True)

    machine = machine_info(args.threads, args.device)
    results = {
        "machine": machine,
        "setup": {
            "size": args.size,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "arguments": asdict(args),
            "timer": args.timer,
        },
        **{section: None for section in SECTIONS},
        "profile": None,
    }
    if args.gpu_only:
        progress(5, "sections 1-5 skipped (--gpu_only)")
    else:
        cpu = cpu_sections(args, preset, progress)
        results["setup"].update(cpu.pop("setup"))
        results.update(cpu)

    # 6. GPU: bf16 training throughput and MFU at the paper's full size
    if args.device == "cuda":
        device = torch.device("cuda")
        peak_flops, peak_source = peak_bf16_flops(torch.cuda.get_device_name(device), args.peak_tflops)
        results["gpu"] = gpu_section(
            SIZES["large"],
            device,
            torch.bfloat16,
            batch_size=args.gpu_batch_size,
            audio_seconds=args.gpu_audio_seconds,
            text_tokens=args.gpu_text_tokens,
            warmup=args.gpu_warmup,
            repeats=args.gpu_repeats,
            peak_flops=peak_flops,
            peak_source=peak_source,
            seed=args.seed,
        )
        cmt_base = results["gpu"]["variants"]["cmt_base"]
        progress(6, f"GPU: CMT-Base {cmt_base['samples_per_s']:.1f} samples/s, MFU {_mfu(cmt_base['mfu'])}")
    else:
        results["gpu"] = {"run": False, "reason": gpu_not_run_reason()}
        progress(6, f"GPU section not run: {results['gpu']['reason']}")

    machine["load_average_end"] = list(os.getloadavg())
    markdown = render_markdown(results)
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "latest.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(args.output_dir, "latest.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown)
    print(markdown)
    print(f"Results written to {os.path.join(args.output_dir, 'latest.md')} and latest.json")
    return results


if __name__ == "__main__":
    main()
