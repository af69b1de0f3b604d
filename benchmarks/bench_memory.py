# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Section 5: the memory of a CMT-Base fine-tuning step without and with activation checkpointing, one fresh process
(`run_benchmarks.py --memory_probe off|on`) per variant."""

import gc
import json
import os
import re
import subprocess
import sys

import torch
from arguments import BenchmarkArguments
from common import (
    CLOCKS,
    SizePreset,
    build_features,
    build_tokenizer,
    build_utterances,
    cmt_config,
    default_feature_extractor,
    make_optimizer,
    training_step,
)

from modeling_cmt import CMTForSequenceClassification
from processing_cmt import CMTProcessor, DataCollatorForCMT


# The probes run the driver, whose `--memory_probe` measures one step and prints its JSON.
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_benchmarks.py")


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
            DRIVER,
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
