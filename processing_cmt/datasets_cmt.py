# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Dataset builders for the corpora of the CMT paper (Sec. 4.1), reading the user's local copy of each original release.

Every builder returns a `datasets.DatasetDict` with explicit `datasets.Features` and reports what it skipped and why
(a `BuildReport`, logged, and returned with `return_report=True`); nothing is dropped silently.

- **LibriSpeech** (bi-modal pretraining): `load_librispeech` reads `LibriSpeech/<subset>/<speaker>/<chapter>/` with
  `<speaker>-<chapter>.trans.txt` and `<speaker>-<chapter>-<utterance>.flac`; `load_speech_text_corpus` reads any other
  audio + text corpus (an HF dataset or a CSV manifest). All-upper-case transcripts are re-cased for the cased RoBERTa
  tokenizer by `normalize_transcript`.
- **IEMOCAP** (Sec. 4.1.1): `load_iemocap` reads `IEMOCAP_full_release/Session1..5/`, keeps the paper's four classes
  (angry, happy + excited, neutral, sad: 5,531 utterances on the real release) and builds leave-one-session-out folds.
- **CMU-MOSEI** (Sec. 4.1.2): `load_mosei` reads the CMU-MultimodalSDK's `CMU_MOSEI_Labels.csd` (HDF5), the full-video
  WAVs and the segmented transcripts and cuts each labelled segment out of its video; `load_mosei_mmsa` reads the
  MMSA layout (`label.csv` + one audio file per clip).
"""

import csv
import dataclasses
import json
import logging
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import soundfile as sf
from datasets import Audio, ClassLabel, Dataset, DatasetDict, Features, List, Value, load_from_disk

from .audio_utils import load_audio_segment


logger = logging.getLogger(__name__)

__all__ = [
    "BuildReport",
    "IEMOCAP_EXCLUDED_LABELS",
    "IEMOCAP_LABEL_MAP",
    "IEMOCAP_LABEL_NAMES",
    "MOSEI_EMOTION_NAMES",
    "iemocap_validation_speaker",
    "load_iemocap",
    "load_librispeech",
    "load_mosei",
    "load_mosei_folds",
    "load_mosei_mmsa",
    "load_speech_text_corpus",
    "normalize_transcript",
]

# How many skipped ids a report keeps per reason, to show without flooding the log.
MAX_EXAMPLES_PER_REASON = 5


@dataclass
class BuildReport:
    """
    What a dataset builder kept and what it skipped, and why.

    Args:
        corpus (`str`):
            Name of the corpus, e.g. `"IEMOCAP"`.
        split_sizes (`dict[str, int]`):
            Number of examples kept in each split of the returned `DatasetDict`.
        skipped (`collections.Counter[str]`):
            Number of skipped items per reason, e.g. `{"excluded label 'fru'": 1849, "missing audio file": 1}`.
        skipped_examples (`dict[str, list[str]]`):
            For each reason, the ids of the first few skipped items (at most 5).
        notes (`list[str]`):
            Observations that did not cost an example (e.g. times clamped to the start of a file, ignored lines).
    """

    corpus: str
    split_sizes: dict[str, int] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def kept(self) -> int:
        """Total number of examples kept, over all splits."""
        return sum(self.split_sizes.values())

    @property
    def num_skipped(self) -> int:
        """Total number of items skipped, over all reasons."""
        return sum(self.skipped.values())

    def skip(self, reason: str, item_id: str) -> None:
        """Records that `item_id` was left out because of `reason`."""
        self.skipped[reason] += 1
        examples = self.skipped_examples.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES_PER_REASON:
            examples.append(item_id)

    def summary(self) -> str:
        """A multi-line, human-readable account of the build."""
        sizes = ", ".join(f"{name}={size}" for name, size in self.split_sizes.items())
        lines = [f"{self.corpus}: kept {self.kept} examples ({sizes}); skipped {self.num_skipped}."]
        for reason, count in self.skipped.most_common():
            examples = ", ".join(self.skipped_examples.get(reason, []))
            lines.append(f"  skipped {count} x {reason} (e.g. {examples})")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def log(self) -> None:
        """Logs the summary: as a warning when something was skipped, as info otherwise."""
        logger.log(logging.WARNING if self.skipped else logging.INFO, self.summary())


def _finish(dataset: DatasetDict, report: BuildReport, return_report: bool) -> DatasetDict | tuple:
    report.split_sizes = {name: split.num_rows for name, split in dataset.items()}
    report.log()
    return (dataset, report) if return_report else dataset


def _read_text(path: Path) -> str:
    """Reads a corpus text file; the old corpora are not all UTF-8, so fall back to Latin-1 rather than fail."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        logger.info("%s is not valid UTF-8; decoding it as Latin-1.", path)
        return raw.decode("latin-1")


