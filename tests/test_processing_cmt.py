# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of the audio decoding path (`processing_cmt.audio_utils`) and of `CMTProcessor`."""

import io

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import synthetic_waveform

from processing_cmt import load_audio, load_audio_segment


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
