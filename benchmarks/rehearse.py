# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The paper's run, rehearsed at full size before anyone spends a GPU on it (`make rehearse`; not in CI).

    python benchmarks/rehearse.py --output_dir runs/rehearsal                       # CPU, float32 (tens of minutes)
    python benchmarks/rehearse.py --device cuda --bf16 --output_dir runs/rehearsal  # a GPU, the paper's batch
    python benchmarks/rehearse.py --size tiny --output_dir /tmp/rehearsal           # tiny backbones, a minute

1. Generates corpora laid out file for file like the releases (`tests/corpus_fixtures.py`), at the real corpora's
   duration spread: LibriSpeech (2-35 s, mean ~12.3 s, 2.72 words/s), IEMOCAP (~4.5 s) and the CMU-MOSEI SDK release
   (~7 s segments cut from whole videos).
2. Builds RoBERTa-large (as published: RobertaForMaskedLM, vocabulary 50,265) and HuBERT-large from the paper's
   configs with random weights, in local folders (`rehearsal_data.py`).
3. Runs the README's commands, each as a user types it (`python examples/<script>.py ...`, one process each), a few
   optimizer steps apiece: `build_codebook.py`, `run_pretraining.py` on LibriSpeech, TAPT (`--stage tapt`) on
   IEMOCAP fold 1, `run_finetuning.py` on IEMOCAP fold 1 from the TAPT checkpoint, and on CMU-MOSEI from the
   pretrained one.
4. Runs `pipeline("audio-text-sentiment")` on the fine-tuned folder, in this process, over fold 1's test session.
5. Counts the FLOPs of one pretraining utterance at LibriSpeech's mean length on the full-size model and projects
   the paper's run: 100k updates of 256 utterances on 8 GPUs, at an assumed peak bf16 throughput and MFU
   (`--peak_tflops`, `--mfu`; default A100, 312 TFLOP/s at 40%).
6. Writes `report.md` + `report.json` to `--output_dir` (at full size also `benchmarks/results/rehearsal_<device>.md`
   + `.json`, or `--results_path`) and prints the table.

Per stage it reports seconds per optimizer step (from the Trainer's `trainer_state.json`: the first step apart, the
median of the others), peak memory (the process's peak resident memory from `wait4`; on a GPU also
`torch.cuda.max_memory_allocated`, read by `rehearsal_probe.py` inside the process), and the size on disk of the saved
model and of a resumable checkpoint (model + optimizer state). Resumable checkpoints are deleted once measured unless
`--keep_checkpoints` (each is about 3x the model: ~8 GiB at full size).

