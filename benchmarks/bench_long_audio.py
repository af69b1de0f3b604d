# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Section 9, long recordings (issue #12): `pipeline("audio-text-sentiment")(recording, return_timeline=True)` on
recordings of 1, 5, 10 and 30 minutes: time per minute of audio and peak memory against the recording's length, and
the segmentation against the known truth.

The recordings are made of utterances said by piper's neural voice (`tests/speech_fixtures.py`; the quickstart
corpus' emotional sentences, each with its emotion) joined with pauses of 0.6-1.6 s and a quiet noise floor, written to
disk as 22.05 kHz WAV (so that every window is resampled), with the start, end, text and label of every utterance.
Each length runs in a fresh subprocess: load the pipeline, warm it up on a 20 s recording, then build the timeline
with Whisper tiny.en (faster-whisper, int8) transcribing each segment. Memory is the subprocess' peak resident set
(`ru_maxrss`: the model, the ASR, every library and all the work), and its growth during the timeline over what the
warm-up left; time is wall-clock and the process' CPU time.

Segmentation: each true utterance is matched to the segment overlapping it most; a boundary is right within 0.3 s;
an utterance is right when both its boundaries are and no other utterance shares its segment. Labels: each matched
segment's label against the pipeline's on the utterance's own audio as a single utterance (transcribed by the same
ASR), i.e. what a user would get by cutting the recording by hand.

    python benchmarks/bench_long_audio.py                            # the quickstart's model if it is there
    python benchmarks/bench_long_audio.py --minutes 1 5 --output_dir /tmp/long
    python benchmarks/bench_long_audio.py --model runs/quickstart/finetuned-CMT --plot docs/long_recording_timeline.png

`run_benchmarks.py --long_audio` runs it as section 9. Standalone it writes `long_audio.json` and `long_audio.md` into
`--output_dir` (benchmarks/results by default).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT / "tests", REPO_ROOT / "examples", REPO_ROOT):  # a source checkout, uninstalled
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402


DEFAULT_MINUTES = (1, 5, 10, 30)
DEFAULT_MODEL = REPO_ROOT / "runs" / "quickstart" / "finetuned-CMT"
ASR_MODEL = "faster-whisper:tiny.en"
PAUSES = (0.6, 1.6)  # seconds between utterances, uniform
NOISE_LEVEL = 0.002  # standard deviation of the noise floor (about -54 dBFS)
BOUNDARY_TOLERANCE = 0.3  # the target, seconds
PLOT_RECORDING = REPO_ROOT / "runs" / "long_audio" / "conversation.wav"  # the README's figure (`--plot`)
TARGETS = {"time_spread": 0.2, "memory_spread": 0.2, "boundaries": 0.95, "labels": 1.0}


# --- the recordings ---------------------------------------------------------------------------------------------------


def utterance_pool() -> list[dict]:
    """Every emotional sentence of the quickstart corpus (`examples/synthetic_speech.py`), said by piper, with its
    emotion: `{"waveform", "sampling_rate", "text", "label"}`."""
    from speech_fixtures import speak
    from synthetic_speech import EMOTIONAL_TEXT

    pool = []
    for label, sentences in EMOTIONAL_TEXT.items():
        for text in sentences:
            waveform, rate = speak(text)
            pool.append({"waveform": waveform, "sampling_rate": rate, "text": text, "label": label})
    return pool


