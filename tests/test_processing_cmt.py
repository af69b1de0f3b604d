# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of the audio decoding path (`processing_cmt.audio_utils`) and of `CMTProcessor`."""

import io

import numpy as np
import pytest
import soundfile as sf
import torch
from testing_utils import synthetic_waveform

from processing_cmt import load_audio, load_audio_segment
from processing_cmt.audio_utils import audio_duration


SR = 16000


# ---------------------------------------------------------------------------------------------------------------------
# load_audio: every input form
# ---------------------------------------------------------------------------------------------------------------------


def test_load_audio_path_forms_agree(tmp_path, write_wav):
    wave = synthetic_waveform(0.25, SR)
    path = write_wav(tmp_path / "a.wav", waveform=wave, subtype="FLOAT")
    from_str = load_audio(str(path), SR)
    from_path = load_audio(path, SR)
    from_dict_path = load_audio({"path": str(path), "bytes": None}, SR)
    from_bytes = load_audio({"path": "ignored-when-bytes-are-set.wav", "bytes": path.read_bytes()}, SR)
    from_array_dict = load_audio({"array": wave, "sampling_rate": SR}, SR)
    from_tensor_dict = load_audio({"array": torch.from_numpy(wave), "sampling_rate": SR}, SR)
    from_raw = load_audio(wave, SR, source_sampling_rate=SR)
    from_raw_tensor = load_audio(torch.from_numpy(wave).to(torch.float64), SR, source_sampling_rate=SR)
    for out in [from_str, from_path, from_dict_path, from_bytes, from_array_dict, from_tensor_dict, from_raw]:
        assert out.dtype == np.float32 and out.ndim == 1
        np.testing.assert_array_equal(out, wave)
    np.testing.assert_allclose(from_raw_tensor, wave, atol=1e-7)


def test_load_audio_flac_and_int16(tmp_path, write_wav):
    wave = synthetic_waveform(0.25, SR)
    flac = write_wav(tmp_path / "a.flac", waveform=wave)
    np.testing.assert_allclose(load_audio(flac, SR), wave, atol=1 / 2**15 + 1e-6)
    # Integer PCM arrays are scaled the way soundfile scales integer files.
    pcm = (wave * 2**15).astype(np.int16)
    pcm_path = write_wav(tmp_path / "pcm.wav", waveform=pcm, subtype="PCM_16")
    np.testing.assert_array_equal(load_audio(pcm, SR, source_sampling_rate=SR), load_audio(pcm_path, SR))


def test_load_audio_resamples(tmp_path, write_wav):
    path = write_wav(tmp_path / "8k.wav", seconds=0.5, sampling_rate=8000)
    out = load_audio(path, SR)
    assert out.shape == (8000,)  # 0.5 s at 16 kHz
    expected = sf.read(str(path), dtype="float32")[0]
    import librosa

    np.testing.assert_allclose(out, librosa.resample(expected, orig_sr=8000, target_sr=SR, res_type="soxr_hq"))
    # A dict at 44.1 kHz goes down to 16 kHz.
    out = load_audio({"array": synthetic_waveform(0.5, 44100), "sampling_rate": 44100}, SR)
    assert out.shape == (8000,)


def test_load_audio_downmixes_stereo(tmp_path, write_wav):
    stereo = synthetic_waveform(0.25, SR, channels=2)  # (samples, 2), channels differ
    assert not np.allclose(stereo[:, 0], stereo[:, 1])
    expected = stereo.mean(axis=1)
    path = write_wav(tmp_path / "stereo.wav", waveform=stereo, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(path, SR), expected, atol=1e-7)
    np.testing.assert_allclose(load_audio({"array": stereo, "sampling_rate": SR}, SR), expected, atol=1e-7)
    np.testing.assert_allclose(load_audio(stereo.T, SR, source_sampling_rate=SR), expected, atol=1e-7)
    np.testing.assert_allclose(load_audio(torch.from_numpy(stereo.T.copy()), SR, source_sampling_rate=SR), expected)


