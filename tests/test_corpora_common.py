# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The `BuildReport` and transcript normalisation shared by the corpus readers."""

import pytest

from processing_cmt.corpora import BuildReport, normalize_transcript


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("I'M AFRAID I DON'T KNOW", "I'm afraid I don't know"),
        ("WELL I'LL SEE WHAT I'VE GOT AND I'D SAY", "Well I'll see what I've got and I'd say"),
        ("O LORD IT IS FIVE O'CLOCK", "O lord it is five o'clock"),
        ("  CHAPTER   ONE  ", "Chapter one"),
        ("'TWAS THE NIGHT", "'Twas the night"),
        ("IT IS MINE AND IS IT", "It is mine and is it"),
        ("Already cased, I think.", "Already cased, I think."),
        ("NASA and i", "NASA and i"),  # any lower-case letter: taken as cased, left alone
        ("", ""),
    ],
)
def test_normalize_transcript(raw, expected):
    assert normalize_transcript(raw) == expected


def test_build_report_counts_and_summary():
    report = BuildReport("X")
    for index in range(7):
        report.skip("missing audio file", f"u{index}")
    report.skip("excluded label 'fru'", "v0")
    report.split_sizes = {"train": 3, "test": 2}
    assert report.kept == 5 and report.num_skipped == 8
    assert report.skipped_examples["missing audio file"] == ["u0", "u1", "u2", "u3", "u4"]
    summary = report.summary()
    assert "kept 5" in summary and "skipped 7 x missing audio file" in summary and "excluded label 'fru'" in summary
