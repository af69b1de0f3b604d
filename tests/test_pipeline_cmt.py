# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of `pipeline("audio-text-sentiment")` (`processing_cmt.pipeline_cmt`) on tiny CMT models built locally.

Expected scores come from the model itself on `CMTProcessor` batches, never from the pipeline. The ASR path runs a
real transformers speech recognition pipeline around a tiny `Wav2Vec2ForCTC` with a character tokenizer, whose CTC head
is set so that its transcript is known.

Loading a folder with the package installed needs the task name: `pipeline(model=folder)` can only infer the task
from a `custom_pipelines` entry, which demands `trust_remote_code=True` (tests/test_remote_code.py covers that path).
"""

import copy
import json
import re

import datasets
import numpy as np
import pytest
import torch
from testing_utils import (
    TINY_CORPUS,
    save_tiny_ctc_asr,
    synthetic_waveform,
    tiny_cmt_config,
    write_wav_file,
)
from transformers import (
    AutoModelForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
    pipeline,
)
from transformers.pipelines import PIPELINE_REGISTRY

from modeling_cmt import CMTForSequenceClassification, CMTForSequenceRegression, CMTModel
from processing_cmt import AudioTextSentimentPipeline, load_audio, sa_metrics, sentiment_label


SR = 16000
TASK = "audio-text-sentiment"
LABELS = ["angry", "happy", "neutral", "sad"]
ATOL = 1e-5


@pytest.fixture(scope="module")
def classifier(tiny_tokenizer):
    torch.manual_seed(0)
    config = tiny_cmt_config(
        tiny_tokenizer, id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)}
    )
    return CMTForSequenceClassification(config).eval()


@pytest.fixture(scope="module")
def pipe(classifier, tiny_processor):
    return pipeline(TASK, model=classifier, processor=tiny_processor, device="cpu")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Five WAV files of different lengths (0.1 to 0.38 s), each with its transcript."""
    directory = tmp_path_factory.mktemp("clips")
    paths = [write_wav_file(directory / f"clip{i}.wav", seconds=0.1 + 0.07 * i, seed=i) for i in range(5)]
    texts = [TINY_CORPUS[i * 3] for i in range(5)]
    return paths, texts


def model_outputs(model, processor, audios, texts):
    """The model's own logits on a processor batch (padded by the processor, not by the pipeline)."""
    batch = processor(text=texts, audio=[str(audio) for audio in audios], return_tensors="pt")
    with torch.no_grad():
        return model(**batch).logits


def as_scores(result):
    return {entry["label"]: entry["score"] for entry in result}


def assert_same_scores(result, probabilities):
    assert len(result) == len(LABELS)
    np.testing.assert_allclose([as_scores(result)[label] for label in LABELS], probabilities.numpy(), atol=ATOL)


# --- registration and construction ----------------------------------------------------------------------------------


def test_task_is_registered_on_import(pipe):
    assert TASK in PIPELINE_REGISTRY.get_supported_tasks()
    _, task_impl, _ = PIPELINE_REGISTRY.check_task(TASK)
    assert task_impl["impl"] is AudioTextSentimentPipeline
    assert task_impl["pt"] == (AutoModelForSequenceClassification,)
    assert isinstance(pipe, AudioTextSentimentPipeline)
    assert pipe.tokenizer is pipe.processor.tokenizer and pipe.feature_extractor is pipe.processor.feature_extractor