def test_load_audio_truncates():
    wave = synthetic_waveform(1.0, SR)
    out = load_audio({"array": wave, "sampling_rate": SR}, SR, max_seconds=0.25)
    np.testing.assert_array_equal(out, wave[:4000])
    # Truncation counts seconds at the target rate.
    out = load_audio({"array": synthetic_waveform(1.0, 8000), "sampling_rate": 8000}, SR, max_seconds=0.25)
    assert out.shape == (4000,)
    # Shorter audio is left alone.
    assert load_audio(wave, SR, source_sampling_rate=SR, max_seconds=5.0).shape == (SR,)


@pytest.mark.parametrize("rate", [SR, 44100])
def test_max_seconds_decodes_only_that_far_with_the_same_result(tmp_path, rate, monkeypatch):
    """A long file cut to its first seconds is not decoded whole (issue #12: a 10-minute file for a 2 s cut), and the
    waveform equals decoding everything, resampling, then cutting."""
    path = tmp_path / "long.wav"
    sf.write(path, synthetic_waveform(30.0, rate), rate, subtype="PCM_16")
    whole = load_audio(str(path), SR)[: 2 * SR]
    with open(path, "rb") as handle:
        data = handle.read()
    read = []
    original = sf.SoundFile.read
    monkeypatch.setattr(
        sf.SoundFile, "read", lambda self, frames=-1, **kw: read.append(frames) or original(self, frames, **kw)
    )
    for audio in (str(path), {"path": str(path)}, {"bytes": data}):
        read.clear()
        np.testing.assert_array_equal(load_audio(audio, SR, max_seconds=2.0), whole)
        assert read and 0 < max(read) <= int(np.ceil(2.1 * rate)), read


# ---------------------------------------------------------------------------------------------------------------------
# load_audio: bad input
# ---------------------------------------------------------------------------------------------------------------------


