# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Smoke test of `benchmarks/run_benchmarks.py`, run as a user types it on the tiny size, and unit tests of its FLOP
formulas and of section 6 (GPU bf16 throughput and MFU), whose measuring code runs here on the CPU at the tiny size
under CPU autocast. No timing is asserted: only that every section is measured, written and consistent."""

import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode


REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "benchmarks" / "run_benchmarks.py"
HEADINGS = (
    "## Targets",
    "## 1. Fine-tuning",
    "## 2. Pretraining",
    "## 3. Collator",
    "## 4. Inference",
    "## 5. Peak",
    "## 6. GPU: bf16 training throughput and MFU",
)


def load_script():
    spec = importlib.util.spec_from_file_location("run_benchmarks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load_script()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("bench")
    # --device cpu: on a CUDA machine the default would add section 6 at full size
    command = [sys.executable, str(SCRIPT), "--size", "tiny", "--collator_calls", "3", "--profile", "--device", "cpu"]
    command += ["--inference_batch_size", "4"]  # two batches of the 8 utterances: length grouping has work to do
    command += ["--output_dir", str(output_dir)]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return output_dir, result.stdout


def test_writes_every_section(tiny_run, bench):
    output_dir, stdout = tiny_run
    results = json.loads((output_dir / "latest.json").read_text())
    for section in ("machine", "setup", *bench.SECTIONS):
        assert results[section], section
    markdown = (output_dir / "latest.md").read_text()
    for heading in HEADINGS:
        assert heading in markdown, heading
    assert "Skipped" not in markdown
    assert markdown.count("## Profile: one ") == 3 and set(results["profile"]) == {"cmt", "shallow", "pretraining"}
    assert markdown.strip() in stdout  # the table is printed too
    assert results["machine"]["torch_threads"] == 1 and results["setup"]["timer"] == "cpu"


def test_cpu_run_says_the_gpu_section_was_not_run(tiny_run):
    output_dir, _ = tiny_run
    results = json.loads((output_dir / "latest.json").read_text())
    reason = "--device cpu" if torch.cuda.is_available() else "no CUDA device"
    assert results["gpu"] == {"run": False, "reason": reason}
    markdown = (output_dir / "latest.md").read_text()
    section = markdown.split("## 6. GPU: bf16 training throughput and MFU")[1].split("\n## ")[0]
    assert section.strip() == f"Not run: {reason}."
    assert f"| GPU: bf16 training samples/s and MFU at full size | not run: {reason} |" in markdown


def test_results_are_consistent(tiny_run):
    results = json.loads((tiny_run[0] / "latest.json").read_text())
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
    assert set(inference["seconds"]["cpu"]) == {
        "cmt_pipeline",
        "cmt_pipeline_input_order",
        "cmt_bare_forward",
        "hubert_audio_classification_pipeline",
        "roberta_text_classification_pipeline",
    }
    flops = inference["forward_flops_first_batch"]
    assert flops["cmt"] > flops["hubert"] + flops["roberta"] > 0
    grouping = inference["length_grouping"]
    assert grouping["utterances"] == 8 and len(set(grouping["audio_seconds"])) > 1
    padding = grouping["audio_padding_share"]
    assert 0 <= padding["grouped"] < padding["input_order"] < 1

    memory = results["memory"]
    for probe in (memory["without_checkpointing"], memory["with_checkpointing"]):
        assert probe["peak_mib"] >= probe["resident_before_step_mib"] > 0
        assert probe["step_transient_mib"] is not None and probe["step_transient_mib"] >= 0
    for key in ("target_met",):
        assert isinstance(fine[key], bool) and isinstance(results["collator"][key], bool)


def test_ratios_pair_the_variants_of_one_repeat(bench):
    # the machine runs 8% slower in the first repeat: each repeat's own ratio is 1.2, the ratio of medians is not
    cmt, shallow = [12.96, 12.0, 12.0], [10.8, 10.0, 10.0]
    assert bench.paired_ratio(cmt, shallow) == pytest.approx(1.2)
    assert bench.paired_ratio([12.96, 12.0, 13.0], [10.8, 10.0, 10.0]) == pytest.approx(1.2)
    with pytest.raises(ValueError):
        bench.paired_ratio([1.0, 2.0], [1.0])


def test_padding_share(bench):
    lengths = [4, 1, 3, 2]
    # in the input order: batches (4, 1) and (3, 2) pad 3 + 1 of 8 + 6 samples; longest first: (4, 3), (2, 1) pad 1 + 1
    assert bench.padding_share(lengths, [0, 1, 2, 3], 2) == pytest.approx(4 / 14)
    assert bench.padding_share(lengths, [0, 2, 3, 1], 2) == pytest.approx(2 / 12)
    assert bench.padding_share(lengths, [0, 1, 2, 3], 4) == pytest.approx(6 / 16)


def test_grouped_convolution_backward_flops(bench):
    """Each requested gradient of a convolution costs one forward, grouped or not (torch's own formula counts the
    weight gradient of a grouped convolution once per group)."""
    conv = torch.nn.Conv1d(16, 16, kernel_size=8, padding=4, groups=4)
    inputs = torch.randn(2, 16, 50, requires_grad=True)
    with FlopCounterMode(display=False, custom_mapping=bench.FLOP_FORMULAS) as counter:
        output = conv(inputs)
        forward = counter.get_total_flops()
        output.sum().backward()
    assert forward == 2 * output.numel() * (16 // 4) * 8
    assert counter.get_total_flops() == 3 * forward  # forward + input gradient + weight gradient


def test_cpu_flash_attention_counted_like_eager(bench):
    """sdpa's CPU flash kernel (eval mode) is counted as the eager attention's two matmuls."""
    query, key, value = torch.randn(2, 4, 7, 8), torch.randn(2, 4, 11, 8), torch.randn(2, 4, 11, 8)
    mask = torch.zeros(2, 1, 7, 11)
    with FlopCounterMode(display=False, custom_mapping=bench.FLOP_FORMULAS) as fused:
        torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=mask)
    with FlopCounterMode(display=False) as eager:
        torch.softmax(query @ key.transpose(-1, -2) / 8**0.5 + mask, -1) @ value
    counted_ops = {str(op) for op in fused.get_flop_counts()["Global"]}
    assert counted_ops == {"aten._scaled_dot_product_flash_attention_for_cpu"}
    assert fused.get_total_flops() == eager.get_total_flops() == 2 * 2 * (2 * 4 * 7 * 11 * 8)


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
def test_bad_arguments(bench, argv, message):
    with pytest.raises(ValueError, match=message):
        bench.resolve_arguments(argv)


def test_defaults_follow_the_size(bench):
    args, _ = bench.resolve_arguments(["--size", "tiny"])
    assert args.timer == "cpu" and args.threads == 1 and args.repeats == 1
    assert args.device == ("cuda" if torch.cuda.is_available() else "cpu")  # auto
    assert (args.gpu_batch_size, args.gpu_audio_seconds, args.gpu_text_tokens, args.peak_tflops) == (8, 10.0, 32, None)
    assert args.output_dir == str(REPO_ROOT / "benchmarks" / "results")


# ---------------------------------------------------------------------------------------------------------------------
# Section 6 (GPU): its code run on the CPU at the tiny size, with CPU bf16 autocast

PEAK = 2e12  # a peak given to the tiny CPU run, so that its MFU arithmetic is exercised


@pytest.fixture(scope="module")
def tiny_gpu_section(bench):
    return bench.gpu_section(
        bench.SIZES["tiny"],
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
def tiny_batch(bench, tmp_path_factory):
    tokenizer = bench.build_tokenizer(10**9)
    processor = bench.CMTProcessor(feature_extractor=bench.default_feature_extractor(), tokenizer=tokenizer)
    config = bench.cmt_config(bench.SIZES["tiny"], len(tokenizer))
    features = bench.build_features(processor, bench.build_utterances(tokenizer, 2, 0.1, 12, seed=0), config, 0)
    return config, bench.DataCollatorForCMT(tokenizer)(
        [{k: v for k, v in f.items() if k != "audio_codes"} for f in features]
    )


def test_mixed_precision_step_is_autocast_over_fp32_weights(bench, tiny_batch):
    """Trainer's `--bf16`: matmuls in bfloat16 under autocast, fp32 weights updated by the optimizer."""
    config, batch = tiny_batch
    torch.manual_seed(0)
    model = bench.CMTForSequenceClassification(config).train()
    optimizer = bench.make_optimizer(model.parameters())
    before = {name: param.detach().clone() for name, param in model.named_parameters()}
    output_dtypes = set()
    hooks = [
        module.register_forward_hook(lambda module, args, output: output_dtypes.add(output.dtype))
        for module in model.modules()
        if isinstance(module, torch.nn.Linear)
    ]
    seconds, loss = bench.mixed_precision_step(model, batch, optimizer, torch.bfloat16)
    for hook in hooks:
        hook.remove()
    assert output_dtypes == {torch.bfloat16}
    assert seconds > 0 and torch.isfinite(loss) and not loss.requires_grad
    assert all(param.dtype == torch.float32 and param.grad is None for param in model.parameters())
    changed = [name for name, param in model.named_parameters() if not torch.equal(param, before[name])]
    assert any(name.startswith("classifier") for name in changed) and any(".encoder." in name for name in changed)


