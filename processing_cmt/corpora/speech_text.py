# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Any other audio + transcript pretraining corpus: `load_speech_text_corpus` reads an HF dataset (loaded, or saved
with `save_to_disk`) or a CSV manifest.
"""

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from datasets import Audio, Dataset, DatasetDict, Features, Value, load_from_disk

from .common import BuildReport, _finish, _malformed_row, _read_csv_rows, _resolve_normalizer, _split_from_rows


def _read_manifest(path: Path, audio_column: str, text_column: str, report: BuildReport) -> Dataset:
    columns, rows = _read_csv_rows(path, "Manifest")
    missing = [column for column in (audio_column, text_column) if column not in columns]
    if missing:
        raise ValueError(
            f"Manifest {str(path)!r} has no column(s) {missing}; its columns are {columns}. Pass "
            "`audio_column=`/`text_column=` to name yours."
        )
    if not rows:
        raise ValueError(f"Manifest {str(path)!r} has a header but no rows: no utterance to read.")
    kept = []
    for line, row in rows:
        malformed = _malformed_row(row, columns)
        if malformed is not None:
            report.skip(malformed, f"{path.name}:{line}")
            continue
        audio = row[audio_column]
        # Relative paths are relative to the manifest, so that a corpus folder can be moved as a whole.
        if audio and not Path(audio).is_absolute():
            row[audio_column] = str((path.parent / audio).resolve())
        kept.append(row)
    features = Features({column: Value("string") for column in columns})
    return _split_from_rows(kept, features, "train", report, f"no row of {str(path)!r} fits its header")


def _audio_present(column: pa.Array, audio_column: str, split: str) -> list[bool]:
    """Whether each row's audio can be read: an existing file path, embedded bytes, or a non-empty sample array."""

    def exists(paths: list[str | None]) -> list[bool]:
        return [bool(path) and Path(path).is_file() for path in paths]

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return exists(column.to_pylist())
    if pa.types.is_struct(column.type):
        names = {column.type.field(i).name for i in range(column.type.num_fields)}
        if "bytes" in names or "path" in names:
            has_bytes = column.field("bytes").is_valid().to_pylist() if "bytes" in names else [False] * len(column)
            paths = column.field("path").to_pylist() if "path" in names else [None] * len(column)
            return [embedded or found for embedded, found in zip(has_bytes, exists(paths))]
        if "array" in names:
            arrays = column.field("array")
            return [valid and size > 0 for valid, size in zip(arrays.is_valid().to_pylist(), _list_sizes(arrays))]
    raise ValueError(
        f"Split {split!r}: audio column {audio_column!r} has type {column.type}; expected file paths (strings), an "
        "`Audio` column or {'array', 'sampling_rate'} dicts."
    )


def _list_sizes(array: pa.Array) -> list[int]:
    return [0 if size is None else size for size in pc.list_value_length(array).to_pylist()]


def _prepare_speech_text_split(
    dataset: Dataset,
    split: str,
    audio_column: str,
    text_column: str,
    normalizer: Callable[[str], str] | None,
    report: BuildReport,
) -> Dataset:
    missing = [column for column in (audio_column, text_column) if column not in dataset.column_names]
    if missing:
        raise ValueError(
            f"Split {split!r} has no column(s) {missing}; its columns are {dataset.column_names}. Pass "
            "`audio_column=`/`text_column=` to name yours."
        )
    feature = dataset.features[audio_column]
    if isinstance(feature, Audio) and feature.decode:
        # Decoding through datasets needs torchcodec + FFmpeg; keep {"path", "bytes"} for our own decoder.
        dataset = dataset.cast_column(audio_column, dataclasses.replace(feature, decode=False))
    id_column = "id" if "id" in dataset.column_names else None

    keep, texts = [], []
    columns = [audio_column, text_column] + ([id_column] if id_column else [])
    offset = 0
    # Arrow batches: embedded audio bytes are only tested for null, never copied into Python.
    for batch in dataset.select_columns(columns).with_format("arrow").iter(batch_size=10_000):
        has_audio = _audio_present(batch.column(audio_column).combine_chunks(), audio_column, split)
        text_values = batch.column(text_column).to_pylist()
        ids = batch.column(id_column).to_pylist() if id_column else None
        for position, (present, text) in enumerate(zip(has_audio, text_values)):
            index = offset + position
            item_id = f"{split}[{index}]" if ids is None else str(ids[position])
            if not present:
                report.skip("missing audio file", item_id)
                continue
            if not isinstance(text, str):
                report.skip("missing transcript", item_id)
                continue
            text = normalizer(text) if normalizer is not None else " ".join(text.split())
            if not text:
                report.skip("empty transcript", item_id)
                continue
            keep.append(index)
            texts.append(text)
        offset += batch.num_rows

    if len(keep) < dataset.num_rows:
        dataset = dataset.select(keep)
    dataset = dataset.remove_columns(text_column).add_column("text", texts)
    if audio_column != "audio":
        if "audio" in dataset.column_names:
            dataset = dataset.remove_columns("audio")
        dataset = dataset.rename_column(audio_column, "audio")
    return dataset


