# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Frame-level features of an audio backbone, aligned with its frames, for the k-means codeword targets of the
cross-modal audio MLM (§3.2.2, HuBERT's targets): a hidden layer's output, or MFCCs of each frame's samples
(`layer="mfcc"`, HuBERT's first iteration, for a backbone that has learnt nothing yet)."""

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import torch
from datasets import Audio, Dataset
from transformers import AutoFeatureExtractor, PreTrainedModel, Wav2Vec2FeatureExtractor

from configuration_cmt import audio_frame_lengths, audio_receptive_field
from modeling_cmt.modeling_cmt import load_pretrained_backbone

from .audio_utils import load_audio


logger = logging.getLogger(__name__)

# `layer="mfcc"`: HuBERT's first-iteration targets, 13 MFCCs + deltas + delta-deltas per backbone frame.
MFCC_LAYER = "mfcc"
MFCC_DIM = 39
# Kaldi's MFCC defaults, which HuBERT's `dump_mfcc_feature.py` uses (through torchaudio): 23 mel bins from 20 Hz.
MFCC_KWARGS = {"n_mfcc": 13, "n_mels": 23, "fmin": 20.0, "window": "hamming"}
# Added to the per-coefficient std of MFCC codebooks, so that a constant coefficient does not divide by zero.
MFCC_STD_FLOOR = 1e-5
# The shortest backbone frame MFCCs are computed over: 16 ms (Kaldi's window is 25 ms, HuBERT's receptive field).
MIN_MFCC_WINDOW_SECONDS = 0.016


def resolve_audio_model(audio_model: PreTrainedModel | str | os.PathLike) -> tuple[PreTrainedModel, str]:
    if isinstance(audio_model, (str, os.PathLike)):
        name = str(audio_model)
        audio_model = load_pretrained_backbone(name)
    else:
        name = audio_model.config.name_or_path or type(audio_model).__name__
    if not hasattr(audio_model.config, "conv_kernel"):
        raise ValueError(
            f"The audio model {name!r} ({type(audio_model).__name__}) is not a wav2vec 2.0-family model with a "
            "convolutional feature encoder (`conv_kernel`/`conv_stride`), whose frames CMT aligns codes with."
        )
    return audio_model, name


def resolve_layer(audio_model: PreTrainedModel, layer: int | str) -> int | str:
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


def resolve_feature_extractor(
    feature_extractor: Any, model_name: str | None, recorded: Mapping[str, Any] | None = None
) -> Wav2Vec2FeatureExtractor:
    # A processor (e.g. `CMTProcessor`) is accepted: its feature extractor prepares audio exactly as training does.
    feature_extractor = getattr(feature_extractor, "feature_extractor", feature_extractor)
    if feature_extractor is None and recorded:
        # The codebook's own normalisation: the labeller then sees the audio as the k-means features did.
        feature_extractor = Wav2Vec2FeatureExtractor(
            sampling_rate=recorded["sampling_rate"], do_normalize=recorded["do_normalize"]
        )
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


def source_column(dataset: Dataset, audio_column: str) -> str:
    # Precomputed `input_values` win: they are exactly what the pretraining collator pads.
    if "input_values" in dataset.column_names:
        return "input_values"
    if audio_column in dataset.column_names:
        return audio_column
    raise ValueError(
        f"The dataset has neither `input_values` nor an audio column {audio_column!r}; its columns are "
        f"{dataset.column_names}."
    )


def undecoded(dataset: Dataset, column: str) -> Dataset:
    # datasets' own Audio decoding needs torchcodec + FFmpeg; read {"path", "bytes"} and decode with `load_audio`.
    feature = dataset.features[column]
    if isinstance(feature, Audio) and feature.decode:
        return dataset.cast_column(column, Audio(sampling_rate=feature.sampling_rate, decode=False))
    return dataset


def prepare_waveforms(
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


def feature_width(audio_model: PreTrainedModel, layer: int | str) -> int:
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
    layer = resolve_layer(audio_model, layer)
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


def extractor_sampling_rate(feature_extractor: Wav2Vec2FeatureExtractor | None) -> int:
    # `input_values` columns come without a feature extractor: wav2vec 2.0-family models take 16 kHz.
    return 16000 if feature_extractor is None else int(feature_extractor.sampling_rate)


def iter_batches(
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
        yield prepare_waveforms(values, chunk, column, feature_extractor, max_audio_seconds)