def test_load_audio_missing_file(tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(ValueError, match="nope.wav.*no such audio file"):
        load_audio(missing, SR)
    with pytest.raises(ValueError, match="no such audio file"):
        load_audio({"path": str(missing), "bytes": None}, SR)


def test_load_audio_unreadable_file(tmp_path):
    bad = tmp_path / "garbage.wav"
    bad.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(ValueError, match="garbage.wav.*cannot decode"):
        load_audio(bad, SR)
    with pytest.raises(ValueError, match="clip-7.*cannot decode"):
        load_audio({"path": None, "bytes": b"not audio"}, SR, name="clip-7")
    with pytest.raises(ValueError, match="`bytes` is empty"):
        load_audio({"path": None, "bytes": b""}, SR)


def test_load_audio_empty(tmp_path, write_wav):
    path = write_wav(tmp_path / "empty.wav", waveform=np.zeros(0, dtype=np.float32))
    with pytest.raises(ValueError, match="empty.wav.*empty"):
        load_audio(path, SR)
    with pytest.raises(ValueError, match="item-2.*empty"):
        load_audio({"array": np.zeros(0), "sampling_rate": SR}, SR, name="item-2")


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_load_audio_non_finite(bad_value):
    wave = synthetic_waveform(0.1, SR)
    wave[10] = bad_value
    with pytest.raises(ValueError, match="x: the audio has 1 NaN or infinite"):
        load_audio({"array": wave, "sampling_rate": SR}, SR, name="x")


def test_load_audio_non_finite_file(tmp_path, write_wav):
    wave = synthetic_waveform(0.1, SR)
    wave[:5] = np.nan
    path = write_wav(tmp_path / "nan.wav", waveform=wave, subtype="FLOAT")
    with pytest.raises(ValueError, match="nan.wav: the audio has 5 NaN"):
        load_audio(path, SR)


def test_load_audio_missing_rate():
    wave = synthetic_waveform(0.1, SR)
    with pytest.raises(ValueError, match="raw waveform has no sampling rate.*sampling_rate"):
        load_audio(wave, SR)
    with pytest.raises(ValueError, match="raw waveform has no sampling rate"):
        load_audio(torch.from_numpy(wave), SR)
    with pytest.raises(ValueError, match="needs its `sampling_rate`"):
        load_audio({"array": wave}, SR)
    with pytest.raises(ValueError, match="positive integer"):
        load_audio({"array": wave, "sampling_rate": 0}, SR)
    with pytest.raises(ValueError, match="positive integer"):
        load_audio(wave, SR, source_sampling_rate=8000.5)


def test_load_audio_wrong_type_and_shape():
    with pytest.raises(ValueError, match="unsupported audio input of type int"):
        load_audio(3, SR)
    with pytest.raises(ValueError, match="needs `array` \\+ `sampling_rate`, `bytes` or `path`"):
        load_audio({"foo": 1}, SR)
    with pytest.raises(ValueError, match="shape \\(2, 3, 100\\)"):
        load_audio(np.zeros((2, 3, 100)), SR, source_sampling_rate=SR)
    with pytest.raises(ValueError, match="cannot tell the channel axis"):
        load_audio(np.zeros((100, 100)), SR, source_sampling_rate=SR)
    with pytest.raises(ValueError, match="real numbers"):
        load_audio({"array": np.array(["a", "b"]), "sampling_rate": SR}, SR)
    with pytest.raises(ValueError, match="max_seconds"):
        load_audio(synthetic_waveform(0.1, SR), SR, source_sampling_rate=SR, max_seconds=0)


def test_audio_duration_without_decoding(tmp_path, write_wav):
    wave = synthetic_waveform(0.25, SR)
    path = write_wav(tmp_path / "a.flac", waveform=wave[::2], sampling_rate=8000)
    stereo = synthetic_waveform(0.5, SR, channels=2)
    for audio, rate in [
        (str(path), None),
        (path, None),
        (path.read_bytes(), None),
        ({"path": str(path), "bytes": None}, None),
        ({"path": "ignored.wav", "bytes": path.read_bytes()}, None),
        ({"array": wave[::2], "sampling_rate": 8000}, None),
        (torch.from_numpy(wave), SR),
        (stereo[::2], SR),  # (samples, channels): the longer axis holds the samples
        (stereo[::2].T, SR),
    ]:
        assert audio_duration(audio, rate) == pytest.approx(0.25), type(audio)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF not really a wave file")
    for unknown in [wave, {"array": wave}, str(tmp_path / "missing.wav"), str(garbage), b"", 42, {"path": None}]:
        assert audio_duration(unknown) is None


# ---------------------------------------------------------------------------------------------------------------------
# load_audio_segment
# ---------------------------------------------------------------------------------------------------------------------


def test_load_audio_segment_reads_the_interval(tmp_path, write_wav):
    wave = synthetic_waveform(2.0, SR, seed=3)
    path = write_wav(tmp_path / "video.wav", waveform=wave, subtype="FLOAT")
    segment = load_audio_segment(path, 0.5, 1.25, SR)
    np.testing.assert_array_equal(segment, wave[8000:20000])
    # Resampled to the target rate.
    assert load_audio_segment(path, 0.5, 1.25, 8000).shape == (6000,)
    # A small overrun past the end of the recording is clipped to it.
    np.testing.assert_array_equal(load_audio_segment(path, 1.5, 2.2, SR), wave[24000:])


def test_load_audio_segment_stereo_and_flac(tmp_path, write_wav):
    stereo = synthetic_waveform(1.0, SR, channels=2)
    path = write_wav(tmp_path / "video.flac", waveform=stereo)
    segment = load_audio_segment(path, 0.25, 0.5, SR)
    np.testing.assert_allclose(segment, stereo[4000:8000].mean(axis=1), atol=1 / 2**15 + 1e-6)


def test_load_audio_segment_bad_intervals(tmp_path, write_wav):
    path = write_wav(tmp_path / "video.wav", seconds=1.0)
    with pytest.raises(ValueError, match="video.wav.*invalid interval"):
        load_audio_segment(path, 0.6, 0.5, SR)
    with pytest.raises(ValueError, match="invalid interval"):
        load_audio_segment(path, -0.1, 0.5, SR)
    with pytest.raises(ValueError, match="outside the file, which lasts 1.000 s"):
        load_audio_segment(path, 1.2, 1.5, SR)
    with pytest.raises(ValueError, match="outside the file"):
        load_audio_segment(path, 0.5, 3.0, SR)
    with pytest.raises(ValueError, match="seg-9: no such audio file"):
        load_audio_segment(tmp_path / "missing.wav", 0.0, 0.5, SR, name="seg-9")


def test_load_audio_bytes_roundtrip_in_memory():
    buffer = io.BytesIO()
    wave = synthetic_waveform(0.1, 22050)
    sf.write(buffer, wave, 22050, format="WAV", subtype="FLOAT")
    out = load_audio({"bytes": buffer.getvalue(), "path": None}, SR)
    assert out.shape == (1600,)


# ---------------------------------------------------------------------------------------------------------------------
# CMTProcessor
# ---------------------------------------------------------------------------------------------------------------------

TEXTS = ["I can't believe you did that!", "Fine, whatever.", "We won the match today."]


def _waves(seconds=(0.1, 0.25, 0.175), seed=0):
    return [synthetic_waveform(s, SR, seed=seed + i) for i, s in enumerate(seconds)]


def _reference_normalise(wave):
    wave = wave.astype(np.float32)
    return (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)


def test_processor_text_and_audio_batch(tiny_processor, tiny_tokenizer):
    waves = _waves()
    batch = tiny_processor(text=TEXTS, audio=waves, sampling_rate=SR, return_tensors="pt")
    assert set(batch.keys()) == {"input_ids", "attention_mask", "input_values", "audio_attention_mask"}
    expected = tiny_tokenizer(TEXTS, padding=True, return_tensors="pt")
    torch.testing.assert_close(batch["input_ids"], expected["input_ids"])
    torch.testing.assert_close(batch["attention_mask"], expected["attention_mask"])
    assert batch["input_values"].dtype == torch.float32
    assert batch["input_values"].shape == (3, 4000)
    assert batch["audio_attention_mask"].sum(-1).tolist() == [1600, 4000, 2800]
    for row, wave in enumerate(waves):
        valid = batch["input_values"][row, : len(wave)].numpy()
        np.testing.assert_allclose(valid, _reference_normalise(wave), rtol=1e-6, atol=1e-6)
        assert abs(valid.mean()) < 1e-4 and abs(valid.std() - 1) < 1e-3
        assert torch.all(batch["input_values"][row, len(wave) :] == 0)
    assert tiny_processor.model_input_names == ["input_ids", "attention_mask", "input_values", "audio_attention_mask"]


def test_processor_single_modality(tiny_processor):
    text_only = tiny_processor(text="Hello there.", return_tensors="pt")
    assert set(text_only.keys()) == {"input_ids", "attention_mask"}
    assert text_only["input_ids"].shape[0] == 1
    audio_only = tiny_processor(audio=_waves()[0], sampling_rate=SR, return_tensors="pt")
    assert set(audio_only.keys()) == {"input_values", "audio_attention_mask"}
    assert audio_only["input_values"].shape == (1, 1600)
    with pytest.raises(ValueError, match="needs `text`, `audio` or both"):
        tiny_processor()


def test_processor_every_audio_form(tiny_processor, tmp_path, write_wav):
    wave = synthetic_waveform(0.2, SR, seed=5)
    path = write_wav(tmp_path / "clip.wav", waveform=wave, subtype="FLOAT")
    forms = [
        str(path),
        path,
        {"path": str(path), "bytes": None},
        {"path": None, "bytes": path.read_bytes()},
        {"array": wave, "sampling_rate": SR},
        {"array": torch.from_numpy(wave), "sampling_rate": SR},
        wave,
        torch.from_numpy(wave),
    ]
    batch = tiny_processor(audio=forms, sampling_rate=SR, return_tensors="np")
    assert batch["input_values"].shape == (len(forms), len(wave))
    for row in batch["input_values"]:
        np.testing.assert_array_equal(row, batch["input_values"][0])
    np.testing.assert_allclose(batch["input_values"][0], _reference_normalise(wave), rtol=1e-6, atol=1e-6)


def test_processor_resamples_downmixes_truncates(tiny_processor, tmp_path, write_wav):
    low_rate = write_wav(tmp_path / "8k.wav", seconds=0.5, sampling_rate=8000)
    stereo_wave = synthetic_waveform(0.25, SR, channels=2)
    stereo = write_wav(tmp_path / "stereo.wav", waveform=stereo_wave, subtype="FLOAT")
    batch = tiny_processor(audio=[low_rate, stereo], return_tensors="np")
    assert batch["audio_attention_mask"].sum(-1).tolist() == [8000, 4000]
    np.testing.assert_allclose(
        batch["input_values"][1, :4000], _reference_normalise(stereo_wave.mean(axis=1)), rtol=1e-5, atol=1e-5
    )
    # 44.1 kHz raw arrays at the caller's `sampling_rate`, cut to 0.1 s of 16 kHz audio.
    batch = tiny_processor(
        audio=[synthetic_waveform(0.3, 44100), synthetic_waveform(0.05, 44100)],
        sampling_rate=44100,
        max_audio_seconds=0.1,
        return_tensors="pt",
    )
    assert batch["audio_attention_mask"].sum(-1).tolist() == [1600, 800]


def test_processor_matches_feature_extractor(tiny_processor, tiny_feature_extractor):
    waves = _waves((0.1, 0.3, 0.05, 0.2), seed=11)
    waves[2] = waves[2] * 40 + 3  # far from zero mean / unit variance
    ours = tiny_processor(audio=waves, sampling_rate=SR, return_tensors="np")
    reference = tiny_feature_extractor(waves, sampling_rate=SR, padding=True, return_tensors="np")
    np.testing.assert_array_equal(ours["input_values"], reference["input_values"])
    np.testing.assert_array_equal(ours["audio_attention_mask"], reference["attention_mask"])
    unpadded = tiny_processor(audio=waves, sampling_rate=SR, padding=False)
    reference_unpadded = tiny_feature_extractor(waves, sampling_rate=SR, padding=False)
    for mine, theirs in zip(unpadded["input_values"], reference_unpadded["input_values"]):
        np.testing.assert_array_equal(mine, theirs)


def test_processor_without_normalisation_matches_extractor(tiny_tokenizer):
    from transformers import Wav2Vec2FeatureExtractor

    from processing_cmt import CMTProcessor

    extractor = Wav2Vec2FeatureExtractor(sampling_rate=SR, do_normalize=False, padding_value=0.5)
    processor = CMTProcessor(feature_extractor=extractor, tokenizer=tiny_tokenizer)
    waves = _waves()
    ours = processor(audio=waves, sampling_rate=SR, return_tensors="np")
    reference = extractor(waves, sampling_rate=SR, padding=True, return_attention_mask=True, return_tensors="np")
    np.testing.assert_array_equal(ours["input_values"], reference["input_values"])
    np.testing.assert_array_equal(ours["audio_attention_mask"], reference["attention_mask"])
    assert ours["input_values"][0, -1] == 0.5


def test_processor_unpadded_lists_for_datasets_map(tiny_processor):
    import datasets

    waves = _waves()
    dataset = datasets.Dataset.from_dict(
        {"text": TEXTS, "audio": [{"array": w.tolist(), "sampling_rate": SR} for w in waves]}
    )

    def preprocess(batch):
        return tiny_processor(text=batch["text"], audio=batch["audio"], padding=False)

    processed = dataset.map(preprocess, batched=True, batch_size=2, remove_columns=["text", "audio"])
    assert set(processed.column_names) == {"input_ids", "attention_mask", "input_values"}
    assert [len(v) for v in processed["input_values"]] == [len(w) for w in waves]
    assert [len(ids) for ids in processed["input_ids"]] == [
        len(ids) for ids in tiny_processor.tokenizer(TEXTS)["input_ids"]
    ]
    # Padding later (what a collator does) gives the padded output of the processor.
    padded = tiny_processor.pad_audio([np.asarray(v, dtype=np.float32) for v in processed["input_values"]])
    direct = tiny_processor(text=TEXTS, audio=waves, sampling_rate=SR, return_tensors="pt")
    torch.testing.assert_close(padded["input_values"], direct["input_values"])
    torch.testing.assert_close(padded["audio_attention_mask"], direct["audio_attention_mask"])


def test_pad_audio(tiny_processor):
    out = tiny_processor.pad_audio([np.ones(3, np.float32), torch.full((5,), 2.0)], pad_to_multiple_of=4)
    assert out["input_values"].tolist() == [[1, 1, 1, 0, 0, 0, 0, 0], [2, 2, 2, 2, 2, 0, 0, 0]]
    assert out["audio_attention_mask"].tolist() == [[1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0]]
    with pytest.raises(ValueError, match="waveforms\\[1\\]: expected a non-empty 1-D"):
        tiny_processor.pad_audio([np.ones(3), np.ones((2, 3))])
    with pytest.raises(ValueError, match="no waveforms"):
        tiny_processor.pad_audio([])


def test_processor_text_padding_and_truncation(tiny_processor):
    batch = tiny_processor(text=TEXTS, padding="max_length", max_length=24, return_tensors="pt")
    assert batch["input_ids"].shape == (3, 24)
    long_text = " ".join(["happy"] * 400)
    assert tiny_processor(text=long_text, return_tensors="pt")["input_ids"].shape[1] == 128  # model_max_length
    assert tiny_processor(text=long_text, max_length=10, return_tensors="pt")["input_ids"].shape[1] == 10
    assert len(tiny_processor(text=long_text, truncation=False)["input_ids"][0]) > 128


# ---------------------------------------------------------------------------------------------------------------------
# CMTProcessor: bad input
# ---------------------------------------------------------------------------------------------------------------------


def test_processor_bad_audio_names_the_item(tiny_processor, tmp_path, write_wav):
    good = write_wav(tmp_path / "good.wav")
    empty = write_wav(tmp_path / "empty.wav", waveform=np.zeros(0, np.float32))
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF....not really")
    with pytest.raises(ValueError, match=r"audio\[1\] \(.*missing.wav\): no such audio file"):
        tiny_processor(audio=[good, tmp_path / "missing.wav"])
    with pytest.raises(ValueError, match=r"audio\[1\] \(.*empty.wav\): the audio is empty"):
        tiny_processor(audio=[good, empty])
    with pytest.raises(ValueError, match=r"audio\[2\] \(.*garbage.wav\): cannot decode"):
        tiny_processor(audio=[good, good, garbage])
    nan_wave = synthetic_waveform(0.1, SR)
    nan_wave[3] = np.nan
    with pytest.raises(ValueError, match=r"audio\[1\]: the audio has 1 NaN or infinite"):
        tiny_processor(audio=[synthetic_waveform(0.1, SR), nan_wave], sampling_rate=SR)
    with pytest.raises(ValueError, match=r"audio\[0\]: a raw waveform has no sampling rate"):
        tiny_processor(audio=[synthetic_waveform(0.1, SR)])
    with pytest.raises(ValueError, match=r"^audio: a raw waveform has no sampling rate"):
        tiny_processor(audio=synthetic_waveform(0.1, SR))
    with pytest.raises(ValueError, match="`audio` is an empty list"):
        tiny_processor(audio=[])


def test_processor_bad_text(tiny_processor):
    with pytest.raises(ValueError, match=r"text\[1\]: the transcript is empty"):
        tiny_processor(text=["fine", ""])
    with pytest.raises(ValueError, match=r"text\[2\]: the transcript is empty or whitespace only \(' \\t\\n'\)"):
        tiny_processor(text=["fine", "ok", " \t\n"])
    with pytest.raises(ValueError, match=r"^text: the transcript is empty"):
        tiny_processor(text="   ")
    with pytest.raises(ValueError, match=r"text\[0\]: a transcript must be a string, got int"):
        tiny_processor(text=[3])
    with pytest.raises(ValueError, match="must be a string or a list of strings"):
        tiny_processor(text=3)


def test_processor_length_mismatch_and_options(tiny_processor):
    with pytest.raises(ValueError, match="Got 3 transcripts but 2 audio inputs"):
        tiny_processor(text=TEXTS, audio=_waves()[:2], sampling_rate=SR)
    with pytest.raises(ValueError, match="Got 1 transcripts but 3 audio inputs"):
        tiny_processor(text="one", audio=_waves(), sampling_rate=SR)
    with pytest.raises(ValueError, match="`input_values` lengths differ"):
        tiny_processor(audio=_waves(), sampling_rate=SR, padding=False, return_tensors="pt")
    with pytest.raises(ValueError, match="padding must be"):
        tiny_processor(text="one", padding="shortest")


def test_processor_needs_wav2vec2_extractor(tiny_tokenizer):
    from transformers import WhisperFeatureExtractor

    from processing_cmt import CMTProcessor

    with pytest.raises(ValueError, match="needs a Wav2Vec2FeatureExtractor"):
        CMTProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tiny_tokenizer)


