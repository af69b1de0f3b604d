# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What `rehearse.py` reads back from a stage's output (step times from `trainer_state.json`, sizes on disk), the
projected cost of the paper's pretraining run from the counted FLOPs, and the Markdown report."""

import json
import os
import re
import statistics
from pathlib import Path


GIB = 2**30
REPO_ROOT = Path(__file__).resolve().parents[1]


def step_times(output_dir: str | os.PathLike) -> dict:
    """Wall seconds of each optimizer step, from the Trainer's own log (`trainer_state.json`).

    The run logs every step (`--logging_steps 1`) with `--include_num_input_tokens_seen true`, which makes each log
    entry carry `train_runtime`, the seconds since the training loop started (after the model, data and optimizer were
    set up): the differences are the steps. The first step also pays for the first batch's loading and the
    allocator's warm-up, so it is reported apart from the median of the others.
    """
    path = Path(output_dir) / "trainer_state.json"
    if not path.is_file():
        return {}
    history = json.loads(path.read_text())["log_history"]
    marks = sorted(
        (entry["step"], entry["train_runtime"]) for entry in history if "loss" in entry and "train_runtime" in entry
    )
    summary = next((entry for entry in history if "train_loss" in entry), {})
    seconds, previous = [], 0.0
    for _, runtime in marks:
        seconds.append(runtime - previous)
        previous = runtime
    losses = [{k: v for k, v in entry.items() if k.endswith("loss")} for entry in history if "loss" in entry]
    return {
        "steps": len(seconds),
        "step_s": [round(value, 3) for value in seconds],
        "first_step_s": seconds[0] if seconds else None,
        "steady_step_s": statistics.median(seconds[1:]) if len(seconds) > 1 else None,
        "train_loop_s": summary.get("train_runtime"),
        "losses": losses,
    }


def progress_bar_seconds(log_text: str, description: str) -> int | None:
    """Elapsed seconds of the finished tqdm bars called `description` in a log (their last state, summed over the
    bars: one per line, as a bar redraws itself after carriage returns); None when there is none."""
    seconds, bars = 0, 0
    pattern = re.escape(description) + r": 100%\|[^|]*\| \d+/\d+ \[(?:(\d+):)?(\d+):(\d+)<"
    for line in log_text.split("\n"):
        ends = re.findall(pattern, line)
        if ends:
            hours, minutes, secs = ends[-1]
            seconds += int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)
            bars += 1
    return seconds if bars else None


def labelling_figures(log_text: str) -> dict | None:
    """The seconds a pretraining / TAPT run spent labelling its corpus's frames with codewords before training (the
    `Labelling audio_codes` progress bars, one per split) and the hours of audio in those splits (the length rule's
    per-split log lines); None when the run labelled nothing."""
    seconds = progress_bar_seconds(log_text, "Labelling audio_codes")
    if seconds is None:
        return None
    audio_hours = sum(float(h) for h in re.findall(r" - \w+: [\d,]+ utterances \(([\d.]+) h", log_text))
    return {
        "seconds": seconds,
        "audio_hours": audio_hours,
        # LibriSpeech 960 h plus its dev sets (10.7 h), which the script labels too
        "projected_librispeech_hours": 970.7 * seconds / (audio_hours * 3600) if seconds and audio_hours else None,
    }


def tree_bytes(path: str | os.PathLike, skip_checkpoints: bool = False) -> int:
    """Bytes of the files under `path` (without its `checkpoint-*` folders when `skip_checkpoints`)."""
    total = 0
    for folder, subfolders, files in os.walk(path):
        if skip_checkpoints and Path(folder) == Path(path):
            subfolders[:] = [name for name in subfolders if not name.startswith("checkpoint-")]
        total += sum(os.path.getsize(os.path.join(folder, name)) for name in files)
    return total


def checkpoint_sizes(output_dir: str | os.PathLike) -> dict:
    """The saved model folder (weights, config, processor, card) and the largest resumable `checkpoint-*` folder
    (the model plus optimizer, scheduler and RNG states), in bytes."""
    output_dir = Path(output_dir)
    checkpoints = sorted(output_dir.glob("checkpoint-*"))
    return {
        "model_bytes": tree_bytes(output_dir, skip_checkpoints=True) if output_dir.is_dir() else None,
        "checkpoint_bytes": max((tree_bytes(path) for path in checkpoints), default=None),
    }