def test_construction_needs_a_cmt_head_and_a_cmt_processor(classifier, tiny_processor, tiny_tokenizer):
    with pytest.raises(ValueError, match="needs a CMTProcessor"):
        AudioTextSentimentPipeline(model=classifier, processor=None, device="cpu")
    with pytest.raises(ValueError, match="task head"):
        AudioTextSentimentPipeline(model=CMTModel(classifier.config), processor=tiny_processor, device="cpu")
    roberta = RobertaForSequenceClassification(
        RobertaConfig(vocab_size=len(tiny_tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2)
    )
    with pytest.raises(ValueError, match="needs a CMT model.*roberta"):
        AudioTextSentimentPipeline(model=roberta, processor=tiny_processor, device="cpu")


# --- scores -----------------------------------------------------------------------------------------------------------


def test_scores_equal_the_model_softmax(pipe, classifier, tiny_processor, clips):
    paths, texts = clips
    result = pipe(str(paths[2]), text=texts[2], top_k=None)
    expected = torch.softmax(model_outputs(classifier, tiny_processor, [paths[2]], [texts[2]])[0], -1)
    assert_same_scores(result, expected)
    assert [entry["score"] for entry in result] == sorted((entry["score"] for entry in result), reverse=True)
    # The default is text-classification's: the best label only.
    (best,) = pipe(str(paths[2]), text=texts[2])
    assert best["label"] == LABELS[int(expected.argmax())]
    assert best["score"] == pytest.approx(float(expected.max()), abs=ATOL)


def test_input_forms_agree(pipe, tmp_path):
    text = TINY_CORPUS[1]
    waveform = synthetic_waveform(0.17, SR, seed=1)
    # FLOAT samples: the file decodes to exactly `waveform`.
    write_wav_file(tmp_path / "float.wav", waveform=waveform, subtype="FLOAT")
    reference = as_scores(pipe(str(tmp_path / "float.wav"), text=text, top_k=None))
    forms = [
        pipe(tmp_path / "float.wav", text=text, top_k=None),
        pipe({"audio": str(tmp_path / "float.wav"), "text": text}, top_k=None),
        pipe({"audio": waveform, "sampling_rate": SR, "text": text}, top_k=None),
        pipe({"audio": {"array": waveform, "sampling_rate": SR}, "text": text}, top_k=None),
        pipe({"array": waveform, "sampling_rate": SR}, text=text, top_k=None),
        pipe(torch.from_numpy(waveform), sampling_rate=SR, text=text, top_k=None),
        pipe((tmp_path / "float.wav").read_bytes(), text=text, top_k=None),
        pipe([str(tmp_path / "float.wav")], text=[text], top_k=None)[0],
    ]
    for result in forms:
        for label, score in as_scores(result).items():
            assert score == pytest.approx(reference[label], abs=ATOL)


def test_resamples_to_the_processor_rate(pipe, classifier, tiny_processor):
    waveform = synthetic_waveform(0.3, 8000, seed=3)
    text = TINY_CORPUS[4]
    result = pipe({"audio": waveform, "sampling_rate": 8000, "text": text}, top_k=None)
    batch = tiny_processor(text=text, audio=waveform, sampling_rate=8000, return_tensors="pt")
    with torch.no_grad():
        expected = torch.softmax(classifier(**batch).logits[0], -1)
    assert_same_scores(result, expected)


def test_max_audio_seconds_never_cuts_audio_that_has_a_transcript(pipe, classifier, tiny_processor, clips):
    """One rule with training: a transcript is never paired with part of its audio."""
    paths, texts = clips
    with pytest.raises(ValueError, match=r"inputs: the audio lasts .* longer than max_audio_seconds=0.1"):
        pipe(str(paths[4]), text=texts[4], max_audio_seconds=0.1)
    # a limit the recording is within changes nothing
    within = pipe(str(paths[4]), text=texts[4], max_audio_seconds=60, top_k=None)
    assert_same_scores(within, torch.softmax(model_outputs(classifier, tiny_processor, [paths[4]], [texts[4]])[0], -1))


def test_batches_equal_single_inputs(pipe, classifier, tiny_processor, clips):
    paths, texts = clips
    inputs = [{"audio": str(path), "text": text} for path, text in zip(paths, texts)]
    batched = pipe(inputs, batch_size=2, top_k=None)
    one_by_one = pipe(inputs, top_k=None)
    assert len(batched) == len(one_by_one) == 5
    for index, (path, text) in enumerate(zip(paths, texts)):
        expected = torch.softmax(model_outputs(classifier, tiny_processor, [path], [text])[0], -1)
        assert_same_scores(batched[index], expected)
        assert_same_scores(one_by_one[index], expected)
    # A list of paths with a list of transcripts is the same batch.
    by_lists = pipe([str(path) for path in paths], text=texts, batch_size=2, top_k=None)
    for result, reference in zip(by_lists, batched):
        assert as_scores(result) == pytest.approx(as_scores(reference), abs=ATOL)


def test_batches_run_longest_first_and_results_keep_the_input_order(pipe, classifier, tiny_processor, clips):
    paths, texts = clips
    # Shortest, longest, then the others: in input order every batch of two would pad.
    order = [0, 4, 1, 3, 2]
    inputs = [{"audio": str(paths[i]), "text": texts[i]} for i in order]
    batch_audio_lengths = []
    forward = pipe._forward

    def recording_forward(model_inputs):
        batch_audio_lengths.append(model_inputs["audio_attention_mask"].sum(-1).tolist())
        return forward(model_inputs)

    pipe._forward = recording_forward
    try:
        grouped = pipe(inputs, batch_size=2, top_k=None)
        in_input_order = pipe(inputs, batch_size=2, top_k=None, group_by_length=False)
    finally:
        del pipe._forward
    lengths = [load_audio(str(paths[i]), SR).size for i in order]
    by_length = sorted(lengths, reverse=True)
    assert batch_audio_lengths[:3] == [by_length[0:2], by_length[2:4], by_length[4:]]
    assert batch_audio_lengths[3:] == [lengths[0:2], lengths[2:4], lengths[4:]]
    for index, i in enumerate(order):
        expected = torch.softmax(model_outputs(classifier, tiny_processor, [paths[i]], [texts[i]])[0], -1)
        assert_same_scores(grouped[index], expected)
        assert_same_scores(in_input_order[index], expected)


def test_length_order_falls_back_to_the_input_order(pipe, clips, tmp_path):
    paths, texts = clips
    inputs = [{"audio": str(paths[i]), "text": texts[i]} for i in (0, 4)]
    assert pipe._length_order(inputs) == [1, 0]
    # Equal durations: the longer transcript first, ties in input order; `max_audio_seconds` caps the durations.
    same = [{"audio": str(paths[0]), "text": text} for text in ("a b", "a b c d", "a b")]
    assert pipe._length_order(same) == [1, 0, 2]
    capped = [{"audio": str(paths[4]), "text": "a"}, {"audio": str(paths[0]), "text": "a b"}]
    assert pipe._length_order(capped) == [0, 1]
    assert pipe._length_order(capped, max_audio_seconds=0.05) == [1, 0]
    # A raw array without its rate, or a file that is not there: durations unknown, input order.
    assert pipe._length_order([*inputs, {"audio": np.zeros(SR, np.float32), "text": "hi"}]) is None
    assert pipe._length_order([*inputs, {"audio": str(tmp_path / "missing.wav"), "text": "hi"}]) is None
    # The call's `sampling_rate=` dates raw arrays.
    arrays = [synthetic_waveform(seconds, SR) for seconds in (0.1, 0.3)]
    assert pipe._length_order(arrays, sampling_rate=SR) == [1, 0]


def test_a_bf16_model_behind_the_pipeline(pipe, classifier, tiny_processor, clips):
    """`pipeline(..., dtype=torch.bfloat16)` as on a GPU: the float32 audio meets bfloat16 weights."""
    paths, texts = clips
    inputs = [{"audio": str(path), "text": text} for path, text in zip(paths, texts)]
    half = pipeline(TASK, model=copy.deepcopy(classifier).to(torch.bfloat16), processor=tiny_processor, device="cpu")
    for result, reference in zip(half(inputs, batch_size=2, top_k=None), pipe(inputs, batch_size=2, top_k=None)):
        assert as_scores(result) == pytest.approx(as_scores(reference), abs=0.02)


def test_datasets_and_generators(pipe, clips):
    paths, texts = clips
    rows = [{"audio": str(path), "text": text, "id": index} for index, (path, text) in enumerate(zip(paths, texts))]
    reference = pipe(rows[:3], top_k=None)
    from_dataset = list(pipe(datasets.Dataset.from_list(rows[:3]), batch_size=2, top_k=None))
    from_generator = list(pipe((row for row in rows[:3]), batch_size=2, top_k=None))
    for results in (from_dataset, from_generator):
        assert len(results) == 3
        for result, expected in zip(results, reference):
            assert as_scores(result) == pytest.approx(as_scores(expected), abs=ATOL)


def test_top_k(pipe, clips):
    paths, texts = clips
    everything = pipe(str(paths[0]), text=texts[0], top_k=None)
    assert sum(entry["score"] for entry in everything) == pytest.approx(1.0, abs=1e-6)
    assert pipe(str(paths[0]), text=texts[0], top_k=2) == everything[:2]
    assert pipe(str(paths[0]), text=texts[0], top_k=10) == everything
    assert pipe(str(paths[0]), text=texts[0]) == everything[:1]
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="top_k"):
            pipe(str(paths[0]), text=texts[0], top_k=bad)


