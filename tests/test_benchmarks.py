# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of `benchmarks/`: the Markdown report rendered from the stored `results/latest.json`; the pure helpers and the
command line; section 6 (GPU bf16 throughput and MFU), whose measuring code runs here on the CPU at the tiny size under
CPU autocast; and one smoke run of the driver, as a user types it, at the tiny size. No timing is asserted. The FLOP
arithmetic: test_benchmark_flops.py."""

import json
import os
import statistics
import subprocess
import sys


import benchmark_testing  # noqa: F401  # isort: skip  (first: puts benchmarks/ on sys.path)
import arguments  # noqa: E402
import bench_gpu  # noqa: E402
import bench_memory  # noqa: E402
import bench_training  # noqa: E402
import common  # noqa: E402
import flops  # noqa: E402
import pytest
import report  # noqa: E402
import run_benchmarks  # noqa: E402
import torch
from bench_inference import padding_share  # noqa: E402
from benchmark_testing import HEADINGS, REPO_ROOT, SCRIPT, STORED, STORED_MARKDOWN, one_thread  # noqa: F401  (one_thread: an autouse fixture)


# ---------------------------------------------------------------------------------------------------------------------
# The report, rendered from the stored figures


def test_render_reproduces_the_committed_report():
    assert report.render_markdown(STORED) == STORED_MARKDOWN


def test_report_key_lines():
    markdown = report.render_markdown(STORED)
    for heading in HEADINGS:
        assert heading in markdown, heading
    for line in (
        "| CMT / shallow fine-tuning step: time ratio vs FLOP ratio | 1.103 vs 1.145 (time / FLOP 0.964) | within 5% "
        "| yes |",
        "| pipeline throughput / HuBERT + RoBERTa pipelines', same batches | 0.923x (FLOPs allow 0.874x; grouped by "
        "length 0.829x) | >= 0.9x | yes |",
        "| CMT-Base | 256.2 M | 11.392 | 4.079 | 7.297 | 0.211 | 11.656 | 857.5 | 75.3 |",
        "| CMT-Base pretraining, unmasked audio pass without gradients | 257.3 M | 15.399 | 7.540 | 7.657 | 0.239 | "
        "15.688 | 1153.3 | 74.9 |",
        "| off | 3520 | 5209 | 1689 | 977 | 18.506 |",
        "| GPU: bf16 training samples/s and MFU at full size | not run: no CUDA device | figures only | — |",
    ):
        assert f"\n{line}\n" in markdown, line
    assert "Forward GFLOP of one batch: CMT 571.6, HuBERT classifier 456.1, RoBERTa classifier 43.8." in markdown
    assert "**1.26x**; padding is 46.04% vs 33.44% of the batched audio" in markdown
    assert "Checkpointing saves 41.5% of the step's transient memory." in markdown
    assert "\n## 6. GPU: bf16 training throughput and MFU\n\nNot run: no CUDA device.\n" in markdown
    assert "the step takes **0.639x** the time of the default (FLOP ratio 0.715)" in markdown
    assert "| now: headers, decoding on the fly | 224 kB | 0.0566 s | 215 MB | 54 s |" in markdown


def test_report_of_partial_runs():
    markdown = report.render_markdown({**STORED, "memory": None})
    section = markdown.split("## 5. Peak memory of a CMT-Base fine-tuning step")[1].split("\n## ")[0]
    assert section.strip() == "Skipped (`--skip_memory`)."
    assert "| off | 3520 |" not in markdown and "## 6. GPU" in markdown

    unreset = json.loads(json.dumps(STORED["memory"]))  # where /proc/self/clear_refs is not allowed
    for probe in (unreset["without_checkpointing"], unreset["with_checkpointing"]):
        probe["step_transient_mib"] = None
    unreset["transient_saved_by_checkpointing"] = None
    lines = "\n".join(report.memory_lines(unreset, "cpu"))
    assert "| off | 3520 | 5209 | n/a | 977 | 18.506 |" in lines and "Checkpointing saves n/a%" in lines

    profile = {"self_cpu_s": 2.0, "top_ops": [{"op": "aten::mm", "self_cpu_s": 0.5, "calls": 7}]}
    markdown = report.render_markdown({**STORED, "profile": {"shallow": profile}})
    assert "## Profile: one shallow fusion (0 cross layers) step (2.00 s self CPU time in all)" in markdown
    assert markdown.endswith("| `aten::mm` | 0.500 | 25.0% | 7 |\n")


def cuda_results() -> dict:
    """Section 6 figures as a CUDA run writes them (made up: no GPU here), for the report's CUDA-only lines."""
    peak = 989.4e12
    variants = {}
    for index, name in enumerate(bench_gpu.GPU_VARIANTS):
        variants[name] = {
            "parameters": 300e6 + 100e6 * index,
            "flops": 4e12 + 1e12 * index,
            "first_loss": 1.4,
            **flops.throughput_figures(4e12 + 1e12 * index, [0.02 + 0.01 * index] * 3, 8, peak),
            "allocated_before_step_gib": 4.5 + index,
            "peak_allocated_gib": 20.25 + index,
        }
    return {
        "run": True,
        "device": "cuda",
        "device_name": "NVIDIA H200",
        "cuda": "12.8",
        "compute_capability": [9, 0],
        "device_memory_gib": 139.8,
        "dtype": "bfloat16",
        "precision": bench_gpu.MIXED_PRECISION,
        "backbones": common.SIZES["large"].description,
        "cross_intermediate_size": 4096,
        "batch_size": 8,
        "audio_seconds": 10.0,
        "audio_samples": 160000,
        "audio_frames": 499,
        "text_tokens": 32,
        "warmup": 3,
        "repeats": 3,
        "peak_flop_per_s": peak,
        "peak_source": flops.peak_bf16_flops("NVIDIA H200")[1],
        "flop_method": flops.FLOP_METHOD,
        "variants": variants,
    }


