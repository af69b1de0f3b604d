# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What `rehearse.py` runs the recipe on: corpora laid out file for file like the releases (the tree generators of
`tests/corpus_fixtures.py`) with the real corpora's duration spread instead of the test fixtures' 0.2-2 s clips, and
backbone folders in the published formats built from the paper's configs with random weights."""

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import HubertConfig, HubertModel, RobertaConfig, RobertaForMaskedLM, Wav2Vec2FeatureExtractor


REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT / "tests") not in sys.path:
    sys.path.append(str(REPO_ROOT / "tests"))  # the corpus tree generators live with the tests

from common import TINY_ROBERTA_KWARGS  # noqa: E402
from corpus_fixtures import (  # noqa: E402
    LIBRISPEECH_SPEAKERS,
    MOSEILabel,
    MOSEIVideo,
    default_iemocap_utterances,
    make_iemocap_tree,
    make_librispeech_tree,
    make_mosei_tree,
    write_audio,
)

from configuration_cmt.configuration_cmt import HUBERT_LARGE_KWARGS, ROBERTA_LARGE_KWARGS  # noqa: E402
from processing_cmt import train_roberta_tokenizer  # noqa: E402


# LibriSpeech 960 h: 281,241 training utterances, cut by the release to at most 35 s; 960 h / 281,241 = 12.29 s mean,
# 9.4 M words, 2.72 words per second.
LIBRISPEECH_MEAN_SECONDS = 12.29
LIBRISPEECH_SECONDS_RANGE = (2.0, 35.0)
LIBRISPEECH_WORDS_PER_SECOND = 2.72
# IEMOCAP's utterances: about 4.5 s on average, from under 1 s to over 30 s. CMU-MOSEI's segments: about 7 s.
IEMOCAP_MEAN_SECONDS, IEMOCAP_SECONDS_RANGE = 4.5, (0.8, 25.0)
MOSEI_MEAN_SECONDS, MOSEI_SECONDS_RANGE = 7.0, (2.0, 20.0)
CONVERSATION_WORDS_PER_SECOND = 2.5

WORDS = (
    "the of and to a in that he was it his for as with had her you not be at on him is by but this which have she "
    "from they all so were my one said there me when we an their would no if been what or them who are will more out "
    "up into do man any then time could little some your now very about upon like did our great two know old "
    "before see should well other down over good much way how come after made men such only must long came these "
    "first may its say us where here life day away again house without those never thought eyes went own through "
    "nothing hand ever still many yet every back mother father night while last found take told young heart room "
    "head once people under left face three place might world light another just done took each among thing seemed "
    "better whole king door since work enough voice give love death poor lady always nor together being why dear "
    "moment looked cried asked against between half knew something having almost got whom felt turned morning "
    "certain because saw side heard years water perhaps friend far gone sir white words themselves large called "
    "find above began round brought"
).split()


@dataclass
class CorpusPaths:
    librispeech: Path
    """The `LibriSpeech` folder."""
    iemocap: Path
    """The `IEMOCAP_full_release` folder."""
    mosei: dict[str, Path]
    """The CMU-MultimodalSDK files: `labels`, `audio_dir`, `transcripts_dir`, `folds`."""
    texts: list[str]
    """Every transcript written (the tokenizer's training text)."""
    durations: dict[str, list[float]]
    """Seconds of audio per utterance (LibriSpeech: training subsets only)."""


def spread_durations(count: int, mean: float, sigma: float, bounds: tuple[float, float]) -> list[float]:
    """`count` durations at evenly spaced quantiles of a log-normal with this mean, clipped to `bounds`; with three or
    more the shortest is `bounds[0]` and the longest `bounds[1]`, so that the corpus's extremes are rehearsed too.
    Deterministic: the spread, not a random draw of a handful, is the point."""
    from statistics import NormalDist

    median = mean / np.exp(sigma**2 / 2)
    quantiles = [(index + 0.5) / count for index in range(count)]
    seconds = [float(np.clip(median * np.exp(sigma * NormalDist().inv_cdf(q)), *bounds)) for q in quantiles]
    if count >= 3:
        seconds[0], seconds[-1] = bounds
    return [round(value, 2) for value in seconds]


def transcript(seconds: float, words_per_second: float, rng: np.random.Generator, upper: bool) -> str:
    words = rng.choice(WORDS, size=max(1, int(round(seconds * words_per_second))))
    text = " ".join(words)
    return text.upper() if upper else text[0].upper() + text[1:] + "."