def test_multi_label_scores_are_sigmoids(tiny_tokenizer, tiny_processor, clips):
    torch.manual_seed(1)
    config = tiny_cmt_config(tiny_tokenizer, num_labels=3, problem_type="multi_label_classification")
    model = CMTForSequenceClassification(config).eval()
    multi = pipeline(TASK, model=model, processor=tiny_processor, device="cpu")
    paths, texts = clips
    result = multi(str(paths[3]), text=texts[3], top_k=None)
    expected = torch.sigmoid(model_outputs(model, tiny_processor, [paths[3]], [texts[3]])[0])
    got = as_scores(result)
    np.testing.assert_allclose([got[config.id2label[i]] for i in range(3)], expected.numpy(), atol=ATOL)


# --- regression ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def regressor(tiny_tokenizer):
    torch.manual_seed(2)
    return CMTForSequenceRegression(tiny_cmt_config(tiny_tokenizer, num_labels=1)).eval()


def test_regression_returns_score_acc7_class_and_label(regressor, tiny_processor, clips):
    scorer = pipeline(TASK, model=regressor, processor=tiny_processor, device="cpu")
    paths, texts = clips
    result = scorer(str(paths[4]), text=texts[4])
    assert set(result) == {"score", "acc7_class", "label"}
    expected = float(model_outputs(regressor, tiny_processor, [paths[4]], [texts[4]])[0, 0])
    assert result["score"] == pytest.approx(expected, abs=ATOL)
    assert result["acc7_class"] == int(np.round(np.clip(expected, -3, 3)))
    with pytest.raises(ValueError, match="top_k.*regression"):
        scorer(str(paths[4]), text=texts[4], top_k=2)


