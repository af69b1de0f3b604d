# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Step 5 of the rehearsal (`rehearse.py`): the FLOPs of one pretraining utterance at LibriSpeech's mean length, counted
on the full-size model, from which `rehearsal_report.projection` projects the paper's run."""

import time

import torch


def count_pretraining_flops(args, backbones: dict, codebook_size: int, device: str) -> dict:
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