On the CPU the defaults fit 24 GiB: per-device batch 2 within 40 s of padded audio, activation checkpointing. On a
GPU they are the README's: per-device batch 16, 2 accumulation steps, no audio budget.
"""

import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal


os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is built locally; never reach the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parent
for path in (str(REPO_ROOT), str(BENCHMARKS)):
    if path not in sys.path:
        sys.path.insert(0, path)  # a source checkout, uninstalled, and the benchmark modules

import psutil  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from rehearsal_data import CorpusPaths, build_backbones, make_corpora  # noqa: E402
from rehearsal_report import (  # noqa: E402
    GIB,
    checkpoint_sizes,
    labelling_figures,
    measured_projection,
    progress_bar_seconds,
    projection,
    render_markdown,
    step_times,
    tree_bytes,
)
from transformers import HfArgumentParser  # noqa: E402


STAGES = ("codebook", "pretrain", "tapt", "finetune", "finetune_mosei", "pipeline")
# What each stage starts from: a stage whose input stage failed or did not run is skipped (TAPT and fine-tuning fall
# back to the pretrained checkpoint when TAPT is not among --stages).
NEEDS = {
    "pretrain": ("codebook",),
    "tapt": ("codebook", "pretrain"),
    "finetune": ("pretrain",),
    "finetune_mosei": ("pretrain",),
    "pipeline": ("finetune",),
}
# What each stage needs at full size on the CPU with the default batches (peak RSS measured, rounded up), for
# --wait_for_memory; "flops" is the FLOP count of step 5.
FULL_SIZE_MEMORY_GIB = {
    "codebook": 6,
    "pretrain": 17,
    "tapt": 17,
    "finetune": 15,
    "finetune_mosei": 15,
    "pipeline": 6,
    "flops": 10,
}
# Lines of a stage's log worth a place in the report: what the data rules did and how the batches came out.
NOTE_PATTERNS = (
    r"Training batches: .*",
    r"train: .*(?:kept whole|dropped with their transcripts).*",
    r"Labelling frames with .*",
    r"Codebook: \d+ codewords .*",
)


@dataclass
class RehearsalArguments:
    output_dir: str = field(default="runs/rehearsal", metadata={"help": "Where corpora, models, logs and report go."})
    size: Literal["full", "tiny"] = field(
        default="full",
        metadata={"help": "full: RoBERTa-large + HuBERT-large shapes (the paper's); tiny: 32-d backbones (a test)."},
    )
    device: Literal["cpu", "cuda"] = field(default="cpu", metadata={"help": "Where every stage runs."})
    bf16: bool = field(default=False, metadata={"help": "bf16 mixed precision (--bf16 of the scripts; on a GPU)."})
    stages: str = field(
        default=",".join(STAGES),
        metadata={"help": f"Comma-separated stages to run, in this order: {','.join(STAGES)}."},
    )
    max_steps: int | None = field(
        default=None, metadata={"help": "Optimizer steps per training stage (>= 2). Default: 3 (tiny: 2)."}
    )
    per_device_train_batch_size: int | None = field(
        default=None,
        metadata={"help": "Pretraining and TAPT batch per device. Default: 16 on a GPU (the README's), else 2."},
    )
    gradient_accumulation_steps: int | None = field(
        default=None,
        metadata={"help": "Pretraining and TAPT accumulation. Default: 2 on a GPU (16 x 2 x 8 GPUs = 256), else 1."},
    )
    finetune_batch_size: int | None = field(
        default=None, metadata={"help": "Fine-tuning batch per device. Default: 16 on a GPU (the paper's), else 2."}
    )
    max_batch_audio_seconds: float | None = field(
        default=None,
        metadata={
            "help": "--max_batch_audio_seconds of every training stage. Default: 40 on the CPU at full size (the "
            "35 s utterance alone, shorter ones in pairs), none on a GPU (the README's command)."
        },
    )
    gradient_checkpointing: bool | None = field(
        default=None, metadata={"help": "Activation checkpointing in training. Default: on the CPU at full size."}
    )
    num_librispeech_utterances: int | None = field(
        default=None,
        metadata={"help": "Training utterances of the LibriSpeech corpus. Default: enough for the steps, >= 16."},
    )
    codebook_batch_size: int = field(default=4, metadata={"help": "--batch_size of build_codebook.py."})
    kmeans_n_init: int = field(
        default=1,
        metadata={
            "help": "--kmeans_n_init of build_codebook.py (the README's run: HuBERT's 20). One k-means++ init of K=500 "
            "over the rehearsal's ~10k frames took 3 min on the shared 2-core CPU, so a few steps here too."
        },
    )
    kmeans_max_iter: int = field(
        default=3, metadata={"help": "--kmeans_max_iter of build_codebook.py (the README's run: HuBERT's 100)."}
    )
    pipeline_batch_size: int = field(default=4, metadata={"help": "batch_size of the pipeline stage."})
    threads: int | None = field(
        default=None,
        metadata={
            "help": "OMP_NUM_THREADS of every stage (and torch threads here). Default: torch's at full size, 1 at tiny "
            "size, whose small ops stall at every OpenMP barrier on a shared machine (25x slower steps seen)."
        },
    )
    wait_for_memory: bool = field(
        default=False,
        metadata={
            "help": "Before each stage, wait until the memory it needs (FULL_SIZE_MEMORY_GIB, measured on the CPU at "
            "the default batches) is available: on a machine shared with other jobs, a full-size stage would "
            "otherwise run it out of memory. Default: start at once."
        },
    )
    keep_checkpoints: bool = field(
        default=False, metadata={"help": "Keep the resumable checkpoint-* folders (deleted once measured)."}
    )
    results_path: str | None = field(
        default=None,
        metadata={
            "help": "Also write the report here (.md, and .json beside it). Default at full size: "
            "benchmarks/results/rehearsal_<device>.md; 'none' for no copy."
        },
    )
    seed: int = field(default=0, metadata={"help": "Seed of corpora, weights and runs."})
    resume: bool = field(
        default=False,
        metadata={
            "help": "Continue in --output_dir: reuse its corpora and backbones and the stages its report.json records "
            "as ok, run only --stages, and report them all. For machines that limit a command's time, e.g. "
            "`--stages codebook,pretrain`, then `--resume --stages tapt,finetune,finetune_mosei,pipeline`."
        },
    )
    count_flops: bool = field(
        default=True,
        metadata={
            "help": "Count the FLOPs of a pretraining utterance for the projection (--no_count_flops: keep the "
            "previous report's count with --resume, or none)."
        },
    )
    # the projection
    updates: int = field(default=100_000, metadata={"help": "The paper's pretraining updates (§4.2.1)."})
    global_batch_size: int = field(default=256, metadata={"help": "Utterances per update in the paper."})
    num_gpus: int = field(default=8, metadata={"help": "GPUs of the paper's run."})
    peak_tflops: float = field(
        default=312.0, metadata={"help": "Assumed peak dense bf16 TFLOP/s per GPU (A100: 312; H100 SXM: 989)."}
    )
    mfu: float = field(default=0.4, metadata={"help": "Assumed sustained model FLOP utilisation."})
    mean_utterance_seconds: float = field(
        default=12.29, metadata={"help": "Audio of the FLOP-counted utterance: LibriSpeech 960 h's mean."}
    )
    mean_transcript_tokens: int = field(
        default=45, metadata={"help": "Tokens of the FLOP-counted transcript (33.4 words + <s>, </s>)."}
    )


def resolve(args: RehearsalArguments) -> RehearsalArguments:
    """Fills the device- and size-dependent defaults and checks the rest."""
    gpu, full = args.device == "cuda", args.size == "full"
    if gpu and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False).")
    args.max_steps = args.max_steps or (3 if full else 2)
    if args.max_steps < 2:
        raise ValueError(f"--max_steps must be >= 2 (the first step is reported apart), got {args.max_steps}.")
    args.per_device_train_batch_size = args.per_device_train_batch_size or (16 if gpu else 2)
    args.gradient_accumulation_steps = args.gradient_accumulation_steps or (2 if gpu else 1)
    args.finetune_batch_size = args.finetune_batch_size or (16 if gpu else 2)
    if args.max_batch_audio_seconds is None and full and not gpu:
        args.max_batch_audio_seconds = 40.0
    if args.threads is None and not full:
        args.threads = 1
    if args.gradient_checkpointing is None:
        args.gradient_checkpointing = full and not gpu
    needed = args.max_steps * args.per_device_train_batch_size * args.gradient_accumulation_steps
    args.num_librispeech_utterances = args.num_librispeech_utterances or max(16 if full else 8, needed + 2)
    unknown = [name for name in args.stages.split(",") if name not in STAGES]
    if unknown:
        raise ValueError(f"--stages: unknown {unknown}; choose from {list(STAGES)}.")
    if args.results_path is None and full:
        args.results_path = str(REPO_ROOT / "benchmarks" / "results" / f"rehearsal_{args.device}.md")
    if args.results_path == "none":
        args.results_path = None
    return args


def progress(number: int, title: str) -> None:
    print(f"\n=== {number}. {title}", flush=True)


def machine_info(device: str) -> dict:
    cpu, memory = platform.processor() or platform.machine(), psutil.virtual_memory().total / GIB
    if os.path.exists("/proc/cpuinfo"):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------------------------------------------------------------
# Stages as a user runs them


class Rehearsal:
    """Runs the stages in order, each in its own process, and collects what they measured."""

    def __init__(self, args: RehearsalArguments, output: Path, backbones: dict, corpora):
        self.args, self.output, self.backbones, self.corpora = args, output, backbones, corpora
        self.logs = output / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.paths = {
            "codebook": output / "codebook.safetensors",
            "pretrain": output / "cmt-base-pt",
            "tapt": output / "cmt-base-tapt-f1",
            "finetune": output / "cmt-base-iemocap-fold1",
            "finetune_mosei": output / "cmt-base-mosei",
        }
        self.results: dict[str, dict] = {}

    # --- commands ---

    def trainer_flags(self, batch_size: int, accumulation: int) -> list:
        args = self.args
        flags = [
            "--per_device_train_batch_size", batch_size,
            "--gradient_accumulation_steps", accumulation,
            "--max_steps", args.max_steps,
            # every step logged with `train_runtime` (seconds since the loop began): the step times
            "--logging_steps", 1,
            "--include_num_input_tokens_seen", "true",
            # one resumable checkpoint at the end, to measure it
            "--save_strategy", "steps",
            "--save_steps", args.max_steps,
            "--report_to", "none",
            "--dataloader_num_workers", 0,  # the peak memory of one process is the stage's
            "--disable_tqdm", "true",
            "--seed", args.seed,
        ]  # fmt: skip
        if args.max_batch_audio_seconds is not None:
            flags += ["--max_batch_audio_seconds", args.max_batch_audio_seconds]
        if args.gradient_checkpointing:
            flags += ["--gradient_checkpointing", "true"]
        if args.bf16:
            flags += ["--bf16", "true"]
        if args.device == "cpu" and torch.cuda.is_available():
            flags += ["--use_cpu", "true"]
        return flags

    def command(self, name: str) -> list:
        args, paths, backbones, corpora = self.args, self.paths, self.backbones, self.corpora
        tiny = args.size == "tiny"
        pretraining = self.trainer_flags(args.per_device_train_batch_size, args.gradient_accumulation_steps)
        finetuning = [
            *self.trainer_flags(args.finetune_batch_size, 1),
            "--per_device_eval_batch_size", args.finetune_batch_size,
            "--eval_strategy", "steps",
            "--eval_steps", args.max_steps,
        ]  # fmt: skip
        # fine-tuning starts from TAPT where TAPT ran, as the paper's CMT rows do
        task_start = paths["tapt"] if self.results.get("tapt", {}).get("status") == "ok" else paths["pretrain"]
        if name == "codebook":
            return [
                "examples/build_codebook.py",
                "--audio_model", backbones["audio"],
                "--layer", 1 if tiny else 12,
                "--num_codewords", 8 if tiny else 500,
                "--librispeech_root", corpora.librispeech,
                "--output_path", paths["codebook"],
                "--batch_size", args.codebook_batch_size,
                "--kmeans_n_init", args.kmeans_n_init,
                "--kmeans_max_iter", args.kmeans_max_iter,
                "--device", args.device,
                "--seed", args.seed,
            ]  # fmt: skip
        if name == "pretrain":
            return [
                "examples/run_pretraining.py",
                "--text_model", backbones["text"],
                "--audio_model", backbones["audio"],
                "--preset", "cmt-base",
                *(["--config_overrides", "cross_intermediate_size=64"] if tiny else []),
                "--librispeech_root", corpora.librispeech,
                "--codebook", paths["codebook"],
                "--output_dir", paths["pretrain"],
                *pretraining,
            ]  # fmt: skip
        if name == "tapt":
            return [
                "examples/run_pretraining.py",
                "--stage", "tapt",
                "--model_name_or_path", paths["pretrain"],
                "--iemocap_root", corpora.iemocap,
                "--fold", 1,
                "--codebook", paths["codebook"],
                "--codebook_model", backbones["audio"],
                "--output_dir", paths["tapt"],
                *pretraining,
            ]  # fmt: skip
        if name == "finetune":
            return [
                "examples/run_finetuning.py",
                "--task", "ser",
                "--model_name_or_path", task_start,
                "--iemocap_root", corpora.iemocap,
                "--fold", 1,
                "--output_dir", paths["finetune"],
                *finetuning,
            ]  # fmt: skip
        if name == "finetune_mosei":
            mosei = corpora.mosei
            return [
                "examples/run_finetuning.py",
                "--task", "sa",
                "--model_name_or_path", paths["pretrain"],
                "--mosei_labels", mosei["labels"],
                "--mosei_audio_dir", mosei["audio_dir"],
                "--mosei_transcripts_dir", mosei["transcripts_dir"],
                "--mosei_folds", mosei["folds"],
                "--cache_dir", self.output / "mosei-segments",
                "--output_dir", paths["finetune_mosei"],
                *finetuning,
            ]  # fmt: skip
        raise ValueError(name)

    # --- running ---

    def environment(self) -> dict:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        if self.args.threads:
            env["OMP_NUM_THREADS"] = str(self.args.threads)
        return env

    def run_script(self, name: str) -> dict:
        """One stage as its own process; its peak resident memory from `wait4` (that process alone), its peak device
        memory through `rehearsal_probe.py` on a GPU."""
        arguments = [str(value) for value in self.command(name)]
        shown = shlex.join(["python", *arguments])
        log = self.logs / f"{name}.log"
        command = [sys.executable, *arguments]
        probe = self.logs / f"{name}.probe.json"
        if self.args.device == "cuda":
            command = [sys.executable, str(BENCHMARKS / "rehearsal_probe.py"), str(probe), *arguments]
        print(f"$ {shown}\n  (log: {log})", flush=True)
        start = time.perf_counter()
        with open(log, "w") as handle:
            process = subprocess.Popen(
                command, stdout=handle, stderr=subprocess.STDOUT, env=self.environment(), cwd=REPO_ROOT
            )
            _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        record = {
            "name": name,
            "command": shown,
            "wall_s": time.perf_counter() - start,
            "peak_rss_bytes": usage.ru_maxrss * 1024,  # KiB on Linux
            "returncode": process.returncode,
            "log": str(log),
        }
        with open(log, newline="", errors="replace") as handle:  # keep the progress bars' carriage returns
            text = handle.read()
        if process.returncode != 0:
            record.update(status="failed", error="\n".join(text.strip().splitlines()[-40:]))
            return record
        record["status"] = "ok"
        if probe.is_file():
            record["peak_gpu_bytes"] = json.loads(probe.read_text()).get("max_memory_allocated")
        notes = [
            match.group(0).split("\r")[0].strip() for pattern in NOTE_PATTERNS for match in re.finditer(pattern, text)
        ]
        lines = [line for line in text.strip().splitlines() if line.strip()]
        summary = lines[-1].strip() if lines else ""
        labelling = labelling_figures(text)
        if labelling:
            record["labelling"] = labelling
            projected = labelling["projected_librispeech_hours"]
            notes.append(
                f"labelling frames before step 1 took {labelling['seconds']} s for "
                f"{labelling['audio_hours'] * 60:.1f} min of audio (on the CPU: the model is not on the device yet)"
                + (f"; LibriSpeech 960 h + dev at that rate: {projected:,.1f} h" if projected else "")
            )
        record["note"] = "; ".join(dict.fromkeys([*notes, summary]))
        if name == "codebook":
            record["model_bytes"] = self.paths["codebook"].stat().st_size
            features = progress_bar_seconds(text, "Backbone features")
            if features is not None:
                record["features_s"] = features
                record["note"] += (
                    f"; backbone features of the sample {features} s, k-means ({self.args.kmeans_n_init} init, "
                    f"{self.args.kmeans_max_iter} epochs; the README's run: 20, 100) and the rest "
                    f"{record['wall_s'] - features:.0f} s"
                )
        else:
            output_dir = self.paths[name]
            record.update(step_times(output_dir))
            record.update(checkpoint_sizes(output_dir))
            if not self.args.keep_checkpoints:
                for checkpoint in output_dir.glob("checkpoint-*"):
                    shutil.rmtree(checkpoint)
        return record

    def run_pipeline(self) -> dict:
        """`pipeline("audio-text-sentiment")` on the fine-tuned folder, in this process, over fold 1's test session:
        seconds per batch after one warm-up call, peak resident memory of this process meanwhile (sampled)."""
        from transformers import pipeline

        import modeling_cmt  # noqa: F401  (registers the pipeline task)
        from processing_cmt import load_iemocap

        model_dir, batch_size = self.paths["finetune"], self.args.pipeline_batch_size
        test = load_iemocap(self.corpora.iemocap, fold=1)["test"]
        audio, texts = list(test["audio"]), list(test["text"])
        shown = (
            f'classify = pipeline("audio-text-sentiment", model="{model_dir}"); '
            f"classify(<{len(audio)} wav paths of fold 1's test session>, text=<their transcripts>, "
            f"batch_size={batch_size})"
        )
        print(f">>> {shown}", flush=True)
        sampler = PeakMemorySampler()
        start = time.perf_counter()
        with sampler:
            if self.args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            dtype = torch.bfloat16 if self.args.bf16 else None
            device = 0 if self.args.device == "cuda" else -1
            classify = pipeline("audio-text-sentiment", model=str(model_dir), device=device, dtype=dtype)
            load_s = time.perf_counter() - start
            classify(audio[0], text=texts[0])  # warm-up: first kernels, allocator
            begin = time.perf_counter()
            outputs = classify(audio, text=texts, batch_size=batch_size)
            seconds = time.perf_counter() - begin
        batches = -(-len(audio) // batch_size)
        labels = [output[0]["label"] for output in outputs]
        record = {
            "name": "pipeline",
            "status": "ok",
            "command": shown,
            "wall_s": time.perf_counter() - start,
            "peak_rss_bytes": sampler.peak,
            "per_batch_s": seconds / batches,
            "batch_size": batch_size,
            "per_utterance_s": seconds / len(audio),
            "utterances": len(audio),
            "audio_seconds": sum(soundfile.info(path).duration for path in audio),
            "model_bytes": tree_bytes(model_dir, skip_checkpoints=True),
            "note": (
                f"{len(audio)} utterances in {batches} batches of up to {batch_size} (longest first): "
                f"{seconds:.2f} s after a warm-up call, {seconds / len(audio):.3f} s per utterance; model loaded in "
                f"{load_s:.1f} s; peak RSS is this process's (sampled every 50 ms); predicted "
                + ", ".join(f"{label} x{labels.count(label)}" for label in sorted(set(labels)))
            ),
        }
        if self.args.device == "cuda":
            record["peak_gpu_bytes"] = torch.cuda.max_memory_allocated()
        del classify
        return record

    def run(self, stages: list[str], after_each=None) -> list[dict]:
        """Runs `stages` in order; `after_each()` after every stage (the partial report, so that a run killed by the
        machine, e.g. out of memory, leaves what it measured for `--resume`)."""
        for number, name in enumerate(stages, start=1):
            blocked = [need for need in NEEDS.get(name, ()) if self.results.get(need, {}).get("status") != "ok"]
            if blocked:
                record = {
                    "name": name,
                    "status": "skipped",
                    "note": f"skipped: {', '.join(blocked)} did not run or failed",
                }
            else:
                print(f"\n--- stage {number}/{len(stages)}: {name}", flush=True)
                self.wait_for_memory(name)
                try:
                    record = self.run_pipeline() if name == "pipeline" else self.run_script(name)
                except Exception as error:  # a stage that breaks is a finding: report it, go on with the others
                    record = {"name": name, "status": "failed", "error": f"{type(error).__name__}: {error}"}
            self.results[name] = record
            print(stage_line(record), flush=True)
            if after_each is not None:
                after_each()
        return [self.results[name] for name in stages]

    def wait_for_memory(self, stage: str) -> None:
        if not self.args.wait_for_memory or self.args.device != "cpu" or self.args.size != "full":
            return
        wanted, start = FULL_SIZE_MEMORY_GIB[stage], time.perf_counter()
        while (available := psutil.virtual_memory().available / GIB) < wanted:
            if time.perf_counter() - start < 1:
                print(f"waiting for {wanted:g} GiB of free memory ({available:.1f} GiB now)", flush=True)
            time.sleep(10)
        if time.perf_counter() - start >= 1:
            print(f"waited {time.perf_counter() - start:.0f} s for memory", flush=True)


class PeakMemorySampler:
    """Samples this process's resident memory every 50 ms in a thread; `peak` is the largest value seen."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._process = psutil.Process()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def stage_line(record: dict) -> str:
    if record["status"] != "ok":
        detail = record.get("error", record.get("note", ""))
        return f"[{record['name']}] {record['status'].upper()}: {detail.strip().splitlines()[-1] if detail else ''}"
    parts = [
        f"[{record['name']}] ok in {record['wall_s']:.1f} s",
        f"peak RSS {record['peak_rss_bytes'] / GIB:.2f} GiB",
    ]
    if record.get("step_s"):
        parts.append("s/step " + ", ".join(f"{value:.2f}" for value in record["step_s"]))
    if record.get("per_batch_s") is not None:
        parts.append(f"{record['per_batch_s']:.2f} s per batch of {record['batch_size']}")
    if record.get("peak_gpu_bytes"):
        parts.append(f"peak GPU {record['peak_gpu_bytes'] / GIB:.2f} GiB")
    if record.get("model_bytes"):
        parts.append(f"model {record['model_bytes'] / GIB:.2f} GiB")
    if record.get("checkpoint_bytes"):
        parts.append(f"checkpoint {record['checkpoint_bytes'] / GIB:.2f} GiB")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------------------------------