def projection(flops_per_utterance: float, args) -> dict:
    """The paper's pretraining run (§4.2.1: `args.updates` updates of `args.global_batch_size` utterances on
    `args.num_gpus` GPUs) from the FLOPs of one utterance's forward + backward at LibriSpeech's mean length, at a
    sustained `args.mfu` of `args.peak_tflops`."""
    total = args.updates * args.global_batch_size * flops_per_utterance
    sustained = args.peak_tflops * 1e12 * args.mfu
    gpu_seconds = total / sustained
    return {
        "updates": args.updates,
        "global_batch_size": args.global_batch_size,
        "num_gpus": args.num_gpus,
        "peak_tflops": args.peak_tflops,
        "mfu": args.mfu,
        "flops_per_utterance": flops_per_utterance,
        "flops_per_update": args.global_batch_size * flops_per_utterance,
        "total_flops": total,
        "gpu_hours": gpu_seconds / 3600,
        "wall_hours": gpu_seconds / args.num_gpus / 3600,
        "wall_days": gpu_seconds / args.num_gpus / 86400,
        # LibriSpeech 960 h has 281,241 training utterances
        "epochs_of_librispeech": args.updates * args.global_batch_size / 281_241,
    }


def measured_projection(stage: dict, args, per_device_batch: int, accumulation: int) -> dict | None:
    """On a GPU, the run's time from the measured step instead: updates x (updates of `global_batch_size` /
    (per-device batch x accumulation x GPUs)) x the steady seconds per optimizer step."""
    if not stage.get("steady_step_s"):
        return None
    steps_per_update = args.global_batch_size / (per_device_batch * accumulation * args.num_gpus)
    seconds = args.updates * steps_per_update * stage["steady_step_s"]
    return {"steps_per_update": steps_per_update, "wall_hours": seconds / 3600, "wall_days": seconds / 86400}


def _size(value: int | None) -> str:
    if value is None:
        return "—"
    return f"{value / 2**20:,.1f} MiB" if value < GIB / 10 else f"{value / GIB:,.2f} GiB"


def _fmt(value, digits: int = 1, scale: float = 1.0, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value / scale:,.{digits}f}{unit}"


def _labelling_note(stage: dict) -> str:
    """What labelling the corpus with codewords cost before step 1, and for pretraining what LibriSpeech 960 h would."""
    labelling = stage.get("labelling")
    if not labelling or not labelling["seconds"] or not labelling["audio_hours"]:
        return ""
    rate = labelling["seconds"] / labelling["audio_hours"]
    note = (
        f"; labelling the frames with codewords before step 1 (every split, on the CPU: the script labels before "
        f"Trainer moves the model to the device) took {labelling['seconds']} s for "
        f"{labelling['audio_hours'] * 60:.1f} min of audio, {rate / 60:,.0f} min per hour of audio"
    )
    if stage["name"] == "pretrain" and labelling.get("projected_librispeech_hours"):
        note += f": LibriSpeech 960 h + dev would take {labelling['projected_librispeech_hours']:,.0f} h here"
    return note