def test_gpu_section_figures(bench, tiny_gpu_section, tiny_run):
    gpu = tiny_gpu_section
    assert gpu["run"] and gpu["dtype"] == "bfloat16" and gpu["device"] == "cpu"
    assert (gpu["batch_size"], gpu["audio_samples"], gpu["text_tokens"]) == (2, 1600, 12)
    variants = gpu["variants"]
    assert tuple(variants) == bench.GPU_VARIANTS
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
    results = json.loads((tiny_run[0] / "latest.json").read_text())
    assert variants["cmt_base"]["flops"] == results["fine_tuning"]["variants"]["cmt"]["flops"]
    assert variants["shallow"]["flops"] == results["fine_tuning"]["variants"]["shallow"]["flops"]
    assert variants["pretraining"]["flops"] == results["pretraining"]["pretraining"]["flops"]


def test_gpu_section_markdown(bench, tiny_gpu_section, tiny_run):
    gpu = tiny_gpu_section
    lines = "\n".join(bench.gpu_lines(gpu))
    assert "peak dense bfloat16 2.0 TFLOP/s (given in the test)" in lines
    for name, row in gpu["variants"].items():
        assert f"| {bench.GPU_VARIANT_LABELS[name]} | " in lines
        assert f"| {row['samples_per_s']:.2f} | " in lines and f"| {100 * row['mfu']:.1f}% | " in lines
    rows = bench.gpu_target_rows(gpu)
    assert len(rows) == 4 and all("samples/s, MFU " in row and "n/a" not in row for row in rows)

    unknown = {**gpu, "peak_flop_per_s": None, "peak_source": "'Mystery GPU' is not in the table"}
    unknown["variants"] = {name: {**row, "mfu": None} for name, row in gpu["variants"].items()}
    lines = "\n".join(bench.gpu_lines(unknown))
    assert "MFU: n/a, 'Mystery GPU' is not in the table." in lines
    assert all(row.endswith("MFU n/a | figures only | — |") for row in bench.gpu_target_rows(unknown))

    # the whole report, with sections 1-5 (CPU + GPU run) and without them (--gpu_only)
    results = {**json.loads((tiny_run[0] / "latest.json").read_text()), "gpu": gpu}
    markdown = bench.render_markdown(results)
    assert "section 6 on the GPU in bfloat16 mixed precision" in markdown and "## 5. Peak" in markdown
    assert markdown.index("## 5. Peak") < markdown.index(bench.GPU_HEADING) < markdown.index("## Profile")
    results.update({section: None for section in bench.SECTIONS if section != "gpu"})
    results["profile"] = None
    markdown = bench.render_markdown(results)
    assert "## 1. Fine-tuning" not in markdown and "Skipped (`--gpu_only`)." in markdown
    assert bench.GPU_HEADING in markdown and "| GPU, bfloat16: CMT-Base fine-tuning step" in markdown


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
def test_peak_table(bench, name, tflops):
    peak, source = bench.peak_bf16_flops(name)
    assert peak == pytest.approx(tflops * 1e12) and "datasheet" in source