def test_gpu_report_of_a_cuda_run():
    gpu = cuda_results()
    lines = "\n".join(report.gpu_lines(gpu))
    device = "- Device: NVIDIA H200 (140 GiB, compute capability 9.0, CUDA 12.8); peak dense bfloat16 989.4 TFLOP/s"
    assert device in lines
    # CMT-Base: 4 TFLOP in 0.02 s = 200 TFLOP/s, 20.2% of 989.4; 8 samples / 0.02 s = 400 samples/s
    assert "| CMT-Base fine-tuning | 300.0 M | 0.0200 | 400.00 | 4000.0 | 200.00 | 20.2% | 4.50 | 20.25 |" in lines
    assert "Memory: torch.cuda.memory_allocated before a timed step" in lines and "MFU: n/a" not in lines
    rows = report.gpu_target_rows(gpu)
    assert rows[0] == (
        "| GPU, bfloat16: CMT-Base fine-tuning step (batch 8, 10.0 s audio) | 400.0 samples/s, MFU 20.2% | "
        "figures only | — |"
    )
    assert set(report.GPU_VARIANT_LABELS) == set(bench_gpu.GPU_VARIANTS)

    # --gpu_only: sections 1-5 skipped, the report keeps the GPU's figures
    results = {**STORED, "gpu": gpu, "profile": None}
    results.update({section: None for section in common.SECTIONS if section != "gpu"})
    markdown = report.render_markdown(results)
    assert markdown.startswith("# CMT benchmarks (GPU only)\n")
    assert "section 6 alone ran (`--gpu_only`), on the GPU in bfloat16 mixed precision" in markdown
    assert "## 1. Fine-tuning" not in markdown and "Skipped (`--gpu_only`)." in markdown


# ---------------------------------------------------------------------------------------------------------------------
# Pure helpers and the command line


def test_ratios_pair_the_variants_of_one_repeat():
    # the machine runs 8% slower in the first repeat: each repeat's own ratio is 1.2, the ratio of medians is not
    cmt, shallow = [12.96, 12.0, 12.0], [10.8, 10.0, 10.0]
    assert common.paired_ratio(cmt, shallow) == pytest.approx(1.2)
    cmt[2] = 13.0  # a slow third CMT repeat moves the median CMT time to the slow first repeat's
    assert common.paired_ratio(cmt, shallow) == pytest.approx(1.2)
    assert statistics.median(cmt) / statistics.median(shallow) == pytest.approx(1.296)
    with pytest.raises(ValueError):
        common.paired_ratio([1.0, 2.0], [1.0])