def _is_hidden(path: Path) -> bool:
    # macOS copies of the corpora carry AppleDouble `._<name>` files next to every real file.
    return path.name.startswith(".")


# ---------------------------------------------------------------------------------------------------------------------
# Text normalisation
# ---------------------------------------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"\S+")


def normalize_transcript(text: str) -> str:
    """
    Re-cases an all-upper-case transcript (LibriSpeech style) for a cased tokenizer such as RoBERTa's.

    A transcript containing any lower-case letter is taken to be cased already and only has its whitespace collapsed.
    Otherwise the text is lower-cased and then:
    - the first letter is upper-cased (sentence case; LibriSpeech utterances carry no punctuation to find other
      sentence starts);
    - the pronoun "I" and its contractions are restored: `I`, `I'M`, `I'LL`, `I'VE`, `I'D` -> `I`, `I'm`, `I'll`,
      `I've`, `I'd`;
    - the vocative "O" of older books (`O LORD`) stays upper case, while `O'CLOCK` becomes `o'clock`;
    - other contractions are plain lower case (`DON'T` -> `don't`).
    Proper nouns cannot be told apart from common words without a lexicon and come out lower case
    (`MISTER BROWN` -> `Mister brown`).

    Args:
        text (`str`):
            The transcript.

    Returns:
        `str`: the normalised transcript.

    Example:

    ```python
    >>> normalize_transcript("I'M AFRAID I DON'T KNOW O LORD")
    "I'm afraid I don't know O lord"
    ```
    """
    text = " ".join(text.split())
    if any(character.islower() for character in text):
        return text

    def fix_word(match: re.Match) -> str:
        word = match.group(0)
        if word == "i" or word.startswith("i'"):
            return "I" + word[1:]
        if word == "o":
            return "O"
        return word

    text = _WORD_RE.sub(fix_word, text.lower())
    for index, character in enumerate(text):
        if character.isalpha():
            return text[:index] + character.upper() + text[index + 1 :]
    return text


def _resolve_normalizer(normalize_text: bool | Callable[[str], str]) -> Callable[[str], str] | None:
    if callable(normalize_text):
        return normalize_text
    if isinstance(normalize_text, bool):
        return normalize_transcript if normalize_text else None
    raise ValueError(f"`normalize_text` must be a bool or a callable str -> str, got {normalize_text!r}.")


# ---------------------------------------------------------------------------------------------------------------------
# LibriSpeech
# ---------------------------------------------------------------------------------------------------------------------

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
        dataset[split] = Dataset.from_list(rows, features=LIBRISPEECH_FEATURES)
    return _finish(dataset, report, return_report)


