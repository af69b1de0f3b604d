# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The rehearsal's stages as a user runs them (`rehearse.py`): each README command in its own process, then the
pipeline in this one; what each stage measured (step times, peak memory, sizes on disk)."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import soundfile
import torch
from rehearsal_report import (
    GIB,
    checkpoint_sizes,
    labelling_figures,
    progress_bar_seconds,
    step_times,
    tree_bytes,
)


BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parent

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
    "tapt": 15,
    "finetune": 16,
    "finetune_mosei": 16,
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


class Rehearsal:
    """Runs the stages in order, each in its own process, and collects what they measured."""

    def __init__(self, args, output: Path, backbones: dict, corpora):
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
            "--overwrite_output_dir", "true",  # the rehearsal's own folders: a stage run again replaces its last run
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
