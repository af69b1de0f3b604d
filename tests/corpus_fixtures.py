# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Generators of tiny on-disk copies of the corpora, laid out file for file like the original releases.

Each `make_*_tree(root)` writes a small corpus under `root` (audio of 0.2-2 s at 16 kHz, so tests stay fast) and
returns a description of what it wrote, including which items a builder must skip and why. The trees carry the quirks
of the real files: EmoEvaluation headers and annotator lines, `xxx` / `exc` labels, transcript lines of non-utterance
turns, AppleDouble `._` files, a labelled utterance without its wav, MOSEI label intervals that overlap, come out of
order or start before 0 s, transcript text containing `___`, blank lines and CRLF line ends.

Import from tests with `from corpus_fixtures import make_iemocap_tree` (pytest puts `tests/` on `sys.path`); examples
and other suites may add `tests/` to `sys.path` themselves.
"""

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf


SAMPLING_RATE = 16000
# What macOS leaves next to files copied from its disks: an AppleDouble header, not text.
APPLEDOUBLE_BYTES = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\t\x00\x00\x002\xff\xfe"

SENTENCES = [
    "Excuse me.",
    "Do you have your forms?",
    "Yeah, I do. [LAUGHTER]",
    "I'm so sorry, I didn't mean it.",
    "This is the third time you've sent me to the wrong line!",
    "Well, that's wonderful news.",
    "I don't know what to tell you.",
    "We're getting married!",
    "Leave me alone.",
    "Okay.",
]


def synthesize(seconds: float, seed: int, sampling_rate: int = SAMPLING_RATE) -> np.ndarray:
    """A float32 tone with a seed-dependent pitch plus a little noise, so that files are distinguishable."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sampling_rate))) / sampling_rate
    frequency = 150.0 + 37.0 * (seed % 23)
    wave = 0.3 * np.sin(2 * np.pi * frequency * t) + 0.02 * rng.standard_normal(t.shape)
    return wave.astype(np.float32)