def write_recording(
    path: Path, pool: list[dict], seconds: float, seed: int, episodes: tuple[int, int] | None = None
) -> list[dict]:
    """Writes utterances drawn from `pool` with pauses, until `seconds` of audio, to `path` (streamed: the recording
    is never in memory whole); returns the truth, `{"start", "end", "pool", "text", "label"}` per utterance. With
    `episodes=(a, b)`, runs of a to b utterances share one emotion, as in a conversation."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    rate = pool[0]["sampling_rate"]
    truth, position = [], 0
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as stream:

        def write(samples):
            nonlocal position
            noise = rng.normal(0.0, NOISE_LEVEL, samples.size).astype(np.float32)
            stream.write(np.clip(samples + noise, -1, 1))
            position += samples.size

        write(np.zeros(int(0.5 * rate), dtype=np.float32))
        episode = []
        while True:
            if episodes is None:
                index = int(rng.integers(len(pool)))
            else:
                if not episode:  # the next emotion, for a run of utterances
                    label = rng.choice(sorted({item["label"] for item in pool}))
                    members = [i for i, item in enumerate(pool) if item["label"] == label]
                    size = min(len(members), int(rng.integers(episodes[0], episodes[1] + 1)))
                    episode = list(rng.choice(members, size=size, replace=False))
                index = int(episode.pop())
            utterance = pool[index]["waveform"]
            pause = int(round(rng.uniform(*PAUSES) * rate))
            if (position + utterance.size + pause) / rate > seconds:
                break
            truth.append({"start": position / rate, "end": (position + utterance.size) / rate, "pool": index})
            truth[-1].update(text=pool[index]["text"], label=pool[index]["label"])
            write(utterance)
            write(np.zeros(pause, dtype=np.float32))
        write(np.zeros(int(round(seconds * rate)) - position, dtype=np.float32))
    return truth


# --- one length, in its own process -----------------------------------------------------------------------------------


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def probe(model: str, recording: str, warmup: str, asr_model: str) -> dict:
    """Runs in a fresh process: the timeline of `recording` after a warm-up on `warmup`, timed, with memory."""
    import gc

    from transformers import pipeline

    import modeling_cmt  # noqa: F401

    classify = pipeline("audio-text-sentiment", model=model, device="cpu")
    classify(warmup, asr_model=asr_model, return_timeline=True)
    gc.collect()
    before = _rss_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    timeline = classify(recording, asr_model=asr_model, return_timeline=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_after_warmup_mib": before,
        "peak_rss_mib": _rss_mib(),
        "timeline": {key: timeline[key] for key in ("duration", "summary", "message")}
        | {"segments": [{k: s[k] for k in ("start", "end", "text", "label")} for s in timeline["segments"]]},
    }


def run_probe(model: str, recording: Path, warmup: Path, asr_model: str, threads: int | None) -> dict:
    environment = dict(os.environ)
    if threads:
        environment["OMP_NUM_THREADS"] = str(threads)
    command = [sys.executable, __file__, "--probe", str(recording), "--warmup", str(warmup), "--model", model]
    command += ["--asr_model", asr_model]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO_ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f"the probe of {recording.name} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- accuracy ---------------------------------------------------------------------------------------------------------


def match_segments(truth: list[dict], segments: list[dict]) -> list[dict]:
    """For each true utterance: the segment overlapping it most (`None` if none), its boundary errors, and whether
    that segment holds another utterance too."""
    owners: dict[int, int] = {}
    matches = []
    for utterance in truth:
        overlaps = [min(utterance["end"], s["end"]) - max(utterance["start"], s["start"]) for s in segments]
        best = int(np.argmax(overlaps)) if overlaps and max(overlaps) > 0 else None
        matches.append({"segment": best})
        if best is not None:
            owners[best] = owners.get(best, 0) + 1
    for utterance, match in zip(truth, matches):
        if match["segment"] is None:
            match.update(start_error=None, end_error=None, shared=False, right=False)
            continue
        segment = segments[match["segment"]]
        start_error, end_error = segment["start"] - utterance["start"], segment["end"] - utterance["end"]
        shared = owners[match["segment"]] > 1
        right = abs(start_error) <= BOUNDARY_TOLERANCE and abs(end_error) <= BOUNDARY_TOLERANCE and not shared
        match.update(start_error=start_error, end_error=end_error, shared=shared, right=right)
    return matches


def single_utterance_labels(model: str, pool: list[dict], asr_model: str) -> list[str]:
    """The pipeline's label on each pool utterance alone, cut at its true boundaries (its own audio, transcribed by
    the same ASR): what a user cutting the recording by hand would get."""
    classify = _pipeline(model)
    labels = []
    for utterance in pool:
        audio = {"array": utterance["waveform"], "sampling_rate": utterance["sampling_rate"]}
        labels.append(_label(classify(audio, asr_model=asr_model)))
    return labels


def segment_sample_labels(model: str, recording: Path, segments: list[dict]) -> list[bool]:
    """Whether each segment's label is the pipeline's on the segment's own samples and text as a single utterance."""
    from processing_cmt.audio_utils import load_audio_segment

    classify = _pipeline(model)
    rate = classify.processor.sampling_rate
    agree = []
    for segment in segments:
        if segment["label"] is None:
            continue
        audio = load_audio_segment(recording, segment["start"], segment["end"], rate)
        result = classify({"array": audio, "sampling_rate": rate}, text=segment["text"])
        agree.append(_label(result) == segment["label"])
    return agree


