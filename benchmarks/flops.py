# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""FLOP arithmetic shared by the sections: the formulas that `FlopCounterMode` lacks or gets wrong, the counter with a
per-module split of the forward pass, and section 6's peak bf16 FLOP/s of known GPUs and throughput / model FLOP
utilisation of a timed step."""

import re
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode


# ---------------------------------------------------------------------------------------------------------------------
# Formulas and counter


def _conv_backward_flop(grad_out_shape, x_shape, w_shape, *args, out_shape=None, **kwargs) -> int:
    """Group-aware FLOPs of `aten.convolution_backward`: each requested gradient (input, weight) costs one forward.

    torch's own formula computes the weight gradient as if the convolution had one group, which counts HuBERT's
    positional convolution (16 groups) 16 times over.
    """
    transposed, output_mask = args[4], args[7]
    positions = np.prod(x_shape if transposed else grad_out_shape, dtype=np.int64)
    forward = 2 * int(positions) * int(np.prod(w_shape[1:], dtype=np.int64))
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def _cpu_attention_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    # QK^T and PV, as torch counts its CUDA attention kernels.
    batch, heads, q_len, head_dim = query_shape
    kv_len, v_dim = key_shape[2], value_shape[3]
    return 2 * batch * heads * q_len * kv_len * (head_dim + v_dim)


def _cpu_attention_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
    # Recomputed scores, dP, dV, dQ, dK: five (q_len x kv_len) products, as torch counts its CUDA backward kernels.
    batch, heads, q_len, head_dim = query_shape
    kv_len, v_dim = key_shape[2], value_shape[3]
    return 2 * batch * heads * q_len * kv_len * (3 * head_dim + 2 * v_dim)


# The CPU flash-attention kernel that sdpa picks in eval mode is not in torch's FLOP registry (training with dropout
# takes the math path, plain matmuls, which are counted).
FLOP_FORMULAS = {
    torch.ops.aten.convolution_backward: _conv_backward_flop,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention_flop,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_attention_backward_flop,
}


FLOP_METHOD = (
    "torch.utils.flop_counter.FlopCounterMode on one real step (matmul, batched matmul, convolution and attention "
    "kernels, forward + backward; elementwise ops, norms and the optimizer are not counted), with a group-aware "
    "convolution backward and the CPU flash-attention kernels added"
)


def count_flops(run: Callable[[], Any]) -> tuple[int, dict[str, int]]:
    """FLOPs of everything `run` executes, and the forward FLOPs per module (counted until `run` calls the `mark`
    callback it receives, i.e. before backward: FlopCounterMode's attribution of backward ops to modules is
    unreliable)."""
    forward_by_module: dict[str, int] = {}
    with FlopCounterMode(display=False, custom_mapping=FLOP_FORMULAS) as counter:

        def mark():
            for name, ops in counter.get_flop_counts().items():
                forward_by_module[name] = int(sum(ops.values()))

        run(mark)
    return int(counter.get_total_flops()), forward_by_module


def module_flops(by_module: dict[str, int], suffix: str) -> int:
    """FLOPs of the module whose qualified name ends with `suffix` (0 if it did not run)."""
    matches = [flops for name, flops in by_module.items() if name.endswith(suffix)]
    return max(matches) if matches else 0


# ---------------------------------------------------------------------------------------------------------------------
# Section 6: peak FLOP/s and model FLOP utilisation


# Peak dense bf16 tensor-core TFLOP/s (no 2:4 structured sparsity) from NVIDIA's datasheets; where a datasheet prints
# only the sparsity figure, the dense one is half of it. Each regular expression is tried in order (the more specific
# names first) against torch.cuda.get_device_name(): "NVIDIA H100 80GB HBM3" (SXM), "NVIDIA H100 PCIe",
# "NVIDIA A100-SXM4-80GB", "NVIDIA L4", ... A device that is not listed (A10G, for which NVIDIA publishes no datasheet,
# consumer cards, ...) gets no MFU unless --peak_tflops gives its peak: a guessed peak would make a wrong MFU look
# measured.
PEAK_BF16_DENSE_TFLOPS: tuple[tuple[str, float, str], ...] = (
    (r"\bH200\b.*\bNVL\b", 835.5, "NVIDIA H200 datasheet, H200 NVL: 1,671 TFLOPS bf16 with sparsity"),
    (r"\bGH200\b", 989.4, "NVIDIA GH200 datasheet: 1,979 TFLOPS bf16 with sparsity"),
    (r"\bH200\b", 989.4, "NVIDIA H200 datasheet, H200 SXM: 1,979 TFLOPS bf16 with sparsity"),
    (r"\bH100\b.*\bNVL\b", 835.5, "NVIDIA H100 datasheet, H100 NVL: 1,671 TFLOPS bf16 with sparsity"),
    (r"\bH100\b.*\bPCIe\b", 756.0, "NVIDIA H100 datasheet, H100 PCIe: 1,513 TFLOPS bf16 with sparsity"),
    (r"\bH100\b", 989.4, "NVIDIA H100 datasheet, H100 SXM (HBM3): 1,979 TFLOPS bf16 with sparsity"),
    (r"\bA100\b", 312.0, "NVIDIA A100 datasheet: 312 TFLOPS bf16 dense (624 with sparsity)"),
    (r"\bA10\b", 125.0, "NVIDIA A10 datasheet: 125 TFLOPS bf16 dense (250 with sparsity)"),
    (r"\bL40S\b", 362.05, "NVIDIA L40S datasheet: 362.05 TFLOPS bf16 dense (733 with sparsity)"),
    (r"\bL40\b", 181.05, "NVIDIA L40 datasheet: 181.05 TFLOPS bf16 dense (362.1 with sparsity)"),
    (r"\bL4\b", 121.0, "NVIDIA L4 datasheet: 242 TFLOPS bf16 with sparsity"),
)


def peak_bf16_flops(device_name: str, peak_tflops: float | None = None) -> tuple[float | None, str]:
    """The peak dense bf16 FLOP/s of a device, and where the figure comes from.

    Args:
        device_name (`str`):
            The device's name as `torch.cuda.get_device_name()` gives it.
        peak_tflops (`float`, *optional*):
            The peak in TFLOP/s (`--peak_tflops`); it overrides the table.

    Returns:
        `tuple[float | None, str]`: the peak in FLOP/s, or `None` when `peak_tflops` is not given and no entry of
        `PEAK_BF16_DENSE_TFLOPS` matches the name (then no MFU is reported), and the source of the figure or the
        reason there is none.
    """
    if peak_tflops is not None:
        if not peak_tflops > 0:
            raise ValueError(f"--peak_tflops must be > 0, got {peak_tflops}.")
        return peak_tflops * 1e12, f"--peak_tflops {peak_tflops:g}"
    for pattern, tflops, source in PEAK_BF16_DENSE_TFLOPS:
        if re.search(pattern, device_name, re.IGNORECASE):
            return tflops * 1e12, source
    return None, f"{device_name!r} is not in the table of peak bf16 FLOP/s: pass --peak_tflops for an MFU"


def throughput_figures(flops: int, step_seconds: list[float], batch_size: int, peak_flops: float | None) -> dict:
    """Samples/s, achieved FLOP/s and model FLOP utilisation of a training step.

    Args:
        flops (`int`):
            The step's counted FLOPs (forward + backward).
        step_seconds (`list[float]`):
            The timed repeats of the step; the median is used.
        batch_size (`int`):
            Examples per step.
        peak_flops (`float`, *optional*):
            The device's peak FLOP/s; without it the MFU is `None`.
    """
    if not step_seconds or min(step_seconds) <= 0:
        raise ValueError(f"step_seconds must be one or more positive times, got {step_seconds}.")
    step = statistics.median(step_seconds)
    achieved = flops / step
    return {
        "step_s": step,
        "step_s_all": [round(seconds, 6) for seconds in step_seconds],
        "samples_per_s": batch_size / step,
        "achieved_flop_per_s": achieved,
        "mfu": None if peak_flops is None else achieved / peak_flops,
    }