# ---------------------------------------------------------------------------------------------------------------------
# CMTProcessor: save / load
# ---------------------------------------------------------------------------------------------------------------------


def test_processor_save_load_round_trip(tiny_processor, tmp_path):
    from transformers import AutoProcessor

    from processing_cmt import CMTProcessor

    tiny_processor.save_pretrained(tmp_path)
    for loaded in [CMTProcessor.from_pretrained(tmp_path), AutoProcessor.from_pretrained(tmp_path)]:
        assert type(loaded) is CMTProcessor
        assert loaded.feature_extractor.to_dict() == tiny_processor.feature_extractor.to_dict()
        assert loaded.tokenizer.get_vocab() == tiny_processor.tokenizer.get_vocab()
        assert loaded.tokenizer.model_max_length == 128
        waves = _waves()
        before = tiny_processor(text=TEXTS, audio=waves, sampling_rate=SR, return_tensors="pt")
        after = loaded(text=TEXTS, audio=waves, sampling_rate=SR, return_tensors="pt")
        for key in before:
            torch.testing.assert_close(after[key], before[key])


def test_processor_from_text_audio_pretrained(tiny_tokenizer, tmp_path):
    from transformers import Wav2Vec2FeatureExtractor

    from processing_cmt import CMTProcessor

    tiny_tokenizer.save_pretrained(tmp_path / "text")
    Wav2Vec2FeatureExtractor(sampling_rate=8000, do_normalize=True).save_pretrained(tmp_path / "audio")
    processor = CMTProcessor.from_text_audio_pretrained(tmp_path / "text", tmp_path / "audio")
    assert processor.sampling_rate == 8000
    assert processor.tokenizer.get_vocab() == tiny_tokenizer.get_vocab()
    batch = processor(text="hi there", audio={"array": synthetic_waveform(0.5, SR), "sampling_rate": SR})
    assert len(batch["input_values"][0]) == 4000  # resampled to the extractor's 8 kHz


def test_processor_unpadded_then_collator_padding_equals_padded(tiny_processor):
    from processing_cmt import pad_cmt_features

    waves = _waves()
    unpadded = tiny_processor(text=TEXTS, audio=waves, sampling_rate=SR, padding=False)
    features = [
        {"input_ids": ids, "input_values": values}
        for ids, values in zip(unpadded["input_ids"], unpadded["input_values"])
    ]
    collated = pad_cmt_features(features, pad_token_id=tiny_processor.tokenizer.pad_token_id)
    padded = tiny_processor(text=TEXTS, audio=waves, sampling_rate=SR, return_tensors="pt")
    assert padded["audio_attention_mask"].dtype == collated["audio_attention_mask"].dtype == torch.int32
    for key in ["input_ids", "attention_mask", "input_values", "audio_attention_mask"]:
        torch.testing.assert_close(collated[key], padded[key])
