# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The paper's backbones as published load completely (issue #11 §5): on tiny checkpoints in the formats of
`FacebookAI/roberta-large` and `facebook/hubert-large-ll60k` (`published_backbones.py`), `from_text_audio_pretrained`
and `build_codebook.py` use every backbone weight, initialise only CMT's own layers and say so; a checkpoint missing a
backbone weight is an error, one with a weight the backbone does not have a warning naming it."""

import csv
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from published_backbones import (
    HUBERT_LARGE_LL60K_CONFIG,
    ROBERTA_LARGE_CONFIG,
    TINY_HUBERT_SIZES,
    TINY_ROBERTA_SIZES,
    effective_pos_conv_weight,
    write_hubert_large_checkpoint,
    write_roberta_large_checkpoint,
)
from transformers import HubertConfig, HubertModel, RobertaConfig, RobertaForMaskedLM

from modeling_cmt import CMTForPreTraining, CMTForSequenceClassification, CMTModel, load_pretrained_backbone


REPO_ROOT = Path(__file__).resolve().parent.parent
LOGGER = "modeling_cmt.modeling_cmt"
# torch.nn.utils.parametrizations.weight_norm's names for the legacy weight_norm's weight_g / weight_v
WEIGHT_NORM_NAMES = {"weight_g": "parametrizations.weight.original0", "weight_v": "parametrizations.weight.original1"}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """`{"text": (dir, state), "audio": (dir, state)}`: the two published-format checkpoints and what they hold."""
    directory = tmp_path_factory.mktemp("published")
    return {
        "text": (directory / "roberta-large", write_roberta_large_checkpoint(directory / "roberta-large", seed=1)),
        "audio": (
            directory / "hubert-large-ll60k",
            write_hubert_large_checkpoint(directory / "hubert-large-ll60k", seed=2),
        ),
    }


def as_text_model(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The file's backbone tensors under `RobertaModel`'s names: the `roberta.` prefix off, the MLM head left out."""
    return {key.removeprefix("roberta."): value for key, value in state.items() if key.startswith("roberta.")}


def as_audio_model(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The file's tensors under today's `HubertModel` names (the weight norm as a parametrization)."""
    renamed = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        renamed[f"{module}.{WEIGHT_NORM_NAMES[leaf]}" if leaf in WEIGHT_NORM_NAMES else key] = value
    return renamed


def assert_holds_exactly(module: torch.nn.Module, expected: dict[str, torch.Tensor]):
    """Every tensor of `module` is the checkpoint's, and every checkpoint tensor is in `module`."""
    state = module.state_dict()
    assert sorted(state) == sorted(expected)
    for key, value in expected.items():
        assert torch.equal(state[key], value), key


def cmt_records(caplog, level: int) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER and record.levelno == level]


# ------------------------------------------------------------------------------------------------- the fixtures


def test_fixtures_have_the_published_layouts(published):
    text_dir, text_state = published["text"]
    audio_dir, audio_state = published["audio"]
    assert sorted(path.name for path in text_dir.iterdir()) == ["config.json", "model.safetensors"]
    assert sorted(path.name for path in audio_dir.iterdir()) == [
        "config.json",
        "preprocessor_config.json",
        "pytorch_model.bin",
    ]
    # roberta-large: RobertaForMaskedLM under `roberta.`, its MLM head, no pooler, the tied decoder weight left out
    assert {key.split(".")[0] for key in text_state} == {"roberta", "lm_head"}
    assert sorted(key for key in text_state if key.startswith("lm_head.")) == [
        "lm_head.bias",
        "lm_head.dense.bias",
        "lm_head.dense.weight",
        "lm_head.layer_norm.bias",
        "lm_head.layer_norm.weight",
    ]
    assert not any("pooler" in key for key in text_state)
    assert len(text_state) == 5 + 16 * TINY_ROBERTA_SIZES["num_hidden_layers"] + 5
    # hubert-large-ll60k: the legacy weight norm, a layer-norm feature encoder with conv biases, HuBERT's mask embedding
    assert [key for key in audio_state if key.startswith("encoder.pos_conv_embed.")] == [
        "encoder.pos_conv_embed.conv.weight_g",
        "encoder.pos_conv_embed.conv.weight_v",
        "encoder.pos_conv_embed.conv.bias",
    ]
    kernel = TINY_HUBERT_SIZES["num_conv_pos_embeddings"]
    assert audio_state["encoder.pos_conv_embed.conv.weight_g"].shape == (1, 1, kernel)  # weight_norm(dim=2)
    assert "feature_extractor.conv_layers.6.layer_norm.weight" in audio_state
    assert "feature_extractor.conv_layers.6.conv.bias" in audio_state
    assert "encoder.layer_norm.weight" in audio_state and "masked_spec_embed" in audio_state
    # the same layouts as the classes they were saved from, up to the names transformers has changed since
    text_config = RobertaConfig(**{**ROBERTA_LARGE_CONFIG, **TINY_ROBERTA_SIZES})
    mlm_keys = {key for key in RobertaForMaskedLM(text_config).state_dict() if not key.startswith("lm_head.decoder.")}
    assert mlm_keys == set(text_state)
    audio_config = HubertConfig(**{**HUBERT_LARGE_LL60K_CONFIG, **TINY_HUBERT_SIZES})
    assert set(HubertModel(audio_config).state_dict()) == set(as_audio_model(audio_state))
    assert audio_config.feat_extract_norm == "layer" and audio_config.do_stable_layer_norm and audio_config.conv_bias


