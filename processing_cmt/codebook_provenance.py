# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What made a codebook, and whether a backbone may label with it: the codeword targets of pretraining and TAPT must
come from the audio model, layer and normalisation that the codebook was fitted on (issue: TAPT once labelled with the
checkpoint's updated backbone, so its targets drifted from the pretraining's)."""

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, Wav2Vec2FeatureExtractor

from modeling_cmt.modeling_cmt import load_pretrained_backbone

from .frame_features import MFCC_LAYER, resolve_layer


logger = logging.getLogger(__name__)

# How `backbone_fingerprint` hashes; two fingerprints are compared only when made the same way.
FINGERPRINT_METHOD = "blake2b-128/float32-state-dict/v1"
# Weights that never reach the frame features of an unmasked, eval-mode pass: HuBERT's learned mask embedding, which
# CMT's audio MLM adds or trains, so that a backbone that differs only there still labels as the codebook's.
FINGERPRINT_EXCLUDED = ("masked_spec_embed",)


def backbone_fingerprint(audio_model: PreTrainedModel) -> str:
    """
    A fingerprint of an audio backbone's weights: equal for the same published backbone however it is loaded (from
    the Hub, a local copy, or inside a CMT model built from it), different for a backbone trained further (the audio
    backbone of a CMT checkpoint after pretraining).

    It is a 128-bit BLAKE2b over every parameter and buffer, as float32, in state-dict order, with its shape. Names are
    left out, as they change between transformers versions while values and order do not (the positional
    convolution's weight norm is `weight_g` / `weight_v` or `parametrizations.weight.original0/1`); so is HuBERT's
    mask embedding (`masked_spec_embed`), which never reaches the features of an unmasked pass and which CMT's audio
    MLM trains. A backbone loaded in another precision (bf16, fp16) has another fingerprint: its features differ too.

    Args:
        audio_model (`PreTrainedModel`): the backbone.

    Returns:
        `str`: 32 hex digits.
    """
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in audio_model.state_dict().items():
        if name.rsplit(".", 1)[-1] in FINGERPRINT_EXCLUDED:
            continue
        values = tensor.detach().to("cpu", torch.float32).contiguous()
        digest.update(repr(tuple(values.shape)).encode())
        digest.update(values.numpy().data)
    return digest.hexdigest()


def extractor_normalization(feature_extractor: Wav2Vec2FeatureExtractor) -> dict[str, Any]:
    """What of the feature extractor shapes the backbone's input: the rate and the per-utterance normalisation."""
    return {
        "sampling_rate": int(feature_extractor.sampling_rate),
        "do_normalize": bool(feature_extractor.do_normalize),
    }


def backbone_provenance(audio_model: PreTrainedModel, model_name: str) -> dict[str, Any]:
    config = audio_model.config
    local = Path(model_name)
    return {
        # The name as given may be relative to where the codebook was built: an absolute path finds it from elsewhere.
        "backbone_local_path": str(local.resolve()) if local.is_dir() else None,
        "backbone_fingerprint": backbone_fingerprint(audio_model),
        "fingerprint_method": FINGERPRINT_METHOD,
        "model_type": config.model_type,
        "conv_kernel": list(config.conv_kernel),
        "conv_stride": list(config.conv_stride),
    }


def _short(fingerprint: str | None) -> str:
    return f"{fingerprint[:12]}..." if fingerprint else "unknown"


def codebook_mismatches(
    metadata: Mapping[str, Any],
    audio_model: PreTrainedModel,
    layer: int | str | None = None,
    feature_extractor: Any = None,
    fingerprint: str | None = None,
) -> list[str]:
    """
    How labelling with `audio_model` would differ from what made a codebook: each difference as a phrase, none when
    its codes are the codebook's targets. What is compared is what the metadata records: the layer, and then the
    weights (`backbone_fingerprint`) for a layer codebook or only the framing (`conv_kernel` / `conv_stride`) for an
    MFCC one (MFCCs do not depend on the weights), the model type, and the audio normalisation of
    `feature_extractor` when one is given.

    Args:
        metadata (`Mapping[str, Any]`): the codebook's, from [`load_codebook`] or [`fit_codebook`].
        audio_model (`PreTrainedModel`): the would-be labeller.
        layer (`int` or `"mfcc"`, *optional*): the layer it would label from; the codebook's by default.
        feature_extractor (`Wav2Vec2FeatureExtractor` or a processor holding one, *optional*): what prepares (or
            prepared) its audio.
        fingerprint (`str`, *optional*): `backbone_fingerprint(audio_model)`, when already computed.

    Returns:
        `list[str]`: the differences, empty when there are none.
    """
    problems = []
    config = audio_model.config
    recorded_layer = metadata.get("layer")
    if recorded_layer is not None and layer is not None:
        if resolve_layer(audio_model, layer) != resolve_layer(audio_model, recorded_layer):
            problems.append(f"`layer` {layer} differs from the layer the codebook was fitted on ({recorded_layer})")
    effective_layer = recorded_layer if layer is None else layer
    if metadata.get("model_type") not in (None, config.model_type):
        problems.append(f"it is a {config.model_type!r} model, the codebook's is a {metadata['model_type']!r} one")
    if effective_layer == MFCC_LAYER:
        recorded = (metadata.get("conv_kernel"), metadata.get("conv_stride"))
        own = (list(config.conv_kernel), list(config.conv_stride))
        if None not in recorded and list(recorded) != list(own):
            problems.append(
                f"its feature encoder frames the audio with conv_kernel {own[0]} / conv_stride {own[1]}, the "
                f"codebook's backbone with {recorded[0]} / {recorded[1]}"
            )
    elif codebook_has_provenance(metadata):
        if metadata.get("fingerprint_method") != FINGERPRINT_METHOD:
            logger.warning(
                "The codebook's backbone fingerprint was made by %r, not %r: the labeller's weights are not checked.",
                metadata.get("fingerprint_method"),
                FINGERPRINT_METHOD,
            )
        else:
            fingerprint = fingerprint or backbone_fingerprint(audio_model)
            if fingerprint != metadata["backbone_fingerprint"]:
                problems.append(
                    f"its weights (fingerprint {_short(fingerprint)}) are not those of the codebook's backbone "
                    f"(fingerprint {_short(metadata['backbone_fingerprint'])}): another model, or the same one "
                    "trained further (as a CMT checkpoint's audio backbone is after pretraining)"
                )
    feature_extractor = getattr(feature_extractor, "feature_extractor", feature_extractor)
    recorded_normalization = metadata.get("feature_extractor")
    if feature_extractor is not None and recorded_normalization:
        own_normalization = extractor_normalization(feature_extractor)
        if own_normalization != {key: recorded_normalization.get(key) for key in own_normalization}:
            problems.append(
                f"its audio is prepared at {own_normalization['sampling_rate']} Hz with "
                f"do_normalize={own_normalization['do_normalize']}, the codebook's at "
                f"{recorded_normalization.get('sampling_rate')} Hz with "
                f"do_normalize={recorded_normalization.get('do_normalize')}"
            )
    return problems


def load_codebook_backbone(metadata: Mapping[str, Any], source: str = "The codebook") -> PreTrainedModel:
    """
    Loads the audio model a codebook was fitted on, from the absolute path recorded when it was a local folder that
    still exists, else from its name as given (a local path or a Hub id). [`label_audio_codes`] checks it against
    the recorded fingerprint.

    Args:
        metadata (`Mapping[str, Any]`): the codebook's, from [`load_codebook`].
        source (`str`, *optional*): how error messages name the codebook (e.g. `"Codebook 'codebook.safetensors'"`).

    Returns:
        `PreTrainedModel`: the backbone (`AutoModel`), in eval mode.

    Raises:
        `ValueError`: naming the model, when the metadata records none or it cannot be loaded.
    """
    backbone = metadata.get("backbone")
    if not backbone:
        raise ValueError(f"{source} does not record the audio model it was fitted on (`backbone`).")
    local = metadata.get("backbone_local_path")
    name = local if local and Path(local).is_dir() else backbone
    try:
        audio_model = load_pretrained_backbone(name)
    except OSError as error:  # a checkpoint that loads but is damaged raises its own error, naming the weights
        raise ValueError(
            f"{source} was fitted on the audio model {backbone!r}, which cannot be loaded here (neither a local "
            f"folder nor a Hub id within reach: {error}). Give that model explicitly, from where it is now."
        ) from error
    logger.info("Loaded %r, the audio model %s was fitted on.", name, source)
    return audio_model.eval()


def codebook_has_provenance(metadata: Mapping[str, Any]) -> bool:
    """Whether a codebook's metadata records a fingerprint of its audio model, which [`label_audio_codes`] checks
    (files from [`fit_codebook`] do; older files and hand-made metadata may not)."""
    return bool(metadata.get("backbone_fingerprint"))
