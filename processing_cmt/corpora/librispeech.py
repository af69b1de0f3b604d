# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""LibriSpeech (bi-modal pretraining, Sec. 4.1): `load_librispeech` reads the OpenSLR release layout
`LibriSpeech/<subset>/<speaker>/<chapter>/` with `<speaker>-<chapter>.trans.txt` and
`<speaker>-<chapter>-<utterance>.flac`.
"""

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import DatasetDict, Features, Value

from .common import BuildReport, _finish, _is_hidden, _read_text, _resolve_normalizer, _split_from_rows


LIBRISPEECH_FEATURES = Features(
    {
        "id": Value("string"),
        "audio": Value("string"),
        "text": Value("string"),
        "speaker_id": Value("int64"),
        "chapter_id": Value("int64"),
        "gender": Value("string"),
        "subset": Value("string"),
    }
)

_LIBRISPEECH_LAYOUT = "<root>/LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt (+ .flac files)"


def _librispeech_root(root: str | os.PathLike) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"LibriSpeech root {str(root)!r} is not a directory; expected {_LIBRISPEECH_LAYOUT}.")
    if (root / "LibriSpeech").is_dir():
        root = root / "LibriSpeech"
    return root


def _librispeech_subsets(root: Path) -> list[str]:
    """Subset folders are those holding numeric speaker folders (train-clean-100, dev-clean, ...)."""
    subsets = []
    for child in sorted(root.iterdir()):
        if child.is_dir() and not _is_hidden(child):
            if any(grandchild.is_dir() and grandchild.name.isdigit() for grandchild in child.iterdir()):
                subsets.append(child.name)
    return subsets


def _librispeech_genders(root: Path, report: BuildReport) -> dict[int, str]:
    """Speaker genders from `SPEAKERS.TXT` (`ID | SEX | SUBSET | MINUTES | NAME`; one NAME contains `|`)."""
    path = root / "SPEAKERS.TXT"
    if not path.is_file():
        report.notes.append(f"no {path}: the `gender` column is empty")
        return {}
    genders = {}
    for line in _read_text(path).splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        fields = [part.strip() for part in line.split("|", 4)]
        if len(fields) >= 2 and fields[0].isdigit() and fields[1] in ("F", "M"):
            genders[int(fields[0])] = fields[1]
    return genders


def _default_librispeech_splits(available: list[str]) -> dict[str, list[str]]:
    splits = {
        "train": [name for name in available if name.startswith("train")],
        "validation": [name for name in available if name.startswith("dev")],
        "test": [name for name in available if name.startswith("test")],
    }
    return {split: names for split, names in splits.items() if names}


def _read_librispeech_chapter(
    chapter_dir: Path,
    subset: str,
    genders: dict[int, str],
    normalizer: Callable[[str], str] | None,
    report: BuildReport,
) -> list[dict[str, Any]]:
    speaker, chapter = chapter_dir.parent.name, chapter_dir.name
    transcript_path = chapter_dir / f"{speaker}-{chapter}.trans.txt"
    transcripts: dict[str, str] = {}
    if transcript_path.is_file():
        for line in _read_text(transcript_path).splitlines():
            if not line.strip():
                continue
            utterance_id, _, text = line.strip().partition(" ")
            transcripts[utterance_id] = text
    flacs = {path.stem: path for path in chapter_dir.glob("*.flac") if not _is_hidden(path)}

    rows = []
    for utterance_id in sorted(set(transcripts) | set(flacs)):
        if utterance_id not in flacs:
            report.skip("missing audio file", utterance_id)
            continue
        if utterance_id not in transcripts:
            report.skip("missing transcript", utterance_id)
            continue
        text = transcripts[utterance_id].strip()
        if normalizer is not None:
            text = normalizer(text)
        if not text:
            report.skip("empty transcript", utterance_id)
            continue
        rows.append(
            {
                "id": utterance_id,
                "audio": str(flacs[utterance_id].resolve()),
                "text": text,
                "speaker_id": int(speaker),
                "chapter_id": int(chapter),
                "gender": genders.get(int(speaker)),
                "subset": subset,
            }
        )
    return rows


def load_librispeech(
    root: str | os.PathLike,
    subsets: str | Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    *,
    normalize_text: bool | Callable[[str], str] = True,
    return_report: bool = False,
) -> DatasetDict | tuple[DatasetDict, BuildReport]:
    """
    Builds LibriSpeech (the paper's 960 h bi-modal pretraining corpus) from the local release layout.

    The layout is that of the OpenSLR archives once extracted into one folder:
    `LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`, whose lines read
    `<speaker>-<chapter>-<utterance> TRANSCRIPT IN UPPER CASE`, next to `<speaker>-<chapter>-<utterance>.flac`;
    `LibriSpeech/SPEAKERS.TXT` gives each speaker's gender. The 960 h of the paper are train-clean-100 +
    train-clean-360 + train-other-500.

    Args:
        root (`str` or `os.PathLike`):
            The `LibriSpeech` folder or the folder containing it.
        subsets (`str`, `Sequence[str]` or `Mapping[str, Sequence[str]]`, *optional*):
            Which subsets to read, as subset folder names. A name or a list gives one `"train"` split holding all of
            them; a mapping gives one split per key, e.g.
            `{"train": ["train-clean-100", "train-clean-360", "train-other-500"], "validation": ["dev-clean"]}`.
            Defaults to every subset present, `train-*` into `"train"`, `dev-*` into `"validation"` and `test-*`
            into `"test"`.
        normalize_text (`bool` or `Callable[[str], str]`, *optional*, defaults to `True`):
            Re-case the upper-case transcripts with `normalize_transcript` (see there for what it does), leave them as
            they are (`False`), or apply your own function.
        return_report (`bool`, *optional*, defaults to `False`):
            Also return the `BuildReport` (it is logged either way).

    Returns:
        `DatasetDict` (and the `BuildReport` if `return_report`): columns `id` (`"19-198-0001"`), `audio` (absolute
        path of the FLAC file), `text`, `speaker_id`, `chapter_id`, `gender` (`"F"`/`"M"`, `None` without
        `SPEAKERS.TXT`) and `subset`. Utterances without a FLAC file or without a transcript line are skipped and
        reported.

    Raises:
        `ValueError`: if `root` is not a LibriSpeech folder or a requested subset is not in it.
    """
    root = _librispeech_root(root)
    available = _librispeech_subsets(root)
    if not available:
        raise ValueError(f"No LibriSpeech subset found under {str(root)!r}; expected {_LIBRISPEECH_LAYOUT}.")
    if subsets is None:
        splits = _default_librispeech_splits(available)
    elif isinstance(subsets, str):
        splits = {"train": [subsets]}
    elif isinstance(subsets, Mapping):
        splits = {split: [names] if isinstance(names, str) else list(names) for split, names in subsets.items()}
    else:
        splits = {"train": list(subsets)}
    for split, names in splits.items():
        missing = [name for name in names if name not in available]
        if missing or not names:
            raise ValueError(
                f"LibriSpeech split {split!r} asks for subsets {missing or names} not found under {str(root)!r}; "
                f"available: {available}."
            )

    normalizer = _resolve_normalizer(normalize_text)
    report = BuildReport("LibriSpeech")
    genders = _librispeech_genders(root, report)
    dataset = DatasetDict()
    for split, names in splits.items():
        rows = []
        for subset in names:
            for speaker_dir in sorted((root / subset).iterdir(), key=lambda path: path.name):
                if not speaker_dir.is_dir() or not speaker_dir.name.isdigit():
                    continue
                for chapter_dir in sorted(speaker_dir.iterdir(), key=lambda path: path.name):
                    if chapter_dir.is_dir() and chapter_dir.name.isdigit():
                        rows.extend(_read_librispeech_chapter(chapter_dir, subset, genders, normalizer, report))
        folders = ", ".join(str(root / subset) for subset in names)
        missing = f"no utterance with its FLAC file and transcript line under {folders}"
        dataset[split] = _split_from_rows(rows, LIBRISPEECH_FEATURES, split, report, missing)
    return _finish(dataset, report, return_report)
