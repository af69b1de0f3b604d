# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Codeword targets of the cross-modal audio MLM (§3.2.2): HuBERT-style k-means over an audio backbone's frames.

Paper: "Cross-modal pretrained transformer for audio-text emotion and sentiment" (`shared/paper/cmt-paper.txt`):
"we utilize the set of cluster codewords from HuBERT model as the labels for the frame-level audio representation".
As HuBERT (Hsu et al., 2021) does, [`fit_codebook`] runs k-means (K = 500) with scikit-learn's `MiniBatchKMeans` over
the frame features of one layer of the backbone (or, as HuBERT's first iteration, over MFCCs framed like the
backbone's frames: `layer="mfcc"`, for backbones that have not learnt anything yet), on a random sample of the
corpus; [`label_audio_codes`] then gives every frame of every utterance the id of its nearest centroid, in an
`audio_codes` column that `DataCollatorForCMTPretraining` checks against the backbone's frame count. Codebooks are safetensors files (never
pickle) with their provenance in the metadata.
"""

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import torch
from datasets import Audio, Dataset, List, Value
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from sklearn.cluster import MiniBatchKMeans
from tqdm.auto import tqdm
from transformers import AutoFeatureExtractor, AutoModel, PreTrainedModel, Wav2Vec2FeatureExtractor

from configuration_cmt import audio_frame_lengths, audio_receptive_field

from .audio_utils import load_audio


logger = logging.getLogger(__name__)

__all__ = [
    "assign_codes",
    "extract_frame_features",
    "fit_codebook",
    "label_audio_codes",
    "load_codebook",
    "mfcc_frame_features",
    "save_codebook",
]

# `layer="mfcc"`: HuBERT's first-iteration targets, 13 MFCCs + deltas + delta-deltas per backbone frame.
MFCC_LAYER = "mfcc"
MFCC_DIM = 39
# Kaldi's MFCC defaults, which HuBERT's `dump_mfcc_feature.py` uses (through torchaudio): 23 mel bins from 20 Hz.
MFCC_KWARGS = {"n_mfcc": 13, "n_mels": 23, "fmin": 20.0, "window": "hamming"}
# Added to the per-coefficient std of MFCC codebooks, so that a constant coefficient does not divide by zero.
MFCC_STD_FLOOR = 1e-5
# The shortest backbone frame MFCCs are computed over: 16 ms (Kaldi's window is 25 ms, HuBERT's receptive field).
MIN_MFCC_WINDOW_SECONDS = 0.016

CENTROIDS_KEY = "centroids"
CODEBOOK_FORMAT = "cmt-codebook"

# HuBERT's `learn_kmeans.py` settings (fairseq/examples/hubert/simple_kmeans), with its K = 500 default.
HUBERT_KMEANS_KWARGS = {
    "init": "k-means++",
    "max_iter": 100,
    "batch_size": 10000,
    "tol": 0.0,
    "max_no_improvement": 100,
    "n_init": 20,
    "reassignment_ratio": 0.0,
}


# ------------------------------------------------------------------------------------------------------ file format


def save_codebook(path: str | os.PathLike, centroids: torch.Tensor | np.ndarray, metadata: Mapping[str, Any]) -> Path:
    """
    Saves k-means centroids as a safetensors file (tensor `"centroids"`, float32 `(num_codewords, hidden_size)`).

    Args:
        path (`str` or `os.PathLike`): the `.safetensors` file to write (parent folders are created).
        centroids (`torch.Tensor` or `np.ndarray`): `(num_codewords, hidden_size)`.
        metadata (`Mapping[str, Any]`): provenance, at least `backbone` (name or path of the audio model) and `layer`
            (the `hidden_states` index the features came from); JSON-serialisable values. `num_codewords` and
            `hidden_size` are filled in from `centroids`.

    Returns:
        `Path`: the file written.
    """
    centroids = torch.as_tensor(centroids).detach().to("cpu", torch.float32).contiguous()
    if centroids.ndim != 2 or centroids.shape[0] == 0:
        raise ValueError(
            f"Codebook centroids must be a non-empty (num_codewords, hidden_size) matrix, got {tuple(centroids.shape)}."
        )
    missing = [key for key in ("backbone", "layer") if key not in metadata]
    if missing:
        raise ValueError(f"Codebook metadata must record {missing} (which backbone and layer the features came from).")
    metadata = {
        **metadata,
        "format": CODEBOOK_FORMAT,
        "num_codewords": int(centroids.shape[0]),
        "hidden_size": int(centroids.shape[1]),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # safetensors metadata is str -> str: each value is stored as JSON so that ints stay ints on loading.
    save_file(
        {CENTROIDS_KEY: centroids}, str(path), metadata={key: json.dumps(value) for key, value in metadata.items()}
    )
    return path


def load_codebook(path: str | os.PathLike) -> tuple[torch.Tensor, dict[str, Any]]:
    """
    Loads a codebook written by [`save_codebook`].

    Args:
        path (`str` or `os.PathLike`): the `.safetensors` file.

    Returns:
        `tuple[torch.Tensor, dict[str, Any]]`: float32 centroids `(num_codewords, hidden_size)` and the metadata
        (`backbone`, `layer`, `num_codewords`, `hidden_size`, and whatever else was recorded).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No codebook file {str(path)!r}.")
    try:
        with safe_open(str(path), framework="pt") as file:
            raw_metadata = file.metadata() or {}
            names = list(file.keys())
            centroids = file.get_tensor(CENTROIDS_KEY) if CENTROIDS_KEY in names else None
    except (SafetensorError, OSError) as error:
        raise ValueError(f"Cannot read codebook {str(path)!r} as safetensors: {error}") from error
    if centroids is None:
        raise ValueError(f"Codebook {str(path)!r} has no {CENTROIDS_KEY!r} tensor; its tensors are {names}.")
    try:
        metadata = {key: json.loads(value) for key, value in raw_metadata.items()}
    except json.JSONDecodeError as error:
        raise ValueError(f"Codebook {str(path)!r} has metadata that is not from `save_codebook`: {error}") from error
    if centroids.ndim != 2:
        raise ValueError(f"Codebook {str(path)!r}: centroids must be 2-D, got shape {tuple(centroids.shape)}.")
    return centroids.float(), metadata


