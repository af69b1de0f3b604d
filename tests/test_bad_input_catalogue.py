# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The catalogue of bad inputs (issue #14): one case per kind of bad input a user can hand the package, each asserting
the exception type and that the message names the item (its index, path, field or value) and what is wrong.

A case is `(id, make, exception, pattern)`: `make(ctx)` runs the call that must fail; `ctx` holds the shared tiny
objects (models, processor, pipeline) and a fresh `tmp_path`. The id's prefix is the kind of input: audio, text,
processor, model (masks and inputs handed to the model), labels, csv, files, folders, dataset trees (iemocap, mmsa,
LibriSpeech, MOSEI), checkpoints (output folders, exported code, codebooks), arguments, collator, pipeline. Add a row
for every new kind of bad input; the silent cases of issue #14 are here with their new behaviour, and in detail in
`test_silent_wrong_results.py`; what the readers report instead of failing is in `test_corpora_bad_input.py`, the
pipeline's per-item errors in `test_pipeline_errors.py`.
"""

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from corpus_fixtures import MMSAClip, make_iemocap_tree, make_librispeech_tree, make_mmsa_tree, make_mosei_tree
from testing_utils import CMTModelTester, write_wav_file
from transformers import pipeline

from modeling_cmt import CMTForSequenceClassification, CMTForSequenceRegression
from modeling_cmt.remote_code import export_remote_code
from processing_cmt import DataCollatorForCMT, load_codebook
from processing_cmt.audio_utils import load_audio, load_audio_segment
from processing_cmt.corpora import (
    load_iemocap,
    load_librispeech,
    load_mosei,
    load_mosei_folds,
    load_mosei_mmsa,
    load_speech_text_corpus,
)


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import cmt_arguments  # noqa: E402
from cmt_training import AudioBudgetBatchSampler  # noqa: E402


@pytest.fixture(scope="module")
def models():
    tester = CMTModelTester()
    return types.SimpleNamespace(
        tester=tester,
        classifier=CMTForSequenceClassification(tester.get_config()).eval(),
        regressor=CMTForSequenceRegression(tester.get_config(ortho_loss_weight=0.0)).eval(),
    )


@pytest.fixture(scope="module")
def pipe(models, tiny_processor):
    return pipeline("audio-text-sentiment", model=models.classifier, processor=tiny_processor, device="cpu")


@pytest.fixture
def ctx(models, tiny_processor, pipe, tmp_path):
    return types.SimpleNamespace(
        models=models, processor=tiny_processor, pipe=pipe, tmp=tmp_path, inputs=models.tester.prepare_inputs()
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


def _file(ctx, name, content: bytes | str) -> Path:
    path = ctx.tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


MMSA_HEADER = "video_id,clip_id,text,label,mode\n"


def _mosei(ctx, **changes):
    tree = make_mosei_tree(ctx.tmp / "mosei")
    paths = {"labels_path": tree.labels_path, "audio_dir": tree.audio_dir, "transcripts_dir": tree.transcripts_dir}
    arguments = {**paths, "cache_dir": ctx.tmp / "cache", **changes}
    return load_mosei(
        arguments.pop("labels_path"), arguments.pop("audio_dir"), arguments.pop("transcripts_dir"), **arguments
    )


def _output_dir(ctx, *names, **fields):
    """`check_output_dir` on a folder holding `names` (a trailing / makes a folder)."""
    output = ctx.tmp / "run"
    output.mkdir(exist_ok=True)
    for name in names:
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).mkdir() if name.endswith("/") else (output / name).write_text("earlier")
    defaults = {"resume_from_checkpoint": None, "overwrite_output_dir": False, "process_index": 0}
    cmt_arguments.check_output_dir(types.SimpleNamespace(output_dir=str(output), **{**defaults, **fields}))


def _two_clips(ctx):
    return [{"audio": str(_wav(ctx, "a.wav")), "text": "hi"}, {"audio": str(_wav(ctx, "b.wav")), "text": "yo"}]


def _trainer(ctx, **kwargs):
    from cmt_training import CMTTrainer
    from transformers import TrainingArguments

    args = TrainingArguments(str(ctx.tmp / "trainer"), report_to="none", use_cpu=True)
    return CMTTrainer(model=ctx.models.classifier, args=args, **kwargs)


def _regression_config():
    return CMTModelTester().get_config(
        num_labels=1, problem_type="regression", architectures=["CMTForSequenceRegression"]
    )


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
    # --- CSV files: encodings, headers, rows ----------------------------------------------------------------------
    (
        "csv/mmsa-label-csv-not-utf8",
        lambda c: (
            _file(c, "label.csv", (MMSA_HEADER + "v,1,caf\xe9,1.0,train\n").encode("latin-1")),
            load_mosei_mmsa(c.tmp),
        ),
        ValueError,
        r"label\.csv' is not UTF-8 text: byte 0xe9 on line 2",
    ),
    ("csv/mmsa-header-only", lambda c: _mmsa(c, MMSA_HEADER), ValueError, r"label\.csv' has a header but no rows"),
    (
        "csv/manifest-not-utf8",
        lambda c: load_speech_text_corpus(_file(c, "m.csv", "audio,text\nx.wav,\xe9t\xe9\n".encode("cp1252"))),
        ValueError,
        r"Manifest '.*m\.csv' is not UTF-8 text: byte 0xe9 on line 2",
    ),
    (
        "csv/manifest-header-only",
        lambda c: load_speech_text_corpus(_file(c, "m.csv", "audio,text\n")),
        ValueError,
        r"m\.csv' has a header but no rows",
    ),
    (
        "csv/manifest-missing-column",
        lambda c: load_speech_text_corpus(_file(c, "m.csv", "path,text\nx.wav,hi\n")),
        ValueError,
        r"m\.csv' has no column\(s\) \['audio'\]; its columns are \['path', 'text'\]",
    ),
    (
        "csv/manifest-bom-does-not-hide-a-missing-column",
        lambda c: load_speech_text_corpus(_file(c, "m.csv", "\ufeffpath,text\nx.wav,hi\n")),
        ValueError,
        r"has no column\(s\) \['audio'\]; its columns are \['path', 'text'\]",
    ),
    (
        "files/corpus-neither-csv-nor-dataset",
        lambda c: load_speech_text_corpus(_file(c, "notes.txt", "audio,text\n")),
        ValueError,
        r"notes\.txt' is neither a CSV manifest",
    ),
    (
        "folders/corpus-folder-not-a-saved-dataset",
        lambda c: load_speech_text_corpus(_file(c, "corpus/readme.md", "x").parent),
        ValueError,
        r"corpus' is a folder but not one written by `save_to_disk`",
    ),
    (
        "csv/mosei-folds-not-json",
        lambda c: load_mosei_folds(_file(c, "folds.json", "train: [a, b]")),
        ValueError,
        r"folds\.json' is not valid JSON",
    ),
    (
        "files/mosei-folds-missing",
        lambda c: load_mosei_folds(c.tmp / "folds.json"),
        ValueError,
        r"folds file '.*folds\.json' does not exist",
    ),
    (
        "dataset-trees/mosei-video-in-two-folds",
        lambda c: load_mosei_folds({"train": ["v1", "v2"], "test": ["v2"]}),
        ValueError,
        r"video 'v2' is in both the 'train' and 'test' folds",
    ),
    (
        "dataset-trees/mosei-unknown-fold-name",
        lambda c: load_mosei_folds({"holdout": ["v1"]}),
        ValueError,
        r"Unknown MOSEI fold name 'holdout'",
    ),
    # --- dataset trees ---------------------------------------------------------------------------------------------
    (
        "dataset-trees/mosei-labels-not-hdf5",
        lambda c: _mosei(c, labels_path=_file(c, "labels.csd", "not hdf5")),
        ValueError,
        r"labels file '.*labels\.csd' is not HDF5",
    ),
    (
        "dataset-trees/mosei-audio-dir-missing",
        lambda c: _mosei(c, audio_dir=c.tmp / "no-audio"),
        ValueError,
        r"MOSEI `audio_dir` '.*no-audio' is not a directory",
    ),
    ("dataset-trees/mosei-negative-tolerance", lambda c: _mosei(c, tolerance=-1), ValueError, r"`tolerance`.*-1"),
    (
        "dataset-trees/librispeech-missing-root",
        lambda c: load_librispeech(c.tmp / "LibriSpeech"),
        ValueError,
        r"LibriSpeech root '.*LibriSpeech' is not a directory",
    ),
    (
        "dataset-trees/librispeech-no-subset",
        lambda c: load_librispeech(_file(c, "LibriSpeech/README.TXT", "x").parent),
        ValueError,
        r"No LibriSpeech subset found under '.*LibriSpeech'",
    ),
    (
        "dataset-trees/librispeech-unknown-subset",
        lambda c: load_librispeech(make_librispeech_tree(c.tmp).root, "train-clean-999"),
        ValueError,
        r"split 'train' asks for subsets \['train-clean-999'\]",
    ),
    (
        "dataset-trees/iemocap-not-a-release",
        lambda c: load_iemocap(_file(c, "IEMOCAP/readme.txt", "x").parent),
        ValueError,
        r"IEMOCAP' is not an IEMOCAP release: missing folder\(s\) \['Session1/dialog/EmoEvaluation'",
    ),
    (
        "dataset-trees/iemocap-bad-vad-values",
        lambda c: _iemocap_with_line(c, "[1.0 - 2.0]\tSes01F_impro01_F009\tneu\t[x, 2.0, 2.0]\n"),
        ValueError,
        r"Ses01F_impro01\.txt:\d+: bad \[V, A, D\] values",
    ),
    (
        "dataset-trees/iemocap-validation-speaker-of-the-test-session",
        lambda c: load_iemocap(make_iemocap_tree(c.tmp).root, fold=1, validation_speaker="Ses01F"),
        ValueError,
        r"`validation_speaker` 'Ses01F' is not a speaker of the training sessions of fold 1",
    ),
    (
        "dataset-trees/iemocap-empty-label-map",
        lambda c: load_iemocap(make_iemocap_tree(c.tmp).root, label_map={}),
        ValueError,
        r"`label_map` is empty",
    ),
    (
        "dataset-trees/normalize-text-not-bool",
        lambda c: load_speech_text_corpus(_file(c, "m.csv", "audio,text\nx.wav,hi\n"), normalize_text="yes"),
        ValueError,
        r"`normalize_text` must be a bool or a callable.*'yes'",
    ),
    # --- checkpoints and output folders ------------------------------------------------------------------------------
    (
        "checkpoints/output-dir-holds-a-run",
        lambda c: _output_dir(c, "checkpoint-3/", "config.json", "results.json"),
        ValueError,
        r"--output_dir '.*run' holds a run already \(checkpoints: checkpoint-3; model files: config\.json; results: "
        r"results\.json\).*--overwrite_output_dir",
    ),
    (
        "checkpoints/output-dir-of-all-folds",
        lambda c: _output_dir(c, "fold-2/results.json"),
        ValueError,
        r"holds a run already \(folds: fold-2\)",
    ),
    (
        "checkpoints/resume-another-run-into-a-run",
        lambda c: _output_dir(c, "checkpoint-3/", resume_from_checkpoint=str(c.tmp / "other" / "checkpoint-9")),
        ValueError,
        r"holds a run already \(checkpoints: checkpoint-3\)",
    ),
    (
        "checkpoints/output-dir-is-a-file",
        lambda c: cmt_arguments.check_output_dir(types.SimpleNamespace(output_dir=str(_file(c, "out", "x")))),
        ValueError,
        r"--output_dir '.*out' is a file",
    ),
    (
        "checkpoints/export-over-a-users-module",
        lambda c: (
            c.models.classifier.save_pretrained(c.tmp),
            _file(c, "audio_utils.py", "x = 1"),
            export_remote_code(c.tmp),
        ),
        ValueError,
        r"audio_utils\.py exists and is not a flat module",
    ),
    (
        "checkpoints/regression-checkpoint-for-ser",
        lambda c: cmt_arguments.check_checkpoint_task(_regression_config(), "ser", "runs/sa-model"),
        ValueError,
        r"runs/sa-model is a regression \(sentiment score\) checkpoint, but --task ser",
    ),
    ("checkpoints/codebook-missing", lambda c: load_codebook(c.tmp / "k.safetensors"), ValueError, r"k\.safetensors"),
    (
        "checkpoints/codebook-not-safetensors",
        lambda c: load_codebook(_file(c, "k.safetensors", "not a tensor file")),
        ValueError,
        r"Cannot read codebook '.*k\.safetensors' as safetensors",
    ),
    (
        "arguments/config-override-not-key-value",
        lambda c: cmt_arguments.parse_overrides("num_cross_layers=1,dropout"),
        ValueError,
        r"item 'dropout' is not key=value",
    ),
    (
        "arguments/audio-layer-pooling",
        lambda c: cmt_arguments.parse_layer_pooling("middle"),
        ValueError,
        r"--audio_layer_pooling must be .* got 'middle'",
    ),
    (
        "arguments/utterance-over-the-batch-audio-budget",
        lambda c: AudioBudgetBatchSampler([100, 5000, 200], max_batch_samples=1000, max_batch_size=4, seed=0),
        ValueError,
        r"Example 1 has 5000 audio samples, more than a batch may hold \(1000\)",
    ),
    (
        "arguments/max-batch-audio-seconds-inf",
        lambda c: _trainer(c, max_batch_audio_seconds=float("inf")),
        ValueError,
        r"--max_batch_audio_seconds must be a positive, finite number of seconds, got inf",
    ),
    # --- text ---------------------------------------------------------------------------------------------------------
    (
        "text/lone-surrogate",
        lambda c: c.processor(text=["fine", "caf\udce9"]),
        ValueError,
        r"text\[1\]: the transcript is not valid Unicode text: '\\udce9' at position 3 is a lone surrogate",
    ),
    ("text/empty-list", lambda c: c.processor(text=[]), ValueError, r"`text` is an empty list"),
    ("text/not-a-string", lambda c: c.processor(text=5), ValueError, r"`text` must be a string or a list.*got int"),
    (
        "text/audio-longer-than-max-with-transcript",
        lambda c: c.processor(text="hi", audio=[_wav(c, seconds=1.0)], max_audio_seconds=0.5),
        ValueError,
        r"clip\.wav.*lasts 1\.00 s, longer than max_audio_seconds=0\.5",
    ),
    (
        "audio/max-seconds-nan",
        lambda c: load_audio(_wav(c), 16000, max_seconds=float("nan")),
        ValueError,
        r"clip\.wav.*`max_seconds` must be a positive number of seconds, got nan",
    ),
    # --- batches handed to the collator -------------------------------------------------------------------------------
    (
        "collator/empty-batch",
        lambda c: DataCollatorForCMT(c.processor.tokenizer)([]),
        ValueError,
        r"Cannot collate an empty list",
    ),
    (
        "collator/example-without-audio",
        lambda c: DataCollatorForCMT(c.processor.tokenizer)([{"input_ids": [0, 5, 2], "input_values": None}]),
        ValueError,
        r"Example 0 has no `input_values`",
    ),
    (
        "collator/2d-input-ids",
        lambda c: DataCollatorForCMT(c.processor.tokenizer)([{"input_ids": [[0, 2]], "input_values": np.zeros(800)}]),
        ValueError,
        r"Example 0: `input_ids` must be a non-empty 1-D list of ids, got shape \(1, 2\)",
    ),
    # --- pipeline arguments and inputs --------------------------------------------------------------------------------
    ("pipeline/batch-size-0", lambda c: c.pipe(_two_clips(c), batch_size=0), ValueError, r"`batch_size`.*got 0"),
    (
        "pipeline/unknown-errors-mode",
        lambda c: c.pipe(_two_clips(c), errors="skip"),
        ValueError,
        r"`errors` must be 'raise' \(the default\) or 'return', got 'skip'",
    ),
    (
        "pipeline/max-audio-seconds-nan",
        lambda c: c.pipe(_two_clips(c), max_audio_seconds=float("nan")),
        ValueError,
        r"`max_audio_seconds` must be a positive number of seconds, got nan",
    ),
    (
        "pipeline/empty-dataset",
        lambda c: c.pipe(__import__("datasets").Dataset.from_list(_two_clips(c)).select([])),
        ValueError,
        r"got an empty dataset of inputs",
    ),
    ("pipeline/empty-list", lambda c: c.pipe([]), ValueError, r"got an empty list of inputs"),
    (
        "pipeline/transcripts-for-a-list",
        lambda c: c.pipe([str(_wav(c)), str(_wav(c))], text=["only one"]),
        ValueError,
        r"For a list of 2 inputs, `text` must be a list of 2 transcripts",
    ),
    (
        "pipeline/asr-folder-missing",
        lambda c: c.pipe(str(_wav(c)), asr_model=str(c.tmp / "my-whisper")),
        ValueError,
        r"`asr_model` '.*my-whisper' cannot be loaded: as a folder it does not exist",
    ),
    (
        "pipeline/unknown-argument",
        lambda c: c.pipe(str(_wav(c)), text="hi", temperature=0.5),
        ValueError,
        r"unknown arguments \['temperature'\]",
    ),
    ("pipeline/top-k-0", lambda c: c.pipe(str(_wav(c)), text="hi", top_k=0), ValueError, r"`top_k`.*got 0"),
    (
        "pipeline/dict-without-audio",
        lambda c: c.pipe([{"text": "hi"}, {"audio": str(_wav(c)), "text": "yo"}]),
        ValueError,
        r"inputs\[0\]: a dict input needs an `audio`",
    ),
    (
        "pipeline/no-transcript-and-no-asr",
        lambda c: c.pipe([str(_wav(c))]),
        ValueError,
        r"inputs\[0\]: no transcript",
    ),
    (
        "pipeline/two-transcripts",
        lambda c: c.pipe({"audio": str(_wav(c)), "text": "hi"}, text="hello"),
        ValueError,
        r"inputs: the input dict has a `text` and `text=` was given too",
    ),
    (
        "pipeline/corrupt-file-in-a-batch",
        lambda c: c.pipe([*_two_clips(c), {"audio": str(_file(c, "bad.wav", "RIFF")), "text": "x"}], batch_size=2),
        ValueError,
        r"inputs\[2\] audio: .*bad\.wav",
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