def write_audio(path: Path, seconds: float, seed: int, sampling_rate: int = SAMPLING_RATE) -> Path:
    """Writes a synthesized mono file (WAV or FLAC by suffix, 16-bit PCM as in the corpora)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), synthesize(seconds, seed, sampling_rate), sampling_rate, subtype="PCM_16")
    return path


# ---------------------------------------------------------------------------------------------------------------------
# LibriSpeech
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class LibriSpeechUtterance:
    """One utterance of a LibriSpeech fixture; `flac` is None when no audio was written for it."""

    id: str
    subset: str
    text: str
    has_flac: bool = True
    in_transcript: bool = True
    flac: Path | None = None

    @property
    def speaker_id(self) -> int:
        return int(self.id.split("-")[0])

    @property
    def chapter_id(self) -> int:
        return int(self.id.split("-")[1])

    @property
    def skip_reason(self) -> str | None:
        if not self.has_flac:
            return "missing audio file"
        if not self.in_transcript:
            return "missing transcript"
        return None


@dataclass
class LibriSpeechTree:
    root: Path
    """The `LibriSpeech` folder."""
    utterances: list[LibriSpeechUtterance]
    genders: dict[int, str]

    def kept(self, subsets: list[str] | None = None) -> list[LibriSpeechUtterance]:
        """Utterances a builder must keep (those with audio and a transcript line), optionally of some subsets."""
        return [
            utterance
            for utterance in self.utterances
            if utterance.skip_reason is None and (subsets is None or utterance.subset in subsets)
        ]


# (id, subset, upper-case transcript, has_flac, in_transcript)
DEFAULT_LIBRISPEECH = [
    ("19-198-0000", "train-clean-100", "I'M AFRAID I DON'T KNOW", True, True),
    ("19-198-0001", "train-clean-100", "O LORD IT IS FIVE O'CLOCK", True, True),
    ("19-198-0002", "train-clean-100", "THIS FILE HAS NO TRANSCRIPT LINE", True, False),
    ("19-227-0000", "train-clean-100", "AND SO THEY WALKED ON TOGETHER THROUGH THE DARK FOREST", True, True),
    ("19-227-0001", "train-clean-100", "THIS LINE HAS NO FLAC FILE", False, True),
    ("60-121082-0000", "train-clean-100", "MISTER BROWN SAID I WILL AND I'LL GO", True, True),
    ("14-208-0000", "train-clean-360", "CHAPTER ONE", True, True),
    ("14-208-0001", "train-clean-360", "HE WAS THE BEST TEACHER I EVER HAD", True, True),
    ("20-205-0000", "train-other-500", "WELL THAT WAS UNEXPECTED", True, True),
    ("84-121123-0000", "dev-clean", "GO DO YOU HEAR", True, True),
    ("84-121123-0001", "dev-clean", "BUT IN LESS THAN FIVE MINUTES THE STAIRCASE GROANED", True, True),
    ("1089-134686-0000", "test-clean", "HE HOPED THERE WOULD BE STEW FOR DINNER", True, True),
]

# (id, sex, subset, minutes, name): speaker 60's name really contains the `|` separator.
LIBRISPEECH_SPEAKERS = [
    (14, "F", "train-clean-360", "25.03", "Kristin LeMoine"),
    (19, "F", "train-clean-100", "25.19", "Kara Shallenberg"),
    (20, "F", "train-other-500", "30.07", "Gesine"),
    (60, "M", "train-clean-100", "20.18", "|CBW|Simon"),
    (84, "F", "dev-clean", "8.02", "Christie Nowak"),
    (1089, "M", "test-clean", "8.79", "Andrew Lee"),
]


def make_librispeech_tree(root: str | Path, utterances: list[tuple] | None = None) -> LibriSpeechTree:
    """
    Writes `root/LibriSpeech/<subset>/<speaker>/<chapter>/` with `<speaker>-<chapter>.trans.txt` and
    `<speaker>-<chapter>-<utterance>.flac` files, plus `SPEAKERS.TXT` with its `;` comment header.

    Args:
        root: Folder to write into.
        utterances: `(id, subset, upper-case text, has_flac, in_transcript)` tuples; defaults to
            `DEFAULT_LIBRISPEECH` (5 subsets, a flac without transcript line and a transcript line without flac).
    """
    base = Path(root) / "LibriSpeech"
    specs = [LibriSpeechUtterance(*spec) for spec in (utterances or DEFAULT_LIBRISPEECH)]
    chapters: dict[Path, list[LibriSpeechUtterance]] = {}
    for seed, utterance in enumerate(specs):
        chapter_dir = base / utterance.subset / str(utterance.speaker_id) / str(utterance.chapter_id)
        chapters.setdefault(chapter_dir, []).append(utterance)
        if utterance.has_flac:
            utterance.flac = write_audio(chapter_dir / f"{utterance.id}.flac", 0.2 + 0.05 * (seed % 4), seed)
    for chapter_dir, members in chapters.items():
        chapter_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{u.id} {u.text}\n" for u in sorted(members, key=lambda u: u.id) if u.in_transcript]
        (chapter_dir / f"{chapter_dir.parent.name}-{chapter_dir.name}.trans.txt").write_text("".join(lines))
    speakers = [
        "; Some speakers have more than one chapter in the corpus\n",
        ";ID  |SEX| SUBSET           |MINUTES| NAME\n",
    ]
    speakers += [
        f"{i:<5}| {sex} | {subset:<16} | {minutes} | {name}\n"
        for i, sex, subset, minutes, name in LIBRISPEECH_SPEAKERS
    ]
    (base / "SPEAKERS.TXT").write_text("".join(speakers))
    genders = {speaker: sex for speaker, sex, *_ in LIBRISPEECH_SPEAKERS}
    return LibriSpeechTree(root=base, utterances=specs, genders=genders)


@dataclass
class ManifestRow:
    audio: str
    """As written in the CSV (relative or absolute)."""
    text: str
    path: Path
    """Where the audio is (or would be) on disk."""
    exists: bool

    @property
    def skip_reason(self) -> str | None:
        if not self.exists:
            return "missing audio file"
        if not self.text.strip():
            return "empty transcript"
        return None


def make_speech_text_manifest(
    root: str | Path, audio_column: str = "path", text_column: str = "sentence"
) -> tuple[Path, list[ManifestRow]]:
    """
    Writes `root/clips/*.wav` and `root/manifest.csv` (columns `audio_column`, `text_column`, `speaker`): relative and
    absolute paths, a row whose file does not exist, a row with an empty transcript, a text with a comma and quotes.

    Returns:
        The CSV path and its rows in order.
    """
    root = Path(root)
    clips = root / "clips"
    rows = [
        ManifestRow("clips/a.wav", "THE QUICK BROWN FOX", clips / "a.wav", True),
        ManifestRow(str((clips / "b.wav").resolve()), 'She said "yes", twice.', clips / "b.wav", True),
        ManifestRow("clips/missing.wav", "NO SUCH FILE", clips / "missing.wav", False),
        ManifestRow("clips/c.wav", "  ", clips / "c.wav", True),
    ]
    for seed, row in enumerate(rows):
        if row.exists:
            write_audio(row.path, 0.25, 100 + seed)
    with (root / "manifest.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([audio_column, text_column, "speaker"])
        for index, row in enumerate(rows):
            writer.writerow([row.audio, row.text, f"spk{index % 2}"])
    return root / "manifest.csv", rows


# ---------------------------------------------------------------------------------------------------------------------
# IEMOCAP
# ---------------------------------------------------------------------------------------------------------------------

IEMOCAP_FOUR_CLASS = {"ang": "angry", "hap": "happy", "exc": "happy", "neu": "neutral", "sad": "sad"}
_CATEGORY_WORDS = {
    "ang": "Anger",
    "hap": "Happiness",
    "exc": "Excited",
    "neu": "Neutral state",
    "sad": "Sadness",
    "fru": "Frustration",
    "sur": "Surprise",
    "fea": "Fear",
    "dis": "Disgust",
    "oth": "Other",
    "xxx": "Neutral state",
}


@dataclass
class IEMOCAPUtterance:
    """One utterance of an IEMOCAP fixture and what was written for it."""

    id: str
    label: str
    text: str
    start: float
    end: float
    vad: tuple[float, float, float]
    write_wav: bool = True
    write_transcript: bool = True
    wav: Path | None = None
    line_prefix: str = ""
    """Written before the utterance's EmoEvaluation line (e.g. a stray space or tab, as hand-edited files have)."""

    @property
    def dialog(self) -> str:
        return self.id.rsplit("_", 1)[0]

    @property
    def session(self) -> int:
        return int(self.id[3:5])

    @property
    def gender(self) -> str:
        return self.id.rsplit("_", 1)[1][0]

    @property
    def speaker(self) -> str:
        return f"Ses{self.session:02d}{self.gender}"

    @property
    def improvised(self) -> bool:
        return "_impro" in self.dialog

    @property
    def skip_reason(self) -> str | None:
        if self.label not in IEMOCAP_FOUR_CLASS:
            return f"excluded label {self.label!r}"
        if not self.write_wav:
            return "missing audio file"
        if not self.write_transcript:
            return "missing transcript"
        return None