# ---------------------------------------------------------------------------------------------- backbone features


def _resolve_audio_model(audio_model: PreTrainedModel | str | os.PathLike) -> tuple[PreTrainedModel, str]:
    if isinstance(audio_model, (str, os.PathLike)):
        name = str(audio_model)
        audio_model = AutoModel.from_pretrained(name)
    else:
        name = audio_model.config.name_or_path or type(audio_model).__name__
    if not hasattr(audio_model.config, "conv_kernel"):
        raise ValueError(
            f"The audio model {name!r} ({type(audio_model).__name__}) is not a wav2vec 2.0-family model with a "
            "convolutional feature encoder (`conv_kernel`/`conv_stride`), whose frames CMT aligns codes with."
        )
    return audio_model, name


def _resolve_layer(audio_model: PreTrainedModel, layer: int | str) -> int | str:
    """`layer` indexes `output_hidden_states` (0 = input of the first transformer layer); negatives count back.
    `"mfcc"` stands for MFCC features instead of a layer."""
    if layer == MFCC_LAYER:
        return MFCC_LAYER
    count = audio_model.config.num_hidden_layers + 1
    if isinstance(layer, bool) or not isinstance(layer, int) or not -count <= layer < count:
        raise ValueError(
            f"`layer` {layer!r} is not an index into the {count} hidden states of the audio model "
            f"(0..{count - 1}, or negative from the end), nor {MFCC_LAYER!r}."
        )
    return layer % count