def aligned_transcript_run(model: str, recording: Path, truth: list[dict], pool: list[dict], asr_model: str) -> dict:
    """The timeline of `recording` given its whole transcript (aligned to the segments through the ASR's words):
    whether each segment gets its utterance's text, and whether its label is the pipeline's on the utterance alone
    with that text, cut at its true boundaries."""
    classify = _pipeline(model)
    transcript = " ".join(utterance["text"] for utterance in truth)
    timeline = classify(str(recording), text=transcript, asr_model=asr_model, return_timeline=True)
    segments = timeline["segments"]
    alone = {}
    texts, labels = [], []
    for utterance, match in zip(truth, match_segments(truth, segments)):
        if not match["right"]:
            continue
        segment = segments[match["segment"]]
        texts.append(segment["text"] == utterance["text"])
        if utterance["pool"] not in alone:
            item = pool[utterance["pool"]]
            audio = {"array": item["waveform"], "sampling_rate": item["sampling_rate"]}
            alone[utterance["pool"]] = _label(classify(audio, text=item["text"]))
        labels.append(segment["label"] == alone[utterance["pool"]])
    return {
        "minutes": timeline["duration"] / 60,
        "utterances": len(truth),
        "compared": len(texts),
        "text_equal": float(np.mean(texts)) if texts else None,
        "label_equal_to_hand_cut": float(np.mean(labels)) if labels else None,
    }


def _pipeline(model: str):
    from transformers import pipeline

    import modeling_cmt  # noqa: F401

    return pipeline("audio-text-sentiment", model=model, device="cpu")


def _label(result) -> str:
    return result["label"] if isinstance(result, dict) else result[0]["label"]


# --- the section ------------------------------------------------------------------------------------------------------


def tiny_model(folder: Path) -> str:
    """A random CMT at the benchmarks' tiny size with its processor, when no trained model is given."""
    import torch
    from common import SIZES, build_tokenizer, cmt_config, default_feature_extractor
    from transformers import pipeline

    from modeling_cmt import CMTForSequenceClassification
    from processing_cmt import CMTProcessor

    torch.manual_seed(0)
    tokenizer = build_tokenizer(500)
    config = cmt_config(SIZES["tiny"], len(tokenizer), num_labels=4)
    config.id2label = {0: "angry", 1: "happy", 2: "neutral", 3: "sad"}
    config.label2id = {label: index for index, label in config.id2label.items()}
    processor = CMTProcessor(feature_extractor=default_feature_extractor(), tokenizer=tokenizer)
    pipe = pipeline("audio-text-sentiment", model=CMTForSequenceClassification(config).eval(), processor=processor)
    pipe.save_pretrained(folder)
    return str(folder)


