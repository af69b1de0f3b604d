# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The catalogue of bad inputs (issue #14): one case per kind of bad input a user can hand the package, each asserting
the exception type and that the message names the item (its index, path, field or value) and what is wrong.

A case is `(id, make, exception, pattern)`: `make(ctx)` runs the call that must fail; `ctx` holds the shared tiny
objects and a fresh `tmp_path`. Add a row for every new kind of bad input; the silent cases of issue #14 are here
with their new behaviour, and in detail in `test_silent_wrong_results.py`.
"""

import types

import numpy as np
import pytest
import torch
from corpus_fixtures import MMSAClip, make_iemocap_tree, make_mmsa_tree
from testing_utils import CMTModelTester, write_wav_file

from modeling_cmt import CMTForSequenceClassification, CMTForSequenceRegression
from processing_cmt.audio_utils import load_audio, load_audio_segment
from processing_cmt.corpora import load_iemocap, load_mosei_mmsa


@pytest.fixture(scope="module")
def models():
    tester = CMTModelTester()
    return types.SimpleNamespace(
        tester=tester,
        classifier=CMTForSequenceClassification(tester.get_config()).eval(),
        regressor=CMTForSequenceRegression(tester.get_config(ortho_loss_weight=0.0)).eval(),
    )


@pytest.fixture
def ctx(models, tiny_processor, tmp_path):
    return types.SimpleNamespace(
        models=models, processor=tiny_processor, tmp=tmp_path, inputs=models.tester.prepare_inputs()
    )


def _wav(ctx, name="clip.wav", **kwargs):
    return write_wav_file(ctx.tmp / name, **kwargs)


def _truncated_wav(ctx):
    data = _wav(ctx, "full.wav", seconds=1.0, subtype="PCM_16").read_bytes()
    path = ctx.tmp / "cut.wav"
    path.write_bytes(data[: 44 + 16000])
    return path


def _with(ctx, **changes):
    inputs = {key: value.clone() for key, value in ctx.inputs.items()}
    for key, (index, value) in changes.items():
        inputs[key][index] = value
    return inputs


def _classify(ctx, labels, **changes):
    return ctx.models.classifier(**_with(ctx, **changes), labels=labels)


def _regress(ctx, labels):
    return ctx.models.regressor(**ctx.inputs, labels=labels)


def _iemocap_with_line(ctx, line):
    tree = make_iemocap_tree(ctx.tmp)
    evaluation = tree.root / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
    evaluation.write_text(evaluation.read_text() + line)
    return load_iemocap(tree.root)


def _mmsa(ctx, header_and_rows):
    (ctx.tmp / "label.csv").write_text(header_and_rows)
    return load_mosei_mmsa(ctx.tmp)


CASES = [
    # --- audio ---------------------------------------------------------------------------------------------------
    ("audio/missing-file", lambda c: load_audio(c.tmp / "nope.wav", 16000), ValueError, r"nope\.wav"),
    (
        "audio/not-audio",
        lambda c: load_audio((c.tmp / "notes.wav").write_text("hello") and c.tmp / "notes.wav", 16000),
        ValueError,
        r"notes\.wav.*cannot decode",
    ),
    ("audio/truncated-wav", lambda c: load_audio(_truncated_wav(c), 16000), ValueError, r"cut\.wav.*truncated"),
    (
        "audio/truncated-wav-bytes",
        lambda c: load_audio({"bytes": _truncated_wav(c).read_bytes()}, 16000, name="audio[4]"),
        ValueError,
        r"audio\[4\].*truncated",
    ),
    (
        "audio/truncated-wav-segment",
        lambda c: load_audio_segment(_truncated_wav(c), 0.0, 0.2, 16000),
        ValueError,
        r"cut\.wav.*truncated",
    ),
    ("audio/empty-bytes", lambda c: load_audio({"bytes": b""}, 16000, name="a[0]"), ValueError, r"a\[0\].*empty"),
    (
        "audio/nan-samples",
        lambda c: load_audio({"array": np.array([0.1, np.nan]), "sampling_rate": 16000}, 16000, name="a[1]"),
        ValueError,
        r"a\[1\].*1 NaN or infinite",
    ),
    (
        "audio/array-without-rate",
        lambda c: load_audio(np.zeros(100, np.float32), 16000, name="a[2]"),
        ValueError,
        r"a\[2\].*no sampling rate",
    ),
    (
        "audio/bad-rate",
        lambda c: load_audio({"array": np.zeros(10), "sampling_rate": -5}, 16000, name="a[3]"),
        ValueError,
        r"a\[3\].*sampling_rate.*-5",
    ),
    (
        "audio/3d-array",
        lambda c: load_audio(np.zeros((2, 2, 2)), 16000, source_sampling_rate=16000, name="a[5]"),
        ValueError,
        r"a\[5\].*shape \(2, 2, 2\)",
    ),
    (
        "audio/segment-outside-file",
        lambda c: load_audio_segment(_wav(c), 3.0, 4.0, 16000),
        ValueError,
        r"clip\.wav.*outside the file",
    ),
    (
        "audio/unsupported-type",
        lambda c: load_audio(42, 16000, name="a[6]"),
        ValueError,
        r"a\[6\].*unsupported audio input of type int",
    ),
    # --- processor -------------------------------------------------------------------------------------------------
    ("processor/empty-transcript", lambda c: c.processor(text=["ok", "  "]), ValueError, r"text\[1\].*empty"),
    ("processor/non-string-text", lambda c: c.processor(text=["ok", 3]), ValueError, r"text\[1\].*got int"),
    (
        "processor/text-audio-count",
        lambda c: c.processor(text=["a", "b"], audio=[_wav(c)]),
        ValueError,
        r"2 transcripts but 1 audio",
    ),
    ("processor/bad-padding", lambda c: c.processor(text="hi", padding="both"), ValueError, r"'both'"),
    (
        "processor/tokenizer-without-limit",
        lambda c: _processor_without_limit(c)(text="hello there"),
        ValueError,
        r"no `model_max_length`.*max_length=",
    ),
    # --- masks and inputs handed to the model ---------------------------------------------------------------------------
    (
        "model/left-padded-audio-mask",
        lambda c: _classify(c, None, audio_attention_mask=((1, slice(0, 100)), 0)),
        ValueError,
        r"`audio_attention_mask` of batch item\(s\) \[1\] is not right-padded",
    ),
    (
        "model/all-zero-text-mask",
        lambda c: _classify(c, None, attention_mask=(0, 0)),
        ValueError,
        r"`attention_mask` of batch item\(s\) \[0\] is all zeros",
    ),
    (
        "model/nan-input-values",
        lambda c: _classify(c, None, input_values=((2, 5), float("nan"))),
        ValueError,
        r"`input_values` of batch item\(s\) \[2\] hold NaN",
    ),
    (
        "model/audio-shorter-than-receptive-field",
        lambda c: _classify(c, None, audio_attention_mask=((1, slice(5, None)), 0)),
        ValueError,
        r"batch item\(s\) \[1\] has \[5\] valid samples",
    ),
    (
        "model/missing-input-values",
        lambda c: c.models.classifier(input_ids=c.inputs["input_ids"]),
        ValueError,
        r"needs input_values",
    ),
    (
        "model/3d-input-values",
        lambda c: c.models.classifier(input_ids=c.inputs["input_ids"], input_values=torch.zeros(3, 2, 1200)),
        ValueError,
        r"`input_values` must be \(batch, samples\).*\(3, 2, 1200\)",
    ),
    # --- labels ----------------------------------------------------------------------------------------------------
    (
        "labels/class-ids-on-regression",
        lambda c: _regress(c, torch.tensor([0, 2, 1])),
        ValueError,
        r"integer labels.*class ids",
    ),
    ("labels/nan-regression-target", lambda c: _regress(c, [0.1, 0.2, np.nan]), ValueError, r"item\(s\) \[2\].*NaN"),
    (
        "labels/floats-on-classification",
        lambda c: _classify(c, torch.tensor([0.5, 1.5, 2.5])),
        ValueError,
        r"is this a regression dataset\?",
    ),
    ("labels/out-of-range", lambda c: _classify(c, torch.tensor([0, 7, 1])), ValueError, r"\[7\] are outside 0..3"),
    ("labels/strings", lambda c: _classify(c, ["angry", "sad", "happy"]), ValueError, r"must be numbers, got list"),
    (
        "labels/one-per-example",
        lambda c: _classify(c, torch.tensor([0, 1])),
        ValueError,
        r"one class id per example.*\(2,\) for 3 examples",
    ),
    # --- dataset trees ---------------------------------------------------------------------------------------------
    ("iemocap/missing-root", lambda c: load_iemocap(c.tmp / "nowhere"), ValueError, r"nowhere.*not a directory"),
    (
        "iemocap/unparsable-utterance-line",
        lambda c: _iemocap_with_line(c, "[1.0 - x]\tSes01F_impro01_F009\tneu\t[2.0, 2.0, 2.0]\n"),
        ValueError,
        r"Ses01F_impro01\.txt:\d+: cannot parse",
    ),
    (
        "iemocap/utterance-line-in-another-form",
        lambda c: _iemocap_with_line(c, "Ses01F_impro01_F009 neu 2.0 2.0 2.0\n"),
        ValueError,
        r"Ses01F_impro01\.txt:\d+: cannot parse",
    ),
    ("iemocap/bad-fold", lambda c: load_iemocap(c.tmp, fold=6), ValueError, r"`fold`.*6"),
    ("mmsa/missing-label-csv", lambda c: load_mosei_mmsa(c.tmp), ValueError, r"label\.csv.*does not exist"),
    (
        "mmsa/missing-columns",
        lambda c: _mmsa(c, "video_id,clip_id,text\nv,1,hi\n"),
        ValueError,
        r"lacks column\(s\) \['label', 'mode'\]",
    ),
    (
        "mmsa/mp4-only",
        lambda c: load_mosei_mmsa(make_mmsa_tree(c.tmp, [MMSAClip("v", "1", "Hi.", "1.0", "train", "mp4")]) and c.tmp),
        ValueError,
        r"only as mp4.*1\.mp4",
    ),
]


def _processor_without_limit(ctx):
    import copy

    processor = copy.deepcopy(ctx.processor)
    processor.tokenizer.model_max_length = int(1e30)  # what a tokenizer saved without a limit loads with
    return processor


@pytest.mark.parametrize("make, exception, pattern", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_naming_the_item(ctx, make, exception, pattern):
    with pytest.raises(exception, match=pattern):
        make(ctx)


def test_catalogue_ids_are_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))