@pytest.mark.parametrize("name", ["NVIDIA A10G", "NVIDIA GeForce RTX 4090", "Tesla T4", "x86_64"])
def test_peak_unknown_device_is_none(bench, name):
    peak, source = bench.peak_bf16_flops(name)
    assert peak is None and "--peak_tflops" in source and name in source


def test_peak_override(bench):
    assert bench.peak_bf16_flops("NVIDIA A10G", 70.0) == (70e12, "--peak_tflops 70")
    assert bench.peak_bf16_flops("NVIDIA H100 80GB HBM3", 500.0)[0] == 500e12  # the override wins over the table
    with pytest.raises(ValueError, match="--peak_tflops"):
        bench.peak_bf16_flops("NVIDIA H100 80GB HBM3", 0.0)


def test_throughput_arithmetic(bench):
    figures = bench.throughput_figures(6e12, [0.6, 0.4, 0.5], batch_size=8, peak_flops=1e14)
    assert figures["step_s"] == 0.5 and figures["samples_per_s"] == 16.0
    assert figures["achieved_flop_per_s"] == 1.2e13 and figures["mfu"] == pytest.approx(0.12)
    assert bench.throughput_figures(6e12, [0.5], batch_size=8, peak_flops=None)["mfu"] is None
    for bad in ([], [0.5, 0.0]):
        with pytest.raises(ValueError, match="step_seconds"):
            bench.throughput_figures(6e12, bad, batch_size=8, peak_flops=1e14)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize("argv", [["--device", "cuda"], ["--gpu_only"]])
def test_cuda_options_without_cuda(bench, argv):
    with pytest.raises(ValueError, match="CUDA"):
        bench.resolve_arguments(argv)