def render_markdown(report: dict) -> str:
    setup, machine, corpus = report["setup"], report["machine"], report["corpus"]
    lines = [
        f"# Rehearsal of the paper's run ({setup['size']} size, {setup['device']}"
        f"{', bf16' if setup['bf16'] else ', float32'})",
        "",
        " then ".join(f"`{command}`" for command in report.get("invocations") or [setup["command"]])
        + f" — {report['date']}, {report['total_minutes']:.1f} min in all"
        + ("" if report.get("complete", True) else " so far (partial report: a stage is still running or was cut)")
        + ". "
        f"Machine: {machine['cpu']} ({machine['cores']} cores, {machine['memory_gib']:.0f} GiB)"
        + (f", {machine['gpu']}" if machine.get("gpu") else ", no GPU")
        + f"; torch {machine['torch']}, transformers {machine['transformers']}.",
        "",
        f"Backbones (random weights, published layouts): text {setup['backbones']['text_parameters'] / 1e6:,.2f} M "
        f"parameters (vocabulary {setup['backbones']['text_vocab_size']:,}; tokenizer {setup['backbones']['tokenizer_entries']:,} "
        f"entries trained on the transcripts, every id below the vocabulary size), audio "
        f"{setup['backbones']['audio_parameters'] / 1e6:,.2f} M. Corpora: LibriSpeech layout, "
        f"{corpus['librispeech']['count']} training utterances of {corpus['librispeech']['min']:.1f}-"
        f"{corpus['librispeech']['max']:.1f} s (mean {corpus['librispeech']['mean']:.1f} s); IEMOCAP, "
        f"{corpus['iemocap']['count']} utterances of {corpus['iemocap']['min']:.1f}-{corpus['iemocap']['max']:.1f} s; "
        f"CMU-MOSEI SDK layout, {corpus['mosei']['count']} segments of {corpus['mosei']['min']:.1f}-"
        f"{corpus['mosei']['max']:.1f} s.",
        "",
        "| stage | status | s / step: first, then median | steps | train loop s | stage wall s | peak RSS GiB "
        "| peak GPU GiB | model on disk | resumable checkpoint |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for stage in report["stages"]:
        status = stage["status"] if stage["status"] != "ok" else "ok"
        first, steady = stage.get("first_step_s"), stage.get("steady_step_s")
        per_step = "—" if first is None else f"{first:,.1f}, {_fmt(steady, 1)}"
        if stage.get("per_batch_s") is not None:  # the pipeline: seconds per batch of inference
            per_step = f"{stage['per_batch_s']:,.2f} per batch of {stage['batch_size']}"
        lines.append(
            f"| {stage['name']} | {status} | {per_step} | {stage.get('steps', '—')} "
            f"| {_fmt(stage.get('train_loop_s'), 1)} | {_fmt(stage.get('wall_s'), 1)} "
            f"| {_fmt(stage.get('peak_rss_bytes'), 2, GIB)} | {_fmt(stage.get('peak_gpu_bytes'), 2, GIB)} "
            f"| {_size(stage.get('model_bytes'))} | {_size(stage.get('checkpoint_bytes'))} |"
        )
    lines += ["", "Per stage:", ""]
    for stage in report["stages"]:
        earlier = " (measured by an earlier invocation, `--resume`)" if stage.get("from_previous_run") else ""
        lines.append(f"- **{stage['name']}**{earlier}: {stage.get('note', '')}{_labelling_note(stage)}".rstrip())
        if stage.get("error"):
            lines += ["", "  ```", *("  " + line for line in stage["error"].splitlines()[-15:]), "  ```"]
    flops = report.get("flops")
    if flops:
        cost = report["projection"]
        lines += [
            "",
            "## Projected cost of the paper's pretraining run",
            "",
            f"FLOPs of one pretraining utterance, forward + backward, counted on the {flops['size']}-size CMT-Base model "
            f"({flops['method']}): **{flops['flops_per_utterance'] / 1e12:.2f} TFLOP** at "
            f"{flops['audio_seconds']:g} s of audio and {flops['text_tokens']} tokens (LibriSpeech 960 h's mean "
            f"utterance: 960 h / 281,241 utterances = 12.29 s; 33.4 words, about 45 RoBERTa tokens with <s> and </s>). "
            f"Forward {flops['forward_flops'] / 1e12:.2f} TFLOP: "
            + ", ".join(
                f"{name.replace('_', ' ')} {value / 1e12:.3f}" for name, value in flops["forward_by_component"].items()
            )
            + " TFLOP. Padding is not counted (length-grouped batches keep it small); nor are the optimizer, "
            "norms and elementwise ops.",
            "",
            "| | value |",
            "|---|---|",
            f"| run | {cost['updates']:,} updates x {cost['global_batch_size']} utterances "
            f"({cost['epochs_of_librispeech']:.0f} epochs of LibriSpeech 960 h) |",
            f"| FLOPs per update | {cost['flops_per_update'] / 1e15:.1f} PFLOP |",
            f"| FLOPs in all | {cost['total_flops']:.2e} |",
            f"| assumed sustained throughput | {cost['peak_tflops']:g} TFLOP/s peak bf16 x {cost['mfu']:.0%} MFU "
            f"= {cost['peak_tflops'] * cost['mfu']:.0f} TFLOP/s per GPU |",
            f"| GPU-hours | {cost['gpu_hours']:,.0f} |",
            f"| wall-clock on {cost['num_gpus']} GPUs | {cost['wall_hours']:,.1f} h = {cost['wall_days']:.2f} days |",
        ]
        measured = report.get("measured_projection")
        if measured:
            lines.append(
                f"| from the measured pretraining step instead ({measured['steps_per_update']:g} optimizer steps of "
                f"this run per update on {cost['num_gpus']} GPUs) | {measured['wall_hours']:,.1f} h = "
                f"{measured['wall_days']:.2f} days |"
            )
        lines += ["", report.get("projection_note", "")]
    lines += [
        "",
        "## Commands",
        "",
        "As run, in order (the README's, with the rehearsal's paths and a few steps):",
        "",
    ]
    for stage in report["stages"]:
        if stage.get("command"):
            lines += [f"{stage['name']}:", "", "```bash", stage["command"], "```", ""]
    lines += [f"Logs: `{report['output_dir']}/logs/`; this report: `{report['output_dir']}/report.md` (+ .json)."]
    return "\n".join(lines).rstrip() + "\n"


def finish_report(report: dict, args, output: Path, copy: bool) -> dict:
    """Adds the projection under `args`' assumptions to `report`, renders it and writes `output/report.md` + `.json`
    (and, with `copy`, `--results_path`); paths inside the repository are shown relative to it."""
    flops, setup = report.get("flops"), report["setup"]
    cost = projection(flops["flops_per_utterance"], args) if flops else None
    measured = None
    if cost and setup["device"] == "cuda":
        pretrain = next((record for record in report["stages"] if record["name"] == "pretrain"), {})
        measured = measured_projection(
            pretrain, args, setup["per_device_train_batch_size"], setup["gradient_accumulation_steps"]
        )
    report.update(
        projection=cost,
        measured_projection=measured,
        projection_note=projection_note(args, setup["device"], flops, cost),
    )
    inside = f"{REPO_ROOT}{os.sep}"
    markdown = render_markdown(report).replace(inside, "")
    paths = [output / "report.md"]
    if copy and args.results_path:
        paths.append(Path(args.results_path))
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown)
        path.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str).replace(inside, ""))
    return {
        **report,
        "written": [str(path) for base in paths for path in (base, base.with_suffix(".json"))],
        "markdown": markdown,
    }


