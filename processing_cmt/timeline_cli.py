# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""`cmt-timeline`: the emotion or sentiment timeline of each recording in a folder or a list, with a fine-tuned CMT.

    cmt-timeline --model runs/quickstart/finetuned-CMT --inputs calls/ extra.flac --output_dir timelines \\
        --asr_model faster-whisper:tiny.en

`--inputs` takes recordings, folders of recordings and lists of recordings (a `.txt` / `.lst` file, one path a line).
For every recording it writes `<name>.timeline.json`, `.csv` and `.png` into `--output_dir`
(`pipeline("audio-text-sentiment")(recording, return_timeline=True)`, see `processing_cmt.timeline`). A recording that
cannot be read (missing, corrupt, truncated) or fails otherwise is reported and skipped; one without speech gets its
empty timeline and is reported too; neither ends the batch. `summary.json` and `summary.csv` list every recording with
its outcome. The exit code is 1 when any recording failed, 0 otherwise.

Transcripts: with `--asr_model` every segment is transcribed; without it, each recording needs a transcript file
beside it, `<name>.txt` (the whole recording's transcript, aligned to the segments, which needs `--asr_model` as soon
as there is more than one segment) — or the recording fails with that message.
"""

import csv
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


__all__ = ["AUDIO_EXTENSIONS", "LIST_EXTENSIONS", "TimelineArguments", "find_recordings", "main"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au")
LIST_EXTENSIONS = (".txt", ".lst", ".list")  # an input file with one recording per line


@dataclass
class TimelineArguments:
    model: str = field(metadata={"help": "A fine-tuned CMT folder (saved with its processor) or Hub id."})
    inputs: list[str] = field(
        metadata={
            "help": f"Recordings, folders searched for recordings ({', '.join(AUDIO_EXTENSIONS)}), and lists of "
            f"recordings ({', '.join(LIST_EXTENSIONS)}: one path a line, relative to the list's folder)."
        }
    )
    output_dir: str = field(metadata={"help": "Where the timelines and summary.json / summary.csv are written."})
    asr_model: str | None = field(
        default=None,
        metadata={
            "help": "Transcribes each segment: 'faster-whisper:tiny.en' (a package ships it), a CTranslate2 Whisper "
            "folder, or a transformers ASR model id / folder. Without it, a `<name>.txt` transcript beside each "
            "recording is used."
        },
    )
    recursive: bool = field(default=False, metadata={"help": "Search folders recursively."})
    max_segment_s: float = field(default=15.0, metadata={"help": "Longest segment, in seconds."})
    vad_threshold: float = field(default=0.5, metadata={"help": "Voice-activity probability at which speech starts."})
    min_silence_s: float = field(default=0.5, metadata={"help": "Shortest pause that ends a segment, in seconds."})
    min_speech_s: float = field(default=0.25, metadata={"help": "Shorter bursts of speech are taken for noise."})
    speech_pad_s: float = field(default=0.1, metadata={"help": "Padding on each side of a speech region."})
    batch_size: int = field(default=1, metadata={"help": "Segments per forward pass."})
    device: str = field(default="cpu", metadata={"help": "Where the model runs ('cpu', 'cuda', 'cuda:1', ...)."})
    plot: bool = field(default=True, metadata={"help": "Write a PNG of each timeline (--no_plot to skip)."})


def find_recordings(inputs: list[str], recursive: bool = False) -> tuple[list[Path], list[tuple[str, str]]]:
    """`(recordings, problems)`: the files named, listed in list files and found in the folders named (sorted, each
    once), and `(input, reason)` for inputs that are neither a file nor a folder with recordings."""
    recordings, problems, seen = [], [], set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            if not found:
                problems.append((item, f"no recordings ({', '.join(AUDIO_EXTENSIONS)}) in this folder"))
        elif path.is_file() and path.suffix.lower() in LIST_EXTENSIONS:
            # a list of recordings: one path a line (relative to the list's folder), blank lines and # comments aside
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            named = [path.parent / line for line in lines if line and not line.startswith("#")]
            found, missing = [p for p in named if p.is_file()], [p for p in named if not p.is_file()]
            problems += [(os.fspath(p), f"no such file (listed in {item})") for p in missing]
        elif path.is_file():
            found = [path]
        else:
            problems.append((item, "no such file or folder"))
            found = []
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                recordings.append(file)
    return recordings, problems


def _stems(recordings: list[Path]) -> list[str]:
    """An output name per recording: its stem, numbered where two recordings share one."""
    stems, counts = [], {}
    for path in recordings:
        counts[path.stem] = counts.get(path.stem, 0) + 1
        stems.append(path.stem if counts[path.stem] == 1 else f"{path.stem}-{counts[path.stem]}")
    return stems


def _transcript(path: Path) -> str | None:
    transcript = path.with_suffix(".txt")
    return transcript.read_text(encoding="utf-8").strip() if transcript.is_file() else None


def _row(file: str, status: str, result: dict[str, Any] | None = None, outputs=None, error: str = "") -> dict:
    summary = (result or {}).get("summary", {})
    return {
        "file": file,
        "status": status,
        "duration": summary.get("duration", ""),
        "segments": summary.get("num_segments", ""),
        "speech_seconds": summary.get("speech_seconds", ""),
        "dominant_label": summary.get("dominant_label") or "",
        "mean_score": summary.get("mean_score", ""),
        "outputs": " ".join(str(path) for path in (outputs or {}).values()),
        "error": error,
    }


def main(argv: list[str] | None = None) -> int:
    from tqdm.auto import tqdm
    from transformers import HfArgumentParser

    (args,) = HfArgumentParser(TimelineArguments).parse_args_into_dataclasses(args=argv)
    output_dir = Path(args.output_dir)

    # 1. the recordings
    recordings, problems = find_recordings(args.inputs, args.recursive)
    rows = [_row(item, "failed", error=reason) for item, reason in problems]
    for item, reason in problems:
        print(f"{item}: {reason}; skipped.", file=sys.stderr)

    # 2. the model (registering CMT with the Auto classes) and the pipeline
    from transformers import pipeline

    import modeling_cmt  # noqa: F401

    from .timeline import write_timeline

    classify = pipeline("audio-text-sentiment", model=args.model, device=args.device)
    options = {
        key: getattr(args, key)
        for key in ("max_segment_s", "vad_threshold", "min_silence_s", "min_speech_s", "speech_pad_s", "batch_size")
    }

    # 3. one timeline per recording; a failure is reported and the batch goes on
    output_dir.mkdir(parents=True, exist_ok=True)
    for path, stem in zip(tqdm(recordings, desc="recordings", unit="file"), _stems(recordings)):
        try:
            result = classify(
                os.fspath(path), text=_transcript(path), asr_model=args.asr_model, return_timeline=True, **options
            )
            outputs = write_timeline(result, output_dir, stem, plot=args.plot)
        except Exception as error:  # noqa: BLE001 - any failure of one recording is reported, the batch goes on
            message = f"{type(error).__name__}: {error}"
            tqdm.write(f"{path}: failed, skipped. {message}", file=sys.stderr)
            rows.append(_row(os.fspath(path), "failed", error=message))
            continue
        status = "ok" if result["segments"] else "no speech"
        if result["message"]:
            tqdm.write(f"{path}: {result['message']}", file=sys.stderr)
        rows.append(_row(os.fspath(path), status, result, outputs))

    # 4. the summary
    (output_dir / "summary.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(output_dir / "summary.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(_row("", "").keys()))
        writer.writeheader()
        writer.writerows(rows)
    counts = {status: sum(row["status"] == status for row in rows) for status in ("ok", "no speech", "failed")}
    print(
        f"{len(rows)} recordings: {counts['ok']} timelines, {counts['no speech']} without speech, {counts['failed']} "
        f"failed; results in {output_dir} (summary.json, summary.csv)."
    )
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