@pytest.mark.parametrize(
    "score, acc7_class, label",
    [
        (-7.2, -3, "negative"),
        (-2.5, -2, "negative"),  # halves round to even, as the Acc7 metric does
        (-0.6, -1, "negative"),
        (-0.5, 0, "neutral"),
        (0.0, 0, "neutral"),
        (0.5, 0, "neutral"),
        (0.51, 1, "positive"),
        (1.5, 2, "positive"),
        (3.4, 3, "positive"),
    ],
)
def test_regression_classes_follow_acc7(regressor, tiny_processor, clips, score, acc7_class, label):
    # A head that outputs `score` whatever the input.
    constant = copy.deepcopy(regressor)
    torch.nn.init.zeros_(constant.classifier.weight)
    torch.nn.init.constant_(constant.classifier.bias, score)
    scorer = pipeline(TASK, model=constant, processor=tiny_processor, device="cpu")
    paths, texts = clips
    result = scorer(str(paths[0]), text=texts[0])
    assert result == {"score": pytest.approx(score, abs=1e-6), "acc7_class": acc7_class, "label": label}
    assert sentiment_label(acc7_class) == label
    # The class is the one the Acc7 metric counts as correct for this prediction.
    assert sa_metrics(np.array([score]), np.array([float(acc7_class)]))["acc7"] == 1.0