def test_within():
    assert common.within(1.049, 1.0, 0.05) and common.within(0.951, 1.0, 0.05)
    assert not common.within(1.06, 1.0, 0.05) and not common.within(0.9, 1.0, 0.05)


def test_padding_share():
    lengths = [4, 1, 3, 2]
    # in the input order: batches (4, 1) and (3, 2) pad 3 + 1 of 8 + 6 samples; longest first: (4, 3), (2, 1) pad 1 + 1
    assert padding_share(lengths, [0, 1, 2, 3], 2) == pytest.approx(4 / 14)
    assert padding_share(lengths, [0, 2, 3, 1], 2) == pytest.approx(2 / 12)
    assert padding_share(lengths, [0, 1, 2, 3], 4) == pytest.approx(6 / 16)


def step_row(flops_: int, cpu_steps: list[float], text_forward: int = 0) -> dict:
    """A training-variant row of `bench_training` with the figures the section arithmetic reads."""
    time = {"step": statistics.median(cpu_steps)}
    return {
        "flops": flops_,
        "cpu_steps": cpu_steps,
        "wall_steps": [2 * s for s in cpu_steps],
        "time": time,
        "forward_flops_by_component": {"text_backbone": text_forward},
    }


def test_section_arithmetic():
    training = {
        "cmt": step_row(1150, [2.3, 2.2, 2.4], text_forward=100),
        "shallow": step_row(1000, [2.0, 2.0, 2.0]),
        "text": step_row(300, [0.5, 0.5, 0.5]),
        "audio": step_row(700, [1.5, 1.5, 1.5]),
        "pretraining": step_row(1450, [3.45, 3.3, 3.6], text_forward=200),
        "pretraining_frozen_context": step_row(1160, [2.76, 2.64, 2.88], text_forward=200),
    }
    fine = bench_training.fine_tuning_section(training, "cpu")
    assert fine["time_ratio"] == pytest.approx(1.15) and fine["flop_ratio"] == pytest.approx(1.15)
    assert fine["time_ratio_by_clock"]["wall"] == pytest.approx(1.15)
    assert fine["efficiency"] == pytest.approx(1.0) and fine["target_met"] is True
    assert set(fine["variants"]) == {"cmt", "shallow", "text", "audio"}
    training["cmt"]["cpu_steps"] = [2.5, 2.4, 2.6]  # 1.25 against a FLOP ratio of 1.15: 8.7% off
    assert bench_training.fine_tuning_section(training, "cpu")["target_met"] is False

    pre = bench_training.pretraining_section(training, "cpu")
    assert pre["time_ratio"] == pytest.approx(3.45 / 2.5) and pre["flop_ratio"] == pytest.approx(1450 / 1150)
    assert pre["text_backbone_passes"] == 2.0 and pre["second_text_pass_share"] == pytest.approx(300 / 1150)
    frozen = pre["frozen_context"]
    assert frozen["time_ratio"] == pytest.approx(0.8) and frozen["flop_ratio"] == pytest.approx(1160 / 1450)
    assert frozen["time_ratio_to_fine_tuning"] == pytest.approx(2.76 / 2.5)


