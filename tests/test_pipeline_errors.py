# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""`pipeline("audio-text-sentiment")` over batches with bad items (issue #14): by default the call fails naming the
item; with `errors="return"` the bad item's result is `{"error": message, "input": "inputs[i]"}` and every other item
gets exactly the result it gets in a clean batch. Also the call arguments that crashed before (`batch_size=0`, an
empty dataset, an ASR folder that does not exist, `max_audio_seconds` NaN)."""

import datasets
import pytest
from testing_utils import TINY_CORPUS, tiny_classifier_pipeline, tiny_cmt_config, write_wav_file
from transformers import pipeline

from modeling_cmt import CMTForSequenceRegression


TASK = "audio-text-sentiment"
LABELS = ["angry", "happy", "neutral", "sad"]


@pytest.fixture(scope="module")
def pipe(tiny_tokenizer, tiny_processor):
    return tiny_classifier_pipeline(tiny_tokenizer, tiny_processor, LABELS)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Six inputs: four good clips of different lengths, a file that is not audio and a transcript of spaces."""
    directory = tmp_path_factory.mktemp("batch")
    good = [write_wav_file(directory / f"clip{i}.wav", seconds=0.1 + 0.05 * i, seed=i) for i in range(4)]
    broken = directory / "broken.wav"
    broken.write_text("not audio")
    inputs = [
        {"audio": str(good[0]), "text": TINY_CORPUS[0]},
        {"audio": str(broken), "text": TINY_CORPUS[1]},
        {"audio": str(good[1]), "text": TINY_CORPUS[2]},
        {"audio": str(good[2]), "text": "   "},
        {"audio": str(good[3]), "text": TINY_CORPUS[4]},
    ]
    return inputs, broken


@pytest.mark.parametrize("batch_size", [1, 2, 4])
def test_errors_return_puts_the_error_in_place_and_keeps_the_other_results(pipe, batch, batch_size):
    inputs, broken = batch
    results = pipe(inputs, batch_size=batch_size, errors="return")
    assert len(results) == len(inputs)
    assert results[1]["input"] == "inputs[1]" and set(results[1]) == {"error", "input"}
    assert results[1]["error"].startswith("inputs[1]") and "broken.wav" in results[1]["error"]
    assert results[3] == {"error": results[3]["error"], "input": "inputs[3]"}
    assert "inputs[3]" in results[3]["error"] and "empty or whitespace only" in results[3]["error"]
    # the good items get what they get on their own
    for index in (0, 2, 4):
        alone = pipe(inputs[index])
        assert [entry["label"] for entry in results[index]] == [entry["label"] for entry in alone]
        assert results[index][0]["score"] == pytest.approx(alone[0]["score"], abs=1e-5)


def test_default_still_fails_naming_the_item(pipe, batch):
    inputs, _ = batch
    with pytest.raises(ValueError, match=r"inputs\[1\] audio: .*broken\.wav"):
        pipe(inputs, batch_size=2)
    with pytest.raises(ValueError, match=r"inputs\[1\]"):
        pipe(inputs, batch_size=2, errors="raise")


def test_errors_return_on_a_dataset_a_single_input_and_a_regression_head(pipe, batch, tiny_tokenizer, tiny_processor):
    inputs, _ = batch
    results = list(pipe(datasets.Dataset.from_list(inputs[:3]), batch_size=2, errors="return"))
    assert results[1]["input"] == "inputs[1]" and isinstance(results[0], list)
    assert pipe(inputs[1], errors="return") == {"error": pipe(inputs[1], errors="return")["error"], "input": "inputs"}
    regressor = CMTForSequenceRegression(tiny_cmt_config(tiny_tokenizer, num_labels=1)).eval()
    scorer = pipeline(TASK, model=regressor, processor=tiny_processor, device="cpu", errors="return")
    results = scorer(inputs[:2], batch_size=2)
    assert set(results[0]) == {"score", "acc7_class", "label"} and results[1]["input"] == "inputs[1]"


def test_an_all_bad_batch_returns_only_errors(pipe, batch):
    inputs, _ = batch
    results = pipe([inputs[1], inputs[3]], batch_size=2, errors="return")
    assert [result["input"] for result in results] == ["inputs[0]", "inputs[1]"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p, x: p(x, batch_size=0), r"`batch_size` must be a positive integer, got 0"),
        (lambda p, x: p(x, batch_size=2.5), r"`batch_size` must be a positive integer, got 2\.5"),
        (lambda p, x: p(x, errors="ignore"), r"`errors` must be 'raise' \(the default\) or 'return', got 'ignore'"),
        (lambda p, x: p(x, max_audio_seconds=float("nan")), r"`max_audio_seconds` must be a positive number.*nan"),
        (lambda p, x: p(datasets.Dataset.from_list(x).select([])), r"got an empty dataset of inputs"),
    ],
    ids=["batch-size-0", "batch-size-float", "unknown-errors-mode", "max-audio-seconds-nan", "empty-dataset"],
)
def test_bad_call_arguments_are_refused(pipe, batch, call, message):
    inputs, _ = batch
    with pytest.raises(ValueError, match=message):
        call(pipe, inputs[:2])


def test_asr_folder_that_does_not_exist_is_named(pipe, batch, tmp_path):
    inputs, _ = batch
    with pytest.raises(
        ValueError, match=r"`asr_model` '.*no-such-asr' cannot be loaded: as a folder it does not exist"
    ):
        pipe(inputs[0]["audio"], asr_model=str(tmp_path / "no-such-asr"))


def test_max_audio_seconds_inf_is_no_limit(pipe, batch):
    inputs, _ = batch
    assert pipe(inputs[0], max_audio_seconds=float("inf")) == pipe(inputs[0])


def test_max_audio_seconds_inf_is_no_limit_in_the_processor_and_the_reader(tiny_processor, batch):
    """`inf` crashed with OverflowError (int(inf)) where the limit cuts audio given without a transcript."""
    import numpy as np

    from processing_cmt import load_audio

    inputs, _ = batch
    path = inputs[4]["audio"]
    whole = load_audio(path, 16000)
    np.testing.assert_array_equal(load_audio(path, 16000, max_seconds=float("inf")), whole)
    encoded = tiny_processor(audio=[path], max_audio_seconds=float("inf"))
    assert len(encoded["input_values"][0]) == whole.size
    encoded = tiny_processor(text=["hi"], audio=[path], max_audio_seconds=float("inf"))
    assert len(encoded["input_values"][0]) == whole.size
