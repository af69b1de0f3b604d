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

Modules: this driver (arguments, steps 1-6), `rehearsal_data.py` (corpora, backbones), `rehearsal_stages.py` (the
stages as a user runs them), `rehearsal_flops.py` (step 5's count), `rehearsal_report.py` (read-back, projection,
report); `--report_only` renders a finished rehearsal's report again under other projection assumptions.

On the CPU the defaults fit 24 GiB: per-device batch 2 within 40 s of padded audio, activation checkpointing. On a
GPU they are the README's: per-device batch 16, 2 accumulation steps, no audio budget.
"""

import json
import os
import platform
import re
import shlex
import statistics
import sys
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
import torch  # noqa: E402
import transformers  # noqa: E402
from rehearsal_data import CorpusPaths, build_backbones, make_corpora  # noqa: E402
from rehearsal_flops import count_pretraining_flops  # noqa: E402
from rehearsal_report import GIB, finish_report, projection, render_only  # noqa: E402
from rehearsal_stages import STAGES, Rehearsal  # noqa: E402
from transformers import HfArgumentParser  # noqa: E402


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
    report_only: bool = field(
        default=False,
        metadata={
            "help": "Run nothing: render --output_dir's report again, projected under this command's --peak_tflops, "
            "--mfu, --num_gpus, --updates and --global_batch_size (e.g. for H100s: --peak_tflops 989)."
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
    if args.report_only:
        return render_only(args, Path(args.output_dir).resolve())
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
            "failed": [record["name"] for record in records if record["status"] != "ok"],
        }
        return finish_report(report, args, output, copy=final)

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


if __name__ == "__main__":
    sys.exit(1 if main()["failed"] else 0)