def test_variant_inputs():
    batch = {key: torch.zeros(1) for key in (*common.TEXT_KEYS, *common.AUDIO_KEYS, "labels")}
    assert tuple(bench_training.variant_batch("text", batch)) == (*common.TEXT_KEYS, "labels")
    assert tuple(bench_training.variant_batch("audio", batch)) == (*common.AUDIO_KEYS, "labels")
    assert tuple(bench_training.variant_batch("cmt", batch)) == (*common.TEXT_KEYS, *common.AUDIO_KEYS, "labels")
    batches = {"fine_tuning": batch, "pretraining": {"input_ids": torch.ones(1)}}
    assert bench_training.step_inputs("pretraining", batches) is batches["pretraining"]
    assert bench_training.step_inputs("pretraining_frozen_context", batches) is batches["pretraining"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--repeats", "0"], "--repeats"),
        (["--warmup", "0"], "--warmup"),
        (["--audio_seconds", "-1"], "--audio_seconds"),
        (["--memory_probe", "maybe"], "--memory_probe"),
        (["--gpu_repeats", "0"], "--gpu_repeats"),
        (["--gpu_batch_size", "0"], "--gpu_batch_size"),
        (["--gpu_warmup", "-1"], "--gpu_warmup"),
        (["--gpu_audio_seconds", "0"], "--gpu_audio_seconds"),
        (["--peak_tflops", "-5"], "--peak_tflops"),
    ],
)
def test_bad_arguments(argv, message):
    with pytest.raises(ValueError, match=message):
        arguments.resolve_arguments(argv)


def test_defaults_follow_the_size():
    args, _ = arguments.resolve_arguments(["--size", "tiny"])
    assert args.timer == "cpu" and args.threads == 1 and args.repeats == 1
    assert args.device == ("cuda" if torch.cuda.is_available() else "cpu")  # auto
    assert (args.gpu_batch_size, args.gpu_audio_seconds, args.gpu_text_tokens, args.peak_tflops) == (8, 10.0, 32, None)
    assert args.output_dir == str(REPO_ROOT / "benchmarks" / "results")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize("argv", [["--device", "cuda"], ["--gpu_only"]])
def test_cuda_options_without_cuda(argv):
    with pytest.raises(ValueError, match="CUDA"):
        arguments.resolve_arguments(argv)


# ---------------------------------------------------------------------------------------------------------------------
# Section 5 (memory): the probe in this process at the tiny size, and the driver command lines that run it


def test_memory_probe_at_tiny_size():
    args, preset = arguments.resolve_arguments(["--size", "tiny", "--memory_probe", "on"])
    probe = bench_memory.run_memory_probe(args, preset)
    assert probe["activation_checkpointing"] is True
    assert probe["peak_mib"] >= probe["resident_before_step_mib"] > 0 and probe["gradients_mib"] > 0
    if probe["peak_reset"]:
        assert probe["step_transient_mib"] == pytest.approx(probe["peak_mib"] - probe["resident_before_step_mib"])
    else:
        assert probe["step_transient_mib"] is None
    assert set(probe["step_s"]) == set(common.CLOCKS)


def test_memory_section_runs_the_driver_once_per_variant(monkeypatch):
    args, _ = arguments.resolve_arguments(["--size", "tiny", "--batch_size", "3", "--seed", "7"])
    commands = []

    def fake_run(command, env, capture_output, text):
        commands.append(command)
        transient = 100.0 if command[-1].endswith("off") else 60.0
        figures = {"step_transient_mib": transient, "checkpointing": command[-1]}
        return subprocess.CompletedProcess(command, 0, stdout=f"progress\n{json.dumps(figures)}\n", stderr="")

    monkeypatch.setattr(bench_memory.subprocess, "run", fake_run)
    memory = bench_memory.memory_section(args)
    assert [command[0] for command in commands] == [sys.executable] * 2
    assert {command[1] for command in commands} == {str(SCRIPT)}  # the driver, whose --memory_probe measures
    for command, variant in zip(commands, ("off", "on")):
        probe_args, _ = arguments.resolve_arguments(command[2:])
        assert (probe_args.memory_probe, probe_args.size, probe_args.batch_size, probe_args.seed) == (
            variant,
            "tiny",
            3,
            7,
        )
    assert memory["without_checkpointing"]["checkpointing"] == "--memory_probe=off"
    assert memory["transient_saved_by_checkpointing"] == pytest.approx(0.4)


# ---------------------------------------------------------------------------------------------------------------------
# One smoke run of the driver at the tiny size (the memory subprocesses are tested above: they would double its time)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("bench")
    # --device cpu: on a CUDA machine the default would add section 6 at full size
    command = [sys.executable, str(SCRIPT), "--size", "tiny", "--collator_calls", "3", "--profile", "--device", "cpu"]
    command += ["--inference_batch_size", "4"]  # two batches of the 8 utterances: length grouping has work to do
    command += ["--skip_memory", "--output_dir", str(output_dir)]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads((output_dir / "latest.json").read_text()), (output_dir / "latest.md").read_text(), result.stdout


