# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The Markdown report (`latest.md`) rendered from the results dict that `run_benchmarks.py` writes to `latest.json`.
Pure formatting: it imports nothing of torch or the package, so a stored `latest.json` renders anywhere."""


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def _percent(share: float) -> str:
    return f"{100 * share:.3f}%" if share < 0.01 else f"{100 * share:.2f}%"


def _mfu(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


CLOCK_NAMES = {"cpu": "process CPU time", "wall": "wall-clock time"}


VARIANT_LABELS = {
    "cmt": "CMT-Base",
    "shallow": "shallow fusion (0 cross layers)",
    "text": "text backbone alone",
    "audio": "audio backbone alone",
    "pretraining": "CMT-Base pretraining",
    "pretraining_frozen_context": "CMT-Base pretraining, unmasked audio pass without gradients",
}


INFERENCE_LABELS = {
    "cmt_pipeline": "pipeline('audio-text-sentiment'), grouped by length (default)",
    "cmt_pipeline_input_order": "pipeline('audio-text-sentiment', group_by_length=False)",
    "cmt_bare_forward": "CMT forward on pre-batched inputs",
    "hubert_audio_classification_pipeline": "pipeline('audio-classification'), HuBERT",
    "roberta_text_classification_pipeline": "pipeline('text-classification'), RoBERTa",
}


GPU_VARIANT_LABELS = {
    "cmt_base": "CMT-Base fine-tuning",
    "cmt_large": "CMT-Large fine-tuning",
    "shallow": "shallow fusion (0 cross layers) fine-tuning",
    "pretraining": "CMT-Base pretraining",
}


GPU_HEADING = "## 6. GPU: bf16 training throughput and MFU"


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
    lines += onnx_target_rows(results.get("onnx"))
    if cpu_ran:
        lines += cpu_section_lines(results)
    else:
        lines += ["", "## 1-5. CPU sections", "", "Skipped (`--gpu_only`)."]
    lines += gpu_lines(gpu)
    lines += onnx_lines(results.get("onnx"), setup.get("timer", "cpu"))
    if results.get("data_path"):  # section 8, with --data_path
        lines += ["", "## 8. Training data path", "", data_path_markdown(results["data_path"])]
    if results.get("long_audio"):  # section 9, with --long_audio
        lines += ["", "## 9. Long recordings", "", long_audio_markdown(results["long_audio"])]
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


def _frozen_context(pre: dict) -> str:
    frozen = pre.get("frozen_context")
    if not frozen:
        return ""
    return (
        f" With the unmasked audio pass under no_grad (`audio_context_gradients=False`) the step takes "
        f"**{frozen['time_ratio']:.3f}x** the time of the default (FLOP ratio {frozen['flop_ratio']:.3f}), "
        f"{frozen['time_ratio_to_fine_tuning']:.3f}x a fine-tuning step (FLOP ratio "
        f"{frozen['flop_ratio_to_fine_tuning']:.3f})."
    )


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
    pretraining_rows = [("pretraining", pre["pretraining"])]
    if pre.get("frozen_context"):  # results from before the audio mask moved to the backbone's input have none
        pretraining_rows.append(("pretraining_frozen_context", pre["frozen_context"]["pretraining"]))
    for name, row in [*fine["variants"].items(), *pretraining_rows]:
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
        f"step: {100 * pre['second_text_pass_share']:.1f}% of the fine-tuning step's FLOPs.{_frozen_context(pre)}",
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


# ---------------------------------------------------------------------------------------------------------------------
# Section 7 (`bench_onnx.py`): absent from results written before it, and from runs without --onnx

ONNX_HEADING = "## 7. CPU inference: PyTorch eager vs ONNX Runtime fp32 and int8"
ONNX_BACKEND_LABELS = {
    "eager_fp32": "pipeline('audio-text-sentiment'), PyTorch eager fp32",
    "ort_fp32": "the same pipeline on `CMTOnnxModel`, ONNX Runtime fp32",
    "ort_int8": "the same pipeline on `CMTOnnxModel`, ONNX Runtime int8 (dynamic quantization)",
    "transformers_pipelines": "transformers' HuBERT audio-classification + RoBERTa text-classification pipelines, "
    "together",
}


def onnx_target_rows(onnx: dict | None) -> list[str]:
    """The Targets rows of section 7; none when it did not run."""
    if onnx is None:
        return []
    if not onnx["run"]:
        return [f"| CPU inference with ONNX Runtime (section 7) | not run: {onnx['reason']} | | — |"]
    ratios = onnx["throughput_vs_eager"]
    accuracy = onnx["quickstart_accuracy"]
    change = "" if accuracy is None else f", quickstart accuracy {accuracy['int8_change_points']:+.1f} points"
    fp32 = ", ".join(f"{ratios[str(b)]['ort_fp32']:.2f}x (batch {b})" for b in onnx["batch_sizes"])
    return [
        f"| ONNX Runtime int8 / eager fp32 throughput, batch 1 | {ratios['1']['ort_int8']:.2f}x{change} | >= 2x, "
        f"accuracy within 1 point | {_yes(onnx['int8_target_met'])} |",
        f"| ONNX Runtime fp32 / eager fp32 throughput | {fp32} | >= 1x | {_yes(onnx['fp32_target_met'])} |",
    ]


def onnx_lines(onnx: dict | None, timer: str) -> list[str]:
    """The Markdown of section 7; nothing when it did not run."""
    if onnx is None:
        return []
    if not onnx["run"]:
        return ["", ONNX_HEADING, "", f"Not run: {onnx['reason']}."]
    sizes = onnx["batch_sizes"]
    per_s, ratios = onnx["utterances_per_s"], onnx["throughput_vs_eager"]
    lines = [
        "",
        ONNX_HEADING,
        "",
        f"{onnx['utterances']} utterances per run, in the input order; {CLOCK_NAMES[timer]}, median of the repeats; "
        "ratios are throughput over eager's within each repeat.",
        "",
        "| backend | "
        + " | ".join(f"utterances / s, batch {b}" for b in sizes)
        + " | "
        + " | ".join(f"x eager, batch {b}" for b in sizes)
        + " |",
        "|---|" + "---|" * (2 * len(sizes)),
    ]
    for name, label in ONNX_BACKEND_LABELS.items():
        lines.append(
            f"| {label} | "
            + " | ".join(f"{per_s[str(b)][name]:.2f}" for b in sizes)
            + " | "
            + " | ".join(f"{ratios[str(b)][name]:.2f}" for b in sizes)
            + " |"
        )
    size, agreement = onnx["size_mib"], onnx["agreement_with_eager"]
    lines += [
        "",
        f"Files: `model.onnx` {size['ort_fp32']:.1f} MiB, `model_quantized.onnx` {size['ort_int8']:.1f} MiB "
        f"({size['ort_fp32'] / size['ort_int8']:.2f}x smaller); the export (both files and the parity check) took "
        f"{onnx['export_s']:.0f} s. Logits against eager on 8 of the utterances (random weights: numerics, not "
        f"accuracy): fp32 max |diff| {agreement['ort_fp32']['max_abs_logit_diff']:.1e}, int8 max |diff| "
        f"{agreement['ort_int8']['max_abs_logit_diff']:.1e}, int8 top-1 agreement "
        f"{100 * agreement['ort_int8']['top1_agreement']:.0f}%.",
    ]
    accuracy = onnx["quickstart_accuracy"]
    if accuracy is not None:
        acc = accuracy["accuracy"]
        lines += [
            "",
            f"Quickstart test split ({accuracy['utterances']} utterances, the fine-tuned tiny CMT): accuracy eager "
            f"{100 * acc['eager_fp32']:.1f}%, ONNX Runtime fp32 {100 * acc['ort_fp32']:.1f}%, int8 "
            f"{100 * acc['ort_int8']:.1f}% (**{accuracy['int8_change_points']:+.1f} points**; int8 predictions equal "
            f"eager's on {100 * accuracy['int8_prediction_agreement']:.1f}%); files "
            f"{accuracy['size_mib']['ort_fp32']:.2f} MiB fp32, {accuracy['size_mib']['ort_int8']:.2f} MiB int8.",
        ]
    lines += ["", "Where one batch-1 forward spends its time (self time by op, top ones):", ""]
    for name in ("eager_fp32", "ort_fp32", "ort_int8"):
        profile = onnx["profiles_batch_1"][name]
        ops = ", ".join(f"`{op['op']}` {100 * op['share']:.0f}%" for op in profile["top_ops"])
        lines.append(f"- {ONNX_BACKEND_LABELS[name].split(', ')[-1]} ({profile['total_s']:.3f} s): {ops}.")
    return lines


def onnx_markdown(results: dict) -> str:
    """The report of section 7 run alone (`python benchmarks/bench_onnx.py`)."""
    machine, onnx = results["machine"], results["onnx"]
    lines = [
        f"# CMT benchmarks: section 7 alone ({results['size']})",
        "",
        f"- Machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs; load average (1 min) "
        f"{machine['load_average_start'][0]:.2f} at start, {machine['load_average_end'][0]:.2f} at end.",
        f"- Software: Python {machine['python']}, torch {machine['torch']} ({machine['torch_threads']} intra-op "
        f"thread(s); ONNX Runtime the same, 1 inter-op), transformers {machine['transformers']}; commit "
        f"{machine['commit'] or 'n/a'}.",
        f"- Models: {results['preset']}, random weights; CMT-Base classifier.",
        "",
        "## Targets",
        "",
        "| measure | value | target | met |",
        "|---|---|---|---|",
        *onnx_target_rows(onnx),
        *onnx_lines(onnx, results["timer"]),
    ]
    return "\n".join(lines) + "\n"


# Section 8 (`bench_data_path.py`): absent from results written before it, and from runs without --data_path


def _bytes(value: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.0f} B"


def _span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.2g} h"
    return f"{seconds / 60:.2g} min" if seconds >= 60 else f"{seconds:.2g} s"


def data_path_markdown(result: dict) -> str:
    """The figures as a Markdown table and two notes."""
    corpus, codes, decoding = result["corpus"], result["audio_codes"], result["decoding"]
    lines = [
        f"Data path (issue #11 §3), one process: {corpus['hours']:.2f} h of generated LibriSpeech-layout FLAC, "
        f"{corpus['utterances']} utterances of {corpus['min_seconds']:.1f}-{corpus['max_seconds']:.1f} s (mean "
        f"{corpus['mean_seconds']:.1f} s); projected to LibriSpeech's 960.9 h (281,241 utterances).",
        "",
        "| data path | prepared corpus per hour | preparation per hour | prepared corpus, 960 h | to first batch, 960 h |",
        "|---|---|---|---|---|",
    ]
    for name, key in (("before: float32 waveforms up front", "before"), ("now: headers, decoding on the fly", "now")):
        row = result[key]
        lines.append(
            f"| {name} | {_bytes(row['stored_bytes_per_hour'])} | {row['prepare_s_per_hour']:.3g} s | "
            f"{_bytes(row['stored_bytes_960h'])} | {_span(row['to_first_batch_s_960h'])} |"
        )
    lines += [
        "",
        f"Codeword ids (pretraining; the same both ways): {_bytes(codes['stored_bytes_per_hour'])} per hour, "
        f"{_bytes(codes['stored_bytes_960h'])} for 960 h.",
        f"Decoding on the fly: {decoding['audio_seconds_per_second']:.0f} s of audio per second and process, "
        f"{decoding['seconds_per_batch_of_16']:.2f} s for a batch of 16 LibriSpeech utterances, spread over "
        "--dataloader_num_workers processes beside the training step.",
    ]
    return "\n".join(lines)


# Section 9 (`bench_long_audio.py`): absent from results written before it, and from runs without --long_audio


def _fraction(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}%"


def long_audio_markdown(result: dict) -> str:
    """Time and memory against the recording's length, the segmentation and the labels, as Markdown."""
    lengths, segmentation, labels = result["lengths"], result["segmentation"], result["labels"]
    first = lengths[0]["minutes"]
    lines = [
        f"Long recordings (issue #12), `pipeline(...)(recording, return_timeline=True)`: {result['model']}; each "
        f"segment transcribed by `{result['asr_model']}`. Recordings of utterances said by piper's neural voice "
        f"({result['pool_utterances']} emotional sentences of the quickstart corpus) joined with "
        f"{result['pauses_s'][0]}-{result['pauses_s'][1]} s pauses over a noise floor, 22.05 kHz WAV on disk. One "
        "subprocess per length, warmed up on a 20 s recording; peak RSS is the whole process (model, ASR, "
        "libraries), growth is its rise during the timeline.",
        "",
        f"| recording | utterances | segments | wall time | wall / min of audio | vs {first} min | CPU / min | "
        f"vs {first} min | peak RSS | vs {first} min | RSS growth | float32 audio at 16 kHz |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in lengths:
        lines.append(
            f"| {row['minutes']} min | {row['utterances']} | {row['segments']} | {row['wall_s']:.0f} s | "
            f"{row['wall_s_per_min']:.1f} s | {row['wall_per_min_vs_first']:.2f}x | {row['cpu_s_per_min']:.1f} s | "
            f"{row['cpu_per_min_vs_first']:.2f}x | {row['peak_rss_mib']:.0f} MiB | {row['peak_rss_vs_first']:.2f}x | "
            f"{row['rss_growth_mib']:.0f} MiB | {row['float32_16k_mib']:.0f} MiB |"
        )
    met = result["targets_met"]
    spread = result["time_spread"]
    lines += [
        "",
        "| target | measured | goal | met |",
        "|---|---|---|---|",
        f"| time per minute of audio, {result['minutes'][0]}-{result['minutes'][-1]} min | largest / smallest - 1: "
        f"{_fraction(spread['wall'])} wall, {_fraction(spread['cpu'])} CPU | within 20% | {_yes(met['time'])} |",
        f"| peak memory | largest / smallest - 1: {_fraction(result['memory_spread'])} | within 20% | "
        f"{_yes(met['memory'])} |",
        f"| segment boundaries within 0.3 s | {_fraction(segmentation['right'])} of {segmentation['utterances']} "
        f"utterances (median error {segmentation['median_boundary_error_s']:.2f} s, 95th percentile "
        f"{segmentation['p95_boundary_error_s']:.2f} s; {segmentation['missed']} missed, {segmentation['shared']} "
        f"sharing a segment) | >= 95% | {_yes(met['boundaries'])} |",
        f"| segment labels equal to the single-utterance pipeline's on the same audio (the segment's samples and "
        f"text; the {first} min recording) | {_fraction(labels['equal_on_same_samples'])} of "
        f"{labels['same_samples_compared']} | all | {_yes(met['labels'])} |",
        "",
        f"Time is judged on the processes' CPU time ({result['threads'] or 'default'} thread(s), as sections 1-5: "
        "other jobs share this machine and move the wall clock).",
        "",
        f"Against each utterance cut by hand at its true boundaries (its own audio, without the segment's margins of "
        f"silence, transcribed alone by the same ASR), the segment labels agree for "
        f"{_fraction(labels['equal_to_single_utterance'])} of the {labels['compared']} utterances whose segment is "
        "right: on Whisper's transcripts (its full stops and digits, which the quickstart's transcripts never have) "
        "this model leans on the audio, and the margins move it; with the true transcripts (below) the margins do not.",
    ]
    if result.get("plot"):
        lines += ["", f"The timeline figure (`{result['plot']['png']}`) was made by `{result['plot']['command']}`."]
    aligned = result.get("aligned_transcript")
    if aligned:
        lines += [
            "",
            f"With its whole transcript given instead (`text=`, split over the segments by aligning it to Whisper's "
            f"words), the {aligned['minutes']:.0f} min recording's segments get exactly their utterance's text for "
            f"{_fraction(aligned['text_equal'])} of the {aligned['compared']} utterances whose segment is right, and "
            f"the label of the utterance cut by hand at its true boundaries with that text for "
            f"{_fraction(aligned['label_equal_to_hand_cut'])}.",
        ]
    if labels["equal_to_known_label"] is not None:
        lines += [
            "",
            f"For information: the segment labels equal the sentences' own emotion for "
            f"{_fraction(labels['equal_to_known_label'])} of the segments (Whisper's transcripts; the model was trained "
            "on eSpeak's voice, not piper's).",
        ]
    return "\n".join(lines)