def _resolve_feature_extractor(feature_extractor: Any, model_name: str | None) -> Wav2Vec2FeatureExtractor:
    # A processor (e.g. `CMTProcessor`) is accepted: its feature extractor prepares audio exactly as training does.
    feature_extractor = getattr(feature_extractor, "feature_extractor", feature_extractor)
    if feature_extractor is None and model_name is not None and Path(model_name, "preprocessor_config.json").is_file():
        feature_extractor = AutoFeatureExtractor.from_pretrained(model_name)
    if feature_extractor is None:
        logger.warning(
            "No feature extractor given: using Wav2Vec2FeatureExtractor() (16 kHz, zero mean / unit variance per "
            "utterance, as HuBERT-large). Pass the one your pretraining processor uses so that codes match its inputs."
        )
        feature_extractor = Wav2Vec2FeatureExtractor()
    if not isinstance(feature_extractor, Wav2Vec2FeatureExtractor):
        raise ValueError(
            f"Expected a Wav2Vec2FeatureExtractor (or a processor holding one), got {type(feature_extractor).__name__}."
        )
    return feature_extractor


def _source_column(dataset: Dataset, audio_column: str) -> str:
    # Precomputed `input_values` win: they are exactly what the pretraining collator pads.
    if "input_values" in dataset.column_names:
        return "input_values"
    if audio_column in dataset.column_names:
        return audio_column
    raise ValueError(
        f"The dataset has neither `input_values` nor an audio column {audio_column!r}; its columns are "
        f"{dataset.column_names}."
    )


def _undecoded(dataset: Dataset, column: str) -> Dataset:
    # datasets' own Audio decoding needs torchcodec + FFmpeg; read {"path", "bytes"} and decode with `load_audio`.
    feature = dataset.features[column]
    if isinstance(feature, Audio) and feature.decode:
        return dataset.cast_column(column, Audio(sampling_rate=feature.sampling_rate, decode=False))
    return dataset


def _prepare_waveforms(
    values: Sequence[Any],
    indices: Sequence[int],
    column: str,
    feature_extractor: Wav2Vec2FeatureExtractor | None,
    max_audio_seconds: float | None,
) -> list[np.ndarray]:
    """The normalised 1-D waveforms the backbone sees, as `CMTProcessor` makes them (or the given `input_values`)."""
    waveforms = []
    for value, index in zip(values, indices):
        name = f"{column}[{index}]"
        if column == "input_values":
            waveform = np.asarray(value, dtype=np.float32)
            if waveform.ndim != 1 or waveform.size == 0 or not np.isfinite(waveform).all():
                raise ValueError(f"{name}: expected a non-empty finite 1-D waveform, got shape {waveform.shape}.")
        else:
            waveform = load_audio(value, feature_extractor.sampling_rate, max_seconds=max_audio_seconds, name=name)
            waveform = feature_extractor(waveform, sampling_rate=feature_extractor.sampling_rate)["input_values"][0]
        waveforms.append(np.asarray(waveform, dtype=np.float32))
    return waveforms


def _feature_width(audio_model: PreTrainedModel, layer: int | str) -> int:
    return MFCC_DIM if layer == MFCC_LAYER else audio_model.config.hidden_size