def test_smoke_run_writes_every_section(tiny_run):
    results, markdown, stdout = tiny_run
    # the schema of the committed results, less the sections only asked-for runs have (--onnx, --data_path)
    assert set(results) == set(STORED) - {"onnx", "data_path"}
    for section in ("machine", "setup", *common.SECTIONS):
        assert results[section] or section == "memory", section
    assert results["memory"] is None and "Skipped (`--skip_memory`)." in markdown
    for heading in HEADINGS:
        assert heading in markdown, heading
    assert "Skipped (`--gpu_only`)" not in markdown
    assert markdown.count("## Profile: one ") == 3 and set(results["profile"]) == {"cmt", "shallow", "pretraining"}
    assert markdown == report.render_markdown(results)
    assert markdown.strip() in stdout  # the table is printed too
    assert results["machine"]["torch_threads"] == 1 and results["setup"]["timer"] == "cpu"

    reason = run_benchmarks.gpu_not_run_reason()
    assert reason == ("--device cpu" if torch.cuda.is_available() else "no CUDA device")
    assert results["gpu"] == {"run": False, "reason": reason}
    section = markdown.split("## 6. GPU: bf16 training throughput and MFU")[1].split("\n## ")[0]
    assert section.strip() == f"Not run: {reason}."
    assert f"| GPU: bf16 training samples/s and MFU at full size | not run: {reason} |" in markdown


def test_smoke_run_results_are_consistent(tiny_run):
    results = tiny_run[0]
    fine = results["fine_tuning"]
    variants = fine["variants"]
    assert set(variants) == {"cmt", "shallow", "text", "audio"}
    for name, row in [*variants.items(), ("pretraining", results["pretraining"]["pretraining"])]:
        assert row["flops"] > 0 and row["parameters"] > 0, name
        assert row["time"]["step"] > 0 and len(row["cpu_steps"]) == len(row["wall_steps"]) == 1, name
    # the cross-modal layers add work and weights on top of shallow fusion, which holds both backbones
    assert variants["cmt"]["flops"] > variants["shallow"]["flops"]
    assert variants["cmt"]["parameters"] > variants["shallow"]["parameters"]
    assert variants["shallow"]["flops"] >= variants["text"]["flops"] + variants["audio"]["flops"]
    assert fine["flop_ratio"] == pytest.approx(variants["cmt"]["flops"] / variants["shallow"]["flops"])
    assert fine["time_ratio"] == pytest.approx(variants["cmt"]["cpu_steps"][0] / variants["shallow"]["cpu_steps"][0])
    components = variants["cmt"]["forward_flops_by_component"]
    assert all(components[key] > 0 for key in components)
    assert (
        components["text_backbone"] + components["audio_backbone"] + components["cross_modal_encoder"]
        <= (variants["cmt"]["forward_flops"])
    )
    # pretraining runs the text backbone twice on same-shaped inputs
    assert results["pretraining"]["text_backbone_passes"] == pytest.approx(2.0)

    inference = results["inference"]
    assert inference["utterances"] == 8 and inference["batch_size"] == 4
    assert set(inference["seconds"]["cpu"]) == set(STORED["inference"]["seconds"]["cpu"])
    flops_ = inference["forward_flops_first_batch"]
    assert flops_["cmt"] > flops_["hubert"] + flops_["roberta"] > 0
    grouping = inference["length_grouping"]
    assert grouping["utterances"] == 8 and len(set(grouping["audio_seconds"])) > 1
    padding = grouping["audio_padding_share"]
    assert 0 <= padding["grouped"] < padding["input_order"] < 1
    assert isinstance(fine["target_met"], bool) and isinstance(results["collator"]["target_met"], bool)


@pytest.fixture(scope="module")
def tokenizer():
    return common.build_tokenizer(10**9)


# ---------------------------------------------------------------------------------------------------------------------
# Section 6 (GPU): its code run on the CPU at the tiny size, with CPU bf16 autocast

