# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""CMU-MOSEI (Sec. 4.1.2), in either of its two common layouts.

- `load_mosei` reads the CMU-MultimodalSDK's `CMU_MOSEI_Labels.csd` (HDF5), the full-video WAVs and the segmented
  transcripts and cuts each labelled segment out of its video; `load_mosei_folds` reads the SDK's standard folds.
- `load_mosei_mmsa` reads the MMSA layout (`label.csv` + one audio file per clip).
"""

import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from datasets import Dataset, DatasetDict, Features, List, Value

from ..audio_utils import load_audio_segment
from .common import BuildReport, _finish, _malformed_row, _read_csv_rows, _read_text, _split_from_rows


logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------------------------
# CMU-MultimodalSDK layout
# ---------------------------------------------------------------------------------------------------------------------

# The columns of `features` in `CMU_MOSEI_Labels.csd` after the sentiment (column 0), in the SDK's order.
MOSEI_EMOTION_NAMES = ("happy", "sad", "anger", "surprise", "disgust", "fear")
# Segment counts of the commonly used split (SDK standard folds, as in MulT): for comparison with your report.
MOSEI_STANDARD_SPLIT_SIZES = {"train": 16326, "validation": 1871, "test": 4659}

_MOSEI_FOLD_KEYS = {
    "train": "train",
    "standard_train_fold": "train",
    "valid": "validation",
    "validation": "validation",
    "dev": "validation",
    "standard_valid_fold": "validation",
    "test": "test",
    "standard_test_fold": "test",
}
# An interval may end this far past the end of its video (then it is clipped), as `load_audio_segment` allows.
MOSEI_MAX_OVERRUN_SECONDS = 0.5


def _mosei_features() -> Features:
    return Features(
        {
            "id": Value("string"),
            "audio": {"array": List(Value("float32")), "sampling_rate": Value("int32")},
            "text": Value("string"),
            "score": Value("float32"),
            "emotions": List(Value("float32"), length=len(MOSEI_EMOTION_NAMES)),
            "video_id": Value("string"),
            "segment_id": Value("int32"),
            "start": Value("float64"),
            "end": Value("float64"),
        }
    )


def _read_id_list(path: Path) -> list[str]:
    if not path.is_file():
        raise ValueError(f"MOSEI fold file {str(path)!r} does not exist.")
    return [line.strip() for line in _read_text(path).splitlines() if line.strip() and not line.startswith("#")]


def load_mosei_folds(
    folds: str | os.PathLike | Mapping[str, Sequence[str] | str | os.PathLike],
) -> dict[str, list[str]]:
    """
    Reads CMU-MOSEI train / validation / test folds as lists of video ids.

    The standard folds live in the CMU-MultimodalSDK (`mmsdk.mmdatasdk.cmu_mosei.standard_folds`:
    `standard_train_fold`, `standard_valid_fold`, `standard_test_fold`). Without the SDK, dump them once to JSON,
    e.g. `json.dump({"train": standard_train_fold, "valid": standard_valid_fold, "test": standard_test_fold}, f)`.

    Args:
        folds (`str`, `os.PathLike` or `Mapping`):
            A JSON file holding an object, or a mapping, from split name to video ids. Split names may be `train`,
            `valid`/`validation`/`dev`, `test` or the SDK's `standard_{train,valid,test}_fold`; in a mapping, a value
            may also be the path of a text file with one video id per line.

    Returns:
        `dict[str, list[str]]`: `"train"`, `"validation"` and/or `"test"` -> video ids.

    Raises:
        `ValueError`: for a missing or malformed file, an unknown split name, or a video in two folds.
    """
    if isinstance(folds, (str, os.PathLike)):
        path = Path(folds)
        if not path.is_file():
            raise ValueError(f"MOSEI folds file {str(path)!r} does not exist.")
        try:
            folds = json.loads(_read_text(path))
        except json.JSONDecodeError as error:
            raise ValueError(f"MOSEI folds file {str(path)!r} is not valid JSON: {error}") from error
        if not isinstance(folds, dict):
            raise ValueError(f"MOSEI folds file {str(path)!r} must hold an object split -> list of video ids.")
    if not isinstance(folds, Mapping):
        raise ValueError(f"MOSEI `folds` must be a JSON path or a mapping, got {type(folds).__name__}.")
    result: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for key, videos in folds.items():
        split = _MOSEI_FOLD_KEYS.get(str(key))
        if split is None:
            raise ValueError(f"Unknown MOSEI fold name {key!r}; use one of {sorted(_MOSEI_FOLD_KEYS)}.")
        if split in result:
            raise ValueError(f"MOSEI folds give the {split!r} split twice (key {key!r}).")
        if isinstance(videos, (str, os.PathLike)):
            videos = _read_id_list(Path(videos))
        videos = [str(video) for video in videos]
        for video in videos:
            if video in owner and owner[video] != split:
                raise ValueError(f"MOSEI video {video!r} is in both the {owner[video]!r} and {split!r} folds.")
            owner[video] = split
        result[split] = videos
    return result


def _read_mosei_labels(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`video_id -> (features (N, 7), intervals (N, 2))` from a CMU-MultimodalSDK computational sequence."""
    import h5py

    layout = "an HDF5 computational sequence with `All Labels/data/<video_id>/{features,intervals}`"
    if not path.is_file():
        raise ValueError(f"MOSEI labels file {str(path)!r} does not exist; expected {layout}.")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"MOSEI labels file {str(path)!r} is not HDF5 ({error}); expected {layout}.") from error
    with handle:
        if "All Labels" in handle:
            root_name = "All Labels"
        else:
            # Other SDK label sequences name their root group differently; take the one that holds `data`.
            roots = [name for name, item in handle.items() if isinstance(item, h5py.Group) and "data" in item]
            if len(roots) != 1:
                raise ValueError(f"{str(path)!r} has top-level groups {list(handle)}; expected {layout}.")
            root_name = roots[0]
        data = handle[root_name].get("data")
        if not isinstance(data, h5py.Group):
            raise ValueError(f"{str(path)!r} has no `{root_name}/data` group; expected {layout}.")
        labels = {}
        for video_id, group in data.items():
            if not isinstance(group, h5py.Group) or "features" not in group or "intervals" not in group:
                raise ValueError(f"{str(path)!r}: `{root_name}/data/{video_id}` lacks `features` or `intervals`.")
            features = np.asarray(group["features"], dtype=np.float64)
            intervals = np.asarray(group["intervals"], dtype=np.float64)
            if (
                features.ndim != 2
                or features.shape[1] != 1 + len(MOSEI_EMOTION_NAMES)
                or intervals.shape != (features.shape[0], 2)
            ):
                raise ValueError(
                    f"{str(path)!r}: video {video_id!r} has features of shape {features.shape} and intervals of "
                    f"shape {intervals.shape}; expected (N, 7) (sentiment + 6 emotions) and (N, 2)."
                )
            labels[str(video_id)] = (features, intervals)
    return labels


