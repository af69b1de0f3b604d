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

Codes are targets only for the features they were fitted on: the file records the backbone (name or path as given, and
a fingerprint of its weights), the layer, the audio normalisation, the sampling rate and the backbone's framing, and
[`label_audio_codes`] labels with that backbone by default and refuses any other (a checkpoint whose backbone was trained
further, another layer, another normalisation) unless `allow_codebook_mismatch=True`.
"""

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, List, Value
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from sklearn.cluster import MiniBatchKMeans
from tqdm.auto import tqdm
from transformers import PreTrainedModel, Wav2Vec2FeatureExtractor

from .codebook_provenance import (
    backbone_fingerprint,
    backbone_provenance,
    codebook_has_provenance,
    codebook_mismatches,
    extractor_normalization,
    load_codebook_backbone,
)
from .frame_features import (
    MFCC_LAYER,
    MFCC_STD_FLOOR,
    extract_frame_features,
    extractor_sampling_rate,
    feature_width,
    iter_batches,
    mfcc_frame_features,
    prepare_waveforms,
    resolve_audio_model,
    resolve_feature_extractor,
    resolve_layer,
    source_column,
    undecoded,
)


logger = logging.getLogger(__name__)

__all__ = [
    "assign_codes",
    "backbone_fingerprint",
    "codebook_has_provenance",
    "codebook_mismatches",
    "extract_frame_features",
    "fit_codebook",
    "label_audio_codes",
    "load_codebook",
    "load_codebook_backbone",
    "mfcc_frame_features",
    "save_codebook",
]

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
            `hidden_size` are filled in from `centroids`. [`fit_codebook`]'s metadata also holds what
            [`label_audio_codes`] checks the labeller against (`backbone_fingerprint`, `feature_extractor`,
            `conv_kernel` / `conv_stride`, ...); without `backbone_fingerprint` the file can only be used with its
            audio model named explicitly.

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
        `tuple[torch.Tensor, dict[str, Any]]`: float32 centroids `(num_codewords, hidden_size)` and the metadata:
        `backbone`, `layer`, `num_codewords`, `hidden_size` and, for a file from [`fit_codebook`], its provenance:
        `backbone_fingerprint` and `fingerprint_method` (see [`backbone_fingerprint`]), `backbone_local_path`,
        `model_type`, `conv_kernel` / `conv_stride` (the framing), `sampling_rate`, `feature_extractor` (the audio
        normalisation: `sampling_rate`, `do_normalize`) and, for `layer="mfcc"`, `feature_mean` / `feature_std`.
        A file without `backbone_fingerprint` (written before it was recorded) loads with a warning.
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
    if not codebook_has_provenance(metadata):
        logger.warning(
            "Codebook %r records no fingerprint of the audio model it was fitted on (it predates provenance "
            "records): its codes can only be checked by name, so labelling needs that model given explicitly "
            "(%r by its metadata). Rebuild it with build_codebook.py to have it checked.",
            str(path),
            metadata.get("backbone"),
        )
    return centroids.float(), metadata


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
        [`save_codebook`]: what made the codes (`backbone` as given, `backbone_fingerprint`, `backbone_local_path`,
        `model_type`, `conv_kernel` / `conv_stride`, `layer`, `sampling_rate`, `feature_extractor`), which
        [`label_audio_codes`] checks its labeller against, and the fit (`num_codewords`, `num_utterances`,
        `num_frames`, `inertia_per_frame`, `seed`).
    """
    audio_model, model_name = resolve_audio_model(audio_model)
    layer = resolve_layer(audio_model, layer)
    if num_codewords < 1:
        raise ValueError(f"`num_codewords` must be >= 1, got {num_codewords}.")
    if len(dataset) == 0:
        raise ValueError("Cannot fit a codebook on an empty dataset.")
    column = source_column(dataset, audio_column)
    dataset = undecoded(dataset.select_columns([column]), column)
    feature_extractor = None if column == "input_values" else resolve_feature_extractor(feature_extractor, model_name)
    sampling_rate = extractor_sampling_rate(feature_extractor)

    rng = np.random.default_rng(seed)
    size = len(dataset) if sample_size is None else min(int(sample_size), len(dataset))
    indices = sorted(rng.choice(len(dataset), size=size, replace=False).tolist())

    was_training = audio_model.training
    audio_model.eval()  # no dropout and no SpecAugment masking in the features
    chunks = []
    progress = tqdm(total=len(indices), desc="Backbone features", unit="utt", disable=not show_progress)
    try:
        for waveforms in iter_batches(dataset, column, batch_size, feature_extractor, max_audio_seconds, indices):
            for frames in extract_frame_features(audio_model, waveforms, layer, sampling_rate):
                if max_frames_per_utterance is not None and frames.shape[0] > max_frames_per_utterance:
                    keep = np.sort(rng.choice(frames.shape[0], size=max_frames_per_utterance, replace=False))
                    frames = frames[torch.from_numpy(keep)]
                chunks.append(frames.numpy())
            progress.update(len(waveforms))
    finally:
        progress.close()
        audio_model.train(was_training)

    features = np.concatenate(chunks) if chunks else np.zeros((0, feature_width(audio_model, layer)), np.float32)
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
        **backbone_provenance(audio_model, model_name),
        "layer": layer,
        "num_codewords": num_codewords,
        "num_utterances": len(indices),
        "num_frames": int(features.shape[0]),
        "seed": seed,
        "inertia_per_frame": float(kmeans.inertia_) / features.shape[0] if kmeans.inertia_ is not None else None,
        "sampling_rate": None if feature_extractor is None else int(feature_extractor.sampling_rate),
        # `input_values` come normalised by the caller: their normalisation is not known here
        "feature_extractor": None if feature_extractor is None else extractor_normalization(feature_extractor),
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