@dataclass
class IEMOCAPTree:
    root: Path
    """The `IEMOCAP_full_release` folder."""
    utterances: list[IEMOCAPUtterance] = field(default_factory=list)

    def kept(self) -> list[IEMOCAPUtterance]:
        return [utterance for utterance in self.utterances if utterance.skip_reason is None]


def default_iemocap_utterances() -> list[IEMOCAPUtterance]:
    """
    Per session one improvised dialog (`Ses0NF_impro01`) and one scripted (`Ses0NM_script01_1`), each with utterances
    of both actors. Per session 7 utterances of the 4 classes (1 ang, 1 hap + 1 exc, 2 neu, 2 sad) and 3 of
    excluded labels (`xxx` and `fru` always, a third one cycling through sur/fea/dis/oth). Session 1 loses one neutral
    utterance to a missing wav, session 2 one to a missing transcript line: 33 kept (5 angry, 10 happy, 8 neutral,
    10 sad).
    """
    third = ["sur", "fea", "dis", "oth", "sur"]
    utterances = []
    for session in range(1, 6):
        impro, script = f"Ses{session:02d}F_impro01", f"Ses{session:02d}M_script01_1"
        turns = [
            (impro, "F000", "ang"),
            (impro, "M000", "neu"),
            (impro, "F001", "exc"),
            (impro, "M001", "xxx"),
            (impro, "F002", "sad"),
            (script, "M000", "hap"),
            (script, "F000", "fru"),
            (script, "M001", "neu"),
            (script, "F001", "sad"),
            (script, "M002", third[session - 1]),
        ]
        position = {impro: 0, script: 0}
        for index, (dialog, turn, label) in enumerate(turns):
            start = 2.0 + 3.1 * position[dialog] + 0.2901
            position[dialog] += 1
            utterance = IEMOCAPUtterance(
                id=f"{dialog}_{turn}",
                label=label,
                text=SENTENCES[(index + session) % len(SENTENCES)],
                start=round(start, 4),
                end=round(start + 1.9456, 4),
                vad=(1.5 + 0.5 * (index % 5), 2.0 + 0.5 * (session % 4), 3.5 - 0.5 * (index % 3)),
            )
            utterances.append(utterance)
    utterances[1].write_wav = False  # Ses01F_impro01_M000, neutral
    next(u for u in utterances if u.id == "Ses02M_script01_1_M001").write_transcript = False  # neutral
    return utterances