# ------------------------------------------------------------------------------------------ loading every weight


def test_load_pretrained_backbone_converts_the_legacy_weight_norm(published, caplog):
    audio_dir, audio_state = published["audio"]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        hubert = load_pretrained_backbone(audio_dir)
    assert isinstance(hubert, HubertModel)
    assert_holds_exactly(hubert, as_audio_model(audio_state))
    # the weight the convolution computes with is the one the checkpoint's g and v stand for
    torch.testing.assert_close(hubert.encoder.pos_conv_embed.conv.weight, effective_pos_conv_weight(audio_state))
    assert cmt_records(caplog, logging.INFO) == [
        f"Loaded HubertModel from {str(audio_dir)!r}: all {len(audio_state)} tensors from the checkpoint."
    ]


@pytest.mark.parametrize("model_class", [CMTForSequenceClassification, CMTForPreTraining, CMTModel])
def test_from_text_audio_pretrained_uses_every_published_weight(published, model_class, caplog):
    (text_dir, text_state), (audio_dir, audio_state) = published["text"], published["audio"]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        model = model_class.from_text_audio_pretrained(
            str(text_dir), str(audio_dir), preset="cmt-base", num_labels=4, cross_intermediate_size=48
        )
    base = model.base_model
    assert_holds_exactly(base.text_model, as_text_model(text_state))
    # for CMTForPreTraining too: HuBERT's own pretrained mask embedding is the audio MLM's starting point
    assert_holds_exactly(base.audio_model, as_audio_model(audio_state))
    torch.testing.assert_close(
        base.audio_model.encoder.pos_conv_embed.conv.weight, effective_pos_conv_weight(audio_state)
    )

    assert cmt_records(caplog, logging.WARNING) == []
    infos = cmt_records(caplog, logging.INFO)
    assert f"Not loaded from {str(text_dir)!r}, as CMT does not use them: " in infos[0]
    assert all(key in infos[0] for key in text_state if key.startswith("lm_head."))
    own = {
        CMTForSequenceClassification: "classifier, cmt.encoder",
        CMTForPreTraining: "audio_projection, cmt.encoder, codebook, codeword_embeddings, text_mlm_bias",
        CMTModel: "encoder",
    }[model_class]
    fresh = sum(
        p.numel() for name, p in model.state_dict().items() if "text_model." not in name and "audio_model." not in name
    )
    assert infos[-1] == (
        f"{model_class.__name__}: every weight of the text backbone {str(text_dir)!r} ({len(text_state) - 5} "
        f"tensors) and of the audio backbone {str(audio_dir)!r} ({len(audio_state)} tensors) loaded; freshly "
        f"initialised, CMT's own layers only: {own} ({fresh} values)."
    )


def test_pretraining_on_a_backbone_without_spec_augment_names_the_new_mask_embedding(tmp_path, published, caplog):
    """A backbone saved with `mask_time_prob=0` has no mask embedding: CMTForPreTraining adds one, and says so."""
    text_dir, _ = published["text"]
    audio_state = write_hubert_large_checkpoint(tmp_path / "hubert", mask_time_prob=0.0)
    assert "masked_spec_embed" not in audio_state
    with caplog.at_level(logging.INFO, logger=LOGGER):
        model = CMTForPreTraining.from_text_audio_pretrained(
            str(text_dir), str(tmp_path / "hubert"), cross_intermediate_size=48
        )
    loaded = {k: v for k, v in model.cmt.audio_model.state_dict().items() if k != "masked_spec_embed"}
    assert sorted(loaded) == sorted(as_audio_model(audio_state))
    assert all(torch.equal(loaded[key], value) for key, value in as_audio_model(audio_state).items())
    assert (
        "only: audio_projection, cmt.audio_model.masked_spec_embed, cmt.encoder, "
        in cmt_records(caplog, logging.INFO)[-1]
    )


# ------------------------------------------------------------------------------- missing and unexpected weights