def long_audio_section(
    minutes=DEFAULT_MINUTES,
    seed: int = 0,
    model: str | None = None,
    asr_model: str = ASR_MODEL,
    plot: str | None = None,
    threads: int | None = 1,
    progress=print,
) -> dict:
    """The figures of section 9 (see the module docstring) as a dict."""
    import soundfile as sf

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cmt-long-audio-") as directory:
        directory = Path(directory)
        if model is None:
            model = str(DEFAULT_MODEL) if (DEFAULT_MODEL / "config.json").is_file() else None
        model_kind = "given" if model else "random tiny CMT (no trained model found)"
        if model is None:
            model = tiny_model(directory / "model")
        elif Path(model).resolve() == DEFAULT_MODEL.resolve():
            model_kind = "the quickstart's fine-tuned CMT (runs/quickstart/finetuned-CMT)"
        pool = utterance_pool()
        progress(f"[9] {len(pool)} piper utterances; model: {model_kind}")
        warmup = directory / "warmup.wav"
        write_recording(warmup, pool, 20.0, seed + 1000)
        single = single_utterance_labels(model, pool, asr_model)
        lengths, all_matches, agreements, known, same_samples = [], [], [], [], []
        for length in minutes:
            path = directory / f"recording_{length}min.wav"
            truth = write_recording(path, pool, length * 60.0, seed + int(length * 60))
            info = sf.info(str(path))
            result = run_probe(model, path, warmup, asr_model, threads)
            segments = result["timeline"]["segments"]
            matches = match_segments(truth, segments)
            for utterance, match in zip(truth, matches):
                if match["right"]:
                    label = segments[match["segment"]]["label"]
                    agreements.append(label == single[utterance["pool"]])
                    known.append(label == utterance["label"])
            all_matches += matches
            if length == minutes[0]:  # the same samples: every segment of the first recording
                same_samples += segment_sample_labels(model, path, segments)
            if length == minutes[min(1, len(minutes) - 1)]:  # the second recording (5 min) with its transcript
                aligned = aligned_transcript_run(model, path, truth, pool, asr_model)
            summary = result["timeline"]["summary"]
            lengths.append(
                {
                    "minutes": length,
                    "duration_s": info.frames / info.samplerate,
                    "file_mib": path.stat().st_size / 2**20,
                    "float32_16k_mib": info.frames / info.samplerate * 16000 * 4 / 2**20,
                    "utterances": len(truth),
                    "segments": len(segments),
                    "speech_s": summary["speech_seconds"],
                    "non_speech_s": summary["non_speech_seconds"],
                    "wall_s": result["wall_s"],
                    "cpu_s": result["cpu_s"],
                    "wall_s_per_min": result["wall_s"] / (info.frames / info.samplerate / 60),
                    "cpu_s_per_min": result["cpu_s"] / (info.frames / info.samplerate / 60),
                    "peak_rss_mib": result["peak_rss_mib"],
                    "rss_growth_mib": result["peak_rss_mib"] - result["rss_after_warmup_mib"],
                    "boundaries_right": float(np.mean([m["right"] for m in matches])),
                }
            )
            progress(
                f"[9] {length} min: {result['wall_s']:.0f} s wall ({lengths[-1]['wall_s_per_min']:.1f} s/min), peak "
                f"RSS {result['peak_rss_mib']:.0f} MiB, {len(segments)} segments for {len(truth)} utterances"
            )
        plot_command = None
        if plot:
            plot_command = " ".join(plot_example(model, pool, Path(plot), asr_model, seed))
            progress(f"[9] the timeline of {PLOT_RECORDING.relative_to(REPO_ROOT)}: {plot}")
    reference = lengths[0]
    for row in lengths:
        row["wall_per_min_vs_first"] = row["wall_s_per_min"] / reference["wall_s_per_min"]
        row["cpu_per_min_vs_first"] = row["cpu_s_per_min"] / reference["cpu_s_per_min"]
        row["peak_rss_vs_first"] = row["peak_rss_mib"] / reference["peak_rss_mib"]
    errors = [abs(e) for m in all_matches for e in (m["start_error"], m["end_error"]) if e is not None]

    def spread(key):
        values = [row[key] for row in lengths]
        return max(values) / min(values) - 1

    result = {
        "run": True,
        "model": model_kind,
        "asr_model": asr_model,
        "threads": threads,
        "minutes": list(minutes),
        "pauses_s": list(PAUSES),
        "noise_level": NOISE_LEVEL,
        "pool_utterances": len(pool),
        "lengths": lengths,
        "time_spread": {"wall": spread("wall_s_per_min"), "cpu": spread("cpu_s_per_min")},
        "memory_spread": spread("peak_rss_mib"),
        "segmentation": {
            "utterances": len(all_matches),
            "right": float(np.mean([m["right"] for m in all_matches])),
            "missed": int(sum(m["segment"] is None for m in all_matches)),
            "shared": int(sum(m["shared"] for m in all_matches)),
            "median_boundary_error_s": float(np.median(errors)) if errors else None,
            "p95_boundary_error_s": float(np.percentile(errors, 95)) if errors else None,
        },
        "aligned_transcript": aligned,
        "plot": {"png": plot, "command": plot_command} if plot else None,
        "labels": {
            "same_samples_compared": len(same_samples),
            "equal_on_same_samples": float(np.mean(same_samples)) if same_samples else None,
            "compared": len(agreements),
            "equal_to_single_utterance": float(np.mean(agreements)) if agreements else None,
            "equal_to_known_label": float(np.mean(known)) if known else None,
        },
        "seconds": time.perf_counter() - started,
    }
    result["targets_met"] = {
        # CPU time, as the other sections on this shared machine: other jobs' load moves the wall clock
        "time": result["time_spread"]["cpu"] <= TARGETS["time_spread"],
        "memory": result["memory_spread"] <= TARGETS["memory_spread"],
        "boundaries": result["segmentation"]["right"] >= TARGETS["boundaries"],
        "labels": (result["labels"]["equal_on_same_samples"] or 0) >= TARGETS["labels"],
    }
    return result