def load_speech_text_corpus(
    source: str | os.PathLike | Dataset | DatasetDict,
    *,
    audio_column: str = "audio",
    text_column: str = "text",
    normalize_text: bool | Callable[[str], str] = True,
    return_report: bool = False,
) -> DatasetDict | tuple[DatasetDict, BuildReport]:
    """
    Builds a pretraining corpus of audio + transcript pairs from an HF dataset or a CSV manifest.

    Args:
        source (`str`, `os.PathLike`, `Dataset` or `DatasetDict`):
            One of
            - a CSV manifest (`.csv` file) with a header row; audio paths relative to the CSV's folder are resolved
              against it; every column is kept (as strings);
            - a folder written by `save_to_disk` (read with `datasets.load_from_disk`);
            - a `Dataset` (becomes the `"train"` split) or `DatasetDict` already loaded, e.g. with
              `load_dataset("openslr/librispeech_asr", ...)`. A `datasets.Audio` column is read undecoded
              (`{"path", "bytes"}` dicts, for `load_audio`); other audio columns must hold file paths or
              `{"array", "sampling_rate"}` dicts.
        audio_column (`str`, *optional*, defaults to `"audio"`):
            Column holding the audio; renamed to `audio`.
        text_column (`str`, *optional*, defaults to `"text"`):
            Column holding the transcript; renamed to `text`.
        normalize_text (`bool` or `Callable[[str], str]`, *optional*, defaults to `True`):
            As for `load_librispeech`: `normalize_transcript` only re-cases all-upper-case transcripts, so cased text
            goes through unchanged (apart from collapsed whitespace).
        return_report (`bool`, *optional*, defaults to `False`):
            Also return the `BuildReport` (it is logged either way).

    Returns:
        `DatasetDict` (and the `BuildReport` if `return_report`) with `audio`, `text` and the source's other columns.
        Rows whose audio file does not exist or whose transcript is missing or empty are skipped and reported.

    Raises:
        `ValueError`: if `source` does not exist, is neither a CSV file nor a saved dataset, or lacks the columns; for a
        manifest that is not UTF-8 (naming it) or has no rows. A byte-order mark before the header is ignored; rows
        shorter or longer than the header are skipped and reported by line.
    """
    normalizer = _resolve_normalizer(normalize_text)
    report = BuildReport("speech-text corpus")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_file() and path.suffix.lower() == ".csv":
            source = DatasetDict({"train": _read_manifest(path, audio_column, text_column, report)})
        elif path.is_dir():
            try:
                source = load_from_disk(str(path))
            except FileNotFoundError as error:
                raise ValueError(
                    f"{str(path)!r} is a folder but not one written by `save_to_disk`: {error}. Pass a CSV manifest, "
                    "a saved dataset folder or a loaded Dataset."
                ) from error
        else:
            raise ValueError(
                f"Speech-text source {str(path)!r} is neither a CSV manifest (.csv) nor a folder written by "
                "`save_to_disk`."
            )
    if isinstance(source, Dataset):
        source = DatasetDict({"train": source})
    if not isinstance(source, DatasetDict):
        raise ValueError(
            f"Speech-text source must be a path, a Dataset or a DatasetDict, got {type(source).__name__}."
        )
    dataset = DatasetDict(
        {
            split: _prepare_speech_text_split(data, split, audio_column, text_column, normalizer, report)
            for split, data in source.items()
        }
    )
    return _finish(dataset, report, return_report)
