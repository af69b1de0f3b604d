# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Section 7: CPU inference with ONNX Runtime. Utterances per second of `pipeline("audio-text-sentiment")` at batch 1
and at `--inference_batch_size` on the PyTorch model (eager, float32), on the same model exported to ONNX and run by
ONNX Runtime (float32, and int8 by dynamic quantization: `modeling_cmt.onnx`), and of transformers' own HuBERT
audio-classification + RoBERTa text-classification pipelines on the same utterances; the exported files' sizes; where
the time goes (ONNX Runtime's node profile and torch's operator profile of one batch-1 forward); and, given a
quickstart run (`--onnx_quickstart_dir`), the accuracy of the three CMT backends on its test split.

    python benchmarks/run_benchmarks.py --onnx ...        # with the other sections
    python benchmarks/bench_onnx.py --size base            # this section alone: results/onnx.md and onnx.json

ONNX Runtime gets the same intra-op thread count as torch (`--threads`) and one inter-op thread.
"""

import csv
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
from bench_inference import transformers_pipelines
from common import (
    CLOCKS,
    build_tokenizer,
    build_utterances,
    cmt_config,
    default_feature_extractor,
    paired_ratio,
    timed,
)
from transformers import pipeline

from modeling_cmt import CMTForSequenceClassification
from processing_cmt import PIPELINE_TASK, CMTProcessor


BACKENDS = ("eager_fp32", "ort_fp32", "ort_int8", "transformers_pipelines")
INT8_SPEEDUP_TARGET = 2.0  # ONNX Runtime int8 / eager fp32 at batch 1
ACCURACY_TARGET_POINTS = 1.0  # |int8 - eager| accuracy on the quickstart's test split
TOP_OPS = 8


def _ort_session_options(ort, threads: int, profile_prefix: str | None = None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return options


def _ort_profile(model, batch: dict, runs: int) -> dict:
    """Self time per ONNX op type per call, over the last `runs` of `runs + 1` calls (the first plans the memory of
    the shape), from ONNX Runtime's node profile; largest first."""
    for _ in range(runs + 1):
        model(**batch)
    path = model.session.end_profiling()
    with open(path) as handle:
        events = json.load(handle)
    os.remove(path)
    calls = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")[-runs:]
    by_op = defaultdict(float)
    for event in events:
        timed_call = any(start <= event.get("ts", -1) <= end for start, end in calls)
        if timed_call and event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / 1e6 / runs
    return _top(by_op)


