# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The emotion or sentiment of a long recording over time: `pipeline("audio-text-sentiment")(recording,
return_timeline=True)`, and the timeline it returns written as JSON, CSV and a PNG plot.

A timeline is a plain dict (JSON as it is):

```python
{
    "audio": "call.wav", "duration": 612.4, "sampling_rate": 44100,
    "task": "classification",                     # or "regression" (a sentiment score in [-3, 3])
    "labels": ["angry", "happy", "neutral", "sad"],   # classification only
    "transcripts": "asr",                         # "asr", "aligned" (a whole transcript split by the ASR's words),
                                                  # "per-segment" (given), "whole" (one segment, its transcript)
    "segmentation": {"source": "vad", "max_segment_s": 15.0, ...},  # or "given" (`segments=`)
    "segments": [
        {"start": 1.08, "end": 2.98, "text": "I can't believe it.", "label": "angry", "score": 0.81,
         "scores": {"angry": 0.81, "happy": 0.05, ...}, "words": [{"start": 1.1, "end": 1.3, "text": "I"}, ...]},
        {"start": 3.5, "end": 4.1, "text": "", "label": None, "score": None, "scores": None,
         "note": "the ASR recognised no words in this segment"},
        ...
    ],
    "summary": {
        "duration": 612.4, "speech_seconds": 430.2, "non_speech_seconds": 182.2,
        "classified_seconds": 429.6, "unclassified_seconds": 0.6, "num_segments": 96,
        "classes": {"angry": {"seconds": 120.3, "share": 0.28}, ...},  # share of the classified speech
        "mean_scores": {"angry": 0.31, ...},      # time-weighted mean of each class's probability
        "dominant_label": "neutral",
        # regression: "mean_score" (time-weighted) and "classes" negative / neutral / positive
    },
    "message": None,                              # says why a timeline is empty (no speech)
}
```

Regression segments carry `score`, `acc7_class` and `label` (negative / neutral / positive) instead of `scores`.
Every second of the recording is either in a segment or in `non_speech_seconds`; a segment that could not be
classified (no words in it) stays in the timeline with `label: None` and a `note`, its seconds in
`unclassified_seconds`.
"""

import csv
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .long_audio import DEFAULT_WINDOW_SECONDS, Recording, SegmentationOptions, open_recording, segment_recording


__all__ = [
    "TIMELINE_ARGUMENTS",
    "build_timeline",
    "pipeline_timelines",
    "plot_timeline",
    "summarize_segments",
    "timeline_rows",
    "write_timeline",
    "write_timeline_csv",
    "write_timeline_json",
]

# `pipeline(...)(recording, return_timeline=True, **these)`: the pipeline argument -> SegmentationOptions field.
SEGMENTATION_ARGUMENTS = {
    "max_segment_s": "max_segment_s",
    "vad_threshold": "threshold",
    "min_silence_s": "min_silence_s",
    "min_speech_s": "min_speech_s",
    "speech_pad_s": "speech_pad_s",
}
TIMELINE_ARGUMENTS = ("return_timeline", "segments", *SEGMENTATION_ARGUMENTS)
# The pipeline's ordinary arguments that mean the same in timeline mode.
SHARED_ARGUMENTS = ("sampling_rate", "asr_model", "batch_size", "errors")

ROUND = 3  # decimals of the seconds written (milliseconds)


def _seconds(value: float) -> float:
    return round(float(value), ROUND)


# --- building ---------------------------------------------------------------------------------------------------------


def _check_given_segments(segments: Any, duration: float, name: str) -> list[tuple[float, float]]:
    if isinstance(segments, (str, bytes)) or not isinstance(segments, Sequence):
        raise ValueError(f"{name}: `segments` must be a list of (start, end) seconds, got {type(segments).__name__}.")
    checked = []
    for index, segment in enumerate(segments):
        try:
            start, end = (float(value) for value in segment)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name}: segments[{index}] is not a (start, end) pair: {segment!r}.") from error
        if not (np.isfinite(start) and np.isfinite(end)) or start < 0 or end <= start:
            raise ValueError(f"{name}: segments[{index}] = ({start}, {end}) is not an interval 0 <= start < end.")
        if end > duration + 1e-6:
            raise ValueError(
                f"{name}: segments[{index}] = ({start}, {end}) ends after the recording, which lasts {duration:.3f} s."
            )
        if checked and start < checked[-1][1]:
            raise ValueError(f"{name}: segments[{index}] overlaps the one before; give them sorted and disjoint.")
        checked.append((start, min(end, duration)))
    return checked


def _transcriber(pipe: Any, asr_model: Any) -> Any:
    """The word transcriber of `asr_model`, loaded once per pipeline and shared with its single-utterance ASR (the
    pipeline's own cache of ASR models by name)."""
    from .asr_backends import load_word_transcriber

    resolved = pipe._resolve_asr(asr_model)  # a transformers ASR pipeline or a faster-whisper WordTranscriber
    cache = pipe.__dict__.setdefault("_word_transcribers", {})
    if id(resolved) not in cache:  # the pipeline's cache keeps `resolved` alive, so its id stays its own
        cache[id(resolved)] = load_word_transcriber(resolved, device=pipe.device)
    return cache[id(resolved)]


def _transcribe_segments(
    recording: Recording, segments: list[tuple[float, float]], transcriber: Any, rate: int
) -> Iterator[list[Any]]:
    """The recognised words of each segment, on the recording's clock (segment by segment: bounded memory)."""
    from .asr_backends import Word

    for start, end in segments:
        words = transcriber(recording.read_seconds(start, end, rate), rate)
        yield [Word(word.start + start, word.end + start, word.text) for word in words]


def _word_dicts(words: list[Any]) -> list[dict[str, Any]]:
    return [{"start": _seconds(word.start), "end": _seconds(word.end), "text": word.text} for word in words]


def build_timeline(
    pipe: Any,
    audio: Any,
    text: str | Sequence[str] | None = None,
    *,
    sampling_rate: int | None = None,
    options: SegmentationOptions | None = None,
    segments: Sequence[tuple[float, float]] | None = None,
    asr_model: Any = None,
    batch_size: int | None = None,
    name: str | None = None,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
) -> dict[str, Any]:
    """
    The timeline of one recording (see the module docstring): segments found by the VAD (or given), transcribed
    where no transcript is given, each classified by the pipeline exactly as a single utterance would be.

    Args:
        pipe ([`AudioTextSentimentPipeline`]): classifies the segments.
        audio: a path, bytes, or an audio dict / array (see [`~processing_cmt.long_audio.open_recording`]).
        text (`str` or `list[str]`, *optional*):
            `None`: each segment is transcribed by `asr_model`. A string: the transcript of the whole recording,
            split over the segments by aligning it to the words `asr_model` recognises (no ASR is needed when there
            is a single segment). A list: one transcript per segment, taken as they are.
        sampling_rate (`int`, *optional*): the rate of a raw array; for a file, the rate it must have.
        options ([`SegmentationOptions`], *optional*): the VAD's cutting rules.
        segments (`list[tuple[float, float]]`, *optional*): `(start, end)` seconds to classify instead of the VAD's.
        asr_model (*optional*): anything `load_word_transcriber` takes (`"faster-whisper:tiny.en"`, a transformers
            ASR model id / folder / pipeline).
        batch_size (`int`, *optional*): segments per forward pass; defaults to the pipeline's.
        name (`str`, *optional*): how errors call the recording.
        window_seconds (`float`, *optional*): seconds decoded at a time by the VAD.

    Returns:
        `dict`: the timeline.

    Raises:
        `ValueError`: naming the recording, for unreadable / truncated audio, a declared rate the file does not have,
        per-segment transcripts whose number is not the number of segments, a whole transcript that cannot be aligned
        or that is given with no speech found, or no transcript and no `asr_model`.
    """
    options = options or SegmentationOptions()
    rate = pipe.processor.sampling_rate
    with open_recording(audio, sampling_rate=sampling_rate, name=name) as recording:
        name = recording.name
        if segments is not None:
            spans, source = _check_given_segments(segments, recording.duration, name), "given"
        else:
            spans, source = segment_recording(recording, options, window_seconds), "vad"
        # the times written are the times read: the segment's samples are exactly those of its rounded interval
        spans = [(_seconds(start), _seconds(end)) for start, end in spans]
        segmentation = {"source": source, **(options.to_dict() if source == "vad" else {})}

        if text is not None and not isinstance(text, str):
            if isinstance(text, bytes) or not isinstance(text, Sequence):
                raise ValueError(f"{name}: `text` must be a string or a list of strings, got {type(text).__name__}.")
            if len(text) != len(spans):
                raise ValueError(
                    f"{name}: {len(text)} per-segment transcripts were given for {len(spans)} segments "
                    f"({'found by the VAD' if source == 'vad' else 'given'}); give one per segment (the segments of "
                    "a previous run with the same options, or `segments=`), or one string for the whole recording."
                )
            for index, entry in enumerate(text):
                if not isinstance(entry, str):
                    raise ValueError(f"{name}: text[{index}] must be a string, got {type(entry).__name__}.")
            texts, words, transcripts = list(text), None, "per-segment"
        elif text is not None and not spans:
            raise ValueError(
                f"{name}: a transcript was given, but no speech was found in the recording "
                f"({recording.duration:.1f} s), so it cannot be placed in time; lower `vad_threshold` (now "
                f"{options.threshold}) or give `segments=`."
            )
        elif not spans:  # nothing to transcribe
            texts, words, transcripts = [], None, None
        elif text is not None and len(spans) == 1 and asr_model is None:
            texts, words, transcripts = [text], None, "whole"
        else:
            if asr_model is None:
                raise ValueError(
                    f"{name}: "
                    + (
                        "no transcript. Pass `asr_model=` (e.g. 'faster-whisper:tiny.en') to transcribe each segment, "
                        "or give the transcripts."
                        if text is None
                        else f"a transcript of the whole recording is split over its {len(spans)} segments by "
                        "aligning it to recognised words: pass `asr_model=` (e.g. 'faster-whisper:tiny.en'), or give "
                        "one transcript per segment (`text=[...]`)."
                    )
                )
            transcriber = _transcriber(pipe, asr_model)
            words = list(_transcribe_segments(recording, spans, transcriber, rate))
            if text is None:
                texts, transcripts = [" ".join(word.text for word in group) for group in words], "asr"
            else:
                from .asr_backends import align_transcript

                try:
                    texts = align_transcript(text, [word for group in words for word in group], spans)
                except ValueError as error:
                    raise ValueError(f"{name}: the transcript cannot be aligned to the recording: {error}") from error
                transcripts = "aligned"

        config = pipe.model.config
        labels = None if pipe.is_regression else [config.id2label[i] for i in range(len(config.id2label))]
        results = _classify_segments(pipe, recording, spans, texts, rate, batch_size)
        entries = []
        for index, ((start, end), segment_text, result) in enumerate(zip(spans, texts, results)):
            entry = {"start": _seconds(start), "end": _seconds(end), "text": segment_text.strip()}
            entry.update(_result_fields(result, pipe.is_regression, labels))
            if result is None:
                entry["note"] = (
                    "the ASR recognised no words in this segment"
                    if transcripts == "asr"
                    else "no words of the transcript fall in this segment"
                )
            if words is not None:
                entry["words"] = _word_dicts(words[index])
            entries.append(entry)
        duration = recording.duration
        file_rate = recording.sampling_rate

    summary = summarize_segments(entries, duration, labels=labels)
    message = None
    if not entries:
        message = (
            f"No speech found in {name} ({duration:.1f} s of audio, all counted as non-speech): the timeline is empty."
        )
    elif summary["classified_seconds"] == 0:
        message = f"No segment of {name} could be classified: no words in any of its {len(entries)} speech segments."
    return {
        "audio": name,
        "duration": _seconds(duration),
        "sampling_rate": file_rate,
        "task": "regression" if pipe.is_regression else "classification",
        **({"labels": labels} if labels is not None else {}),
        "transcripts": transcripts,
        "segmentation": segmentation,
        "segments": entries,
        "summary": summary,
        "message": message,
    }


def _classify_segments(
    pipe: Any,
    recording: Recording,
    spans: list[tuple[float, float]],
    texts: list[str],
    rate: int,
    batch_size: int | None,
) -> list[Any]:
    """The pipeline's result for each segment (`None` where it has no text), the segments read one at a time."""
    todo = [index for index, segment_text in enumerate(texts) if segment_text.strip()]

    def inputs():
        for index in todo:
            start, end = spans[index]
            yield {
                "audio": {"array": recording.read_seconds(start, end, rate), "sampling_rate": rate},
                "text": texts[index],
            }

    results: list[Any] = [None] * len(spans)
    if todo:
        kwargs = {"batch_size": batch_size} if batch_size else {}
        if not pipe.is_regression:
            kwargs["top_k"] = None
        # a generator streams through the pipeline: at most a batch of segments is in memory
        for index, result in zip(todo, pipe(inputs(), return_timeline=False, **kwargs)):
            results[index] = result
    return results


def _result_fields(result: Any, regression: bool, labels: Sequence[str] | None) -> dict[str, Any]:
    if regression:
        if result is None:
            return {"label": None, "score": None, "acc7_class": None}
        return {"label": result["label"], "score": result["score"], "acc7_class": result["acc7_class"]}
    if result is None:
        return {"label": None, "score": None, "scores": None}
    return {
        "label": result[0]["label"],
        "score": result[0]["score"],
        "scores": {label: next(e["score"] for e in result if e["label"] == label) for label in labels},  # in id order
    }


def summarize_segments(
    segments: Sequence[Mapping[str, Any]], duration: float, labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """
    The summary of a timeline's segments over a recording of `duration` seconds.

    Args:
        segments (`list[dict]`): the timeline's segments (`start`, `end`, `label`, and `scores` for classification or
            `score` for regression; `label: None` for a segment that was not classified).
        duration (`float`): seconds of the recording.
        labels (`list[str]`, *optional*): the classes of a classification checkpoint (each gets an entry, 0 s when
            it never wins); `None` for a regression checkpoint (negative / neutral / positive and `mean_score`).

    Returns:
        `dict`: see the module docstring. `speech_seconds + non_speech_seconds == duration` and
        `classified_seconds + unclassified_seconds == speech_seconds` (to the written precision).
    """
    lengths = [float(segment["end"]) - float(segment["start"]) for segment in segments]
    classified = [(segment, length) for segment, length in zip(segments, lengths) if segment["label"] is not None]
    speech = float(sum(lengths))
    classified_seconds = float(sum(length for _, length in classified))
    class_names = list(labels) if labels is not None else ["negative", "neutral", "positive"]
    seconds = dict.fromkeys(class_names, 0.0)
    for segment, length in classified:
        seconds[segment["label"]] = seconds.get(segment["label"], 0.0) + length
    summary = {
        "duration": _seconds(duration),
        "speech_seconds": _seconds(speech),
        "non_speech_seconds": _seconds(duration - speech),
        "classified_seconds": _seconds(classified_seconds),
        "unclassified_seconds": _seconds(speech - classified_seconds),
        "num_segments": len(segments),
        "classes": {
            label: {
                "seconds": _seconds(value),
                "share": round(value / classified_seconds, 4) if classified_seconds else None,
            }
            for label, value in seconds.items()
        },
        "dominant_label": max(seconds, key=seconds.get) if classified_seconds else None,
    }
    if labels is not None:
        summary["mean_scores"] = {
            label: (
                round(sum(segment["scores"][label] * length for segment, length in classified) / classified_seconds, 4)
                if classified_seconds
                else None
            )
            for label in class_names
        }
    else:
        summary["mean_score"] = (
            round(sum(segment["score"] * length for segment, length in classified) / classified_seconds, 4)
            if classified_seconds
            else None
        )
    return summary


# --- the pipeline's timeline mode -------------------------------------------------------------------------------------


def pipeline_timelines(pipe: Any, inputs: Any, text: Any = None, **kwargs) -> dict[str, Any] | list[dict[str, Any]]:
    """
    `pipe(inputs, text, return_timeline=True, **kwargs)`: one timeline per recording (a list for a list of them).

    Takes `max_segment_s`, `vad_threshold`, `min_silence_s`, `min_speech_s`, `speech_pad_s`, `segments`, and the
    pipeline's `sampling_rate`, `asr_model`, `batch_size` and `errors` (`"return"`: a recording that fails gets
    `{"error": message, "input": name}` in place of its timeline); defaults given when the pipeline was built count
    too.
    """
    kwargs.pop("return_timeline", None)
    defaults = {key: value for key, value in getattr(pipe, "_timeline_params", {}).items() if key != "return_timeline"}
    for key in ("sampling_rate", "asr_model"):
        if key in pipe._preprocess_params:
            defaults.setdefault(key, pipe._preprocess_params[key])
    kwargs = {**defaults, **{key: value for key, value in kwargs.items() if value is not None}}
    unknown = sorted(set(kwargs) - set(TIMELINE_ARGUMENTS) - set(SHARED_ARGUMENTS))
    if unknown:
        raise ValueError(
            f"return_timeline=True got arguments it does not take: {unknown}; it takes `text`, `sampling_rate`, "
            f"`asr_model`, `batch_size`, `errors`, `segments` and "
            f"{', '.join(f'`{key}`' for key in SEGMENTATION_ARGUMENTS)} "
            "(each segment gets every label's score, so `top_k` does not apply)."
        )
    options = SegmentationOptions(
        **{field: kwargs[key] for key, field in SEGMENTATION_ARGUMENTS.items() if key in kwargs}
    )
    common = {
        "options": options,
        "sampling_rate": kwargs.get("sampling_rate"),
        "asr_model": kwargs.get("asr_model"),
        "batch_size": kwargs.get("batch_size") or getattr(pipe, "_batch_size", None),
    }
    errors = kwargs.get("errors") or "raise"
    if errors not in ("raise", "return"):
        raise ValueError(f"`errors` must be 'raise' (the default) or 'return', got {errors!r}.")

    def one(item, item_text, name, label=None, segments=None):
        """A recording's timeline; with errors="return", `{"error", "input"}` in its place when it fails."""
        try:
            audio, item_text, rate = _split_recording(item, item_text, name)
            rate = rate if rate is not None else common["sampling_rate"]
            return build_timeline(
                pipe, audio, item_text, **{**common, "sampling_rate": rate}, segments=segments, name=label
            )
        except Exception as error:  # noqa: BLE001 - errors="return": one failure does not end a list of recordings
            if errors == "raise":
                raise
            message = str(error)
            return {"error": message if label and label in message else f"{name}: {message}", "input": name}

    if isinstance(inputs, tuple):
        inputs = list(inputs)
    if not isinstance(inputs, list):
        return one(inputs, text, "inputs", segments=kwargs.get("segments"))
    if not inputs:
        raise ValueError("return_timeline=True got an empty list of recordings.")
    if kwargs.get("segments") is not None:
        raise ValueError("`segments=` applies to a single recording; pass one recording at a time.")
    if text is not None and (isinstance(text, str) or not isinstance(text, Sequence) or len(text) != len(inputs)):
        raise ValueError(
            f"For a list of {len(inputs)} recordings, `text` must be a list of {len(inputs)} entries (each None, the "
            "recording's transcript, or a list of per-segment transcripts)."
        )
    timelines = []
    for index, item in enumerate(inputs):
        audio = item.get("audio") if isinstance(item, Mapping) else item
        name = f"inputs[{index}]"
        label = os.fspath(audio) if isinstance(audio, (str, os.PathLike)) else name
        timelines.append(one(item, None if text is None else text[index], name, label))
    return timelines


def _split_recording(item: Any, text: Any, name: str) -> tuple[Any, Any, int | None]:
    """`(audio, text, sampling_rate)` of one recording input: a path / bytes / array, or `{"audio", "text",
    "sampling_rate"}`."""
    if isinstance(item, Mapping) and "audio" in item:
        if item.get("text") is not None and text is not None:
            raise ValueError(f"{name}: the input dict has a `text` and `text=` was given too; pass one of them.")
        return item["audio"], item.get("text", text), item.get("sampling_rate")
    return item, text, None


# --- output -----------------------------------------------------------------------------------------------------------


def _check_timeline(timeline: Any) -> None:
    if not isinstance(timeline, Mapping) or not {"segments", "summary", "duration"} <= set(timeline):
        raise ValueError(
            "expected a timeline dict (`pipe(recording, return_timeline=True)`), got "
            f"{type(timeline).__name__}{' with keys ' + str(sorted(timeline)) if isinstance(timeline, Mapping) else ''}."
        )


def write_timeline_json(timeline: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Writes the timeline as indented JSON (UTF-8); returns the path."""
    _check_timeline(timeline)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(timeline, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def timeline_rows(timeline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per segment: start, end, duration, label, score, one `score_<label>` per class (classification)
    or `acc7_class` (regression), text, note."""
    _check_timeline(timeline)
    labels = timeline.get("labels") or []
    rows = []
    for segment in timeline["segments"]:
        row = {
            "start": segment["start"],
            "end": segment["end"],
            "duration": _seconds(segment["end"] - segment["start"]),
            "label": segment["label"] if segment["label"] is not None else "",
            "score": segment["score"] if segment["score"] is not None else "",
        }
        if timeline.get("task") == "regression":
            row["acc7_class"] = segment.get("acc7_class") if segment.get("acc7_class") is not None else ""
        for label in labels:
            row[f"score_{label}"] = segment["scores"][label] if segment.get("scores") else ""
        row["text"] = segment.get("text", "")
        row["note"] = segment.get("note", "")
        rows.append(row)
    return rows


def write_timeline_csv(timeline: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Writes one CSV row per segment ([`timeline_rows`]); returns the path. A timeline without segments gives the
    header line alone."""
    rows = timeline_rows(timeline)
    columns = ["start", "end", "duration", "label", "score"]
    if timeline.get("task") == "regression":
        columns.append("acc7_class")
    columns += [f"score_{label}" for label in timeline.get("labels") or []] + ["text", "note"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _clock(seconds: float, _position: Any = None) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def plot_timeline(
    timeline: Mapping[str, Any], path: str | os.PathLike, title: str | None = None, dpi: int = 120
) -> Path:
    """
    Draws the timeline as a PNG: for a classification checkpoint, each segment's class probabilities as stacked
    coloured bands over its time span, with the winning label in a strip below; for a regression checkpoint, each
    segment's sentiment score in [-3, 3] (green above 0, red below) and the time-weighted mean. Pauses stay blank;
    unclassified segments are hatched grey. The legend gives each class's share of the speech.

    Args:
        timeline (`dict`): as the pipeline returns it.
        path (`str` or `os.PathLike`): the PNG file to write.
        title (`str`, *optional*): defaults to the recording's name.
        dpi (`int`, *optional*, defaults to 120).

    Returns:
        `Path`: the file written.
    """
    _check_timeline(timeline)
    import matplotlib

    matplotlib.use("Agg", force=False)  # no display needed; a backend chosen by the caller stays
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    duration = max(float(timeline["duration"]), 1e-3)
    summary, segments = timeline["summary"], timeline["segments"]
    regression = timeline.get("task") == "regression"
    title = title or Path(str(timeline.get("audio", "recording"))).name
    figure, axes = plt.subplots(
        2, 1, figsize=(12, 4.8), sharex=True, gridspec_kw={"height_ratios": [4, 1]}, constrained_layout=True
    )
    top, strip = axes
    unclassified = [(s["start"], s["end"] - s["start"]) for s in segments if s["label"] is None]
    if regression:
        for segment in segments:
            if segment["label"] is None:
                continue
            score = segment["score"]
            colour = "#2ca02c" if score > 0 else "#d62728"
            top.fill_between([segment["start"], segment["end"]], 0, score, color=colour, alpha=0.6, linewidth=0)
            top.plot([segment["start"], segment["end"]], [score, score], color=colour, linewidth=1.5)
        top.axhline(0, color="black", linewidth=0.8)
        if summary.get("mean_score") is not None:
            top.axhline(summary["mean_score"], color="#1f77b4", linestyle="--", linewidth=1.2)
        top.set_ylim(-3.2, 3.2)
        top.set_ylabel("sentiment score")
        colours = {"negative": "#d62728", "neutral": "#7f7f7f", "positive": "#2ca02c"}
        handles = [Patch(color=colour, label=f"{label} {_share(summary, label)}") for label, colour in colours.items()]
        if summary.get("mean_score") is not None:
            handles.append(
                matplotlib.lines.Line2D(
                    [], [], color="#1f77b4", linestyle="--", label=f"mean {summary['mean_score']:+.2f}"
                )
            )
    else:
        labels = timeline.get("labels") or list(summary["classes"])
        palette = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
        colours = {label: palette(index % palette.N) for index, label in enumerate(labels)}
        for segment in segments:
            if segment["label"] is None:
                continue
            bottom = 0.0
            for label in labels:
                value = segment["scores"][label]
                top.bar(
                    segment["start"], value, width=segment["end"] - segment["start"], bottom=bottom,
                    align="edge", color=colours[label], linewidth=0,
                )  # fmt: skip
                bottom += value
        top.set_ylim(0, 1)
        top.set_ylabel("class probability")
        handles = [Patch(color=colours[label], label=f"{label} {_share(summary, label)}") for label in labels]
        colours_by_label = colours
    for start, width in unclassified:
        top.broken_barh([(start, width)], (0, top.get_ylim()[1]), facecolor="none", edgecolor="grey", hatch="//")
        strip.broken_barh([(start, width)], (0, 1), facecolor="none", edgecolor="grey", hatch="//")
    for segment in segments:
        if segment["label"] is None:
            continue
        colour = (colours if regression else colours_by_label)[segment["label"]]
        strip.broken_barh([(segment["start"], segment["end"] - segment["start"])], (0, 1), color=colour)
    if unclassified:
        handles.append(Patch(facecolor="none", edgecolor="grey", hatch="//", label="not classified"))
    strip.set_yticks([])
    strip.set_ylabel("label", rotation=0, ha="right", va="center")
    strip.set_xlim(0, duration)
    strip.xaxis.set_major_formatter(FuncFormatter(_clock))
    strip.set_xlabel(
        f"time (m:ss)  —  speech {summary['speech_seconds']:.0f} s in {summary['num_segments']} segments, "
        f"non-speech {summary['non_speech_seconds']:.0f} s, of {summary['duration']:.0f} s"
    )
    top.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, title="share of speech")
    top.set_title(title if not timeline.get("message") else f"{title}: {timeline['message']}", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path


def _share(summary: Mapping[str, Any], label: str) -> str:
    entry = summary["classes"].get(label, {})
    return f"{entry['share']:.0%} ({entry['seconds']:.0f} s)" if entry.get("share") is not None else "(—)"


def write_timeline(
    timeline: Mapping[str, Any], output_dir: str | os.PathLike, stem: str, plot: bool = True
) -> dict[str, Path]:
    """Writes `<stem>.timeline.json`, `.csv` and (if `plot`) `.png` into `output_dir`; returns them by kind."""
    if not isinstance(stem, str) or not stem or os.sep in stem:
        raise ValueError(f"`stem` must be a file name without folders, got {stem!r}.")
    output_dir = Path(output_dir)
    paths = {
        "json": write_timeline_json(timeline, output_dir / f"{stem}.timeline.json"),
        "csv": write_timeline_csv(timeline, output_dir / f"{stem}.timeline.csv"),
    }
    if plot:
        paths["png"] = plot_timeline(timeline, output_dir / f"{stem}.timeline.png")
    return paths