def plot_example(model: str, pool: list[dict], path: Path, asr_model: str, seed: int) -> list[str]:
    """The README's figure: a 2-minute recording written to `runs/long_audio/conversation.wav`, its timeline made by
    the `cmt-timeline` command (run as `python -m processing_cmt.timeline_cli`, the same code), the PNG copied to
    `path`. Returns the command."""
    PLOT_RECORDING.parent.mkdir(parents=True, exist_ok=True)
    write_recording(PLOT_RECORDING, pool, 120.0, seed + 7, episodes=(2, 5))
    output = PLOT_RECORDING.parent / "timelines"
    arguments = ["--model", os.path.relpath(model, REPO_ROOT), "--inputs", str(PLOT_RECORDING.relative_to(REPO_ROOT))]
    arguments += ["--output_dir", str(output.relative_to(REPO_ROOT)), "--asr_model", asr_model]
    command = [sys.executable, "-m", "processing_cmt.timeline_cli", *arguments]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"cmt-timeline failed on {PLOT_RECORDING}:\n{completed.stderr[-4000:]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((output / f"{PLOT_RECORDING.stem}.timeline.png").read_bytes())
    return ["cmt-timeline", *arguments]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=list(DEFAULT_MINUTES), help="Recording lengths.")
    parser.add_argument("--model", help="A fine-tuned CMT folder; defaults to the quickstart's, else a random one.")
    parser.add_argument("--asr_model", default=ASR_MODEL, help="Transcribes each segment.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", default=str(REPO_ROOT / "benchmarks" / "results"))
    parser.add_argument("--plot", help="Also write the timeline PNG of a 2-minute recording here.")
    parser.add_argument(
        "--threads", type=int, default=1, help="Threads of the probes (torch and CTranslate2), 1 as sections 1-5."
    )
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:  # the subprocess of one length
        result = probe(args.model, args.probe, args.warmup, args.asr_model)
        print(json.dumps(result))
        return result
    from report import long_audio_markdown

    minutes = [int(m) if float(m).is_integer() else m for m in args.minutes]
    result = long_audio_section(minutes, args.seed, args.model, args.asr_model, args.plot, args.threads)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "long_audio.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = long_audio_markdown(result)
    (output / "long_audio.md").write_text(markdown + "\n")
    print(markdown)
    return result


if __name__ == "__main__":
    main()
