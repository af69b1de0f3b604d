# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Section 4: the `audio-text-sentiment` pipeline against the bare forward and against transformers' HuBERT + RoBERTa
classification pipelines on the same utterances, and its length grouping against the input order."""

import statistics

import torch
from common import AUDIO_KEYS, CLOCKS, NUM_LABELS, SAMPLING_RATE, TEXT_KEYS, paired_ratio, timed
from flops import count_flops
from transformers import (
    HubertConfig,
    HubertForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
    pipeline,
)

from modeling_cmt import CMTConfig
from processing_cmt import PIPELINE_TASK


def padding_share(lengths: list[int], order: list[int], batch_size: int) -> float:
    """The share of padding in the audio of batches of `batch_size` taken in `order`: padded samples / all samples."""
    padded = total = 0
    for start in range(0, len(order), batch_size):
        batch = [lengths[index] for index in order[start : start + batch_size]]
        padded += max(batch) * len(batch) - sum(batch)
        total += max(batch) * len(batch)
    return padded / total


def transformers_pipelines(config: CMTConfig, processor):
    """transformers' own audio-classification (HuBERT) and text-classification (RoBERTa) pipelines on CMT's backbone
    shapes, random weights, on the CPU: the baseline of sections 4 and 7."""
    text_config = RobertaConfig(**{**config.text_config.to_dict(), "num_labels": NUM_LABELS})
    audio_config = HubertConfig(**{**config.audio_config.to_dict(), "num_labels": NUM_LABELS})
    text_model = RobertaForSequenceClassification(text_config).eval()
    audio_model = HubertForSequenceClassification(audio_config).eval()
    audio_pipe = pipeline(
        "audio-classification", model=audio_model, feature_extractor=processor.feature_extractor, device="cpu"
    )
    text_pipe = pipeline("text-classification", model=text_model, tokenizer=processor.tokenizer, device="cpu")
    return audio_pipe, text_pipe


def bench_inference(
    cmt_model,
    processor,
    config: CMTConfig,
    utterances,
    spread_utterances,
    batch_size: int,
    repeats: int,
    timer: str,
) -> dict:
    """Section 4: the CMT pipeline (in the input order, and by default grouped by length) vs the bare forward on
    pre-batched inputs vs transformers' HuBERT + RoBERTa classification pipelines, all on the same utterances; then
    the CMT pipeline with and without length grouping on utterances of spread durations. One warm-up batch each, then
    interleaved repeats."""
    cmt_model.eval()
    audio_pipe, text_pipe = transformers_pipelines(config, processor)
    audio_model, text_model = audio_pipe.model, text_pipe.model
    cmt_pipe = pipeline(PIPELINE_TASK, model=cmt_model, processor=processor, device="cpu")

    texts = [u["text"] for u in utterances]
    raw_audio = [{"raw": u["audio"], "sampling_rate": u["sampling_rate"]} for u in utterances]
    batches = []
    for start in range(0, len(utterances), batch_size):
        chunk = utterances[start : start + batch_size]
        batch = processor(
            text=[u["text"] for u in chunk],
            audio=[{"array": u["audio"], "sampling_rate": u["sampling_rate"]} for u in chunk],
            return_tensors="pt",
        )
        batches.append({key: batch[key] for key in TEXT_KEYS + AUDIO_KEYS})

    def bare_forward(count: int):
        with torch.no_grad():  # what Pipeline.forward uses
            for batch in batches[: -(-count // batch_size)]:
                cmt_model(**batch)

    runs = {
        "cmt_pipeline": lambda n: cmt_pipe(utterances[:n], batch_size=batch_size),
        "cmt_pipeline_input_order": lambda n: cmt_pipe(utterances[:n], batch_size=batch_size, group_by_length=False),
        "cmt_bare_forward": bare_forward,
        "hubert_audio_classification_pipeline": lambda n: audio_pipe(raw_audio[:n], batch_size=batch_size),
        "roberta_text_classification_pipeline": lambda n: text_pipe(texts[:n], batch_size=batch_size),
    }
    warm = min(batch_size, len(utterances))
    for name, run in runs.items():
        outputs = run(warm)
        if name == "cmt_pipeline" and len(outputs) != warm:
            raise RuntimeError(f"The CMT pipeline returned {len(outputs)} results for {warm} utterances.")
    samples = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            samples[name].append(timed(lambda run=run: run(len(utterances))))
    seconds = {
        clock: {name: statistics.median(s[clock] for s in values) for name, values in samples.items()}
        for clock in CLOCKS
    }

    # Length grouping where durations spread: the same pipeline, grouped (default) and in the input order.
    spread_runs = {
        "grouped": lambda: cmt_pipe(spread_utterances, batch_size=batch_size),
        "input_order": lambda: cmt_pipe(spread_utterances, batch_size=batch_size, group_by_length=False),
    }
    spread_samples = {name: [] for name in spread_runs}
    for _ in range(repeats):
        for name, run in spread_runs.items():
            spread_samples[name].append(timed(run))
    spread_seconds = {name: statistics.median(s[timer] for s in values) for name, values in spread_samples.items()}
    spread_lengths = [u["audio"].size for u in spread_utterances]
    spread_orders = {
        "grouped": cmt_pipe._length_order(spread_utterances),
        "input_order": list(range(len(spread_utterances))),
    }

    with torch.no_grad():
        cmt_flops, _ = count_flops(lambda mark: cmt_model(**batches[0]))
        audio_inputs = processor.feature_extractor(
            [u["audio"] for u in utterances[:batch_size]],
            sampling_rate=SAMPLING_RATE,
            return_tensors="pt",
            padding=True,
        )
        audio_flops, _ = count_flops(lambda mark: audio_model(**audio_inputs))
        text_inputs = processor.tokenizer(texts[:batch_size], padding=True, return_tensors="pt")
        text_flops, _ = count_flops(lambda mark: text_model(**text_inputs))
    cmt_model.train()

    count = len(utterances)
    primary = seconds[timer]
    combined_s = primary["hubert_audio_classification_pipeline"] + primary["roberta_text_classification_pipeline"]
    per_repeat = {name: [s[timer] for s in values] for name, values in samples.items()}
    combined_per_repeat = [
        a + b
        for a, b in zip(
            per_repeat["hubert_audio_classification_pipeline"], per_repeat["roberta_text_classification_pipeline"]
        )
    ]
    # On the same batches as the bare forward and the two transformers pipelines: the input order.
    overhead = paired_ratio(per_repeat["cmt_pipeline_input_order"], per_repeat["cmt_bare_forward"]) - 1.0
    vs_transformers = paired_ratio(combined_per_repeat, per_repeat["cmt_pipeline_input_order"])  # throughput ratio
    return {
        "utterances": count,
        "batch_size": batch_size,
        "seconds": seconds,
        "seconds_all": {
            clock: {name: [round(s[clock], 4) for s in values] for name, values in samples.items()} for clock in CLOCKS
        },
        "utterances_per_s": {name: count / value for name, value in primary.items()},
        "combined_transformers_utterances_per_s": count / combined_s,
        "pipeline_overhead": overhead,
        "pipeline_overhead_target": "under 10% over the bare forward",
        "pipeline_overhead_target_met": overhead < 0.10,
        "vs_transformers_pipelines": vs_transformers,
        "vs_transformers_pipelines_grouped": paired_ratio(combined_per_repeat, per_repeat["cmt_pipeline"]),
        "forward_flops_first_batch": {"cmt": cmt_flops, "hubert": audio_flops, "roberta": text_flops},
        # The throughput ratio the FLOPs allow: CMT does both backbones' work plus its cross-modal layers.
        "flop_bound_vs_transformers": (audio_flops + text_flops) / cmt_flops,
        "vs_transformers_target": "at least 0.9x the combined throughput of the two transformers pipelines",
        "vs_transformers_target_met": vs_transformers >= 0.9,
        "length_grouping": {
            "utterances": len(spread_utterances),
            "audio_seconds": [round(length / SAMPLING_RATE, 3) for length in spread_lengths],
            "seconds": spread_seconds,
            "seconds_all": {name: [round(s[timer], 4) for s in values] for name, values in spread_samples.items()},
            "speedup": paired_ratio(
                [s[timer] for s in spread_samples["input_order"]], [s[timer] for s in spread_samples["grouped"]]
            ),
            "audio_padding_share": {
                name: padding_share(spread_lengths, order, batch_size) for name, order in spread_orders.items()
            },
        },
    }