# --- ASR ------------------------------------------------------------------------------------------------------------


def tiny_asr(tmp_path, emit: str, sampling_rate: int = SR):
    """A speech recognition pipeline whose transcript is always `emit` (`save_tiny_ctc_asr`)."""
    directory = save_tiny_ctc_asr(tmp_path / f"asr-{emit}-{sampling_rate}", emit, sampling_rate)
    return pipeline("automatic-speech-recognition", model=str(directory), device="cpu")


def test_asr_transcribes_inputs_without_text(pipe, classifier, tiny_processor, clips, tmp_path):
    asr = tiny_asr(tmp_path, emit="h")
    paths, texts = clips
    result = pipe(str(paths[2]), asr_model=asr, top_k=None)
    transcript = asr({"raw": synthetic_waveform(0.24, SR, seed=2), "sampling_rate": SR})["text"]  # clip 2
    assert transcript == "h"
    assert {entry["transcript"] for entry in result} == {"h"}
    expected = torch.softmax(model_outputs(classifier, tiny_processor, [paths[2]], [transcript])[0], -1)
    assert_same_scores(result, expected)
    # In a batch, only the inputs without text are transcribed.
    mixed = pipe([str(paths[0]), {"audio": str(paths[1]), "text": texts[1]}], asr_model=asr, batch_size=2)
    assert mixed[0][0]["transcript"] == "h" and "transcript" not in mixed[1][0]
    (alone,) = pipe(str(paths[1]), text=texts[1])
    assert mixed[1][0]["label"] == alone["label"] and mixed[1][0]["score"] == pytest.approx(alone["score"], abs=ATOL)


def test_asr_from_a_saved_folder_and_at_another_rate(regressor, tiny_processor, clips, tmp_path):
    # An 8 kHz ASR model: the audio is resampled for it (the ASR pipeline itself would need torchaudio).
    asr = tiny_asr(tmp_path, emit="y", sampling_rate=8000)
    asr.save_pretrained(tmp_path / "asr")
    scorer = pipeline(TASK, model=regressor, processor=tiny_processor, device="cpu", asr_model=str(tmp_path / "asr"))
    paths, _ = clips
    result = scorer(str(paths[1]))
    assert result["transcript"] == "y"
    assert result["score"] == pytest.approx(scorer(str(paths[1]), text="y")["score"], abs=ATOL)


def test_missing_text_without_asr_and_empty_transcripts(pipe, clips, tmp_path):
    paths, texts = clips
    with pytest.raises(ValueError, match=r"inputs\[1\]: no transcript.*asr_model="):
        pipe([{"audio": str(paths[0]), "text": texts[0]}, {"audio": str(paths[1])}], batch_size=2)
    with pytest.raises(ValueError, match=r"^inputs: no transcript"):
        pipe(str(paths[0]))
    silent = tiny_asr(tmp_path, emit="<pad>")
    with pytest.raises(ValueError, match=r"inputs\[0\]: the ASR model returned an empty transcript"):
        pipe([str(paths[0])], asr_model=silent)
    with pytest.raises(ValueError, match="asr_model"):
        pipe(str(paths[0]), asr_model=42)


# --- bad input --------------------------------------------------------------------------------------------------------