# FLOPs and the projection


def count_pretraining_flops(args: RehearsalArguments, backbones: dict, codebook_size: int, device: str) -> dict:
    """Forward + backward FLOPs of one pretraining utterance at LibriSpeech's mean length on a CMT-Base
    `CMTForPreTraining` built from the rehearsal's backbone configs (random weights), with `benchmarks/flops.py`'s
    counter; LayerDrop off so that every layer counts (HuBERT-large's published 0.1 would skip a tenth of the audio
    layers in expectation)."""
    import numpy as np
    from flops import FLOP_METHOD, count_flops, module_flops
    from transformers import AutoConfig, AutoTokenizer

    from configuration_cmt import audio_frame_lengths
    from modeling_cmt import CMTConfig, CMTForPreTraining
    from processing_cmt import DataCollatorForCMTPretraining

    torch.manual_seed(args.seed)
    text_config = AutoConfig.from_pretrained(backbones["text"])
    audio_config = AutoConfig.from_pretrained(backbones["audio"])
    audio_config.layerdrop = 0.0
    overrides = {"cross_intermediate_size": 64} if args.size == "tiny" else {}
    config = CMTConfig.from_preset(
        "cmt-base", text_config=text_config, audio_config=audio_config, num_codewords=codebook_size, **overrides
    )
    model = CMTForPreTraining(config).to(device).train()
    tokenizer = AutoTokenizer.from_pretrained(backbones["text"])
    rng = np.random.default_rng(args.seed)
    samples = int(round(args.mean_utterance_seconds * 16000))
    ids = [tokenizer.bos_token_id, *rng.integers(5, len(tokenizer), args.mean_transcript_tokens - 2).tolist()]
    ids.append(tokenizer.eos_token_id)
    frames = int(audio_frame_lengths(config.audio_config, torch.tensor(samples)))
    waveform = rng.standard_normal(samples).astype(np.float32)
    feature = {
        "input_ids": ids,
        "input_values": (waveform - waveform.mean()) / waveform.std(),
        "audio_codes": rng.integers(0, codebook_size, frames),
    }
    collator = DataCollatorForCMTPretraining(
        tokenizer=tokenizer,
        audio_config=config.audio_config,
        mlm_probability=config.mlm_probability,
        mask_time_prob=config.mask_time_prob,
        mask_time_length=config.mask_time_length,
        mask_time_min_masks=config.mask_time_min_masks,
        num_codewords=codebook_size,
        seed=args.seed,
    )
    batch = {key: value.to(device) for key, value in collator([feature]).items()}
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=args.bf16)

    def step(mark):
        with autocast:
            loss = model(**batch).loss
        mark()
        loss.backward()

    start = time.perf_counter()
    total, by_module = count_flops(step)
    seconds = time.perf_counter() - start
    forward = by_module.get(type(model).__name__, 0)
    components = {
        "text_backbone": module_flops(by_module, ".cmt.text_model"),
        "audio_backbone": module_flops(by_module, ".cmt.audio_model"),
        "audio_conv_feature_encoder": module_flops(by_module, ".cmt.audio_model.feature_extractor"),
        "cross_modal_encoder": module_flops(by_module, ".cmt.encoder"),
    }
    components["heads_and_rest"] = forward - components["text_backbone"] - components["audio_backbone"]
    components["heads_and_rest"] -= components["cross_modal_encoder"]
    return {
        "method": FLOP_METHOD,
        "audio_seconds": args.mean_utterance_seconds,
        "text_tokens": args.mean_transcript_tokens,
        "flops_per_utterance": total,
        "forward_flops": forward,
        "forward_by_component": components,
        "counted_step_s": seconds,
        "achieved_flop_per_s": total / seconds,
        "device": device,
        "size": args.size,
    }


