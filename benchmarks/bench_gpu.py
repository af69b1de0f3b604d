# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Section 6: bf16 mixed-precision training throughput and model FLOP utilisation at the paper's full size, one model
at a time on a CUDA device (the tests run it on the CPU at the tiny size, under CPU autocast)."""

import gc
import platform
import time
from collections.abc import Callable

import numpy as np
import torch
from common import (
    SizePreset,
    build_features,
    build_tokenizer,
    build_utterances,
    cmt_config,
    count_parameters,
    default_feature_extractor,
    make_optimizer,
)
from flops import FLOP_METHOD, count_flops, throughput_figures

from configuration_cmt import audio_frame_lengths
from modeling_cmt import CMTConfig, CMTForPreTraining, CMTForSequenceClassification
from processing_cmt import CMTProcessor, DataCollatorForCMT, DataCollatorForCMTPretraining


GPU_VARIANTS = ("cmt_base", "cmt_large", "shallow", "pretraining")


MIXED_PRECISION = (
    "bf16 mixed precision as Trainer's `--bf16` runs it: fp32 weights, gradients and fused AdamW state; the forward "
    "pass (loss included) under torch.autocast(device_type, dtype=torch.bfloat16), backward and optimizer step "
    "outside it; no loss scaling"
)


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
