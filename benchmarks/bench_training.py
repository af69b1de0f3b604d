# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Sections 1-2: the fine-tuning step of CMT-Base, shallow fusion and each backbone alone, and the pretraining step,
timed interleaved over the repeats and FLOP-counted on one real step; optionally the top ops of three steps under
torch.profiler."""

import statistics

import torch
from common import AUDIO_KEYS, CLOCKS, TEXT_KEYS, count_parameters, paired_ratio, training_step, within
from flops import count_flops, module_flops

from modeling_cmt import CMTConfig, CMTForPreTraining, CMTForSequenceClassification


def build_training_models(config: CMTConfig) -> dict[str, torch.nn.Module]:
    """CMT-Base, shallow fusion, each backbone alone and CMTForPreTraining, all sharing one pair of backbone modules
    (and the CMT models one cross-modal encoder): each variant computes exactly what it would standalone, while the
    machine holds one copy of the weights."""
    cmt = CMTForSequenceClassification(config)
    shallow = CMTForSequenceClassification(CMTConfig(**{**config.to_dict(), "num_cross_layers": 0}))
    single = {"num_cross_layers": 0, "ortho_loss_weight": 0.0}
    text_only = CMTForSequenceClassification(CMTConfig(**{**config.to_dict(), **single, "modalities": "text"}))
    audio_only = CMTForSequenceClassification(CMTConfig(**{**config.to_dict(), **single, "modalities": "audio"}))
    pretraining = CMTForPreTraining(config)
    # §3.2.2 runs the audio backbone twice; this variant runs the unmasked pass under no_grad
    frozen_context = CMTForPreTraining(CMTConfig(**{**config.to_dict(), "audio_context_gradients": False}))
    for model in (shallow, text_only, audio_only):
        if model.cmt.text_model is not None:
            model.cmt.text_model = cmt.cmt.text_model
        if model.cmt.audio_model is not None:
            model.cmt.audio_model = cmt.cmt.audio_model
    pretraining.cmt = frozen_context.cmt = cmt.cmt
    models = {
        "cmt": cmt,
        "shallow": shallow,
        "text": text_only,
        "audio": audio_only,
        "pretraining": pretraining,
        "pretraining_frozen_context": frozen_context,
    }
    for model in models.values():
        model.train()
    return models


def variant_batch(name: str, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inputs a variant reads: single-modal baselines get only their modality (and the labels)."""
    keys = {"text": TEXT_KEYS, "audio": AUDIO_KEYS}.get(name, TEXT_KEYS + AUDIO_KEYS)
    return {key: batch[key] for key in (*keys, "labels")}


def step_inputs(name: str, batches: dict[str, dict]) -> dict[str, torch.Tensor]:
    if name.startswith("pretraining"):
        return batches["pretraining"]
    return variant_batch(name, batches["fine_tuning"])


def bench_training(models, batches, optimizer, repeats: int, warmup: int, timer: str) -> dict[str, dict]:
    """Sections 1-2: every variant's step, interleaved over the repeats so that load changes on the machine hit all
    variants alike. The first warm-up step of each variant runs under the FLOP counter."""
    results = {}
    for name, model in models.items():
        inputs = step_inputs(name, batches)
        total, forward_by_module = count_flops(
            lambda mark, model=model, inputs=inputs: training_step(model, inputs, optimizer, mark)
        )
        results[name] = {
            "parameters": count_parameters(model),
            "flops": total,
            "forward_flops": forward_by_module.get(type(model).__name__, 0),
            "forward_flops_by_component": {
                "text_backbone": module_flops(forward_by_module, ".cmt.text_model"),
                "audio_backbone": module_flops(forward_by_module, ".cmt.audio_model"),
                "audio_conv_feature_encoder": module_flops(forward_by_module, ".cmt.audio_model.feature_extractor"),
                "cross_modal_encoder": module_flops(forward_by_module, ".cmt.encoder"),
            },
            "batch_shapes": {key: list(value.shape) for key, value in inputs.items()},
        }
    for _ in range(warmup - 1):
        for name, model in models.items():
            training_step(model, step_inputs(name, batches), optimizer)
    samples = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            samples[name].append(training_step(model, step_inputs(name, batches), optimizer))
    for name in models:
        for clock in CLOCKS:
            phases = samples[name][0][clock]
            results[name][clock] = {
                phase: statistics.median(s[clock][phase] for s in samples[name]) for phase in phases
            }
            results[name][f"{clock}_steps"] = [s[clock]["step"] for s in samples[name]]
        results[name]["time"] = results[name][timer]
        results[name]["gflop_per_s"] = results[name]["flops"] / results[name]["time"]["step"] / 1e9
    return results