def _read_manifest(path: Path, audio_column: str, text_column: str) -> Dataset:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        columns = reader.fieldnames or []
        missing = [column for column in (audio_column, text_column) if column not in columns]
        if missing:
            raise ValueError(
                f"Manifest {str(path)!r} has no column(s) {missing}; its columns are {columns}. Pass "
                "`audio_column=`/`text_column=` to name yours."
            )
        rows = list(reader)
    for row in rows:
        audio = row[audio_column]
        # Relative paths are relative to the manifest, so that a corpus folder can be moved as a whole.
        if audio and not Path(audio).is_absolute():
            row[audio_column] = str((path.parent / audio).resolve())
    features = Features({column: Value("string") for column in columns})
    return Dataset.from_list(rows, features=features)


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
        `ValueError`: if `source` does not exist, is neither a CSV file nor a saved dataset, or lacks the columns.
    """
    normalizer = _resolve_normalizer(normalize_text)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_file() and path.suffix.lower() == ".csv":
            source = DatasetDict({"train": _read_manifest(path, audio_column, text_column)})
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
    report = BuildReport("speech-text corpus")
    dataset = DatasetDict(
        {
            split: _prepare_speech_text_split(data, split, audio_column, text_column, normalizer, report)
            for split, data in source.items()
        }
    )
    return _finish(dataset, report, return_report)


# ---------------------------------------------------------------------------------------------------------------------
# IEMOCAP
# ---------------------------------------------------------------------------------------------------------------------

# The paper's four classes (Sec. 4.1.1), in label-id order, with "excited" merged into "happy".
IEMOCAP_LABEL_NAMES = ("angry", "happy", "neutral", "sad")
IEMOCAP_LABEL_MAP = {"ang": "angry", "hap": "happy", "exc": "happy", "neu": "neutral", "sad": "sad"}
# The other categorical labels of the release: frustration, surprise, fear, disgust, other, no agreement.
IEMOCAP_EXCLUDED_LABELS = ("fru", "sur", "fea", "dis", "oth", "xxx")
_IEMOCAP_CODES = frozenset(IEMOCAP_LABEL_MAP) | frozenset(IEMOCAP_EXCLUDED_LABELS)

_IEMOCAP_LAYOUT = (
    "<root>/IEMOCAP_full_release/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt, "
    ".../dialog/transcriptions/<dialog>.txt and .../sentences/wav/<dialog>/<utterance>.wav"
)
# `Ses01F_impro01_F000`: session 01, dialog `Ses01F_impro01`, spoken by the session's Female actor (the `F` of
# `F000`; the `F` of `Ses01F` only says which actor wore the motion-capture markers).
_IEMOCAP_UTTERANCE_RE = re.compile(r"^(?P<dialog>Ses(?P<session>\d{2})[FM]_\S+)_(?P<gender>[FM])\d{3,}$")
# `[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]`
_IEMOCAP_EVALUATION_RE = re.compile(
    r"^\[\s*(?P<start>[\d.]+)\s*-\s*(?P<end>[\d.]+)\s*\]\s+(?P<id>\S+)\s+(?P<label>\S+)\s+\[(?P<vad>[^\]]*)\]"
)
# `Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.`
_IEMOCAP_TRANSCRIPT_RE = re.compile(r"^(?P<id>[^\s\[:]+)\s*\[[^\]]*\]:?\s?(?P<text>.*)$")

IEMOCAP_FOLDS = (1, 2, 3, 4, 5)


def _iemocap_features(label_names: Sequence[str]) -> Features:
    return Features(
        {
            "id": Value("string"),
            "audio": Value("string"),
            "text": Value("string"),
            "label": ClassLabel(names=list(label_names)),
            "emotion": Value("string"),
            "session": Value("int32"),
            "speaker": Value("string"),
            "gender": Value("string"),
            "improvised": Value("bool"),
            "dialog": Value("string"),
            "start": Value("float64"),
            "end": Value("float64"),
            "valence": Value("float32"),
            "activation": Value("float32"),
            "dominance": Value("float32"),
        }
    )


def iemocap_validation_speaker(fold: int) -> str:
    """
    The speaker held out for validation in a leave-one-session-out fold.

    Fold `N` tests on session `N`; its validation split is the female speaker of the next session,
    `(N mod 5) + 1`: fold 1 -> `Ses02F`, 2 -> `Ses03F`, 3 -> `Ses04F`, 4 -> `Ses05F`, 5 -> `Ses01F`. The rule is
    deterministic, never touches the test session, and leaves four whole sessions minus one speaker for training.

    Args:
        fold (`int`): The fold, 1 to 5.

    Returns:
        `str`: the speaker id, e.g. `"Ses02F"`.
    """
    _check_fold(fold)
    return f"Ses{fold % 5 + 1:02d}F"


def _check_fold(fold: Any) -> None:
    if isinstance(fold, bool) or not isinstance(fold, int) or fold not in IEMOCAP_FOLDS:
        raise ValueError(f"IEMOCAP `fold` must be one of {IEMOCAP_FOLDS} (the test session) or None, got {fold!r}.")


def _iemocap_root(root: str | os.PathLike) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"IEMOCAP root {str(root)!r} is not a directory; expected {_IEMOCAP_LAYOUT}.")
    if (root / "IEMOCAP_full_release").is_dir():
        root = root / "IEMOCAP_full_release"
    missing = []
    for session in IEMOCAP_FOLDS:
        for relative in ("dialog/EmoEvaluation", "dialog/transcriptions", "sentences/wav"):
            if not (root / f"Session{session}" / relative).is_dir():
                missing.append(f"Session{session}/{relative}")
    if missing:
        raise ValueError(
            f"{str(root)!r} is not an IEMOCAP release: missing folder(s) {missing[:6]}"
            f"{' ...' if len(missing) > 6 else ''}; expected {_IEMOCAP_LAYOUT}."
        )
    return root


def _parse_emo_evaluation(path: Path) -> Iterator[tuple[str, float, float, str, list[float]]]:
    """Yields `(utterance_id, start, end, label, [valence, activation, dominance])` per utterance line.

    The header (`% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]`), blank lines and the per-annotator lines
    (`C-E1:`, `C-F1:`, `A-E3:`, ...) do not start with `[` and are passed over.
    """
    for line_number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.startswith("["):
            continue
        match = _IEMOCAP_EVALUATION_RE.match(line)
        if match is None:
            raise ValueError(f"{path}:{line_number}: cannot parse the utterance line {line!r}.")
        try:
            vad = [float(value) for value in match["vad"].split(",")]
        except ValueError as error:
            raise ValueError(f"{path}:{line_number}: bad [V, A, D] values in {line!r}.") from error
        if len(vad) != 3:
            raise ValueError(f"{path}:{line_number}: expected 3 values in [V, A, D], got {line!r}.")
        yield match["id"], float(match["start"]), float(match["end"]), match["label"], vad


def _parse_iemocap_transcripts(path: Path) -> dict[str, str]:
    """Utterance id -> text; other turns (`Ses01F_impro01_MXX0 ...`, `M: ...`, `F: ...`) are not utterances."""
    transcripts = {}
    for line in _read_text(path).splitlines():
        match = _IEMOCAP_TRANSCRIPT_RE.match(line.strip())
        if match is not None and _IEMOCAP_UTTERANCE_RE.match(match["id"]):
            transcripts[match["id"]] = match["text"].strip()
    return transcripts


def _read_iemocap(root: Path, label_map: Mapping[str, str], label_names: list[str], report: BuildReport):
    rows = []
    seen = set()
    for session in IEMOCAP_FOLDS:
        session_dir = root / f"Session{session}"
        evaluation_files = sorted(
            path
            for path in (session_dir / "dialog" / "EmoEvaluation").glob("*.txt")
            if path.is_file() and not _is_hidden(path)
        )
        for evaluation_file in evaluation_files:
            dialog = evaluation_file.stem
            transcript_file = session_dir / "dialog" / "transcriptions" / f"{dialog}.txt"
            transcripts = _parse_iemocap_transcripts(transcript_file) if transcript_file.is_file() else {}
            for utterance_id, start, end, code, (valence, activation, dominance) in _parse_emo_evaluation(
                evaluation_file
            ):
                match = _IEMOCAP_UTTERANCE_RE.match(utterance_id)
                if match is None:
                    report.skip("unrecognised utterance id", f"{evaluation_file.name}:{utterance_id}")
                    continue
                if utterance_id in seen:
                    report.skip("duplicate utterance id", utterance_id)
                    continue
                seen.add(utterance_id)
                if code not in label_map:
                    reason = f"excluded label {code!r}" if code in _IEMOCAP_CODES else f"unknown label {code!r}"
                    report.skip(reason, utterance_id)
                    continue
                wav = session_dir / "sentences" / "wav" / match["dialog"] / f"{utterance_id}.wav"
                if not wav.is_file():
                    report.skip("missing audio file", utterance_id)
                    continue
                if utterance_id not in transcripts:
                    report.skip("missing transcript", utterance_id)
                    continue
                if not transcripts[utterance_id]:
                    report.skip("empty transcript", utterance_id)
                    continue
                speaker_session = int(match["session"])
                rows.append(
                    {
                        "id": utterance_id,
                        "audio": str(wav.resolve()),
                        "text": transcripts[utterance_id],
                        "label": label_names.index(label_map[code]),
                        "emotion": code,
                        "session": speaker_session,
                        "speaker": f"Ses{speaker_session:02d}{match['gender']}",
                        "gender": match["gender"],
                        # Dialog names read `Ses01F_impro01` or `Ses01F_script01_1`.
                        "improvised": match["dialog"].split("_")[1].startswith("impro"),
                        "dialog": match["dialog"],
                        "start": start,
                        "end": end,
                        "valence": valence,
                        "activation": activation,
                        "dominance": dominance,
                    }
                )
    return rows


def load_iemocap(
    root: str | os.PathLike,
    fold: int | None = None,
    *,
    validation_speaker: str | bool = True,
    label_map: Mapping[str, str] | None = None,
    return_report: bool = False,
) -> DatasetDict | tuple[DatasetDict, BuildReport]:
    """
    Builds IEMOCAP for 4-class speech emotion recognition (Sec. 4.1.1) from the local `IEMOCAP_full_release`.

    Read per session `SessionN/`: categorical labels and [V, A, D] from `dialog/EmoEvaluation/<dialog>.txt` (only the
    utterance lines `[start - end]<TAB>id<TAB>label<TAB>[V, A, D]`; the header, blank lines and annotator lines are
    passed over; the `Categorical/`, `Attribute/` and `Self-evaluation/` sub-folders are not read), transcripts from
    `dialog/transcriptions/<dialog>.txt` (`id [start-end]: text`) and audio `sentences/wav/<dialog>/<id>.wav`.

    The paper's classes are angry / happy / neutral / sad (label ids 0-3) with excited (`exc`) merged into happy; the
    other labels (`fru`, `sur`, `fea`, `dis`, `oth`, and `xxx` = no majority) are excluded and counted in the report.
    On the real release this keeps 5,531 utterances: 1,103 angry, 1,636 happy (595 hap + 1,041 exc), 1,708 neutral
    and 1,084 sad.

    Args:
        root (`str` or `os.PathLike`):
            The `IEMOCAP_full_release` folder or the folder containing it.
        fold (`int`, *optional*):
            Leave-one-session-out fold 1-5: `test` is session `fold`, `validation` one speaker of the training sessions
            (see `validation_speaker`), `train` the rest. `None` returns a single `"all"` split (use the `session`
            column to make your own folds).
        validation_speaker (`str` or `bool`, *optional*, defaults to `True`):
            `True`: hold out `iemocap_validation_speaker(fold)` (the female speaker of session `fold % 5 + 1`);
            a speaker id such as `"Ses03M"`: hold out that one (it must not be in the test session); `False`: no
            validation split. Ignored when `fold` is `None`.
        label_map (`Mapping[str, str]`, *optional*):
            IEMOCAP label code -> class name, replacing `IEMOCAP_LABEL_MAP`; class ids follow the sorted class names.
        return_report (`bool`, *optional*, defaults to `False`):
            Also return the `BuildReport` (it is logged either way).

    Returns:
        `DatasetDict` (and the `BuildReport` if `return_report`): columns `id` (`"Ses01F_impro01_F000"`), `audio`
        (absolute WAV path), `text`, `label` (`ClassLabel`), `emotion` (the original code, e.g. `"exc"`), `session`
        (1-5), `speaker` (`"Ses01F"`: session + the speaker's gender, from the last part of the utterance id), `gender`,
        `improvised` (`False` for scripted dialogs), `dialog`, `start`, `end` (seconds in the dialog), `valence`,
        `activation`, `dominance`.

    Raises:
        `ValueError`: if `root` lacks the release layout, `fold` is not 1-5 or `None`, the validation speaker is not
        one of the training speakers, or a label line cannot be parsed.
    """
    if fold is not None:
        _check_fold(fold)
    root = _iemocap_root(root)
    label_map = dict(IEMOCAP_LABEL_MAP if label_map is None else label_map)
    if not label_map:
        raise ValueError("`label_map` is empty: map at least one IEMOCAP label code to a class name.")
    label_names = sorted(set(label_map.values()))

    report = BuildReport("IEMOCAP" if fold is None else f"IEMOCAP fold {fold}")
    rows = _read_iemocap(root, label_map, label_names, report)
    features = _iemocap_features(label_names)
    if fold is None:
        dataset = DatasetDict({"all": Dataset.from_list(rows, features=features)})
        return _finish(dataset, report, return_report)

    if validation_speaker is True:
        held_out = iemocap_validation_speaker(fold)
    elif validation_speaker is False:
        held_out = None
    else:
        held_out = str(validation_speaker)
        speakers = {f"Ses{session:02d}{gender}" for session in IEMOCAP_FOLDS if session != fold for gender in "FM"}
        if held_out not in speakers:
            raise ValueError(
                f"`validation_speaker` {held_out!r} is not a speaker of the training sessions of fold {fold}; choose "
                f"one of {sorted(speakers)}."
            )
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for row in rows:
        if row["session"] == fold:
            splits["test"].append(row)
        elif row["speaker"] == held_out:
            splits["validation"].append(row)
        else:
            splits["train"].append(row)
    if held_out is None:
        del splits["validation"]
    dataset = DatasetDict({name: Dataset.from_list(split, features=features) for name, split in splits.items()})
    if held_out is not None:
        report.notes.append(f"validation speaker: {held_out}")
    return _finish(dataset, report, return_report)


# ---------------------------------------------------------------------------------------------------------------------
# CMU-MOSEI
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
            dataset[split] = Dataset.from_list([], features=features_spec)
            continue
        dataset[split] = Dataset.from_generator(
            _generate_mosei_segments,
            features=features_spec,
            gen_kwargs={"records": records[split], "sampling_rate": sampling_rate},
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    return _finish(dataset, report, return_report)


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

    Raises:
        `ValueError`: if `label.csv` is missing or lacks columns, or clips exist only as mp4 files.
    """
    root = Path(root)
    label_csv = root / "label.csv" if label_csv is None else Path(label_csv)
    audio_dir = root / "Raw" if audio_dir is None else Path(audio_dir)
    if not label_csv.is_file():
        raise ValueError(
            f"MMSA label file {str(label_csv)!r} does not exist; expected <root>/label.csv with columns "
            f"video_id, clip_id, text, label, label_T, label_A, label_V, annotation, mode."
        )
    with label_csv.open(newline="", encoding="utf-8") as file:
        # The csv module keeps ids as written: numeric MOSEI video ids ("100178") and clip ids ("0001") stay strings.
        reader = csv.DictReader(file)
        missing = [column for column in _MMSA_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"MMSA label file {str(label_csv)!r} lacks column(s) {missing}; has {reader.fieldnames}.")
        rows = list(reader)

    report = BuildReport("CMU-MOSEI (MMSA)")
    splits: dict[str, list[dict[str, Any]]] = defaultdict(list)
    mp4_only: list[Path] = []
    for row in rows:
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
    dataset = DatasetDict(
        {
            split: Dataset.from_list(splits[split], features=features)
            for split in ("train", "validation", "test")
            if split in splits
        }
    )
    return _finish(dataset, report, return_report)
