# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What CMT costs against its floor: training-step time against FLOPs, pretraining against fine-tuning, collator and
pipeline overheads, and peak memory with and without activation checkpointing.

    python benchmarks/run_benchmarks.py                      # base size: RoBERTa-base + HuBERT-base shapes
    python benchmarks/run_benchmarks.py --size tiny --repeats 1 --output_dir /tmp/bench
    python benchmarks/run_benchmarks.py --gpu_only              # section 6 alone, on a CUDA machine

One process, one run; every model is built locally from a config with random weights (nothing is downloaded). The
sections, one module each beside this driver:

1. Fine-tuning step (forward + backward + AdamW step) of CMT-Base, shallow fusion (`num_cross_layers=0`) and each
   backbone alone (`modalities="text"|"audio"`). The time ratio CMT / shallow is compared with the FLOP ratio of the
   same steps, counted by `torch.utils.flop_counter.FlopCounterMode` on one real step (`bench_training.py`).
2. Pretraining step (`CMTForPreTraining`, whose text backbone runs twice) against the fine-tuning step, measured
   with section 1 (`bench_training.py`).
3. Collator time per batch as a share of the training step (`bench_collator.py`).
4. Inference: the `audio-text-sentiment` pipeline at batch 8 against the bare model forward on the same pre-batched
   inputs, and against transformers' own audio-classification (HuBERT) + text-classification (RoBERTa) pipelines
   (`bench_inference.py`).
5. Peak memory of a training step without and with activation checkpointing, one subprocess per variant
   (`bench_memory.py`).
6. On a CUDA device (`--device auto|cuda`): bf16 mixed-precision training throughput (samples/s) and model FLOP
   utilisation (counted FLOPs / step time / the device's peak dense bf16 FLOP/s) at the paper's full size,
   RoBERTa-large + HuBERT-large shapes, 10 s audio: CMT-Base, CMT-Large and shallow fusion fine-tuning steps and the
   CMT-Base pretraining step, with peak device memory (`bench_gpu.py`). Without a CUDA device the report says it was
   not run.
7. With `--onnx`, on the CPU: the pipeline at batch 1 and at the inference batch size on PyTorch eager fp32, ONNX
   Runtime fp32 and int8 (the model exported by `modeling_cmt.onnx`), and transformers' HuBERT + RoBERTa pipelines;
   file sizes, profiles, and with `--onnx_quickstart_dir` the accuracy on a quickstart's test split (`bench_onnx.py`;
   `python benchmarks/bench_onnx.py` runs it alone).
8. With `--data_path`: the training data path, float32 waveforms stored up front against token ids, header lengths and
   decoding on the fly: bytes stored and time to the first batch per hour of audio, projected to LibriSpeech 960 h
   (`bench_data_path.py`; `python benchmarks/bench_data_path.py` runs it alone).
9. With `--long_audio`: long recordings (1, 5, 10, 30 min) through `return_timeline=True`: time per minute of audio
   and peak memory against the length, segment boundaries and labels against the known truth (`bench_long_audio.py`;
   `python benchmarks/bench_long_audio.py` runs it alone and writes `results/long_audio.{md,json}`).

Sections 1-5 always run on the CPU, in float32. Shared setup is in `common.py`, the FLOP formulas and MFU arithmetic
in `flops.py`, the command line in `arguments.py` and the Markdown in `report.py`.

Writes `<output_dir>/latest.md` and `latest.json` and prints the Markdown table.
"""

import gc
import json
import os
import platform
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone


os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is built locally; never reach the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from arguments import BenchmarkArguments, resolve_arguments  # noqa: E402
from bench_collator import collator_section  # noqa: E402
from bench_data_path import data_path_section  # noqa: E402
from bench_gpu import gpu_section  # noqa: E402
from bench_inference import bench_inference  # noqa: E402
from bench_long_audio import long_audio_section  # noqa: E402
from bench_memory import memory_section, run_memory_probe  # noqa: E402
from bench_onnx import onnx_section  # noqa: E402
from bench_training import (  # noqa: E402
    bench_training,
    build_training_models,
    fine_tuning_section,
    pretraining_section,
    profile_steps,
)
from common import (  # noqa: E402
    REPO_ROOT,
    SECTIONS,
    SIZES,
    SizePreset,
    build_features,
    build_spread_utterances,
    build_tokenizer,
    build_utterances,
    cmt_config,
    default_feature_extractor,
    make_optimizer,
    unique_parameters,
)
from flops import FLOP_METHOD, peak_bf16_flops  # noqa: E402
from report import _mfu, render_markdown  # noqa: E402

from configuration_cmt import audio_frame_lengths  # noqa: E402
from processing_cmt import CMTProcessor, DataCollatorForCMT, DataCollatorForCMTPretraining  # noqa: E402


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

    # 7. CPU inference with ONNX Runtime, with --onnx (results written before this section have no "onnx" key)
    if args.onnx and not args.gpu_only:
        results["onnx"] = onnx_section(args, preset)
        print(f"[7, {time.perf_counter() - started:.0f} s] ONNX Runtime: run {results['onnx']['run']}", flush=True)
    # 8. The training data path, with --data_path (results written before this section have no "data_path" key)
    if args.data_path:
        results["data_path"] = data_path_section(args.data_path_hours, args.seed)
        print(f"[8, {time.perf_counter() - started:.0f} s] data path", flush=True)
    # 9. Long recordings, with --long_audio (results written before this section have no "long_audio" key)
    if args.long_audio:
        minutes = [int(m) if float(m).is_integer() else m for m in args.long_audio_minutes]
        results["long_audio"] = long_audio_section(minutes, args.seed, args.long_audio_model)
        print(f"[9, {time.perf_counter() - started:.0f} s] long recordings", flush=True)

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