def label_audio_codes(
    dataset: Dataset,
    audio_model: PreTrainedModel | str | os.PathLike | None,
    codebook: str | os.PathLike | torch.Tensor | tuple[torch.Tensor, Mapping[str, Any]],
    layer: int | str | None = None,
    batch_size: int = 8,
    feature_extractor: Wav2Vec2FeatureExtractor | None = None,
    audio_column: str = "audio",
    codes_column: str = "audio_codes",
    max_audio_seconds: float | None = None,
    allow_codebook_mismatch: bool = False,
) -> Dataset:
    """
    Adds a column of codeword ids, one per backbone frame, with a batched `datasets.map`.

    Each utterance gets `audio_frame_lengths(audio_model.config, num_samples)` codes, the frames the backbone outputs
    for its own (unpadded) audio: what `DataCollatorForCMTPretraining` checks. Padded frames of a batch are never
    labelled. Codes are the nearest centroids (Euclidean, as k-means) computed in torch on the model's device.

    The codes are the codebook's targets only for the features it was fitted on: the labeller is checked against the
    codebook's record ([`codebook_mismatches`]: its weights' fingerprint, layer, framing, audio normalisation) and
    refused when it differs, unless `allow_codebook_mismatch=True`.

    Args:
        dataset (`datasets.Dataset`):
            As for [`fit_codebook`]: `input_values` or an audio column.
        audio_model (`PreTrainedModel`, `str`, `os.PathLike` or `None`):
            The backbone the codebook was fitted on (or its name or local path); `None` loads the one the codebook
            records ([`load_codebook_backbone`]), which a codebook without a fingerprint cannot do.
        codebook (`str`, `os.PathLike`, `torch.Tensor` or `tuple`):
            A file from [`save_codebook`], its `(centroids, metadata)` from [`load_codebook`], or bare centroids
            `(num_codewords, hidden_size)`.
        layer (`int` or `"mfcc"`, *optional*):
            The `hidden_states` index (or `"mfcc"`); defaults to the codebook's recorded `layer` and must agree
            with it.
        batch_size (`int`, *optional*, defaults to 8):
            Utterances per `map` batch and per forward pass.
        feature_extractor (`Wav2Vec2FeatureExtractor`, *optional*):
            As for [`fit_codebook`]; use the pretraining processor's. Defaults to the codebook's recorded
            normalisation. With `input_values`, the one that made them: it is only checked against the codebook's.
        audio_column (`str`, *optional*, defaults to `"audio"`):
            The audio column, when there is no `input_values` column.
        codes_column (`str`, *optional*, defaults to `"audio_codes"`):
            Name of the new column.
        max_audio_seconds (`float`, *optional*):
            Label only the first seconds of each utterance; must match the truncation applied at pretraining.
        allow_codebook_mismatch (`bool`, *optional*, defaults to `False`):
            Label with a model, layer or normalisation other than the codebook's, with a warning instead of an
            error (e.g. to label deliberately with a backbone trained further).

    Returns:
        `datasets.Dataset`: the dataset with `codes_column` (int16 or int32 lists) added.

    Raises:
        `ValueError`: if the labeller differs from what made the codebook (naming both), the codebook's width differs
        from the layer's hidden size, an MFCC codebook comes without its standardisation statistics, or an audio item
        cannot be read (naming it).
    """
    if isinstance(codebook, (str, os.PathLike)):
        source = f"Codebook {str(codebook)!r}"
        centroids, metadata = load_codebook(codebook)
    elif isinstance(codebook, tuple):
        source = "The codebook"
        centroids, metadata = torch.as_tensor(codebook[0]), dict(codebook[1])
    else:
        source = "The codebook"
        centroids, metadata = torch.as_tensor(codebook), {}
    if audio_model is None:
        if not codebook_has_provenance(metadata):
            raise ValueError(
                f"`audio_model` is not given and {source[0].lower()}{source[1:]} records no fingerprint of the model "
                f"it was fitted on: pass that model ({metadata.get('backbone')!r} by its metadata) explicitly."
            )
        audio_model = load_codebook_backbone(metadata, source)
    audio_model, model_name = resolve_audio_model(audio_model)
    if layer is None:
        if "layer" not in metadata:
            raise ValueError("`layer` is not given and the codebook does not record one.")
        layer = metadata["layer"]
    layer = resolve_layer(audio_model, layer)
    fingerprint = backbone_fingerprint(audio_model)
    mismatches = codebook_mismatches(metadata, audio_model, layer, feature_extractor, fingerprint=fingerprint)
    if mismatches:
        message = (
            f"{source} was fitted on layer {metadata.get('layer')} of {metadata.get('backbone')!r}, but the labeller "
            f"{model_name!r} (layer {layer}) would not give those features: {'; '.join(mismatches)}."
        )
        if not allow_codebook_mismatch:
            raise ValueError(
                f"{message} Its codes would not be the targets the codebook defines. Label with the codebook's own "
                "model (`audio_model=None` loads it), or pass `allow_codebook_mismatch=True` to label anyway."
            )
        logger.warning("%s Labelling anyway (allow_codebook_mismatch=True).", message)
    hidden_size = feature_width(audio_model, layer)
    if centroids.ndim != 2 or centroids.shape[1] != hidden_size:
        raise ValueError(
            f"The codebook's centroids have shape {tuple(centroids.shape)}, width "
            f"{centroids.shape[-1] if centroids.ndim else None}, but layer {layer} of {model_name!r} has hidden size "
            f"{hidden_size}: the codebook was fitted on another backbone."
        )
    if not codebook_has_provenance(metadata) and metadata.get("backbone") not in (None, model_name):
        logger.warning(
            "The codebook was fitted on %r; labelling with %r. Its metadata has no fingerprint to check that they "
            "are the same backbone: make sure they are.",
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

    column = source_column(dataset, audio_column)
    original_feature = dataset.features[column]
    mapped = undecoded(dataset, column)
    if column != "input_values":
        feature_extractor = resolve_feature_extractor(feature_extractor, model_name, metadata.get("feature_extractor"))
    else:
        feature_extractor = None  # `input_values` are used as they are; a given extractor was only checked
    sampling_rate = extractor_sampling_rate(feature_extractor)
    device = next(audio_model.parameters()).device
    centroids = centroids.to(device, torch.float32)

    def label(values: list[Any], indices: list[int]) -> dict[str, list[list[int]]]:
        waveforms = prepare_waveforms(values, indices, column, feature_extractor, max_audio_seconds)
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
                fingerprint,
                str(next(audio_model.parameters()).dtype),  # the fingerprint is of float32 weights
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