def _emo_evaluation_text(utterances: list[IEMOCAPUtterance]) -> str:
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n", "\n"]
    for u in utterances:
        v, a, d = u.vad
        word = _CATEGORY_WORDS.get(u.label, "Other")
        lines.append(f"{u.line_prefix}[{u.start:.4f} - {u.end:.4f}]\t{u.id}\t{u.label}\t[{v:.4f}, {a:.4f}, {d:.4f}]\n")
        lines.append(f"C-E2:\t{word};\t()\n")
        lines.append(f"C-E4:\t{word}; Frustration;\t()\n")
        lines.append(f"C-F1:\t{word};\t(curious)\n")
        lines.append(f"A-E3:\tval {round(v)}; act {round(a)}; dom  {round(d)};\t()\n")
        lines.append(f"A-F1:\tval {round(v)}; act {round(a)}; dom  {round(d)};\t(mildly aggravated)\n")
        lines.append("\n")
    return "".join(lines)


def _transcription_text(dialog: str, utterances: list[IEMOCAPUtterance]) -> str:
    lines = []
    for u in utterances:
        if u.write_transcript:
            lines.append(f"{u.id} [{u.start:08.4f}-{u.end:08.4f}]: {u.text}\n")
    # Turns that are no utterance of the corpus: an unnumbered overlap turn and bare speaker lines.
    lines.insert(1, f"{dialog}_MXX0 [{utterances[0].end:08.4f}-{utterances[0].end + 0.5:08.4f}]: Hmm.\n")
    lines.append("M: [LAUGHTER]\n")
    lines.append("F: Yeah.\n")
    return "".join(lines)


def make_iemocap_tree(root: str | Path, utterances: list[IEMOCAPUtterance] | None = None) -> IEMOCAPTree:
    """
    Writes `root/IEMOCAP_full_release/Session1..5/` as in the release: `dialog/EmoEvaluation/<dialog>.txt` (header,
    blank lines, `C-E*`/`C-F*`/`A-E*`/`A-F*` annotator lines, plus `Categorical/` and `Attribute/` sub-folders),
    `dialog/transcriptions/<dialog>.txt` (with `..._MXX0`, `M:` and `F:` lines), `sentences/wav/<dialog>/<id>.wav`,
    and AppleDouble `._<dialog>.txt` files next to the text files.

    Args:
        root: Folder to write into.
        utterances: The utterances to write (their `wav` is set); defaults to `default_iemocap_utterances()`.
    """
    base = Path(root) / "IEMOCAP_full_release"
    utterances = default_iemocap_utterances() if utterances is None else utterances
    for session in range(1, 6):
        for relative in ("dialog/EmoEvaluation", "dialog/transcriptions", "sentences/wav"):
            (base / f"Session{session}" / relative).mkdir(parents=True, exist_ok=True)
    dialogs: dict[str, list[IEMOCAPUtterance]] = {}
    for utterance in utterances:
        dialogs.setdefault(utterance.dialog, []).append(utterance)
    for seed, utterance in enumerate(utterances):
        if utterance.write_wav:
            wav = base / f"Session{utterance.session}" / "sentences" / "wav" / utterance.dialog / f"{utterance.id}.wav"
            utterance.wav = write_audio(wav, 0.2 + 0.1 * (seed % 3), 1000 + seed)
    for dialog, members in dialogs.items():
        members = sorted(members, key=lambda u: u.start)
        dialog_dir = base / f"Session{members[0].session}" / "dialog"
        evaluation = dialog_dir / "EmoEvaluation"
        (evaluation / f"{dialog}.txt").write_text(_emo_evaluation_text(members))
        (evaluation / f"._{dialog}.txt").write_bytes(APPLEDOUBLE_BYTES)
        (evaluation / "Categorical").mkdir(exist_ok=True)
        (evaluation / "Categorical" / f"{dialog}_e1_cat.txt").write_text(
            "".join(f"{u.id} :{_CATEGORY_WORDS.get(u.label, 'Other')}; ()\n" for u in members)
        )
        (evaluation / "Attribute").mkdir(exist_ok=True)
        (evaluation / "Attribute" / f"{dialog}_e3_atr.txt").write_text(
            "".join(f"{u.id} :act 3; val 2; dom 3; ()\n" for u in members)
        )
        transcriptions = dialog_dir / "transcriptions"
        (transcriptions / f"{dialog}.txt").write_text(_transcription_text(dialog, members))
        (transcriptions / f"._{dialog}.txt").write_bytes(APPLEDOUBLE_BYTES)
    return IEMOCAPTree(root=base, utterances=utterances)