def mfcc_frame_features(
    audio_config, waveforms: Sequence[np.ndarray], sampling_rate: int = 16000
) -> list[torch.Tensor]:
    """
    HuBERT's first-iteration features, one `(frames, 39)` float32 tensor per waveform: 13 MFCCs (Kaldi's 23 mel bins
    from 20 Hz, Hamming window) with their deltas and delta-deltas (5-frame regression, as torchaudio's
    `compute_deltas`), one per frame of the audio backbone. The window is the backbone's receptive field and the hop
    its total stride (400 and 320 samples, 25 and 20 ms, for HuBERT), without centring: MFCC frame t covers exactly
    the samples of backbone frame t, and there are `audio_frame_lengths` of them.

    Args:
        audio_config: the backbone's config (`conv_kernel`, `conv_stride`).
        waveforms (`Sequence[np.ndarray]`): 1-D float32 waveforms at `sampling_rate`.
        sampling_rate (`int`, *optional*, defaults to 16000): their rate (it places the mel bins).
    """
    window = audio_receptive_field(audio_config)
    hop = int(np.prod(audio_config.conv_stride))
    if window < MIN_MFCC_WINDOW_SECONDS * sampling_rate:
        raise ValueError(
            f"MFCC targets need backbone frames of at least {1e3 * MIN_MFCC_WINDOW_SECONDS:.0f} ms; this backbone's "
            f"receptive field is {window} samples ({1e3 * window / sampling_rate:.1f} ms at {sampling_rate} Hz)."
        )
    features = []
    for waveform in waveforms:
        waveform = np.asarray(waveform, dtype=np.float32)
        frames = int(audio_frame_lengths(audio_config, torch.tensor(waveform.size)))
        if frames == 0:
            features.append(torch.zeros(0, MFCC_DIM))
            continue
        mfcc = librosa.feature.mfcc(
            y=waveform, sr=sampling_rate, n_fft=window, hop_length=hop, center=False, **MFCC_KWARGS
        )  # (13, frames)
        deltas = librosa.feature.delta(mfcc, width=5, order=1, mode="nearest")
        delta_deltas = librosa.feature.delta(deltas, width=5, order=1, mode="nearest")
        stacked = np.concatenate([mfcc, deltas, delta_deltas]).T.astype(np.float32)
        if stacked.shape[0] != frames:  # the two framings are the same formula; guard the alignment anyway
            raise ValueError(f"MFCC framing gave {stacked.shape[0]} frames where the backbone gives {frames}.")
        features.append(torch.from_numpy(np.ascontiguousarray(stacked)))
    return features


@torch.no_grad()
def extract_frame_features(
    audio_model: PreTrainedModel, waveforms: Sequence[np.ndarray], layer: int | str, sampling_rate: int = 16000
) -> list[torch.Tensor]:
    """
    Frame features of one layer of an audio backbone, one `(frames, hidden_size)` float32 CPU tensor per waveform,
    with the padded frames cut off; for `layer="mfcc"`, the [`mfcc_frame_features`] of the backbone's frames
    (`(frames, 39)`, the backbone does not run).

    Models whose feature encoder uses layer norm (`feat_extract_norm="layer"`, e.g. HuBERT-large) run a padded
    batch with the sample-level attention mask; the others (group norm, e.g. HuBERT-base) are not meant to see an
    attention mask and their group norm would mix padding into every frame, so they run one utterance at a time.
    The frame counts come from `configuration_cmt.audio_frame_lengths`, the formula the collator checks codes with.

    Args:
        audio_model (`PreTrainedModel`): a wav2vec 2.0-family model (`AutoModel`), in eval mode.
        waveforms (`Sequence[np.ndarray]`): normalised 1-D float32 waveforms.
        layer (`int` or `"mfcc"`): index into `output_hidden_states` (0 = before the first transformer layer).
        sampling_rate (`int`, *optional*, defaults to 16000): the waveforms' rate, for MFCCs.
    """
    config = audio_model.config
    layer = _resolve_layer(audio_model, layer)
    if layer == MFCC_LAYER:
        return mfcc_frame_features(config, waveforms, sampling_rate)
    device = next(audio_model.parameters()).device
    dtype = next(audio_model.parameters()).dtype
    with_mask = getattr(config, "feat_extract_norm", "layer") == "layer"
    groups = [list(range(len(waveforms)))] if with_mask else [[index] for index in range(len(waveforms))]
    features: list[torch.Tensor | None] = [None] * len(waveforms)
    for group in groups:
        lengths = torch.tensor([len(waveforms[index]) for index in group])
        input_values = torch.zeros(len(group), int(lengths.max()), dtype=torch.float32)
        for row, index in enumerate(group):
            input_values[row, : lengths[row]] = torch.from_numpy(np.ascontiguousarray(waveforms[index]))
        attention_mask = (torch.arange(input_values.shape[1])[None, :] < lengths[:, None]).long()
        outputs = audio_model(
            input_values.to(device, dtype),
            attention_mask=attention_mask.to(device) if with_mask else None,
            output_hidden_states=True,
        )
        hidden = outputs.hidden_states[layer]  # (batch, frames, hidden)
        frame_lengths = audio_frame_lengths(config, lengths)
        expected = int(audio_frame_lengths(config, torch.tensor(input_values.shape[1])))
        if hidden.shape[1] != expected:
            raise ValueError(
                f"The audio model outputs {hidden.shape[1]} frames for {input_values.shape[1]} samples but "
                f"`audio_frame_lengths` gives {expected}: codes would not align with its frames (an adapter or a "
                "non-standard feature encoder?)."
            )
        for row, index in enumerate(group):
            features[index] = hidden[row, : frame_lengths[row]].float().cpu()
    return features


