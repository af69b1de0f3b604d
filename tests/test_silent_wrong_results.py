# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Inputs that used to give a wrong result without a word (issue #14, "Silent wrong results"): each now gives the
right result or an error naming the item."""

from collections import Counter

import numpy as np
import pytest
import soundfile as sf
import torch
from corpus_fixtures import MMSAClip, default_iemocap_utterances, make_iemocap_tree, make_mmsa_tree
from testing_utils import CMTModelTester
from transformers import PreTrainedTokenizerFast

from modeling_cmt import CMTForSequenceClassification, CMTForSequenceRegression, CMTModel
from processing_cmt import CMTProcessor
from processing_cmt.audio_utils import audio_duration, load_audio, load_audio_segment
from processing_cmt.corpora import load_iemocap, load_mosei_mmsa


@pytest.fixture
def tester():
    return CMTModelTester()


# --- a WAV cut short of its header ----------------------------------------------------------------------------------


@pytest.fixture
def truncated_wav(tmp_path, write_wav):
    """A 1 s PCM-16 WAV whose last half was lost (an interrupted download): its header still says 16000 frames."""
    full = write_wav(tmp_path / "full.wav", seconds=1.0, subtype="PCM_16")
    data = full.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: 44 + 16000])  # the 44-byte header and 8000 of the 16000 frames
    return path


def test_truncated_wav_is_an_error_naming_the_file(truncated_wav, tmp_path):
    assert sf.info(str(truncated_wav)).frames == 8000  # what soundfile alone reports: the fragment, no error
    with pytest.raises(ValueError, match=r"cut\.wav.*truncated.*promises 16000 frames but it holds 8000"):
        load_audio(truncated_wav, 16000)
    with pytest.raises(ValueError, match=r"clip 7: the audio `bytes` is truncated"):
        load_audio({"bytes": truncated_wav.read_bytes()}, 16000, name="clip 7")
    with pytest.raises(ValueError, match=r"cut\.wav.*truncated"):
        load_audio_segment(truncated_wav, 0.0, 0.25, 16000)  # even a segment inside the part that is there
    assert audio_duration(truncated_wav) is None  # unknown; `load_audio` says why


def test_complete_and_streamed_wavs_still_load(tmp_path, write_wav):
    path = write_wav(tmp_path / "ok.wav", seconds=0.5)
    assert load_audio(path, 16000).shape == (8000,)
    assert audio_duration(path) == pytest.approx(0.5)
    # A writer streaming to a pipe leaves the data length at 0xFFFFFFFF: length unknown, not truncated.
    data = bytearray(write_wav(tmp_path / "pcm.wav", seconds=0.5, subtype="PCM_16").read_bytes())
    assert data[36:40] == b"data"
    data[40:44] = b"\xff\xff\xff\xff"
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(bytes(data))
    assert load_audio(streamed, 16000).shape == (8000,)
    flac = write_wav(tmp_path / "ok.flac", seconds=0.5)
    assert load_audio(flac, 16000).shape == (8000,)


# --- IEMOCAP utterance lines with leading whitespace -----------------------------------------------------------------


def test_iemocap_indented_utterance_line_is_read(tmp_path):
    utterances = default_iemocap_utterances()
    indented = next(u for u in utterances if u.id == "Ses03F_impro01_F000")  # angry, kept
    indented.line_prefix = " "
    next(u for u in utterances if u.id == "Ses04F_impro01_F002").line_prefix = "\t"  # sad, kept
    tree = make_iemocap_tree(tmp_path, utterances)
    dataset, report = load_iemocap(tree.root, return_report=True)
    assert sorted(dataset["all"]["id"]) == sorted(u.id for u in tree.kept())
    assert report.kept == len(tree.kept()) == 33


def test_iemocap_unreadable_line_naming_an_utterance_is_an_error(tmp_path):
    tree = make_iemocap_tree(tmp_path)
    evaluation = tree.root / "Session2" / "dialog" / "EmoEvaluation" / "Ses02F_impro01.txt"
    # A line that names an utterance but is no `[start - end] id label [V, A, D]` line is never passed over.
    evaluation.write_text(evaluation.read_text() + "(6.29 - 8.23)\tSes02F_impro01_F009\tneu\t[2.0, 2.0, 2.0]\n")
    with pytest.raises(ValueError, match=r"Ses02F_impro01\.txt:\d+: cannot parse the utterance line"):
        load_iemocap(tree.root)


# --- MMSA: one clip in two splits ------------------------------------------------------------------------------------


def test_mmsa_clip_in_train_and_test_is_kept_in_test_only_and_reported(tmp_path):
    clips = [
        MMSAClip("vid_a", "1", "Kept in train.", "1.0", "train", "wav"),
        MMSAClip("vid_a", "2", "The leaked clip.", "-1.0", "train", "wav"),
        MMSAClip("vid_b", "1", "A validation clip.", "0.5", "valid", "wav"),
        MMSAClip("vid_a", "2", "The leaked clip.", "-1.0", "test", "wav"),
        MMSAClip("vid_b", "1", "A validation clip.", "0.5", "valid", "wav"),
        MMSAClip("vid_c", "3", "A test clip.", "2.0", "test", "wav"),
    ]
    make_mmsa_tree(tmp_path, clips)
    dataset, report = load_mosei_mmsa(tmp_path, return_report=True)
    assert dataset["train"]["id"] == ["vid_a[1]"]
    assert dataset["validation"]["id"] == ["vid_b[1]"]
    assert dataset["test"]["id"] == ["vid_a[2]", "vid_c[3]"]  # the published test split stays whole
    assert report.skipped == Counter(
        {
            "clip also in the test split (kept there only)": 1,
            "duplicate clip in the validation split (first row kept)": 1,
        }
    )
    assert report.skipped_examples["clip also in the test split (kept there only)"] == ["train: vid_a[2]"]
    assert "vid_a[2]" in report.summary()


# --- masks and audio handed to the model directly --------------------------------------------------------------------


def test_model_refuses_left_padded_audio_mask(tester):
    model = CMTModel(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    inputs["audio_attention_mask"][1, :200] = 0  # left padding: the model reads valid samples as a prefix
    with pytest.raises(ValueError, match=r"`audio_attention_mask` of batch item\(s\) \[1\] is not right-padded"):
        model(**inputs)
    inputs["audio_attention_mask"][1] = 1
    inputs["audio_attention_mask"][2, 300:400] = 0  # a hole
    with pytest.raises(ValueError, match=r"batch item\(s\) \[2\] is not right-padded"):
        model(**inputs)


def test_model_refuses_all_zero_text_mask(tester):
    model = CMTModel(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    inputs["attention_mask"][2] = 0
    with pytest.raises(ValueError, match=r"`attention_mask` of batch item\(s\) \[2\] is all zeros"):
        model(**inputs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_model_refuses_non_finite_input_values(tester, bad):
    model = CMTForSequenceClassification(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    inputs["input_values"][0, 17] = bad
    with pytest.raises(ValueError, match=r"`input_values` of batch item\(s\) \[0\] hold NaN or infinite samples"):
        model(**inputs)


def test_right_padded_audio_mask_still_runs(tester):
    model = CMTModel(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    inputs["audio_attention_mask"][1, 800:] = 0
    assert torch.isfinite(model(**inputs).fused_output).all()


# --- left-padded text -----------------------------------------------------------------------------------------------


def _left_pad(inputs: dict, pad: int, pad_token_id: int = 1) -> dict:
    batch = inputs["input_ids"].shape[0]
    padded = dict(inputs)
    padded["input_ids"] = torch.cat([torch.full((batch, pad), pad_token_id), inputs["input_ids"]], 1)
    padded["attention_mask"] = torch.cat([torch.zeros(batch, pad, dtype=torch.long), inputs["attention_mask"]], 1)
    return padded


@pytest.mark.parametrize("modalities", ["audio_text", "text"])
def test_logits_do_not_change_with_left_padding(tester, modalities):
    torch.manual_seed(0)
    cross_layers = 2 if modalities == "audio_text" else 0
    config = tester.get_config(modalities=modalities, num_cross_layers=cross_layers, ortho_loss_weight=0.0)
    model = CMTForSequenceClassification(config).eval()
    inputs = tester.prepare_inputs()
    with torch.no_grad():
        reference = model(**inputs).logits
        for pad in (1, 5):
            torch.testing.assert_close(model(**_left_pad(inputs, pad)).logits, reference, atol=1e-5, rtol=1e-4)


def test_processor_left_padding_gives_the_same_logits(tiny_tokenizer, tiny_feature_extractor, tester):
    import copy

    config = tester.get_config(ortho_loss_weight=0.0)
    config.text_config.vocab_size = len(tiny_tokenizer)
    model = CMTForSequenceClassification(config).eval()
    texts = ["a short one", "this transcript is quite a bit longer than the other one"]
    audio = [np.sin(np.arange(n) / 7.0).astype(np.float32) for n in (1600, 2400)]
    logits = {}
    for side in ("right", "left"):
        tokenizer = copy.deepcopy(tiny_tokenizer)
        tokenizer.padding_side = side
        processor = CMTProcessor(feature_extractor=tiny_feature_extractor, tokenizer=tokenizer)
        batch = processor(text=texts, audio=audio, sampling_rate=16000, return_tensors="pt")
        assert (batch["attention_mask"][0, 0] == 1) == (side == "right")
        with torch.no_grad():
            logits[side] = model(**batch).logits
    torch.testing.assert_close(logits["left"], logits["right"], atol=1e-5, rtol=1e-4)


# --- labels ---------------------------------------------------------------------------------------------------------


def test_regression_refuses_class_ids_and_nan_targets(tester):
    model = CMTForSequenceRegression(tester.get_config(ortho_loss_weight=0.0))
    inputs = tester.prepare_inputs()
    with pytest.raises(ValueError, match=r"integer labels of dtype torch.int64: are these class ids\?"):
        model(**inputs, labels=torch.tensor([0, 3, 1]))
    with pytest.raises(ValueError, match=r"`labels` of batch item\(s\) \[1\] are NaN or infinite"):
        model(**inputs, labels=torch.tensor([0.5, float("nan"), -1.0]))
    assert torch.isfinite(model(**inputs, labels=[0.5, 1.5, -1.0]).loss)  # a list of scores is fine


def test_float_labels_on_a_classification_head_ask_about_regression(tester):
    model = CMTForSequenceClassification(tester.get_config())  # problem_type None, num_labels=4
    inputs = tester.prepare_inputs()
    with pytest.raises(ValueError, match=r"is this a regression dataset\?"):
        model(**inputs, labels=torch.tensor([0.5, -1.2, 2.0]))
    assert model.config.problem_type is None


def test_multi_label_stays_reachable(tester):
    model = CMTForSequenceClassification(tester.get_config(ortho_loss_weight=0.0))
    inputs = tester.prepare_inputs()
    multi_hot = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    out = model(**inputs, labels=multi_hot)
    torch.testing.assert_close(out.loss, torch.nn.functional.binary_cross_entropy_with_logits(out.logits, multi_hot))
    model.config.problem_type = "multi_label_classification"
    assert torch.isfinite(model(**inputs, labels=multi_hot.long()).loss)  # integer multi-hot, as declared
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        model(**inputs, labels=torch.tensor([0, 1, 2]))


@pytest.mark.parametrize(
    "labels",
    [
        torch.tensor([0, 3, 1], dtype=torch.int32),
        torch.tensor([0, 3, 1], dtype=torch.int16),
        torch.tensor([0, 3, 1], dtype=torch.uint8),
        [0, 3, 1],
        np.array([0, 3, 1]),
        np.array([0, 3, 1], dtype=np.int32),
    ],
    ids=["int32", "int16", "uint8", "list", "numpy", "numpy-int32"],
)
def test_class_ids_of_any_integer_type_or_container(tester, labels):
    model = CMTForSequenceClassification(tester.get_config(ortho_loss_weight=0.0))
    inputs = tester.prepare_inputs()
    out = model(**inputs, labels=labels)
    expected = torch.nn.functional.cross_entropy(out.logits, torch.tensor([0, 3, 1]))
    torch.testing.assert_close(out.loss, expected)


def test_labels_that_are_no_numbers(tester):
    model = CMTForSequenceClassification(tester.get_config())
    with pytest.raises(ValueError, match=r"`labels` must be numbers, got list"):
        model(**tester.prepare_inputs(), labels=["angry", "sad", "happy"])


# --- a tokenizer without `model_max_length` -------------------------------------------------------------------------


def test_processor_needs_a_length_limit(tiny_tokenizer, tiny_feature_extractor, tmp_path):
    tiny_tokenizer.save_pretrained(tmp_path)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(tmp_path / "tokenizer.json"), pad_token="<pad>")
    assert tokenizer.model_max_length > 1e20  # transformers' "no limit known"
    processor = CMTProcessor(feature_extractor=tiny_feature_extractor, tokenizer=tokenizer)
    long_text = " ".join(["word"] * 600)
    with pytest.raises(ValueError, match=r"no `model_max_length`.*Pass `max_length=`"):
        processor(text=long_text)
    assert len(processor(text=long_text, max_length=32)["input_ids"][0]) == 32
    assert len(processor(text=long_text, truncation=False)["input_ids"][0]) > 512  # the user said so
    tokenizer.model_max_length = 128
    assert len(processor(text=long_text)["input_ids"][0]) == 128