# ---------------------------------------------------------------------------------------------------------------------
# CMU-MOSEI
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class MOSEILabel:
    """One row of a video's labels in `CMU_MOSEI_Labels.csd`, in file order, and how a builder must treat it."""

    video_id: str
    start: float
    end: float
    sentiment: float
    emotions: tuple[float, ...]
    segment_id: int | None
    """The transcript segment it belongs to (None: none within tolerance)."""
    skip_reason: str | None = None

    @property
    def id(self) -> str:
        return f"{self.video_id}[{self.segment_id}]"


@dataclass
class MOSEIVideo:
    video_id: str
    seconds: float
    """Length of the WAV; 0 for no WAV file."""
    segments: list[tuple[int, float, float, str]]
    """Transcript lines `(segment_id, start, end, text)` in file order."""
    labels: list[MOSEILabel]
    fold: str | None
    write_transcript: bool = True
    crlf: bool = False
    wav: Path | None = None


@dataclass
class MOSEITree:
    root: Path
    labels_path: Path
    audio_dir: Path
    transcripts_dir: Path
    folds_path: Path
    videos: list[MOSEIVideo]

    def kept(self, fold: str | None = None) -> list[MOSEILabel]:
        """Label rows a builder must keep (of one fold), sorted as the builder returns them."""
        rows = [
            label
            for video in sorted(self.videos, key=lambda video: video.video_id)
            if fold is None or video.fold == fold
            for label in sorted(video.labels, key=lambda label: (max(label.start, 0.0), label.end))
            if label.skip_reason is None
        ]
        return rows

    def segment_text(self, label: MOSEILabel) -> str:
        video = next(video for video in self.videos if video.video_id == label.video_id)
        return next(text for segment_id, _, _, text in video.segments if segment_id == label.segment_id)


def _emotions(seed: int) -> tuple[float, ...]:
    return tuple(round(((seed * 7 + k * 3) % 10) / 3.0, 4) for k in range(6))