def make_librispeech(root: Path, num_train: int, scale: float, seed: int) -> tuple[Path, list[str], list[float]]:
    """`num_train` training utterances over train-clean-100 / train-clean-360 / train-other-500 (the longest in
    train-other-500, whose utterances run longest) plus two of dev-clean, with LibriSpeech's duration spread (times
    `scale`) and 2.72 words per second."""
    rng = np.random.default_rng(seed)
    durations = spread_durations(
        num_train, LIBRISPEECH_MEAN_SECONDS * scale, 0.35, _scaled(LIBRISPEECH_SECONDS_RANGE, scale)
    )
    subsets = ["train-clean-100", "train-clean-360", "train-other-500"]
    speakers = {subset: speaker for speaker, _, subset, *_ in LIBRISPEECH_SPEAKERS if subset in subsets}
    specs, seconds = [], []
    for index, duration in enumerate(durations):
        # the longest utterances to train-other-500, as in the release; chapters of 8 utterances
        subset = subsets[min(2, index * 3 // num_train)]
        chapter, number = 100 + index // 8, index % 8
        text = transcript(duration, LIBRISPEECH_WORDS_PER_SECOND, rng, upper=True)
        specs.append((f"{speakers[subset]}-{chapter}-{number:04d}", subset, text, True, True))
        seconds.append(duration)
    dev = spread_durations(2, LIBRISPEECH_MEAN_SECONDS * scale, 0.35, _scaled(LIBRISPEECH_SECONDS_RANGE, scale))
    for number, duration in enumerate(dev):
        text = transcript(duration, LIBRISPEECH_WORDS_PER_SECOND, rng, upper=True)
        specs.append((f"84-121123-{number:04d}", "dev-clean", text, True, True))
        seconds.append(duration)
    tree = make_librispeech_tree(root, specs)
    # the fixture writes 0.2-0.35 s clips: the same files again at the durations above
    for seed_offset, (utterance, duration) in enumerate(zip(tree.utterances, seconds)):
        write_audio(utterance.flac, duration, seed + seed_offset)
    return tree.root, [spec[2] for spec in specs], durations


def make_iemocap(root: Path, scale: float, seed: int) -> tuple[Path, list[str], list[float]]:
    """The fixture's five sessions (labels, excluded classes, a missing wav, a missing transcript line) with
    IEMOCAP-like durations (times `scale`) and transcripts to match."""
    rng = np.random.default_rng(seed + 1)
    utterances = default_iemocap_utterances()
    durations = spread_durations(
        len(utterances), IEMOCAP_MEAN_SECONDS * scale, 0.6, _scaled(IEMOCAP_SECONDS_RANGE, scale)
    )
    # spread over the sessions rather than sorted into them: every fold trains and tests on short and long utterances
    durations = [durations[i] for i in rng.permutation(len(durations))]
    for utterance, duration in zip(utterances, durations):
        utterance.text = transcript(duration, CONVERSATION_WORDS_PER_SECOND, rng, upper=False)
    tree = make_iemocap_tree(root, utterances)
    for offset, (utterance, duration) in enumerate(zip(tree.utterances, durations)):
        if utterance.wav is not None:
            write_audio(utterance.wav, duration, seed + 1000 + offset)
    return tree.root, [u.text for u in utterances], durations


def make_mosei(root: Path, scale: float, seed: int) -> tuple[dict[str, Path], list[str], list[float]]:
    """Six videos in the raw CMU-MOSEI layout with SDK labels (train 3, valid 1, test 2), three segments each at
    MOSEI-like durations (times `scale`), separated by half a second of audio that no segment covers."""
    rng = np.random.default_rng(seed + 2)
    folds = ["train", "train", "train", "validation", "test", "test"]
    durations = spread_durations(3 * len(folds), MOSEI_MEAN_SECONDS * scale, 0.5, _scaled(MOSEI_SECONDS_RANGE, scale))
    durations = [durations[i] for i in rng.permutation(len(durations))]
    videos, texts = [], []
    for number, fold in enumerate(folds):
        video_id, position, segments, labels = f"rehearsal{number:02d}", 0.5 * scale, [], []
        for segment in range(3):
            seconds = durations[3 * number + segment]
            start, end = round(position, 3), round(position + seconds, 3)
            text = transcript(seconds, CONVERSATION_WORDS_PER_SECOND, rng, upper=False)
            sentiment = round(float(rng.uniform(-3, 3)), 4)
            emotions = tuple(round(float(value), 4) for value in rng.uniform(0, 3, size=6))
            segments.append((segment, start, end, text))
            labels.append(MOSEILabel(video_id, start, end, sentiment, emotions, segment))
            texts.append(text)
            position = end + 0.5 * scale
        videos.append(MOSEIVideo(video_id, round(position, 3), segments=segments, labels=labels, fold=fold))
    tree = make_mosei_tree(root, videos)
    paths = {
        "labels": tree.labels_path,
        "audio_dir": tree.audio_dir,
        "transcripts_dir": tree.transcripts_dir,
        "folds": tree.folds_path,
    }
    return paths, texts, durations


def make_corpora(root: Path, num_librispeech: int, scale: float, seed: int) -> CorpusPaths:
    librispeech, libri_texts, libri_seconds = make_librispeech(root / "librispeech", num_librispeech, scale, seed)
    iemocap, iemocap_texts, iemocap_seconds = make_iemocap(root / "iemocap", scale, seed)
    mosei, mosei_texts, mosei_seconds = make_mosei(root / "mosei", scale, seed)
    return CorpusPaths(
        librispeech=librispeech,
        iemocap=iemocap,
        mosei=mosei,
        texts=libri_texts + iemocap_texts + mosei_texts,
        durations={"librispeech": libri_seconds, "iemocap": iemocap_seconds, "mosei": mosei_seconds},
    )


def _scaled(bounds: tuple[float, float], scale: float) -> tuple[float, float]:
    return bounds[0] * scale, bounds[1] * scale


# ---------------------------------------------------------------------------------------------------------------------
# Backbones

# The tiny size: the same families, 32-d and 2 layers (the text one is `common.TINY_ROBERTA_KWARGS`); the audio one
# with HuBERT's real framing (7 convolutions, 20 ms frames).
TINY_AUDIO_KWARGS = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [16] * 7,
    "conv_bias": True,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
}


def build_backbones(directory: Path, size: str, texts: list[str], seed: int) -> dict:
    """
    Writes `directory/text` (RobertaForMaskedLM, as `FacebookAI/roberta-large` is published: `roberta.*` + `lm_head.*`
    keys, and a byte-level BPE tokenizer) and `directory/audio` (HubertModel + the feature extractor
    `facebook/hubert-large-ll60k` publishes), random weights.

    The tokenizer is a BPE trained on the rehearsal's transcripts (a few thousand entries); the text model keeps
    RoBERTa-large's vocabulary of 50,265 (full size), so the word embeddings and the MLM output layer have their real
    size and cost while every token id stays below the vocabulary size. A tokenizer padded to 50,265 entries would add
    nothing but 50k unused added tokens.
    """
    torch.manual_seed(seed)
    tokenizer = train_roberta_tokenizer(texts, vocab_size=4000 if size == "full" else 400, model_max_length=512)
    if size == "full":
        text_config = RobertaConfig(**ROBERTA_LARGE_KWARGS, architectures=["RobertaForMaskedLM"])
        audio_config = HubertConfig(**HUBERT_LARGE_KWARGS, architectures=["HubertModel"])
    else:
        text_config = RobertaConfig(
            **TINY_ROBERTA_KWARGS, vocab_size=len(tokenizer), architectures=["RobertaForMaskedLM"]
        )
        audio_config = HubertConfig(**TINY_AUDIO_KWARGS, architectures=["HubertModel"])
    text_dir, audio_dir = directory / "text", directory / "audio"
    text_model = RobertaForMaskedLM(text_config)
    text_parameters = text_model.roberta.num_parameters()
    text_model.save_pretrained(text_dir)
    tokenizer.save_pretrained(text_dir)
    del text_model
    audio_model = HubertModel(audio_config)
    audio_parameters = audio_model.num_parameters()
    audio_model.save_pretrained(audio_dir)
    # what facebook/hubert-large-ll60k publishes: normalising, with an attention mask
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    ).save_pretrained(audio_dir)
    del audio_model
    return {
        "text": str(text_dir),
        "audio": str(audio_dir),
        "tokenizer_entries": len(tokenizer),
        "text_vocab_size": text_config.vocab_size,
        "text_parameters": text_parameters,
        "audio_parameters": audio_parameters,
        "audio_layers": audio_config.num_hidden_layers,
    }