PEAK = 2e12  # a peak given to the tiny CPU run, so that its MFU arithmetic is exercised


@pytest.fixture(scope="module")
def tiny_gpu_section():
    return bench_gpu.gpu_section(
        common.SIZES["tiny"],
        torch.device("cpu"),
        torch.bfloat16,
        batch_size=2,
        audio_seconds=0.1,
        text_tokens=12,
        warmup=1,
        repeats=3,
        peak_flops=PEAK,
        peak_source="given in the test",
    )


@pytest.fixture(scope="module")
def tiny_batch(tokenizer):
    processor = common.CMTProcessor(feature_extractor=common.default_feature_extractor(), tokenizer=tokenizer)
    config = common.cmt_config(common.SIZES["tiny"], len(tokenizer))
    features = common.build_features(processor, common.build_utterances(tokenizer, 2, 0.1, 12, seed=0), config, 0)
    return config, bench_gpu.DataCollatorForCMT(tokenizer)(
        [{k: v for k, v in f.items() if k != "audio_codes"} for f in features]
    )


def test_mixed_precision_step_is_autocast_over_fp32_weights(tiny_batch):
    """Trainer's `--bf16`: matmuls in bfloat16 under autocast, fp32 weights updated by the optimizer."""
    config, batch = tiny_batch
    torch.manual_seed(0)
    model = bench_gpu.CMTForSequenceClassification(config).train()
    optimizer = common.make_optimizer(model.parameters())
    before = {name: param.detach().clone() for name, param in model.named_parameters()}
    output_dtypes = set()
    hooks = [
        module.register_forward_hook(lambda module, args, output: output_dtypes.add(output.dtype))
        for module in model.modules()
        if isinstance(module, torch.nn.Linear)
    ]
    seconds, loss = bench_gpu.mixed_precision_step(model, batch, optimizer, torch.bfloat16)
    for hook in hooks:
        hook.remove()
    assert output_dtypes == {torch.bfloat16}
    assert seconds > 0 and torch.isfinite(loss) and not loss.requires_grad
    assert all(param.dtype == torch.float32 and param.grad is None for param in model.parameters())
    changed = [name for name, param in model.named_parameters() if not torch.equal(param, before[name])]
    assert any(name.startswith("classifier") for name in changed) and any(".encoder." in name for name in changed)


def test_gpu_section_figures(tiny_gpu_section, tiny_run):
    gpu = tiny_gpu_section
    assert gpu["run"] and gpu["dtype"] == "bfloat16" and gpu["device"] == "cpu"
    assert (gpu["batch_size"], gpu["audio_samples"], gpu["text_tokens"]) == (2, 1600, 12)
    variants = gpu["variants"]
    assert tuple(variants) == bench_gpu.GPU_VARIANTS
    for name, row in variants.items():
        assert len(row["step_s_all"]) == 3 and min(row["step_s_all"]) > 0, name
        assert row["step_s"] == pytest.approx(statistics.median(row["step_s_all"]), abs=1e-6), name
        assert row["samples_per_s"] == pytest.approx(2 / row["step_s"]), name
        assert row["achieved_flop_per_s"] == pytest.approx(row["flops"] / row["step_s"]), name
        assert row["mfu"] == pytest.approx(row["flops"] / row["step_s"] / PEAK), name
        assert row["allocated_before_step_gib"] is None and row["peak_allocated_gib"] is None  # CUDA only
    assert variants["cmt_large"]["flops"] > variants["cmt_base"]["flops"] > variants["shallow"]["flops"] > 0
    assert variants["cmt_large"]["parameters"] > variants["cmt_base"]["parameters"] > variants["shallow"]["parameters"]
    # one FLOP counter for both sections: counts follow shapes, not dtypes (same tiny shapes as the fp32 smoke run)
    results = tiny_run[0]
    assert variants["cmt_base"]["flops"] == results["fine_tuning"]["variants"]["cmt"]["flops"]
    assert variants["shallow"]["flops"] == results["fine_tuning"]["variants"]["shallow"]["flops"]
    assert variants["pretraining"]["flops"] == results["pretraining"]["pretraining"]["flops"]