def default_mosei_videos() -> list[MOSEIVideo]:
    """
    Six videos: ids starting with `-` or `_`, a numeric id, label rows out of order and overlapping, label intervals
    off the transcript's by up to 0.05 s (the real `.csd` uses 1/44.1 kHz-based times such as 0.0124716553288), a
    negative start, a label with no transcript segment, one in conflict for a segment, one past the end of the audio,
    a video without WAV, one in no fold, transcript text with `___`, blank lines and CRLF line ends.
    """
    a, b, c, d, e, f = "-3g5yACwYnA", "_dI--eQ6qVU", "100178", "zhpQhgha_KU", "wavMissing1", "noFold00001"
    return [
        MOSEIVideo(
            a,
            2.0,
            segments=[
                (0, 0.0, 0.5, "Key is part of the people that we use to solve those issues."),
                (1, 0.4, 0.9, "And, um, the ___ thing is it's fine."),
                (2, 1.0, 1.4, "I would definitely recommend it."),
                (3, 1.5, 1.9, "Well, that was unexpected."),
                (4, 1.9, 2.0, "Unlabelled tail."),
            ],
            labels=[
                MOSEILabel(a, 1.0, 1.4, 1.6667, _emotions(1), 2),
                MOSEILabel(a, 0.0124716553288, 0.5, 0.0, _emotions(2), 0),
                MOSEILabel(a, 1.5, 1.9000001, -3.0, _emotions(3), 3),
                MOSEILabel(a, 0.4, 0.9, 2.3333, _emotions(4), 1),
                MOSEILabel(
                    a, 0.44, 0.93, 1.0, _emotions(5), None, "transcript segment matched by a closer label interval"
                ),
            ],
            fold="train",
        ),
        MOSEIVideo(
            b,
            1.5,
            segments=[(0, 0.0, 0.6, "I can't believe you forgot."), (1, 0.6, 1.1, "Stop it."), (2, 1.2, 2.3, "Late.")],
            labels=[
                MOSEILabel(b, 0.6, 1.1, -1.3333, _emotions(6), 1),
                MOSEILabel(b, -0.0476, 0.6, -0.6667, _emotions(7), 0),
                MOSEILabel(b, 1.3, 1.5, 0.3333, _emotions(8), None, "no transcript segment within tolerance"),
                MOSEILabel(b, 1.2, 2.3, 0.5, _emotions(9), 2, "interval outside audio"),
            ],
            fold="train",
        ),
        MOSEIVideo(
            c,
            1.0,
            segments=[(0, 0.1, 0.6, "The movie was okay."), (1, 0.5, 0.95, "Nothing special, though.")],
            labels=[
                MOSEILabel(c, 0.5, 0.95, 0.3333, _emotions(10), 1),
                MOSEILabel(c, 0.1, 0.6, 1.0, _emotions(11), 0),
            ],
            fold="validation",
            crlf=True,
        ),
        MOSEIVideo(
            d,
            0.8,
            segments=[(0, 0.2, 0.7, "What a waste of two hours.")],
            labels=[MOSEILabel(d, 0.2, 0.7, -2.6667, _emotions(12), 0)],
            fold="test",
        ),
        MOSEIVideo(
            e,
            0.0,
            segments=[(0, 0.0, 0.5, "No audio for this one.")],
            labels=[MOSEILabel(e, 0.0, 0.5, 1.0, _emotions(13), None, "missing audio file")],
            fold="train",
        ),
        MOSEIVideo(
            f,
            0.8,
            segments=[(0, 0.0, 0.5, "Not in any fold.")],
            labels=[MOSEILabel(f, 0.0, 0.5, 1.0, _emotions(14), None, "video not in any fold")],
            fold=None,
        ),
    ]


