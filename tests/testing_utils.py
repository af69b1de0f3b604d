# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Helpers shared by the cmt tests (as transformers' `testing_utils`): synthetic audio, the tiny text corpus, and the
tiny-backbone testers (`CMTModelTester` holds a tiny config, as transformers' model testers do). Fixtures live in
`conftest.py`; test modules import helpers from here, never from `conftest` or from each other.

Tiny tokenizer ids (RoBERTa's order): `<s>`=0 (bos/cls), `<pad>`=1, `</s>`=2 (eos/sep), `<unk>`=3, `<mask>`=4; the
learned byte-level vocabulary follows (500 entries in all, `TINY_VOCAB_SIZE`).
"""

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from transformers import HubertConfig, RobertaConfig

from configuration_cmt import CMTConfig


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


class CMTTextModelTester:
    """A tiny RoBERTa text backbone."""

    def __init__(self, batch_size=3, seq_length=9, vocab_size=99, hidden_size=32):
        self.batch_size, self.seq_length = batch_size, seq_length
        self.vocab_size, self.hidden_size = vocab_size, hidden_size

    def get_config(self):
        return RobertaConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
            max_position_embeddings=64,
            type_vocab_size=1,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
        )

    def prepare_inputs(self, generator):
        input_ids = torch.randint(3, self.vocab_size, (self.batch_size, self.seq_length), generator=generator)
        input_ids[:, 0], input_ids[:, -1] = 0, 2
        return input_ids, torch.ones_like(input_ids)


class CMTAudioModelTester:
    """A tiny HuBERT audio backbone, the layer-norm ("large") variant: its output ignores padding."""

    def __init__(self, batch_size=3, num_samples=1200, hidden_size=32):
        self.batch_size, self.num_samples, self.hidden_size = batch_size, num_samples, hidden_size

    def get_config(self):
        return HubertConfig(
            hidden_size=self.hidden_size,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
            conv_dim=[16, 16],
            conv_kernel=[10, 3],
            conv_stride=[5, 2],
            conv_bias=True,
            num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2,
            feat_extract_norm="layer",
            do_stable_layer_norm=True,
            layerdrop=0.0,
        )

    def prepare_inputs(self, generator):
        input_values = torch.randn(self.batch_size, self.num_samples, generator=generator)
        return input_values, torch.ones_like(input_values, dtype=torch.long)


class CMTModelTester:
    def __init__(self, **cross_kwargs):
        self.text_tester = CMTTextModelTester()
        self.audio_tester = CMTAudioModelTester()
        self.cross_kwargs = {
            "num_cross_layers": 2,
            "num_cross_attention_heads": 4,
            "cross_intermediate_size": 48,
            "num_labels": 4,
            **cross_kwargs,
        }

    def get_config(self, **kwargs):
        backbones = {"text_config": self.text_tester.get_config(), "audio_config": self.audio_tester.get_config()}
        return CMTConfig(**{**backbones, **self.cross_kwargs, **kwargs})

    def prepare_inputs(self, seed=0):
        generator = torch.Generator().manual_seed(seed)
        input_ids, attention_mask = self.text_tester.prepare_inputs(generator)
        input_values, audio_attention_mask = self.audio_tester.prepare_inputs(generator)
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "input_values": input_values,
            "audio_attention_mask": audio_attention_mask,
        }


def tiny_hubert_config(**kwargs) -> HubertConfig:
    """conv kernel (10, 3), stride (5, 2): 10 samples per frame, 20-sample receptive field."""
    defaults = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "conv_dim": [16, 16],
        "conv_kernel": [10, 3],
        "conv_stride": [5, 2],
        "feat_extract_norm": "layer",
        "do_stable_layer_norm": True,
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 2,
    }
    return HubertConfig(**{**defaults, **kwargs})


def tiny_cmt_config(tokenizer, **kwargs) -> CMTConfig:
    """The `CMTModelTester` config with a text backbone sized for `tokenizer` (the tiny BPE of `tiny_tokenizer`)."""
    tester = CMTModelTester()
    tester.text_tester = CMTTextModelTester(vocab_size=len(tokenizer))
    config = tester.get_config(**kwargs)
    config.text_config.max_position_embeddings = tokenizer.model_max_length + 2
    return config


def save_tiny_ctc_asr(directory: str | os.PathLike, emit: str, sampling_rate: int = 16000) -> Path:
    """Saves a tiny Wav2Vec2ForCTC speech recognition folder (model, CTC tokenizer, feature extractor) whose CTC head
    emits `emit` on every frame: CTC collapses the repeats, so the transcript is `emit`, or empty for the blank
    `<pad>`. Returns the folder."""
    import json

    from transformers import Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    vocab.update({char: 5 + i for i, char in enumerate("abcdefghijklmnopqrstuvwxyz'")})
    (directory / "vocab.json").write_text(json.dumps(vocab))
    config = Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=20,
        conv_dim=(8, 8),
        conv_kernel=(10, 3),
        conv_stride=(5, 2),
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2,
        pad_token_id=0,
    )
    model = Wav2Vec2ForCTC(config).eval()
    torch.nn.init.zeros_(model.lm_head.weight)
    torch.nn.init.zeros_(model.lm_head.bias)
    model.lm_head.bias.data[vocab[emit]] = 10.0
    model.save_pretrained(directory)
    Wav2Vec2CTCTokenizer(str(directory / "vocab.json")).save_pretrained(directory)
    Wav2Vec2FeatureExtractor(sampling_rate=sampling_rate, return_attention_mask=True).save_pretrained(directory)
    return directory


EMOTIONS = ["angry", "happy", "neutral", "sad"]


def tiny_classifier_pipeline(tokenizer, processor, labels=EMOTIONS, seed: int = 0):
    """`pipeline("audio-text-sentiment")` on a tiny CMTForSequenceClassification with `labels` (random weights
    seeded by `seed`)."""
    from transformers import pipeline

    from modeling_cmt import CMTForSequenceClassification

    torch.manual_seed(seed)
    config = tiny_cmt_config(
        tokenizer, id2label=dict(enumerate(labels)), label2id={k: i for i, k in enumerate(labels)}
    )
    model = CMTForSequenceClassification(config).eval()
    return pipeline("audio-text-sentiment", model=model, processor=processor, device="cpu")
