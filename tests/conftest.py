# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Shared, offline-built fixtures for the cmt tests.

Nothing here touches the Hub: the tokenizer is a byte-level BPE trained in a second on a few dozen sentences, the
feature extractor is constructed from its arguments and audio is synthesised.

Tiny tokenizer ids (RoBERTa's order): `<s>`=0 (bos/cls), `<pad>`=1, `</s>`=2 (eos/sep), `<unk>`=3, `<mask>`=4; the
learned byte-level vocabulary follows (500 entries in all, `TINY_VOCAB_SIZE`).
"""

import os


# Before anything imports huggingface_hub: the tests must never reach the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402


TINY_SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
TINY_VOCAB_SIZE = 500

# Short English sentences in the register of IEMOCAP / CMU-MOSEI transcripts, mixed case as RoBERTa sees them.
TINY_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "I am so happy to see you today!",
    "This is terrible, I hate it.",
    "Why would you do something like that?",
    "I don't know what you're talking about.",
    "Excuse me, I need to talk to the manager.",
    "That's wonderful news, congratulations!",
    "I'm really sorry for your loss.",
    "Leave me alone, I'm tired of this.",
    "The movie was okay, nothing special.",
    "Honestly, the acting was brilliant and the plot kept me hooked.",
    "What a waste of two hours.",
    "We should go to the beach this weekend.",
    "My flight got cancelled again.",
    "You never listen to me.",
    "It was a beautiful wedding.",
    "I can't believe you forgot my birthday.",
    "The food was cold and the service was slow.",
    "Thank you so much for helping me move.",
    "I guess it could have been worse.",
    "She said yes! We're getting married!",
    "Stop shouting at me.",
    "The results came back negative, thank goodness.",
    "I lost my job this morning.",
    "Let's get coffee and talk about it.",
    "He was the best teacher I ever had.",
    "This product broke after one day.",
    "I would definitely recommend it to a friend.",
    "Nobody told me the meeting was moved.",
    "Well, that was unexpected.",
    "CHAPTER ONE THE BOY WHO LIVED",
    "and so they walked on together through the dark forest",
    "1 2 3 4 5 6 7 8 9 0 numbers, commas; colons: and dashes - too",
    "Um, yeah, I mean, it's fine I guess.",
]


def synthetic_waveform(
    seconds: float = 0.5, sampling_rate: int = 16000, channels: int = 1, seed: int = 0, amplitude: float = 0.3
) -> np.ndarray:
    """A chirp (200 Hz → 2 kHz) plus a little noise, float32 in [-1, 1]; shape `(samples,)` or `(samples, channels)`.

    Channels differ (phase-shifted, different noise) so a downmix is distinguishable from picking one channel.
    """
    rng = np.random.default_rng(seed)
    num_samples = int(round(seconds * sampling_rate))
    t = np.arange(num_samples) / sampling_rate
    f0, f1 = 200.0, 2000.0
    phase = 2 * np.pi * (f0 * t + (f1 - f0) / (2 * max(seconds, 1e-9)) * t**2)
    columns = [amplitude * np.sin(phase + 0.7 * c) + 0.02 * rng.standard_normal(num_samples) for c in range(channels)]
    wave = np.stack(columns, axis=-1).astype(np.float32)
    return wave[:, 0] if channels == 1 else wave


def tone(pitch: float, seconds: float, seed: int, sampling_rate: int = 16000) -> np.ndarray:
    """A sine at `pitch` Hz (jittered by 2% per seed) plus a little noise, float32: audio whose class is its pitch."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sampling_rate)) / sampling_rate
    wave = 0.3 * np.sin(2 * np.pi * pitch * (1 + 0.02 * rng.standard_normal()) * t)
    return (wave + 0.02 * rng.standard_normal(t.shape)).astype(np.float32)


def write_wav_file(
    path: str | os.PathLike,
    seconds: float = 0.5,
    sampling_rate: int = 16000,
    channels: int = 1,
    seed: int = 0,
    subtype: str | None = None,
    waveform: np.ndarray | None = None,
) -> Path:
    """Writes `waveform` (or a `synthetic_waveform`) to `path` with soundfile; the format follows the suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if waveform is None:
        waveform = synthetic_waveform(seconds, sampling_rate, channels, seed)
    sf.write(str(path), waveform, sampling_rate, subtype=subtype)
    return path


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RUN_SLOW", "0").lower() in ("1", "true", "yes"):
        return
    skip_slow = pytest.mark.skip(reason="slow test: set RUN_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A RoBERTa-style byte-level BPE `RobertaTokenizerFast` trained offline (ids documented in the module docstring)."""
    from processing_cmt.tokenizer_training import train_roberta_tokenizer

    tokenizer = train_roberta_tokenizer(TINY_CORPUS, vocab_size=TINY_VOCAB_SIZE, model_max_length=128)
    ids = [tokenizer.convert_tokens_to_ids(token) for token in TINY_SPECIAL_TOKENS]
    assert ids == [0, 1, 2, 3, 4], ids
    return tokenizer


@pytest.fixture(scope="session")
def tiny_feature_extractor():
    """The feature extractor HuBERT-large uses (normalising, with an attention mask), built from its arguments."""
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )


@pytest.fixture(scope="session")
def tiny_processor(tiny_tokenizer, tiny_feature_extractor):
    """A `CMTProcessor` joining the tiny tokenizer and the feature extractor."""
    from processing_cmt import CMTProcessor

    return CMTProcessor(feature_extractor=tiny_feature_extractor, tokenizer=tiny_tokenizer)


@pytest.fixture(scope="session")
def write_wav():
    """`write_wav(path, seconds=0.5, sampling_rate=16000, channels=1, seed=0, subtype=None, waveform=None) -> Path`."""
    return write_wav_file


@pytest.fixture
def wav_path(tmp_path):
    """A 0.5 s, 16 kHz mono synthetic WAV file."""
    return write_wav_file(tmp_path / "tone.wav")


@pytest.fixture(scope="session")
def tiny_backbones(tmp_path_factory, tiny_tokenizer, tiny_feature_extractor):
    """Tiny pretrained-backbone folders as `from_pretrained` reads them: `{"text": dir, "audio": dir}`, the text one a
    RoBERTa with the tiny tokenizer, the audio one a layer-norm HuBERT with its feature extractor."""
    import torch
    from test_modeling_cmt import CMTAudioModelTester, CMTTextModelTester
    from transformers import HubertModel, RobertaModel

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("tiny_backbones")
    text_config = CMTTextModelTester(vocab_size=len(tiny_tokenizer)).get_config()
    text_config.max_position_embeddings = tiny_tokenizer.model_max_length + 2
    RobertaModel(text_config).save_pretrained(directory / "text")
    tiny_tokenizer.save_pretrained(directory / "text")
    HubertModel(CMTAudioModelTester().get_config()).save_pretrained(directory / "audio")
    tiny_feature_extractor.save_pretrained(directory / "audio")
    return {"text": directory / "text", "audio": directory / "audio"}