def write_mosei_csd(path: Path, labels: dict[str, list[MOSEILabel]]) -> Path:
    """Writes a computational sequence as the CMU-MultimodalSDK does: `All Labels/{data,metadata}`."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        root = handle.create_group("All Labels")
        data = root.create_group("data")
        for video_id, rows in labels.items():
            group = data.create_group(video_id)
            group.create_dataset("features", data=np.array([[r.sentiment, *r.emotions] for r in rows], np.float32))
            group.create_dataset("intervals", data=np.array([[r.start, r.end] for r in rows], np.float64))
        metadata = root.create_group("metadata")
        text = h5py.special_dtype(vlen=str)
        for key, value in {
            "root name": "All Labels",
            "computational sequence description": "Labels for CMU-MOSEI: sentiment, happy, sad, anger, surprise, "
            "disgust, fear",
            "computational sequence version": "1.0",
            "alignment compatible": "True",
            "dataset name": "CMU-MOSEI",
            "dataset version": "1.0",
        }.items():
            metadata.create_dataset(key, (1,), dtype=text, data=[value])
    return path


def make_mosei_tree(root: str | Path, videos: list[MOSEIVideo] | None = None) -> MOSEITree:
    """
    Writes the raw CMU-MOSEI layout with SDK labels under `root`: `CMU_MOSEI_Labels.csd`,
    `Raw/Audio/Full/WAV_16000/<video_id>.wav`, `Raw/Transcript/Segmented/Combined/<video_id>.txt` (lines
    `video___segment___start___end___text`, in transcript order, with blank lines) and `folds.json` holding the SDK's
    fold names (`standard_train_fold`, ...) with one extra test video that has no labels.

    Args:
        root: Folder to write into.
        videos: What to write; defaults to `default_mosei_videos()`.
    """
    root = Path(root)
    videos = default_mosei_videos() if videos is None else videos
    audio_dir = root / "Raw" / "Audio" / "Full" / "WAV_16000"
    transcripts_dir = root / "Raw" / "Transcript" / "Segmented" / "Combined"
    audio_dir.mkdir(parents=True, exist_ok=True)
    transcripts_dir.mkdir(parents=True, exist_ok=True)
    for seed, video in enumerate(videos):
        if video.seconds > 0:
            video.wav = write_audio(audio_dir / f"{video.video_id}.wav", video.seconds, 2000 + seed)
        if video.write_transcript:
            newline = "\r\n" if video.crlf else "\n"
            lines = [f"{video.video_id}___{s}___{start}___{end}___{text}" for s, start, end, text in video.segments]
            lines.insert(1, "")
            (transcripts_dir / f"{video.video_id}.txt").write_bytes((newline.join(lines) + newline).encode("utf-8"))
    labels_path = write_mosei_csd(root / "CMU_MOSEI_Labels.csd", {video.video_id: video.labels for video in videos})
    folds = {"standard_train_fold": [], "standard_valid_fold": [], "standard_test_fold": ["noLabels001"]}
    keys = {"train": "standard_train_fold", "validation": "standard_valid_fold", "test": "standard_test_fold"}
    for video in videos:
        if video.fold is not None:
            folds[keys[video.fold]].append(video.video_id)
    folds_path = root / "folds.json"
    folds_path.write_text(json.dumps(folds, indent=1))
    return MOSEITree(root, labels_path, audio_dir, transcripts_dir, folds_path, videos)


@dataclass
class MMSAClip:
    video_id: str
    clip_id: str
    text: str
    label: str
    mode: str
    audio: str | None
    """`"wav"`, `"mp4"` (a video file only) or None (nothing on disk)."""
    skip_reason: str | None = None
    path: Path | None = None

    @property
    def id(self) -> str:
        return f"{self.video_id}[{self.clip_id}]"


def default_mmsa_clips() -> list[MMSAClip]:
    """Clips over three modes with a numeric video id, a zero-padded clip id, quotes and commas in the text, a
    missing audio file, an unknown mode and a label that is no number."""
    return [
        MMSAClip("-3g5yACwYnA", "1", 'He said "great", and left.', "1.6666666", "train", "wav"),
        MMSAClip("-3g5yACwYnA", "2", "It was fine.", "0.0", "train", "wav"),
        MMSAClip("-3g5yACwYnA", "3", "Where is my audio?", "-1.0", "train", None, "missing audio file"),
        MMSAClip("100178", "0001", "The movie was okay.", "-0.3333", "valid", "wav"),
        MMSAClip("zhpQhgha_KU", "4", "What a waste of two hours.", "-3.0", "test", "wav"),
        MMSAClip("zhpQhgha_KU", "5", "Which split am I in?", "1.0", "extra", "wav", "unknown mode 'extra'"),
        MMSAClip("zhpQhgha_KU", "6", "No label here.", "n/a", "test", "wav", "invalid label"),
    ]


def make_mmsa_tree(root: str | Path, clips: list[MMSAClip] | None = None) -> list[MMSAClip]:
    """
    Writes the MMSA layout: `root/label.csv` (`video_id, clip_id, text, label, label_T, label_A, label_V, annotation,
    mode`, unimodal labels empty as for MOSEI) and `root/Raw/<video_id>/<clip_id>.wav` (or a stand-in `.mp4`).
    """
    root = Path(root)
    clips = default_mmsa_clips() if clips is None else clips
    root.mkdir(parents=True, exist_ok=True)
    with (root / "label.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["video_id", "clip_id", "text", "label", "label_T", "label_A", "label_V", "annotation", "mode"]
        )
        for seed, clip in enumerate(clips):
            try:
                annotation = (
                    "Positive" if float(clip.label) > 0 else "Negative" if float(clip.label) < 0 else "Neutral"
                )
            except ValueError:
                annotation = ""
            writer.writerow([clip.video_id, clip.clip_id, clip.text, clip.label, "", "", "", annotation, clip.mode])
            if clip.audio == "wav":
                clip.path = write_audio(root / "Raw" / clip.video_id / f"{clip.clip_id}.wav", 0.3, 3000 + seed)
            elif clip.audio == "mp4":
                clip.path = root / "Raw" / clip.video_id / f"{clip.clip_id}.mp4"
                clip.path.parent.mkdir(parents=True, exist_ok=True)
                # The first bytes of an ISO-BMFF file: enough to be an mp4 that soundfile cannot read.
                clip.path.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64))
    return clips