def _sampling_rate(feature_extractor: Wav2Vec2FeatureExtractor | None) -> int:
    # `input_values` columns come without a feature extractor: wav2vec 2.0-family models take 16 kHz.
    return 16000 if feature_extractor is None else int(feature_extractor.sampling_rate)


def _iter_batches(
    dataset: Dataset,
    column: str,
    batch_size: int,
    feature_extractor: Wav2Vec2FeatureExtractor | None,
    max_audio_seconds: float | None,
    indices: Sequence[int],
) -> Iterator[list[np.ndarray]]:
    for start in range(0, len(indices), batch_size):
        chunk = list(indices[start : start + batch_size])
        values = dataset.select(chunk)[column]
        yield _prepare_waveforms(values, chunk, column, feature_extractor, max_audio_seconds)


# ------------------------------------------------------------------------------------------------------- k-means


def fit_codebook(
    dataset: Dataset,
    audio_model: PreTrainedModel | str | os.PathLike,
    layer: int | str,
    num_codewords: int = 500,
    sample_size: int | None = None,
    batch_size: int = 8,
    feature_extractor: Wav2Vec2FeatureExtractor | None = None,
    audio_column: str = "audio",
    max_audio_seconds: float | None = None,
    max_frames_per_utterance: int | None = None,
    seed: int = 0,
    kmeans_kwargs: Mapping[str, Any] | None = None,
    show_progress: bool = True,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """
    Fits a HuBERT-style codebook: k-means over the frame features of one backbone layer (or over MFCCs of the
    backbone's frames) on a random sample of a corpus.

    Args:
        dataset (`datasets.Dataset`):
            The corpus: an `input_values` column (normalised waveforms, used as they are) or an audio column in any
            form [`load_audio`] reads (path, `{"array", "sampling_rate"}`, `{"path", "bytes"}`; a `datasets.Audio`
            column is read undecoded).
        audio_model (`PreTrainedModel`, `str` or `os.PathLike`):
            A wav2vec 2.0-family model (HuBERT, wav2vec 2.0, WavLM, ...) or its name or local path for `AutoModel`.
        layer (`int` or `"mfcc"`):
            Which of the model's `hidden_states` to cluster (0 = before the first transformer layer); `"mfcc"`
            clusters [`mfcc_frame_features`] instead, HuBERT's first-iteration targets, for a backbone whose layers
            carry nothing yet (random or from scratch), each coefficient standardised over the sample (the mean and
            std go to the metadata, `feature_mean` / `feature_std`, and the labeller applies them). Later
            iterations, and the paper with pretrained HuBERT, use a layer.
        num_codewords (`int`, *optional*, defaults to 500):
            K, HuBERT's default.
        sample_size (`int`, *optional*):
            Number of utterances drawn at random (without replacement) to fit on; all of them if not set.
        batch_size (`int`, *optional*, defaults to 8):
            Utterances per forward pass of the backbone.
        feature_extractor (`Wav2Vec2FeatureExtractor`, *optional*):
            Prepares the audio column (resampling rate, normalisation); a `CMTProcessor` works too. Pass the one of
            the pretraining processor. Defaults to the model's own (when `audio_model` is a local path holding one)
            or to `Wav2Vec2FeatureExtractor()`.
        audio_column (`str`, *optional*, defaults to `"audio"`):
            The audio column, when there is no `input_values` column.
        max_audio_seconds (`float`, *optional*):
            Keep only the first seconds of each utterance, as the processor's `max_audio_seconds`.
        max_frames_per_utterance (`int`, *optional*):
            Keep at most this many frames (at random) of each sampled utterance, to bound memory.
        seed (`int`, *optional*, defaults to 0):
            Seeds the utterance sample, the frame subsample and k-means.
        kmeans_kwargs (`Mapping[str, Any]`, *optional*):
            Overrides of the `MiniBatchKMeans` arguments (HuBERT's by default: k-means++ init, batch 10,000,
            `n_init=20`, `max_iter=100`, `max_no_improvement=100`, `reassignment_ratio=0`).
        show_progress (`bool`, *optional*, defaults to `True`):
            Show a progress bar over the sample.

    Returns:
        `tuple[torch.Tensor, dict[str, Any]]`: centroids `(num_codewords, hidden_size or 39)` float32 and metadata for
        [`save_codebook`] (`backbone`, `layer`, `num_codewords`, `num_utterances`, `num_frames`, `inertia`, ...).
    """
    audio_model, model_name = _resolve_audio_model(audio_model)
    layer = _resolve_layer(audio_model, layer)
    if num_codewords < 1:
        raise ValueError(f"`num_codewords` must be >= 1, got {num_codewords}.")
    if len(dataset) == 0:
        raise ValueError("Cannot fit a codebook on an empty dataset.")
    column = _source_column(dataset, audio_column)
    dataset = _undecoded(dataset.select_columns([column]), column)
    feature_extractor = None if column == "input_values" else _resolve_feature_extractor(feature_extractor, model_name)
    sampling_rate = _sampling_rate(feature_extractor)

    rng = np.random.default_rng(seed)
    size = len(dataset) if sample_size is None else min(int(sample_size), len(dataset))
    indices = sorted(rng.choice(len(dataset), size=size, replace=False).tolist())

    was_training = audio_model.training
    audio_model.eval()  # no dropout and no SpecAugment masking in the features
    chunks = []
    progress = tqdm(total=len(indices), desc="Backbone features", unit="utt", disable=not show_progress)
    try:
        for waveforms in _iter_batches(dataset, column, batch_size, feature_extractor, max_audio_seconds, indices):
            for frames in extract_frame_features(audio_model, waveforms, layer, sampling_rate):
                if max_frames_per_utterance is not None and frames.shape[0] > max_frames_per_utterance:
                    keep = np.sort(rng.choice(frames.shape[0], size=max_frames_per_utterance, replace=False))
                    frames = frames[torch.from_numpy(keep)]
                chunks.append(frames.numpy())
            progress.update(len(waveforms))
    finally:
        progress.close()
        audio_model.train(was_training)

    features = np.concatenate(chunks) if chunks else np.zeros((0, _feature_width(audio_model, layer)), np.float32)
    if features.shape[0] < num_codewords:
        raise ValueError(
            f"k-means with {num_codewords} codewords needs at least as many frames, but the {len(indices)} sampled "
            f"utterances give {features.shape[0]}; raise `sample_size` or lower `num_codewords`."
        )
    standardization = {}
    if layer == MFCC_LAYER:
        # Raw MFCCs are dominated by c0 (log energy, hundreds where the others are tens and the deltas units): it would
        # decide the k-means distances and point every centroid the same way, while the model scores codewords by
        # cosine. Each coefficient is standardised over the sample; the labeller applies the same statistics.
        mean, std = features.mean(axis=0), features.std(axis=0) + MFCC_STD_FLOOR
        features = (features - mean) / std
        standardization = {"feature_mean": mean.tolist(), "feature_std": std.tolist()}
    kmeans = MiniBatchKMeans(
        n_clusters=num_codewords, random_state=seed, **{**HUBERT_KMEANS_KWARGS, **(kmeans_kwargs or {})}
    )
    kmeans.fit(features)
    metadata = {
        "backbone": model_name,
        "model_type": audio_model.config.model_type,
        "layer": layer,
        "num_codewords": num_codewords,
        "num_utterances": len(indices),
        "num_frames": int(features.shape[0]),
        "seed": seed,
        "inertia_per_frame": float(kmeans.inertia_) / features.shape[0] if kmeans.inertia_ is not None else None,
        "sampling_rate": None if feature_extractor is None else int(feature_extractor.sampling_rate),
        **standardization,
    }
    return torch.from_numpy(kmeans.cluster_centers_.astype(np.float32)), metadata


def assign_codes(features: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """
    Nearest-centroid (Euclidean) codeword ids, as k-means assigns them.

    Args:
        features (`torch.Tensor`): `(frames, hidden_size)`.
        centroids (`torch.Tensor`): `(num_codewords, hidden_size)`.

    Returns:
        `torch.LongTensor` `(frames,)`.
    """
    if features.shape[-1] != centroids.shape[-1]:
        raise ValueError(
            f"Frame features have width {features.shape[-1]} but the codebook's centroids have width "
            f"{centroids.shape[-1]}."
        )
    features = features.float()
    centroids = centroids.to(features.device, torch.float32)
    # argmin ||x - c||^2 = argmin (||c||^2 - 2 x.c): ||x||^2 is the same for every centroid.
    distances = (centroids * centroids).sum(dim=1)[None, :] - 2.0 * features @ centroids.T  # (frames, K)
    return distances.argmin(dim=1)


# ------------------------------------------------------------------------------------------------------ labelling


def _model_fingerprint(audio_model: PreTrainedModel) -> str:
    """Hash of the weights, so that a cached labelling is only reused for the very same backbone."""
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in audio_model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def label_audio_codes(
    dataset: Dataset,
    audio_model: PreTrainedModel | str | os.PathLike,
    codebook: str | os.PathLike | torch.Tensor | tuple[torch.Tensor, Mapping[str, Any]],
    layer: int | None = None,
    batch_size: int = 8,
    feature_extractor: Wav2Vec2FeatureExtractor | None = None,
    audio_column: str = "audio",
    codes_column: str = "audio_codes",
    max_audio_seconds: float | None = None,
) -> Dataset:
    """
    Adds a column of codeword ids, one per backbone frame, with a batched `datasets.map`.

    Each utterance gets `audio_frame_lengths(audio_model.config, num_samples)` codes, the frames the backbone outputs
    for its own (unpadded) audio: what `DataCollatorForCMTPretraining` checks. Padded frames of a batch are never
    labelled. Codes are the nearest centroids (Euclidean, as k-means) computed in torch on the model's device.

    Args:
        dataset (`datasets.Dataset`):
            As for [`fit_codebook`]: `input_values` or an audio column.
        audio_model (`PreTrainedModel`, `str` or `os.PathLike`):
            The backbone the codebook was fitted on (or its name or local path).
        codebook (`str`, `os.PathLike`, `torch.Tensor` or `tuple`):
            A file from [`save_codebook`], its `(centroids, metadata)` from [`load_codebook`], or bare centroids
            `(num_codewords, hidden_size)`.
        layer (`int` or `"mfcc"`, *optional*):
            The `hidden_states` index (or `"mfcc"`); defaults to the codebook's recorded `layer` and must agree
            with it.
        batch_size (`int`, *optional*, defaults to 8):
            Utterances per `map` batch and per forward pass.
        feature_extractor (`Wav2Vec2FeatureExtractor`, *optional*):
            As for [`fit_codebook`]; use the pretraining processor's.
        audio_column (`str`, *optional*, defaults to `"audio"`):
            The audio column, when there is no `input_values` column.
        codes_column (`str`, *optional*, defaults to `"audio_codes"`):
            Name of the new column.
        max_audio_seconds (`float`, *optional*):
            Label only the first seconds of each utterance; must match the truncation applied at pretraining.

    Returns:
        `datasets.Dataset`: the dataset with `codes_column` (int16 or int32 lists) added.

    Raises:
        `ValueError`: if the codebook's width differs from the layer's hidden size, an MFCC codebook comes without its
        standardisation statistics, the layer disagrees with the codebook's, or an audio item cannot be read (naming
        it).
    """
    audio_model, model_name = _resolve_audio_model(audio_model)
    if isinstance(codebook, (str, os.PathLike)):
        centroids, metadata = load_codebook(codebook)
    elif isinstance(codebook, tuple):
        centroids, metadata = torch.as_tensor(codebook[0]), dict(codebook[1])
    else:
        centroids, metadata = torch.as_tensor(codebook), {}
    if layer is None:
        if "layer" not in metadata:
            raise ValueError("`layer` is not given and the codebook does not record one.")
        layer = metadata["layer"]
    layer = _resolve_layer(audio_model, layer)
    if "layer" in metadata and _resolve_layer(audio_model, metadata["layer"]) != layer:
        raise ValueError(f"`layer` {layer} differs from the layer the codebook was fitted on ({metadata['layer']}).")
    hidden_size = _feature_width(audio_model, layer)
    if centroids.ndim != 2 or centroids.shape[1] != hidden_size:
        raise ValueError(
            f"The codebook's centroids have shape {tuple(centroids.shape)}, width "
            f"{centroids.shape[-1] if centroids.ndim else None}, but layer {layer} of {model_name!r} has hidden size "
            f"{hidden_size}: the codebook was fitted on another backbone."
        )
    if metadata.get("backbone") not in (None, model_name):
        logger.warning(
            "The codebook was fitted on %r; labelling with %r. Make sure they are the same backbone.",
            metadata["backbone"],
            model_name,
        )

    standardization = None
    if layer == MFCC_LAYER:
        if "feature_mean" not in metadata or "feature_std" not in metadata:
            raise ValueError(
                "An MFCC codebook is fitted on standardised MFCCs and records their `feature_mean` and `feature_std` "
                "in its metadata; pass the codebook file or the `(centroids, metadata)` of `fit_codebook`."
            )
        standardization = (torch.tensor(metadata["feature_mean"]), torch.tensor(metadata["feature_std"]))

    column = _source_column(dataset, audio_column)
    original_feature = dataset.features[column]
    mapped = _undecoded(dataset, column)
    feature_extractor = None if column == "input_values" else _resolve_feature_extractor(feature_extractor, model_name)
    sampling_rate = _sampling_rate(feature_extractor)
    device = next(audio_model.parameters()).device
    centroids = centroids.to(device, torch.float32)

    def label(values: list[Any], indices: list[int]) -> dict[str, list[list[int]]]:
        waveforms = _prepare_waveforms(values, indices, column, feature_extractor, max_audio_seconds)
        frames = extract_frame_features(audio_model, waveforms, layer, sampling_rate)
        stacked = torch.cat(frames)
        if standardization is not None:
            stacked = (stacked - standardization[0]) / standardization[1]
        codes = assign_codes(stacked.to(device), centroids).cpu()
        return {codes_column: [row.tolist() for row in codes.split([len(f) for f in frames])]}

    features = mapped.features.copy()
    features[codes_column] = List(Value("int16" if centroids.shape[0] <= 2**15 else "int32"))
    fingerprint = hashlib.blake2b(
        json.dumps(
            [
                getattr(dataset, "_fingerprint", None),
                model_name,
                _model_fingerprint(audio_model),
                layer,
                hashlib.blake2b(centroids.cpu().numpy().tobytes()).hexdigest(),
                None if standardization is None else [t.tolist() for t in standardization],
                column,
                codes_column,
                max_audio_seconds,
                None if feature_extractor is None else feature_extractor.to_json_string(),
            ]
        ).encode(),
        digest_size=16,
    ).hexdigest()

    was_training = audio_model.training
    audio_model.eval()
    try:
        labelled = mapped.map(
            label,
            input_columns=[column],
            with_indices=True,
            batched=True,
            batch_size=batch_size,
            features=features,
            new_fingerprint=fingerprint,
            desc=f"Labelling {codes_column}",
        )
    finally:
        audio_model.train(was_training)
    if labelled.features[column] != original_feature:
        labelled = labelled.cast_column(column, original_feature)
    return labelled