def render_only(args, output: Path) -> dict:
    """--report_only: the report of the rehearsal in `output` again, projected under this command's --peak_tflops,
    --mfu, --num_gpus, --updates and --global_batch_size; nothing runs."""
    path = output / "report.json"
    if not path.is_file():
        raise ValueError(f"--report_only: {path} does not exist; run the rehearsal first.")
    report = json.loads(path.read_text())
    if args.results_path is None and report["setup"].get("results_path"):
        # as the report stores it: relative to the repository
        args.results_path = str(REPO_ROOT / report["setup"]["results_path"])
    if args.results_path == "none":
        args.results_path = None
    report = finish_report(report, args, output, copy=report.get("complete", False))
    print(report["markdown"])
    print("Report: " + ", ".join(report["written"]), flush=True)
    return report


def projection_note(args, device: str, report_flops: dict | None, cost: dict | None) -> str:
    note = (
        f"Assumptions: {args.global_batch_size} utterances per update at LibriSpeech's mean length; "
        f"{args.peak_tflops:g} TFLOP/s peak dense bf16 per GPU (A100: 312; H100 SXM: 989) at {args.mfu:.0%} MFU "
        "(--peak_tflops, --mfu). "
    )
    if report_flops and cost:
        rate = report_flops["achieved_flop_per_s"]
        note += (
            f"The counted step ran at {rate / 1e9:,.1f} GFLOP/s on this {device} "
            f"({report_flops['counted_step_s']:.1f} s, under the counter): the run would take "
            f"{cost['total_flops'] / rate / 86400 / 365:,.0f} years here."
        )
    return note
