# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Smoke test of `benchmarks/run_benchmarks.py`, run as a user types it on the tiny size, and unit tests of its FLOP
formulas. No timing is asserted: only that every section is measured, written and consistent."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode


REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "benchmarks" / "run_benchmarks.py"
HEADINGS = ("## Targets", "## 1. Fine-tuning", "## 2. Pretraining", "## 3. Collator", "## 4. Inference", "## 5. Peak")


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
    command = [sys.executable, str(SCRIPT), "--size", "tiny", "--collator_calls", "3", "--profile"]
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
    assert fine["time_ratio"] == pytest.approx(variants["cmt"]["cpu"]["step"] / variants["shallow"]["cpu"]["step"])
    components = variants["cmt"]["forward_flops_by_component"]
    assert all(components[key] > 0 for key in components)
    assert (
        components["text_backbone"] + components["audio_backbone"] + components["cross_modal_encoder"]
        <= (variants["cmt"]["forward_flops"])
    )
    # pretraining runs the text backbone twice on same-shaped inputs
    assert results["pretraining"]["text_backbone_passes"] == pytest.approx(2.0)

    inference = results["inference"]
    assert inference["utterances"] == 8 and inference["batch_size"] == 8
    assert set(inference["seconds"]["cpu"]) == {
        "cmt_pipeline",
        "cmt_bare_forward",
        "hubert_audio_classification_pipeline",
        "roberta_text_classification_pipeline",
    }
    flops = inference["forward_flops_first_batch"]
    assert flops["cmt"] > flops["hubert"] + flops["roberta"] > 0

    memory = results["memory"]
    for probe in (memory["without_checkpointing"], memory["with_checkpointing"]):
        assert probe["peak_mib"] >= probe["resident_before_step_mib"] > 0
        assert probe["step_transient_mib"] is not None and probe["step_transient_mib"] >= 0
    for key in ("target_met",):
        assert isinstance(fine[key], bool) and isinstance(results["collator"][key], bool)


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
    ],
)
def test_bad_arguments(bench, argv, message):
    with pytest.raises(ValueError, match=message):
        bench.resolve_arguments(argv)


def test_defaults_follow_the_size(bench):
    args, _ = bench.resolve_arguments(["--size", "tiny"])
    assert args.timer == "cpu" and args.threads == 1 and args.repeats == 1
    assert args.output_dir == str(REPO_ROOT / "benchmarks" / "results")
