# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What the corpus readers share: the `BuildReport` of what was kept and skipped, text decoding and transcript
normalisation.

Every reader returns a `datasets.DatasetDict` with explicit `datasets.Features` and reports what it skipped and why
(a `BuildReport`, logged, and returned with `return_report=True`); nothing is dropped silently. All-upper-case
transcripts are re-cased for the cased RoBERTa tokenizer by `normalize_transcript`.
"""

import csv
import io
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset, DatasetDict, Features


logger = logging.getLogger(__name__)

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


def _split_from_rows(rows: list[dict], features: Features, split: str, report: BuildReport, missing: str) -> Dataset:
    """`Dataset.from_list(rows)`; an empty split (which `from_list` cannot build with features: datasets' "Keys
    mismatch") is built from empty columns and reported, with `missing` saying what the source lacked."""
    if rows:
        return Dataset.from_list(rows, features=features)
    report.notes.append(f"split {split!r} is empty: {missing}")
    return Dataset.from_dict({name: [] for name in features}, features=features)


def _read_csv_rows(path: Path, what: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """
    The header and `(line number, row)` pairs of a UTF-8 CSV file, a leading byte-order mark (Excel's "CSV UTF-8")
    dropped from the first column name. A row shorter than the header has `None` for the missing columns, a longer
    one its extra fields under the key `None` (`csv.DictReader`'s convention): the callers report such rows.

    Raises:
        `ValueError`: naming the file (as `what`) and the line, for a file that is not UTF-8 text.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{what} {str(path)!r} is not UTF-8 text: byte 0x{raw[error.start]:02x} on line {line} cannot be decoded "
            "(a file saved in a legacy encoding such as Latin-1 or Windows-1252?). Save it as UTF-8."
        ) from error
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    rows = []
    for row in reader:
        rows.append((reader.line_num, row))
    return header, rows


def _malformed_row(row: dict, header: list[str]) -> str | None:
    """Why a `csv.DictReader` row does not fit its header (too few or too many fields), or None when it does."""
    if None in row:
        return f"row with more fields than the header's {len(header)}"
    if any(value is None for value in row.values()):
        fields = sum(value is not None for value in row.values())
        return f"row with {fields} of the header's {len(header)} fields"
    return None


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
