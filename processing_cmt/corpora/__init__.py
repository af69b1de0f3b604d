# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Readers for the corpora of the CMT paper (Sec. 4.1), each reading the user's local copy of the original release.

One module per corpus: `librispeech` and `speech_text` (pretraining), `iemocap` (Sec. 4.1.1), `mosei` (Sec. 4.1.2);
`common` holds the `BuildReport` every reader returns and `normalize_transcript`. See `docs/datasets.md`.
"""

from .common import BuildReport, normalize_transcript
from .iemocap import (
    IEMOCAP_EXCLUDED_LABELS,
    IEMOCAP_LABEL_MAP,
    IEMOCAP_LABEL_NAMES,
    iemocap_validation_speaker,
    load_iemocap,
)
from .librispeech import load_librispeech
from .mosei import MOSEI_EMOTION_NAMES, load_mosei, load_mosei_folds, load_mosei_mmsa
from .speech_text import load_speech_text_corpus


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