SETUP_FILE = "rehearsal_setup.json"


def load_previous_run(output: Path, args: RehearsalArguments) -> dict:
    """--resume: the corpora and backbones an earlier invocation built in `output`, the stages its report records as
    ok, and its FLOP count."""
    setup_path, report_path = output / SETUP_FILE, output / "report.json"
    if not setup_path.is_file():
        raise ValueError(f"--resume: {setup_path} does not exist; run once without --resume first.")
    setup = json.loads(setup_path.read_text())
    if setup["size"] != args.size:
        raise ValueError(f"--resume: {output} holds a {setup['size']}-size rehearsal, not --size {args.size}.")
    corpora = setup["corpora"]
    corpora = CorpusPaths(
        librispeech=Path(corpora["librispeech"]),
        iemocap=Path(corpora["iemocap"]),
        mosei={key: Path(value) for key, value in corpora["mosei"].items()},
        texts=corpora["texts"],
        durations=corpora["durations"],
    )
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    stages = {record["name"]: record for record in report.get("stages", []) if record["status"] == "ok"}
    return {
        "corpora": corpora,
        "backbones": setup["backbones"],
        "stages": stages,
        "flops": report.get("flops"),
        "invocations": report.get("invocations", []),
        "total_minutes": report.get("total_minutes", 0.0),
    }