def _torch_profile(model, batch: dict, runs: int) -> dict:
    """Self CPU time per aten op per call of the eager forward, over `runs` calls after one; largest first."""
    with torch.no_grad():
        model(**batch)
    with torch.no_grad(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        for _ in range(runs):
            model(**batch)
    by_op = {event.key: event.self_cpu_time_total / 1e6 / runs for event in profiler.key_averages()}
    return _top(by_op)


def _top(by_op: dict[str, float]) -> dict:
    total = sum(by_op.values())
    ops = sorted(by_op.items(), key=lambda item: -item[1])[:TOP_OPS]
    return {"total_s": total, "top_ops": [{"op": op, "s": s, "share": s / total} for op, s in ops]}


def onnx_section(args, preset) -> dict:
    """Section 7 at `preset`'s shapes; `{"run": False, "reason": ...}` where onnxruntime is not installed."""
    try:
        import onnxruntime as ort

        from modeling_cmt.onnx import ONNX_QUANTIZED_WEIGHTS_NAME, ONNX_WEIGHTS_NAME, CMTOnnxModel, export_onnx
    except ImportError as error:
        return {"run": False, "reason": f"{error.name} is not installed (pip install 'cmt[onnx]')"}

    # 1. A CMT-Base classifier with random weights, the section-4 utterances, transformers' pipelines
    torch.manual_seed(args.seed)
    tokenizer = build_tokenizer(preset.text_config["vocab_size"] or 10**9)
    processor = CMTProcessor(feature_extractor=default_feature_extractor(), tokenizer=tokenizer)
    config = cmt_config(preset, len(tokenizer))
    model = CMTForSequenceClassification(config).eval()
    audio_pipe, text_pipe = transformers_pipelines(config, processor)
    utterances = build_utterances(
        tokenizer, args.inference_utterances, args.audio_seconds, args.text_tokens, args.seed + 1
    )
    texts = [u["text"] for u in utterances]
    raw_audio = [{"raw": u["audio"], "sampling_rate": u["sampling_rate"]} for u in utterances]

    with tempfile.TemporaryDirectory() as folder:
        # 2. Export (float32 + int8) and sessions
        started = time.perf_counter()
        export = export_onnx(model, folder, processor, quantize=True)
        export_s = time.perf_counter() - started
        files = {"ort_fp32": ONNX_WEIGHTS_NAME, "ort_int8": ONNX_QUANTIZED_WEIGHTS_NAME}
        sizes_mib = {name: os.path.getsize(os.path.join(folder, file)) / 2**20 for name, file in files.items()}
        ort_models = {
            name: CMTOnnxModel.from_pretrained(folder, file, session_options=_ort_session_options(ort, args.threads))
            for name, file in files.items()
        }
        profiled = {
            name: CMTOnnxModel.from_pretrained(
                folder, file, session_options=_ort_session_options(ort, args.threads, os.path.join(folder, name))
            )
            for name, file in files.items()
        }

        # 3. Timing: every backend on all utterances at batch 1 and at the inference batch size, interleaved
        pipes = {"eager_fp32": pipeline(PIPELINE_TASK, model=model, processor=processor, device="cpu")}
        for name, ort_model in ort_models.items():
            pipes[name] = pipeline(PIPELINE_TASK, model=ort_model, processor=processor, device="cpu")

        def runner(name: str, batch_size: int):
            if name == "transformers_pipelines":
                return lambda n: (
                    audio_pipe(raw_audio[:n], batch_size=batch_size),
                    text_pipe(texts[:n], batch_size=batch_size),
                )
            # the input order: the same batches as transformers' pipelines, which do not group by length
            return lambda n: pipes[name](utterances[:n], batch_size=batch_size, group_by_length=False)

        batch_sizes = sorted({1, args.inference_batch_size})
        runs = {(name, b): runner(name, b) for b in batch_sizes for name in BACKENDS}
        for (_, b), run in runs.items():
            run(b)  # warm-up: one batch
        samples = {key: [] for key in runs}
        for _ in range(args.repeats):
            for key, run in runs.items():
                samples[key].append(timed(lambda run=run: run(len(utterances))))

        # 4. Agreement with eager on the benchmark's utterances (random weights: a check of the numerics, not
        # accuracy), and the profiles of one batch-1 forward
        batch = processor(
            text=texts[:8],
            audio=[{"array": u["audio"], "sampling_rate": u["sampling_rate"]} for u in utterances[:8]],
            return_tensors="pt",
        )
        batch = {key: batch[key] for key in ("input_ids", "attention_mask", "input_values", "audio_attention_mask")}
        with torch.no_grad():
            eager_logits = model(**batch).logits
        agreement = {}
        for name, ort_model in ort_models.items():
            logits = ort_model(**batch).logits
            agreement[name] = {
                "max_abs_logit_diff": float((logits - eager_logits).abs().max()),
                "top1_agreement": float((logits.argmax(-1) == eager_logits.argmax(-1)).float().mean()),
            }
        single = {key: value[:1] for key, value in batch.items()}
        profiles = {"eager_fp32": _torch_profile(model, single, runs=2)}
        for name, ort_model in profiled.items():
            profiles[name] = _ort_profile(ort_model, single, runs=2)

    accuracy = None
    if args.onnx_quickstart_dir:
        accuracy = quickstart_accuracy(Path(args.onnx_quickstart_dir), ort, args.threads)
    return section_figures(
        samples, len(utterances), batch_sizes, args.timer, export, export_s, sizes_mib, agreement, profiles, accuracy
    )


def section_figures(
    samples, count, batch_sizes, timer, export, export_s, sizes_mib, agreement, profiles, accuracy
) -> dict:
    """The section's results from the timed samples: utterances/s per backend and batch size, ratios to eager within
    each repeat, and the targets."""
    seconds = {
        clock: {
            str(b): {name: statistics.median(s[clock] for s in samples[(name, b)]) for name in BACKENDS}
            for b in batch_sizes
        }
        for clock in CLOCKS
    }
    per_repeat = {key: [s[timer] for s in values] for key, values in samples.items()}
    vs_eager = {
        str(b): {name: paired_ratio(per_repeat[("eager_fp32", b)], per_repeat[(name, b)]) for name in BACKENDS}
        for b in batch_sizes
    }
    int8_speedup = vs_eager["1"]["ort_int8"]
    fp32_ratios = [vs_eager[str(b)]["ort_fp32"] for b in batch_sizes]
    accuracy_change = None if accuracy is None else accuracy["int8_change_points"]
    return {
        "run": True,
        "utterances": count,
        "batch_sizes": batch_sizes,
        "seconds": seconds,
        "seconds_all": {
            clock: {f"{name}@{b}": [round(s[clock], 4) for s in values] for (name, b), values in samples.items()}
            for clock in CLOCKS
        },
        "utterances_per_s": {
            str(b): {name: count / seconds[timer][str(b)][name] for name in BACKENDS} for b in batch_sizes
        },
        "throughput_vs_eager": vs_eager,
        "export_s": export_s,
        "export_max_abs_diff": export.get("max_abs_diff"),
        "size_mib": sizes_mib,
        "agreement_with_eager": agreement,
        "profiles_batch_1": profiles,
        "quickstart_accuracy": accuracy,
        "int8_target": f"ONNX Runtime int8 >= {INT8_SPEEDUP_TARGET:g}x eager fp32 at batch 1, quickstart accuracy "
        f"within {ACCURACY_TARGET_POINTS:g} point",
        "int8_target_met": int8_speedup >= INT8_SPEEDUP_TARGET
        and (accuracy_change is None or abs(accuracy_change) <= ACCURACY_TARGET_POINTS),
        "fp32_target": "ONNX Runtime fp32 not slower than eager fp32 (every batch size)",
        "fp32_target_met": min(fp32_ratios) >= 1.0,
    }


def quickstart_accuracy(run_dir: Path, ort, threads: int, batch_size: int = 8) -> dict:
    """Accuracy of the quickstart's fine-tuned CMT on its test split (`corpus/test.csv`), eager fp32 vs its ONNX
    export (fp32 and int8) behind the same pipeline; and the exported files' sizes."""
    from modeling_cmt.onnx import (
        ONNX_QUANTIZED_WEIGHTS_NAME,
        ONNX_WEIGHTS_NAME,
        CMTOnnxModel,
        export_onnx,
        load_for_export,
    )

    model_dir, manifest = run_dir / "finetuned-CMT", run_dir / "corpus" / "test.csv"
    if not model_dir.is_dir() or not manifest.is_file():
        raise ValueError(
            f"--onnx_quickstart_dir {os.fspath(run_dir)!r} has no finetuned-CMT/ and corpus/test.csv: give the "
            "--output_dir of a finished `examples/quickstart.py` run."
        )
    with open(manifest) as handle:
        rows = list(csv.DictReader(handle))
    inputs = [{"audio": row["audio"], "text": row["text"]} for row in rows]
    labels = [row["label"] for row in rows]
    model, processor = load_for_export(model_dir)
    with tempfile.TemporaryDirectory() as folder:
        export_onnx(model, folder, processor, quantize=True, verify=False)
        files = {"ort_fp32": ONNX_WEIGHTS_NAME, "ort_int8": ONNX_QUANTIZED_WEIGHTS_NAME}
        models = {"eager_fp32": model.eval()}
        for name, file in files.items():
            options = _ort_session_options(ort, threads)
            models[name] = CMTOnnxModel.from_pretrained(folder, file, session_options=options)
        sizes_mib = {name: os.path.getsize(os.path.join(folder, file)) / 2**20 for name, file in files.items()}
        accuracy, predictions = {}, {}
        for name, backend in models.items():
            classify = pipeline(PIPELINE_TASK, model=backend, processor=processor, device="cpu")
            predictions[name] = [out[0]["label"] for out in classify(inputs, batch_size=batch_size)]
            accuracy[name] = sum(p == y for p, y in zip(predictions[name], labels)) / len(labels)
    return {
        "model": os.fspath(model_dir),
        "utterances": len(rows),
        "accuracy": accuracy,
        "int8_change_points": 100 * (accuracy["ort_int8"] - accuracy["eager_fp32"]),
        "fp32_change_points": 100 * (accuracy["ort_fp32"] - accuracy["eager_fp32"]),
        "int8_prediction_agreement": sum(a == b for a, b in zip(predictions["ort_int8"], predictions["eager_fp32"]))
        / len(rows),
        "size_mib": sizes_mib,
    }


def main(argv: list[str] | None = None) -> dict:
    """This section alone: `python benchmarks/bench_onnx.py [run_benchmarks.py's options]`."""
    import transformers
    from arguments import resolve_arguments
    from report import onnx_markdown
    from run_benchmarks import machine_info

    args, preset = resolve_arguments(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    transformers.utils.logging.set_verbosity_error()
    machine = machine_info(args.threads, "cpu")
    section = onnx_section(args, preset)
    machine["load_average_end"] = list(os.getloadavg())
    results = {
        "machine": machine,
        "size": args.size,
        "timer": args.timer,
        "preset": preset.description,
        "onnx": section,
    }
    markdown = onnx_markdown(results)
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "onnx.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(args.output_dir, "onnx.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown)
    print(markdown)
    print(f"Results written to {os.path.join(args.output_dir, 'onnx.md')} and onnx.json")
    return results


if __name__ == "__main__":
    main()