def _parse_mosei_transcript(path: Path, video_id: str, bad_lines: list[str]) -> list[tuple[int, float, float, str]]:
    """`(segment_id, start, end, text)` from lines `video___segment___start___end___text`.

    Only the first four `___` separate fields, so the text may contain `___` itself; the video id is matched as a
    prefix because YouTube ids may contain underscores.
    """
    segments = []
    for line_number, line in enumerate(_read_text(path).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        prefix = f"{video_id}___"
        parts = line[len(prefix) :].split("___", 3) if line.startswith(prefix) else line.split("___", 4)[1:]
        try:
            segment, start, end, text = parts
            segments.append((int(segment), float(start), float(end), text.strip()))
        except ValueError:
            bad_lines.append(f"{path}:{line_number}")
    return segments


def _match_intervals(
    intervals: np.ndarray, segments: list[tuple[int, float, float, str]], tolerance: float
) -> list[int | str]:
    """For each label interval, the index of its transcript segment, or the reason there is none.

    Intervals may overlap and come in any order, so match by time, not position: every (interval, segment) pair whose
    start and end both lie within `tolerance` is a candidate, and the closest pairs are taken first, each interval and
    each segment at most once.
    """
    candidates = []
    for row, (start, end) in enumerate(intervals):
        for index, (_, seg_start, seg_end, _) in enumerate(segments):
            error = max(abs(start - seg_start), abs(end - seg_end))
            if error <= tolerance:
                candidates.append((error, row, index))
    matched: list[int | str] = ["no transcript segment within tolerance"] * len(intervals)
    used_segments = set()
    for _, row, index in sorted(candidates):
        if isinstance(matched[row], int):
            continue
        if index in used_segments:
            matched[row] = "transcript segment matched by a closer label interval"
            continue
        matched[row] = index
        used_segments.add(index)
    return matched


def _generate_mosei_segments(records: list[dict[str, Any]], sampling_rate: int) -> Iterator[dict[str, Any]]:
    for record in records:
        record = dict(record)
        audio_path, cut_start = record.pop("audio_path"), record.pop("cut_start")
        record.pop("audio_stamp")
        array = load_audio_segment(
            audio_path,
            cut_start,
            record["end"],
            sampling_rate,
            name=f"MOSEI segment {record['id']} ({audio_path})",
            max_overrun_seconds=MOSEI_MAX_OVERRUN_SECONDS,
        )
        record["audio"] = {"array": array, "sampling_rate": sampling_rate}
        yield record


def load_mosei(
    labels_path: str | os.PathLike,
    audio_dir: str | os.PathLike,
    transcripts_dir: str | os.PathLike,
    *,
    folds: str | os.PathLike | Mapping[str, Sequence[str] | str | os.PathLike] | None = None,
    sampling_rate: int = 16000,
    tolerance: float = 0.5,
    cache_dir: str | os.PathLike | None = None,
    return_report: bool = False,
) -> DatasetDict | tuple[DatasetDict, BuildReport]:
    """
    Builds CMU-MOSEI sentiment segments (Sec. 4.1.2) from the CMU-MultimodalSDK labels and the raw release.

    - Labels: `CMU_MOSEI_Labels.csd`, the SDK's HDF5 computational sequence: per video,
      `All Labels/data/<video_id>/features` (N x 7: sentiment in [-3, 3], then `MOSEI_EMOTION_NAMES`) and
      `.../intervals` (N x 2, seconds). Read with h5py; the SDK itself is not needed.
    - Audio: the full-video WAVs `<audio_dir>/<video_id>.wav` (`Raw/Audio/Full/WAV_16000/` in the raw release).
    - Text: the segmented transcripts `<transcripts_dir>/<video_id>.txt` (`Raw/Transcript/Segmented/Combined/`),
      lines `video___segment___start___end___text`.

    Each label interval is matched to the transcript segment whose start and end both lie within `tolerance` seconds
    (closest first), because the label intervals of a video overlap and are not in transcript order. Its audio is cut
    from the video by the label interval (a slightly negative start, which the real labels have, is clamped to 0; an
    end up to 0.5 s past the end of the file is clipped). The examples are generated into an Arrow file
    (`Dataset.from_generator`), so the segment audio lives on disk, not in memory.

    The standard SDK folds give 16,326 / 1,871 / 4,659 segments in the commonly used split (`train`, `validation`,
    `test`; see `MOSEI_STANDARD_SPLIT_SIZES`); compare with the returned report.

    Args:
        labels_path (`str` or `os.PathLike`):
            `CMU_MOSEI_Labels.csd`.
        audio_dir (`str` or `os.PathLike`):
            Folder of `<video_id>.wav`.
        transcripts_dir (`str` or `os.PathLike`):
            Folder of `<video_id>.txt` segmented transcripts.
        folds (`str`, `os.PathLike` or `Mapping`, *optional*):
            The train / validation / test video ids, as accepted by `load_mosei_folds` (e.g. a JSON dump of the SDK's
            standard folds). Segments of videos in no fold are skipped and reported. Without folds, one `"all"` split.
        sampling_rate (`int`, *optional*, defaults to 16000):
            Rate of the returned segment audio (resampled if the WAV differs).
        tolerance (`float`, *optional*, defaults to 0.5):
            Largest difference in seconds between a label interval's start (and end) and its transcript segment's.
        cache_dir (`str` or `os.PathLike`, *optional*):
            Where the Arrow files go; defaults to the datasets cache. A rebuild is cached by the labels, transcripts
            and the WAV files' sizes and modification times.
        return_report (`bool`, *optional*, defaults to `False`):
            Also return the `BuildReport` (it is logged either way).

    Returns:
        `DatasetDict` (and the `BuildReport` if `return_report`): columns `id` (`"<video_id>[<segment_id>]"`),
        `audio` (`{"array": float32 samples, "sampling_rate": int}`), `text`, `score` (sentiment), `emotions` (six
        intensities), `video_id`, `segment_id` (the transcript's), `start`, `end` (seconds in the video). Segments
        are sorted by video id, then start time.

    Raises:
        `ValueError`: if a path does not exist, the labels file is not a MOSEI computational sequence, the folds are
        malformed, or a segment cannot be decoded.
    """
    labels_path, audio_dir, transcripts_dir = Path(labels_path), Path(audio_dir), Path(transcripts_dir)
    for name, directory in (("audio_dir", audio_dir), ("transcripts_dir", transcripts_dir)):
        if not directory.is_dir():
            raise ValueError(
                f"MOSEI `{name}` {str(directory)!r} is not a directory; expected the folder of <video_id>."
                f"{'wav full-video audio' if name == 'audio_dir' else 'txt segmented transcripts'}."
            )
    if not (isinstance(tolerance, (int, float)) and tolerance >= 0):
        raise ValueError(f"MOSEI `tolerance` must be a non-negative number of seconds, got {tolerance!r}.")
    labels = _read_mosei_labels(labels_path)
    fold_of: dict[str, str] | None = None
    split_names = ["all"]
    report = BuildReport("CMU-MOSEI")
    if folds is not None:
        fold_lists = load_mosei_folds(folds)
        fold_of = {video: split for split, videos in fold_lists.items() for video in videos}
        split_names = [split for split in ("train", "validation", "test") if split in fold_lists]
        absent = [video for video in fold_of if video not in labels]
        if absent:
            report.notes.append(f"{len(absent)} fold video ids have no labels (e.g. {', '.join(absent[:5])})")

    records: dict[str, list[dict[str, Any]]] = {split: [] for split in split_names}
    bad_lines: list[str] = []
    clamped = 0
    for video_id in sorted(labels):
        features, intervals = labels[video_id]
        ids = [f"{video_id}@{start:.3f}-{end:.3f}" for start, end in intervals]
        split = "all" if fold_of is None else fold_of.get(video_id)
        if split is None:
            for item_id in ids:
                report.skip("video not in any fold", item_id)
            continue
        audio_path = audio_dir / f"{video_id}.wav"
        transcript_path = transcripts_dir / f"{video_id}.txt"
        video_problem = None
        if not audio_path.is_file():
            video_problem = "missing audio file"
        elif not transcript_path.is_file():
            video_problem = "missing transcript file"
        else:
            try:
                info = sf.info(str(audio_path))
                duration = info.frames / info.samplerate
            except (sf.LibsndfileError, RuntimeError) as error:
                video_problem = "unreadable audio file"
                logger.warning("Cannot read %s: %s", audio_path, error)
        if video_problem is not None:
            for item_id in ids:
                report.skip(video_problem, item_id)
            continue
        stamp = audio_path.stat()
        segments = _parse_mosei_transcript(transcript_path, video_id, bad_lines)
        matches = _match_intervals(intervals, segments, tolerance)
        video_records = []
        for row, match in enumerate(matches):
            if isinstance(match, str):
                report.skip(match, ids[row])
                continue
            segment_id, _, _, text = segments[match]
            item_id = f"{video_id}[{segment_id}]"
            start, end = float(intervals[row, 0]), float(intervals[row, 1])
            score = float(features[row, 0])
            cut_start = max(start, 0.0)
            if not np.isfinite(score):
                report.skip("sentiment is not a finite number", item_id)
            elif not -3.0 <= score <= 3.0:
                report.skip("sentiment outside [-3, 3]", item_id)
            elif not (np.isfinite(start) and np.isfinite(end)) or end <= cut_start:
                report.skip("invalid interval", item_id)
            elif cut_start >= duration or end > duration + MOSEI_MAX_OVERRUN_SECONDS:
                report.skip("interval outside audio", item_id)
            elif not text:
                report.skip("empty transcript", item_id)
            else:
                clamped += start < 0
                video_records.append(
                    {
                        "id": item_id,
                        "text": text,
                        "score": score,
                        "emotions": [float(value) for value in features[row, 1:]],
                        "video_id": video_id,
                        "segment_id": segment_id,
                        "start": cut_start,
                        "end": end,
                        "audio_path": str(audio_path.resolve()),
                        "cut_start": cut_start,
                        # Part of the cache key, so that replaced audio files are cut again.
                        "audio_stamp": [stamp.st_size, stamp.st_mtime_ns],
                    }
                )
        records[split].extend(sorted(video_records, key=lambda record: (record["start"], record["end"])))
    if bad_lines:
        report.notes.append(f"{len(bad_lines)} unparseable transcript lines ignored (e.g. {', '.join(bad_lines[:5])})")
    if clamped:
        report.notes.append(f"{clamped} negative segment starts clamped to 0 s")

    features_spec = _mosei_features()
    dataset = DatasetDict()
    for split in split_names:
        if not records[split]:
            reason = f"no labelled segment with its audio in {audio_dir} and transcript in {transcripts_dir}"
            dataset[split] = _split_from_rows([], features_spec, split, report, reason)
            continue
        dataset[split] = Dataset.from_generator(
            _generate_mosei_segments,
            features=features_spec,
            gen_kwargs={"records": records[split], "sampling_rate": sampling_rate},
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    return _finish(dataset, report, return_report)


# ---------------------------------------------------------------------------------------------------------------------
# MMSA layout
# ---------------------------------------------------------------------------------------------------------------------

_MMSA_SPLITS = {
    "train": "train",
    "valid": "validation",
    "validation": "validation",
    "dev": "validation",
    "test": "test",
}
_MMSA_COLUMNS = ("video_id", "clip_id", "text", "label", "mode")


def _optional_float(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _drop_duplicate_clips(splits: dict[str, list[dict[str, Any]]], report: BuildReport) -> None:
    """
    Keeps each clip once, in place: a clip listed in two splits stays in the one evaluated last (test, then
    validation, then train) and is dropped from the others; a clip listed twice in one split keeps its first row.
    Both are counted in the report.

    Dropping rather than refusing: the published test split stays whole, so results remain comparable with others'
    on the same `label.csv`, and training only loses the copy that would leak the test clip into it.
    """
    owner: dict[str, str] = {}
    for split in ("test", "validation", "train"):
        for row in splits.get(split, []):
            owner.setdefault(row["id"], split)
    for split, rows in splits.items():
        kept, seen = [], set()
        for row in rows:
            if owner[row["id"]] != split:
                report.skip(f"clip also in the {owner[row['id']]} split (kept there only)", f"{split}: {row['id']}")
            elif row["id"] in seen:
                report.skip(f"duplicate clip in the {split} split (first row kept)", row["id"])
            else:
                seen.add(row["id"])
                kept.append(row)
        rows[:] = kept


def load_mosei_mmsa(
    root: str | os.PathLike,
    *,
    label_csv: str | os.PathLike | None = None,
    audio_dir: str | os.PathLike | None = None,
    return_report: bool = False,
) -> DatasetDict | tuple[DatasetDict, BuildReport]:
    """
    Builds CMU-MOSEI (or CMU-MOSI) from the MMSA layout: `label.csv` plus one audio file per clip.

    `label.csv` has the columns `video_id, clip_id, text, label, label_T, label_A, label_V, annotation, mode`
    (`label` is the sentiment in [-3, 3], `mode` is `train` / `valid` / `test`); the clips are
    `Raw/<video_id>/<clip_id>.mp4`. Only audio is decoded here, from `<clip_id>.wav` (or `.flac`) next to the mp4; the
    mp4 files themselves cannot be read by soundfile, so extract their audio first, e.g.
    `ffmpeg -i Raw/<video_id>/<clip_id>.mp4 -vn -ac 1 -ar 16000 Raw/<video_id>/<clip_id>.wav`.

    A clip listed in two splits would leak into the test; it is kept only in the split evaluated last (test, then
    validation, then train), and a clip listed twice in one split only once. Both are counted in the report.

    Args:
        root (`str` or `os.PathLike`):
            The MMSA dataset folder (e.g. `MOSEI/`) holding `label.csv` and `Raw/`.
        label_csv (`str` or `os.PathLike`, *optional*):
            The label file, if not `<root>/label.csv`.
        audio_dir (`str` or `os.PathLike`, *optional*):
            Where `<video_id>/<clip_id>.wav` are, if not `<root>/Raw`.
        return_report (`bool`, *optional*, defaults to `False`):
            Also return the `BuildReport` (it is logged either way).

    Returns:
        `DatasetDict` (and the `BuildReport` if `return_report`) with `train` / `validation` / `test` from `mode`:
        columns `id` (`"<video_id>[<clip_id>]"`), `audio` (absolute path of the clip's audio file), `text`, `score`,
        `video_id`, `clip_id`, `score_text`, `score_audio`, `score_vision` (MMSA's unimodal labels; empty for MOSEI)
        and `annotation`.

    Rows shorter or longer than the header are skipped and reported by line; a split left without rows (e.g. a
    partial download) is empty and reported, never left out.

    Raises:
        `ValueError`: if `label.csv` is missing, not UTF-8, lacks columns or has no rows, or clips exist only as mp4
        files.
    """
    root = Path(root)
    label_csv = root / "label.csv" if label_csv is None else Path(label_csv)
    audio_dir = root / "Raw" if audio_dir is None else Path(audio_dir)
    if not label_csv.is_file():
        raise ValueError(
            f"MMSA label file {str(label_csv)!r} does not exist; expected <root>/label.csv with columns "
            f"video_id, clip_id, text, label, label_T, label_A, label_V, annotation, mode."
        )
    # The csv module keeps ids as written: numeric MOSEI video ids ("100178") and clip ids ("0001") stay strings.
    header, rows = _read_csv_rows(label_csv, "MMSA label file")
    missing = [column for column in _MMSA_COLUMNS if column not in header]
    if missing:
        raise ValueError(f"MMSA label file {str(label_csv)!r} lacks column(s) {missing}; has {header}.")
    if not rows:
        raise ValueError(f"MMSA label file {str(label_csv)!r} has a header but no rows: no clip to read.")

    report = BuildReport("CMU-MOSEI (MMSA)")
    splits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    mp4_only: list[Path] = []
    for line, row in rows:
        malformed = _malformed_row(row, header)
        if malformed is not None:
            report.skip(malformed, f"{label_csv.name}:{line}")
            continue
        video_id, clip_id = row["video_id"].strip(), row["clip_id"].strip()
        item_id = f"{video_id}[{clip_id}]"
        split = _MMSA_SPLITS.get(row["mode"].strip().lower())
        score = _optional_float(row["label"])
        text = (row["text"] or "").strip()
        audio = next(
            (
                path
                for path in (audio_dir / video_id / f"{clip_id}{ext}" for ext in (".wav", ".flac"))
                if path.is_file()
            ),
            None,
        )
        if split is None:
            report.skip(f"unknown mode {row['mode']!r}", item_id)
        elif score is None or not np.isfinite(score):
            report.skip("invalid label", item_id)
        elif not -3.0 <= score <= 3.0:
            report.skip("sentiment outside [-3, 3]", item_id)
        elif not text:
            report.skip("empty transcript", item_id)
        elif audio is None and (audio_dir / video_id / f"{clip_id}.mp4").is_file():
            mp4_only.append(audio_dir / video_id / f"{clip_id}.mp4")
        elif audio is None:
            report.skip("missing audio file", item_id)
        else:
            splits[split].append(
                {
                    "id": item_id,
                    "audio": str(audio.resolve()),
                    "text": text,
                    "score": score,
                    "video_id": video_id,
                    "clip_id": clip_id,
                    "score_text": _optional_float(row.get("label_T")),
                    "score_audio": _optional_float(row.get("label_A")),
                    "score_vision": _optional_float(row.get("label_V")),
                    "annotation": row.get("annotation"),
                }
            )
    _drop_duplicate_clips(splits, report)
    if mp4_only:
        raise ValueError(
            f"{len(mp4_only)} MMSA clips exist only as mp4 (e.g. {str(mp4_only[0])!r}), which soundfile cannot "
            "decode. Extract their audio to a .wav next to each mp4 first, e.g. "
            f"`ffmpeg -i {mp4_only[0]} -vn -ac 1 -ar 16000 {mp4_only[0].with_suffix('.wav')}`."
        )
    features = Features(
        {
            "id": Value("string"),
            "audio": Value("string"),
            "text": Value("string"),
            "score": Value("float32"),
            "video_id": Value("string"),
            "clip_id": Value("string"),
            "score_text": Value("float32"),
            "score_audio": Value("float32"),
            "score_vision": Value("float32"),
            "annotation": Value("string"),
        }
    )
    # every split of MMSA's layout, an empty one reported (e.g. a partial download: no audio under `audio_dir`)
    dataset = DatasetDict(
        {
            split: _split_from_rows(
                splits[split], features, split, report, f"no usable row of {str(label_csv)!r} (audio in {audio_dir})"
            )
            for split in ("train", "validation", "test")
        }
    )
    return _finish(dataset, report, return_report)