@pytest.mark.parametrize(
    "modality, dropped, reported",
    [
        ("text", "roberta.encoder.layer.1.output.dense.bias", "encoder.layer.1.output.dense.bias"),
        ("text", "roberta.embeddings.LayerNorm.weight", "embeddings.LayerNorm.weight"),
        (
            "audio",
            "feature_extractor.conv_layers.0.layer_norm.bias",
            "feature_extractor.conv_layers.0.layer_norm.bias",
        ),
        (
            "audio",
            "encoder.pos_conv_embed.conv.weight_g",
            "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
        ),
        ("audio", "masked_spec_embed", "masked_spec_embed"),
    ],
)
def test_a_missing_backbone_weight_is_an_error(tmp_path, published, modality, dropped, reported):
    write = write_roberta_large_checkpoint if modality == "text" else write_hubert_large_checkpoint
    write(tmp_path / modality, drop=(dropped,))
    paths = {name: str(directory) for name, (directory, _) in published.items()} | {modality: str(tmp_path / modality)}
    pattern = rf"checkpoint {re.escape(repr(paths[modality]))} lacks weights .*: {re.escape(reported)}\. "
    with pytest.raises(ValueError, match=pattern):
        CMTForSequenceClassification.from_text_audio_pretrained(paths["text"], paths["audio"], num_labels=4)


def test_a_backbone_weight_in_another_shape_is_an_error(tmp_path):
    """Even where the caller lets transformers re-initialise mismatched weights (`ignore_mismatched_sizes=True`)."""
    write_hubert_large_checkpoint(tmp_path, extra={"encoder.layer_norm.bias": torch.zeros(5)})
    with pytest.raises(ValueError, match=r"encoder\.layer_norm\.bias \(checkpoint \(5,\), model \(32,\)\)"):
        load_pretrained_backbone(tmp_path, ignore_mismatched_sizes=True)


@pytest.mark.parametrize(
    "modality, extra",
    [
        ("text", "roberta.encoder.layer.0.attention.self.relative_bias.weight"),
        ("audio", "encoder.layers.1.attention.scale"),
    ],
)
def test_an_unexpected_backbone_weight_is_a_warning_naming_it(tmp_path, published, modality, extra, caplog):
    write = write_roberta_large_checkpoint if modality == "text" else write_hubert_large_checkpoint
    write(tmp_path / modality, extra={extra: torch.ones(3)})
    paths = {name: str(directory) for name, (directory, _) in published.items()} | {modality: str(tmp_path / modality)}
    with caplog.at_level(logging.INFO, logger=LOGGER):
        CMTForSequenceClassification.from_text_audio_pretrained(paths["text"], paths["audio"], num_labels=4)
    (warning,) = cmt_records(caplog, logging.WARNING)
    assert warning.startswith(f"The checkpoint {paths[modality]!r} has weights that ")
    assert f"which are NOT loaded: {extra}." in warning


def test_heads_cmt_never_uses_are_named_at_info_level(tmp_path, published, caplog):
    """A pooler (RoBERTa checkpoints saved as RobertaModel have one; CMT builds the text backbone without) is expected."""
    write_roberta_large_checkpoint(
        tmp_path,
        extra={"roberta.pooler.dense.weight": torch.ones(32, 32), "roberta.pooler.dense.bias": torch.ones(32)},
    )
    with caplog.at_level(logging.INFO, logger=LOGGER):
        load_pretrained_backbone(tmp_path)
    assert cmt_records(caplog, logging.WARNING) == []
    (heads, _) = cmt_records(caplog, logging.INFO)
    assert "lm_head.bias" in heads and "roberta.pooler.dense.bias, roberta.pooler.dense.weight" in heads


# ------------------------------------------------------------------------------------------- build_codebook.py


def hubert_from_file(directory: Path, state: dict[str, torch.Tensor]) -> HubertModel:
    """The checkpoint loaded by hand, with torch's own names for the weight norm (no transformers loading code)."""
    model = HubertModel(HubertConfig.from_pretrained(directory))
    model.load_state_dict(as_audio_model(state), strict=True)
    return model.eval()


def test_build_codebook_script_on_the_published_hubert(published, tmp_path, write_wav):
    """build_codebook.py fits its codebook on the published backbone with every weight loaded: the fingerprint it
    records is that of the checkpoint loaded by hand."""
    from processing_cmt.codebook import load_codebook
    from processing_cmt.codebook_provenance import backbone_fingerprint

    audio_dir, audio_state = published["audio"]
    rows = []
    for index in range(6):
        write_wav(tmp_path / f"utt{index}.wav", seconds=0.2 + 0.02 * index, seed=index)
        rows.append({"audio": f"utt{index}.wav", "text": f"utterance {index}"})
    with (tmp_path / "manifest.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["audio", "text"])
        writer.writeheader()
        writer.writerows(rows)
    output = tmp_path / "codebook.safetensors"
    command = [
        sys.executable, str(REPO_ROOT / "examples" / "build_codebook.py"),
        "--audio_model", str(audio_dir),
        "--layer", "1",
        "--num_codewords", "4",
        "--kmeans_n_init", "1",
        "--dataset", str(tmp_path / "manifest.csv"),
        "--output_path", str(output),
        "--device", "cpu",
    ]  # fmt: skip
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    _, metadata = load_codebook(output)
    reference = hubert_from_file(audio_dir, audio_state)
    assert metadata["backbone_fingerprint"] == backbone_fingerprint(reference)
    assert backbone_fingerprint(load_pretrained_backbone(audio_dir)) == backbone_fingerprint(reference)