def profile_steps(models, batches, optimizer, names: tuple[str, ...], top: int = 12) -> dict[str, dict]:
    """One step of each named variant under torch.profiler: the ops with the most self CPU time."""
    from torch.profiler import ProfilerActivity, profile

    profiles = {}
    for name in names:
        with profile(activities=[ProfilerActivity.CPU]) as profiler:
            training_step(models[name], step_inputs(name, batches), optimizer)
        events = list(profiler.key_averages())
        ranked = sorted(events, key=lambda event: event.self_cpu_time_total, reverse=True)[:top]
        profiles[name] = {
            "self_cpu_s": sum(event.self_cpu_time_total for event in events) / 1e6,
            "top_ops": [
                {"op": event.key, "self_cpu_s": event.self_cpu_time_total / 1e6, "calls": event.count}
                for event in ranked
            ],
        }
    return profiles


def step_ratio(numerator: dict, denominator: dict, clock: str) -> float:
    return paired_ratio(numerator[f"{clock}_steps"], denominator[f"{clock}_steps"])


def fine_tuning_section(training: dict, timer: str) -> dict:
    cmt, shallow = training["cmt"], training["shallow"]
    time_ratio = step_ratio(cmt, shallow, timer)
    flop_ratio = cmt["flops"] / shallow["flops"]
    return {
        "variants": {name: training[name] for name in ("cmt", "shallow", "text", "audio")},
        "time_ratio": time_ratio,
        "time_ratio_by_clock": {clock: step_ratio(cmt, shallow, clock) for clock in CLOCKS},
        "flop_ratio": flop_ratio,
        "time_over_flop_ratio": time_ratio / flop_ratio,
        # 1.0: the cross-modal layers cost exactly their FLOP share; below 1 they run slower than the backbones do.
        "efficiency": flop_ratio / time_ratio,
        "target": "CMT / shallow time ratio within 5% of the FLOP ratio",
        "target_met": within(time_ratio, flop_ratio, 0.05),
    }


def pretraining_section(training: dict, timer: str) -> dict:
    pre, fine, frozen = training["pretraining"], training["cmt"], training["pretraining_frozen_context"]
    pre_text = pre["forward_flops_by_component"]["text_backbone"]
    fine_text = fine["forward_flops_by_component"]["text_backbone"]
    return {
        "pretraining": pre,
        "time_ratio": step_ratio(pre, fine, timer),
        "time_ratio_by_clock": {clock: step_ratio(pre, fine, clock) for clock in CLOCKS},
        "flop_ratio": pre["flops"] / fine["flops"],
        "text_backbone_forward_flops": {"fine_tuning": fine_text, "pretraining": pre_text},
        "text_backbone_passes": pre_text / fine_text if fine_text else None,
        # the text-alone step is one text-backbone pass, forward + backward (plus a negligible head)
        "second_text_pass_share": training["text"]["flops"] / fine["flops"],
        # the unmasked audio pass without gradients (`audio_context_gradients=False`) against the default
        "frozen_context": {
            "pretraining": frozen,
            "time_ratio": step_ratio(frozen, pre, timer),
            "flop_ratio": frozen["flops"] / pre["flops"],
            "time_ratio_to_fine_tuning": step_ratio(frozen, fine, timer),
            "flop_ratio_to_fine_tuning": frozen["flops"] / fine["flops"],
        },
        "note": (
            "The pretraining step runs both backbones twice (§3.2.2): the text backbone on the masked tokens (the text "
            "stream's input) and the unmasked ones (the audio stream's keys/values), the audio backbone on the audio "
            "masked at its input (the audio stream's input) and the unmasked audio (the text stream's keys/values); "
            "each pair is one call over both batches, with gradients. The FLOP ratio includes both second passes. On "
            "the CPU it also pays for summing two dense vocabulary-sized gradients of the word embeddings (the lookup "
            "and the tied MLM output layer) in freshly mapped memory, which the FLOPs do not count."
        ),
    }