def corpus_summary(corpora) -> dict:
    summary = {}
    for name, seconds in corpora.durations.items():
        summary[name] = {
            "count": len(seconds),
            "min": min(seconds),
            "max": max(seconds),
            "mean": statistics.mean(seconds),
            "hours": sum(seconds) / 3600,
        }
    return summary


def main(argv: list[str] | None = None) -> dict:
    (args,) = HfArgumentParser(RehearsalArguments).parse_args_into_dataclasses(args=argv)
    args = resolve(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    output = Path(args.output_dir).resolve()
    output.mkdir(parents=True, exist_ok=True)
    begin = time.perf_counter()
    full = args.size == "full"
    scale = 1.0 if full else 0.25  # tiny: the same spread, a quarter as long
    stages = [name for name in STAGES if name in args.stages.split(",")]  # always in the recipe's order

    previous = load_previous_run(output, args) if args.resume else None

    # 1. corpora
    progress(1, f"Corpora at the real duration spread{'' if full else ' (tiny: a quarter as long)'}")
    if previous:
        corpora = previous["corpora"]
        print(f"reused from {output / SETUP_FILE} (--resume)")
    else:
        corpora = make_corpora(output / "corpora", args.num_librispeech_utterances, scale, args.seed)
    summary = corpus_summary(corpora)
    for name, figures in summary.items():
        print(
            f"{name}: {figures['count']} utterances, {figures['min']:.1f}-{figures['max']:.1f} s, mean "
            f"{figures['mean']:.1f} s, {figures['hours'] * 60:.1f} min of audio",
            flush=True,
        )

    # 2. backbones
    progress(2, f"Backbones from the paper's configs, random weights ({args.size})")
    start = time.perf_counter()
    if previous:
        backbones = previous["backbones"]
    else:
        backbones = build_backbones(output / "backbones", args.size, corpora.texts, args.seed)
        setup = {"size": args.size, "corpora": asdict(corpora), "backbones": backbones}
        (output / SETUP_FILE).write_text(json.dumps(setup, indent=1, default=str))
    print(
        f"text {backbones['text']} ({backbones['text_parameters'] / 1e6:.1f} M parameters, vocabulary "
        f"{backbones['text_vocab_size']:,}, tokenizer {backbones['tokenizer_entries']:,} entries); audio "
        f"{backbones['audio']} ({backbones['audio_parameters'] / 1e6:.1f} M) in {time.perf_counter() - start:.0f} s",
        flush=True,
    )

    # 3.-4. the README's commands, then the pipeline
    progress(3, f"Stages: {', '.join(stages)} ({args.max_steps} steps each, {args.device})")
    rehearsal = Rehearsal(args, output, backbones, corpora)
    if previous:  # what an earlier invocation measured stands for the stages not run now
        for name, record in previous["stages"].items():
            if name not in stages:
                rehearsal.results[name] = {**record, "from_previous_run": True}
    invocations = [
        *(previous or {}).get("invocations", []),
        "python benchmarks/rehearse.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
    ]
    earlier_minutes = (previous or {}).get("total_minutes", 0.0)
    report_flops = (previous or {}).get("flops")

    def write_report(final: bool) -> dict:
        records = [rehearsal.results[name] for name in STAGES if name in rehearsal.results]
        cost = projection(report_flops["flops_per_utterance"], args) if report_flops else None
        measured = None
        if cost and args.device == "cuda":
            measured = measured_projection(
                rehearsal.results.get("pretrain", {}),
                args,
                args.per_device_train_batch_size,
                args.gradient_accumulation_steps,
            )
        report = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "output_dir": str(output),
            "total_minutes": earlier_minutes + (time.perf_counter() - begin) / 60,
            "complete": final,
            "setup": {**asdict(args), "command": invocations[-1], "backbones": backbones},
            "invocations": invocations,
            "machine": machine_info(args.device),
            "corpus": summary,
            "stages": records,
            "flops": report_flops,
            "projection": cost,
            "measured_projection": measured,
            "projection_note": projection_note(args, report_flops, cost),
            "failed": [record["name"] for record in records if record["status"] != "ok"],
        }
        markdown = render_markdown(report)
        paths = [output / "report.md"]
        if final and args.results_path:
            paths.append(Path(args.results_path))
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(markdown)
            path.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str))
        report["written"] = [str(path) for base in paths for path in (base, base.with_suffix(".json"))]
        report["markdown"] = markdown
        return report

    rehearsal.run(stages, after_each=lambda: write_report(final=False))

    # 5. FLOPs of a pretraining utterance and the projected cost of the paper's run
    progress(4, "FLOPs of one pretraining utterance at LibriSpeech's mean length; the paper's run projected")
    if args.count_flops:
        rehearsal.wait_for_memory("flops")
        try:
            report_flops = count_pretraining_flops(args, backbones, 8 if not full else 500, args.device)
            cost = projection(report_flops["flops_per_utterance"], args)
            print(
                f"{report_flops['flops_per_utterance'] / 1e12:.3f} TFLOP per utterance (forward + backward); "
                f"{cost['gpu_hours']:,.0f} GPU-hours = {cost['wall_days']:.2f} days on {args.num_gpus} GPUs",
                flush=True,
            )
        except Exception as error:  # the stages' figures stand without it
            print(f"FLOP count failed: {type(error).__name__}: {error}", flush=True)
    else:
        print("not counted (--no_count_flops)" + ("; the previous count stands" if report_flops else ""))

    # 6. report
    progress(5, "Report")
    report = write_report(final=True)
    print(report["markdown"])
    failed, stages_run = report["failed"], report["stages"]
    print(
        f"Rehearsal done in {report['total_minutes']:.1f} min: {len(stages_run) - len(failed)} of {len(stages_run)} "
        f"stages ok{' (not ok: ' + ', '.join(failed) + ')' if failed else ''}. Report: "
        + ", ".join(report["written"]),
        flush=True,
    )
    return report


def projection_note(args: RehearsalArguments, report_flops: dict | None, cost: dict | None) -> str:
    note = (
        f"Assumptions: {args.global_batch_size} utterances per update at LibriSpeech's mean length; "
        f"{args.peak_tflops:g} TFLOP/s peak dense bf16 per GPU (A100: 312; H100 SXM: 989) at {args.mfu:.0%} MFU "
        "(--peak_tflops, --mfu). "
    )
    if report_flops and cost:
        rate = report_flops["achieved_flop_per_s"]
        note += (
            f"The counted step ran at {rate / 1e9:,.1f} GFLOP/s on this {args.device} "
            f"({report_flops['counted_step_s']:.1f} s, under the counter): the run would take "
            f"{cost['total_flops'] / rate / 86400 / 365:,.0f} years here."
        )
    return note


if __name__ == "__main__":
    sys.exit(1 if main()["failed"] else 0)