def bad_inputs(tmp_path):
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF not really a wave file")
    waveform = synthetic_waveform(0.2, SR)
    nan_waveform = waveform.copy()
    nan_waveform[10] = np.nan
    return [
        ({"audio": str(garbage), "text": "hi"}, "cannot decode"),
        ({"audio": str(tmp_path / "missing.wav"), "text": "hi"}, "no such audio file"),
        ({"audio": np.zeros(0, np.float32), "sampling_rate": SR, "text": "hi"}, "empty"),
        ({"audio": nan_waveform, "sampling_rate": SR, "text": "hi"}, "NaN"),
        ({"audio": waveform[:10], "sampling_rate": SR, "text": "hi"}, "too short"),
        ({"audio": waveform, "text": "hi"}, "no sampling rate"),
        ({"audio": waveform, "sampling_rate": SR, "text": "   "}, "empty or whitespace"),
        ({"audio": waveform, "sampling_rate": SR, "text": 123}, "transcript must be a string"),
        ({"text": "hi"}, "needs an `audio`"),
        ({"audio": None, "text": "hi"}, "`audio` is None"),
        (42, "unsupported input of type int"),
        ([str(garbage)], "unsupported input of type list"),
    ]


@pytest.mark.parametrize("case", range(12))
def test_bad_input_names_its_position_in_the_batch(pipe, clips, tmp_path, case):
    paths, texts = clips
    bad, message = bad_inputs(tmp_path)[case]
    good = {"audio": str(paths[0]), "text": texts[0]}
    # Third of five with batch_size=2: the error comes from the second batch, and names the input.
    with pytest.raises(ValueError, match=rf"inputs\[2\].*{re.escape(message)}"):
        pipe([good, good, bad, good, good], batch_size=2)


def test_bad_call_arguments(pipe, clips):
    paths, texts = clips
    with pytest.raises(ValueError, match="empty list"):
        pipe([])
    with pytest.raises(ValueError, match="list of 2 transcripts"):
        pipe([str(paths[0]), str(paths[1])], text=texts[0])
    with pytest.raises(ValueError, match="list of 2 transcripts"):
        pipe([str(paths[0]), str(paths[1])], text=texts[:3])
    with pytest.raises(ValueError, match=r"inputs: the input dict has a `text` and `text=`"):
        pipe({"audio": str(paths[0]), "text": texts[0]}, text="again")
    with pytest.raises(ValueError, match="give each transcript in its dict"):
        pipe((str(path) for path in paths), text=texts)
    with pytest.raises(ValueError, match=r"unknown arguments \['function_to_apply'\]"):
        pipe(str(paths[0]), text=texts[0], function_to_apply="sigmoid")


# --- save and load ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_saved_folder_loads_with_the_task_name(kind, pipe, regressor, tiny_processor, clips, tmp_path):
    source = (
        pipe if kind == "classification" else pipeline(TASK, model=regressor, processor=tiny_processor, device="cpu")
    )
    source.save_pretrained(tmp_path / "saved")
    assert TASK not in json.loads((tmp_path / "saved" / "config.json").read_text()).get("custom_pipelines", {})
    loaded = pipeline(TASK, model=str(tmp_path / "saved"), device="cpu")
    assert isinstance(loaded, AudioTextSentimentPipeline)
    assert type(loaded.processor) is type(tiny_processor)
    paths, texts = clips
    inputs = [{"audio": str(path), "text": text} for path, text in zip(paths[:3], texts[:3])]
    if kind == "classification":
        for got, expected in zip(loaded(inputs, top_k=None, batch_size=2), source(inputs, top_k=None)):
            assert as_scores(got) == pytest.approx(as_scores(expected), abs=ATOL)
    else:
        for got, expected in zip(loaded(inputs, batch_size=2), source(inputs)):
            assert got["score"] == pytest.approx(expected["score"], abs=ATOL)
            assert (got["acc7_class"], got["label"]) == (expected["acc7_class"], expected["label"])
