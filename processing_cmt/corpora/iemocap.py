# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""IEMOCAP (Sec. 4.1.1): `load_iemocap` reads `IEMOCAP_full_release/Session1..5/`, keeps the paper's four classes
(angry, happy + excited, neutral, sad: 5,531 utterances on the real release) and builds leave-one-session-out folds.
"""

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import ClassLabel, DatasetDict, Features, Value

from .common import BuildReport, _finish, _is_hidden, _read_text, _split_from_rows


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
# An utterance id anywhere in a line: such a line is an utterance line, whatever else it looks like.
_IEMOCAP_UTTERANCE_MENTION_RE = re.compile(r"\bSes\d{2}[FM]_\S+_[FM]\d{3,}\b")
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
    (`C-E1:`, `C-F1:`, `A-E3:`, ...) are passed over. An utterance line is one that starts with `[` after any
    indentation, or any other line that names an utterance: one this parser cannot read is an error, never skipped
    without a word.
    """
    for line_number, raw_line in enumerate(_read_text(path).splitlines(), start=1):
        line = raw_line.strip()
        if not line.startswith("[") and _IEMOCAP_UTTERANCE_MENTION_RE.search(line) is None:
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
        dataset = DatasetDict(
            {"all": _split_from_rows(rows, features, "all", report, f"no usable utterance under {root}")}
        )
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
    # an empty split (a partial download: a session missing) is reported, with where its utterances would be
    session_dir = root / f"Session{fold}"
    training = ", ".join(f"Session{session}" for session in IEMOCAP_FOLDS if session != fold)
    missing = {
        "test": f"no usable utterance of {session_dir}" + ("" if session_dir.is_dir() else " (no such folder)"),
        "validation": f"no usable utterance of the validation speaker {held_out} under {root}",
        "train": f"no usable utterance of the training sessions ({training}) under {root}",
    }
    dataset = DatasetDict(
        {name: _split_from_rows(split, features, name, report, missing[name]) for name, split in splits.items()}
    )
    if held_out is not None:
        report.notes.append(f"validation speaker: {held_out}")
    return _finish(dataset, report, return_report)