def test_gpu_section_markdown(tiny_gpu_section, tiny_run):
    gpu = tiny_gpu_section
    lines = "\n".join(report.gpu_lines(gpu))
    assert "peak dense bfloat16 2.0 TFLOP/s (given in the test)" in lines
    for name, row in gpu["variants"].items():
        assert f"| {report.GPU_VARIANT_LABELS[name]} | " in lines
        assert f"| {row['samples_per_s']:.2f} | " in lines and f"| {100 * row['mfu']:.1f}% | " in lines
    rows = report.gpu_target_rows(gpu)
    assert len(rows) == 4 and all("samples/s, MFU " in row and "n/a" not in row for row in rows)

    unknown = {**gpu, "peak_flop_per_s": None, "peak_source": "'Mystery GPU' is not in the table"}
    unknown["variants"] = {name: {**row, "mfu": None} for name, row in gpu["variants"].items()}
    lines = "\n".join(report.gpu_lines(unknown))
    assert "MFU: n/a, 'Mystery GPU' is not in the table." in lines
    assert all(row.endswith("MFU n/a | figures only | — |") for row in report.gpu_target_rows(unknown))

    # the whole report, with sections 1-5 (CPU + GPU run) and without them (--gpu_only)
    results = {**STORED, "gpu": gpu, "profile": tiny_run[0]["profile"]}
    markdown = report.render_markdown(results)
    assert "section 6 on the GPU in bfloat16 mixed precision" in markdown and "## 5. Peak" in markdown
    assert markdown.index("## 5. Peak") < markdown.index(report.GPU_HEADING) < markdown.index("## Profile")
    results.update({section: None for section in common.SECTIONS if section != "gpu"})
    markdown = report.render_markdown(results)
    assert "## 1. Fine-tuning" not in markdown and "Skipped (`--gpu_only`)." in markdown
    assert report.GPU_HEADING in markdown and "| GPU, bfloat16: CMT-Base fine-tuning step" in markdown


@pytest.mark.parametrize(
    "name, tflops",
    [
        ("NVIDIA H100 80GB HBM3", 989.4),
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 NVL", 835.5),
        ("NVIDIA H200", 989.4),
        ("NVIDIA H200 NVL", 835.5),
        ("NVIDIA GH200 480GB", 989.4),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA A100 80GB PCIe", 312.0),
        ("NVIDIA A10", 125.0),
        ("NVIDIA L4", 121.0),
        ("NVIDIA L40S", 362.05),
        ("NVIDIA L40", 181.05),
    ],
)
def test_peak_table(name, tflops):
    peak, source = flops.peak_bf16_flops(name)
    assert peak == pytest.approx(tflops * 1e12) and "datasheet" in source


@pytest.mark.parametrize("name", ["NVIDIA A10G", "NVIDIA GeForce RTX 4090", "Tesla T4", "x86_64"])
def test_peak_unknown_device_is_none(name):
    peak, source = flops.peak_bf16_flops(name)
    assert peak is None and "--peak_tflops" in source and name in source


def test_peak_override():
    assert flops.peak_bf16_flops("NVIDIA A10G", 70.0) == (70e12, "--peak_tflops 70")
    assert flops.peak_bf16_flops("NVIDIA H100 80GB HBM3", 500.0)[0] == 500e12  # the override wins over the table
    with pytest.raises(ValueError, match="--peak_tflops"):
        flops.peak_bf16_flops("NVIDIA H100 80GB HBM3", 0.0)


def test_throughput_arithmetic():
    figures = flops.throughput_figures(6e12, [0.6, 0.4, 0.5], batch_size=8, peak_flops=1e14)
    assert figures["step_s"] == 0.5 and figures["samples_per_s"] == 16.0
    assert figures["achieved_flop_per_s"] == 1.2e13 and figures["mfu"] == pytest.approx(0.12)
    assert flops.throughput_figures(6e12, [0.5], batch_size=8, peak_flops=None)["mfu"] is None
    for bad in ([], [0.5, 0.0]):
        with pytest.raises(ValueError, match="step_seconds"):
            flops.throughput_figures(6e12, bad, batch_size=8, peak_flops=1e14)
