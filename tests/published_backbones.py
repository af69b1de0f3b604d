# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tiny checkpoints in the formats the paper's backbones are published in, written without transformers' saving code.

- `FacebookAI/roberta-large`: a `RobertaForMaskedLM` (`architectures` in its config.json), its weights under the
  `roberta.` prefix plus the MLM head `lm_head.*`, no pooler; `model.safetensors` as the Hub's conversion wrote it
  (the decoder weight, tied to the word embeddings, left out; metadata `{"format": "pt"}`).
- `facebook/hubert-large-ll60k`: a `HubertModel` saved by transformers 4.10 as `pytorch_model.bin` only, with the
  positional convolution's weight norm in the old `torch.nn.utils.weight_norm` names `weight_g` / `weight_v`, a
  layer-norm feature encoder (`feat_extract_norm="layer"`, `conv_bias=True`), stable layer norm and HuBERT's mask
  embedding `masked_spec_embed` (`mask_time_prob=0.05`); `preprocessor_config.json` beside it.

The key names are spelled out here from the published layouts (not taken from today's transformers classes), so a
test over them catches a transformers release that stops mapping them. The configs are the published config.json
values (written from those files, not downloaded: the tests never reach the Hub) with only the sizes made tiny.
Every tensor is random, layer-norm weights and biases included, so a weight re-initialised on loading never equals
the checkpoint's by chance.
"""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file


# config.json of FacebookAI/roberta-large
ROBERTA_LARGE_CONFIG = {
    "architectures": ["RobertaForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 1024,
    "initializer_range": 0.02,
    "intermediate_size": 4096,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 514,
    "model_type": "roberta",
    "num_attention_heads": 16,
    "num_hidden_layers": 24,
    "pad_token_id": 1,
    "type_vocab_size": 1,
    "vocab_size": 50265,
}
TINY_ROBERTA_SIZES = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "vocab_size": 99,
}

# config.json of facebook/hubert-large-ll60k
HUBERT_LARGE_LL60K_CONFIG = {
    "activation_dropout": 0.0,
    "apply_spec_augment": True,
    "architectures": ["HubertModel"],
    "attention_dropout": 0.1,
    "bos_token_id": 1,
    "conv_bias": True,
    "conv_dim": [512, 512, 512, 512, 512, 512, 512],
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "ctc_loss_reduction": "sum",
    "ctc_zero_infinity": False,
    "do_stable_layer_norm": True,
    "eos_token_id": 2,
    "feat_extract_activation": "gelu",
    "feat_extract_dropout": 0.0,
    "feat_extract_norm": "layer",
    "feat_proj_dropout": 0.1,
    "final_dropout": 0.1,
    "gradient_checkpointing": False,
    "hidden_act": "gelu",
    "hidden_dropout": 0.1,
    "hidden_size": 1024,
    "initializer_range": 0.02,
    "intermediate_size": 4096,
    "layer_norm_eps": 1e-05,
    "layerdrop": 0.1,
    "mask_feature_length": 10,
    "mask_feature_prob": 0.0,
    "mask_time_length": 10,
    "mask_time_prob": 0.05,
    "model_type": "hubert",
    "num_attention_heads": 16,
    "num_conv_pos_embedding_groups": 16,
    "num_conv_pos_embeddings": 128,
    "num_feat_extract_layers": 7,
    "num_hidden_layers": 24,
    "pad_token_id": 0,
    "torch_dtype": "float32",
    "transformers_version": "4.10.0.dev0",
    "vocab_size": 32,
}
# The seven convolutions keep their published kernels and strides (so the frame rate is HuBERT's); only widths shrink.
TINY_HUBERT_SIZES = {
    "conv_dim": [16, 16, 16, 16, 16, 16, 16],
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_conv_pos_embeddings": 16,
    "num_hidden_layers": 2,
}

# preprocessor_config.json of facebook/hubert-large-ll60k
HUBERT_LARGE_LL60K_PREPROCESSOR = {
    "do_normalize": True,
    "feature_extractor_type": "Wav2Vec2FeatureExtractor",
    "feature_size": 1,
    "padding_side": "right",
    "padding_value": 0,
    "return_attention_mask": True,
    "sampling_rate": 16000,
}


def roberta_large_layout(config: dict) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in roberta-large's `model.safetensors`, for a config of its format."""
    hidden, intermediate, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    layout = {
        "roberta.embeddings.word_embeddings.weight": (vocab, hidden),
        "roberta.embeddings.position_embeddings.weight": (config["max_position_embeddings"], hidden),
        "roberta.embeddings.token_type_embeddings.weight": (config["type_vocab_size"], hidden),
        "roberta.embeddings.LayerNorm.weight": (hidden,),
        "roberta.embeddings.LayerNorm.bias": (hidden,),
    }
    for index in range(config["num_hidden_layers"]):
        layer = f"roberta.encoder.layer.{index}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            layout[f"{layer}{name}.weight"], layout[f"{layer}{name}.bias"] = (hidden, hidden), (hidden,)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            layout[f"{layer}{name}.weight"], layout[f"{layer}{name}.bias"] = (hidden,), (hidden,)
        layout[f"{layer}intermediate.dense.weight"], layout[f"{layer}intermediate.dense.bias"] = (
            (intermediate, hidden),
            (intermediate,),
        )
        layout[f"{layer}output.dense.weight"], layout[f"{layer}output.dense.bias"] = (hidden, intermediate), (hidden,)
    layout.update(
        {
            "lm_head.dense.weight": (hidden, hidden),
            "lm_head.dense.bias": (hidden,),
            "lm_head.layer_norm.weight": (hidden,),
            "lm_head.layer_norm.bias": (hidden,),
            "lm_head.bias": (vocab,),
        }
    )
    return layout


def hubert_large_layout(config: dict) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in hubert-large-ll60k's `pytorch_model.bin`, for a config of its format."""
    hidden, intermediate, conv_dim = config["hidden_size"], config["intermediate_size"], config["conv_dim"]
    layout = {}
    for index, (width, kernel) in enumerate(zip(conv_dim, config["conv_kernel"])):
        layer = f"feature_extractor.conv_layers.{index}."
        layout[f"{layer}conv.weight"] = (width, conv_dim[index - 1] if index else 1, kernel)
        layout[f"{layer}conv.bias"] = (width,)
        layout[f"{layer}layer_norm.weight"], layout[f"{layer}layer_norm.bias"] = (width,), (width,)
    kernel, groups = config["num_conv_pos_embeddings"], config["num_conv_pos_embedding_groups"]
    layout.update(
        {
            "feature_projection.layer_norm.weight": (conv_dim[-1],),
            "feature_projection.layer_norm.bias": (conv_dim[-1],),
            "feature_projection.projection.weight": (hidden, conv_dim[-1]),
            "feature_projection.projection.bias": (hidden,),
            "masked_spec_embed": (hidden,),
            # torch.nn.utils.weight_norm(conv, dim=2): one magnitude per kernel position
            "encoder.pos_conv_embed.conv.weight_g": (1, 1, kernel),
            "encoder.pos_conv_embed.conv.weight_v": (hidden, hidden // groups, kernel),
            "encoder.pos_conv_embed.conv.bias": (hidden,),
            "encoder.layer_norm.weight": (hidden,),
            "encoder.layer_norm.bias": (hidden,),
        }
    )
    for index in range(config["num_hidden_layers"]):
        layer = f"encoder.layers.{index}."
        for name in ("k_proj", "v_proj", "q_proj", "out_proj"):
            layout[f"{layer}attention.{name}.weight"], layout[f"{layer}attention.{name}.bias"] = (
                (hidden, hidden),
                (hidden,),
            )
        for name in ("layer_norm", "final_layer_norm"):
            layout[f"{layer}{name}.weight"], layout[f"{layer}{name}.bias"] = (hidden,), (hidden,)
        layout[f"{layer}feed_forward.intermediate_dense.weight"] = (intermediate, hidden)
        layout[f"{layer}feed_forward.intermediate_dense.bias"] = (intermediate,)
        layout[f"{layer}feed_forward.output_dense.weight"] = (hidden, intermediate)
        layout[f"{layer}feed_forward.output_dense.bias"] = (hidden,)
    return layout


def _random_state(layout: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state = {name: torch.randn(shape, generator=generator) * 0.05 for name, shape in layout.items()}
    for name, tensor in state.items():
        if name.endswith(("LayerNorm.weight", "layer_norm.weight", "weight_g")):
            tensor.add_(1.0)  # near one, as trained norms and weight-norm magnitudes are
    return state


def _edit(state: dict[str, torch.Tensor], drop: tuple[str, ...], extra: dict[str, torch.Tensor] | None):
    for name in drop:
        del state[name]  # a KeyError here is a typo in the test
    state.update(extra or {})
    return state


def write_roberta_large_checkpoint(
    directory: str | Path,
    seed: int = 0,
    drop: tuple[str, ...] = (),
    extra: dict[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """
    Writes a tiny checkpoint in roberta-large's published format into `directory` (config.json, model.safetensors).

    Args:
        directory (`str` or `Path`): where to write; created if needed.
        seed (`int`, *optional*, defaults to 0): seeds the random weights.
        drop (`tuple[str, ...]`, *optional*): keys to leave out of the file (a damaged checkpoint).
        extra (`dict[str, torch.Tensor]`, *optional*): tensors to add to the file.

    Returns:
        `dict[str, torch.Tensor]`: the tensors written, by their names in the file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {**ROBERTA_LARGE_CONFIG, **TINY_ROBERTA_SIZES}
    (directory / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    state = _edit(_random_state(roberta_large_layout(config), seed), drop, extra)
    save_file(state, directory / "model.safetensors", metadata={"format": "pt"})
    return state


def write_hubert_large_checkpoint(
    directory: str | Path,
    seed: int = 0,
    drop: tuple[str, ...] = (),
    extra: dict[str, torch.Tensor] | None = None,
    **config_overrides,
) -> dict[str, torch.Tensor]:
    """
    Writes a tiny checkpoint in hubert-large-ll60k's published format into `directory` (config.json,
    preprocessor_config.json, pytorch_model.bin and no safetensors file).

    Args:
        directory (`str` or `Path`): where to write; created if needed.
        seed (`int`, *optional*, defaults to 0): seeds the random weights.
        drop (`tuple[str, ...]`, *optional*): keys to leave out of the file (a damaged checkpoint).
        extra (`dict[str, torch.Tensor]`, *optional*): tensors to add to the file.
        config_overrides: config.json values to change (e.g. `mask_time_prob=0.0`: a backbone without SpecAugment,
            whose file then has no `masked_spec_embed`).

    Returns:
        `dict[str, torch.Tensor]`: the tensors written, by their names in the file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {**HUBERT_LARGE_LL60K_CONFIG, **TINY_HUBERT_SIZES, **config_overrides}
    (directory / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (directory / "preprocessor_config.json").write_text(json.dumps(HUBERT_LARGE_LL60K_PREPROCESSOR, indent=2) + "\n")
    layout = hubert_large_layout(config)
    if not (config["mask_time_prob"] > 0 or config["mask_feature_prob"] > 0):
        del layout["masked_spec_embed"]  # HubertModel has no mask embedding without SpecAugment
    state = _edit(_random_state(layout, seed), drop, extra)
    torch.save(state, directory / "pytorch_model.bin")
    return state


def effective_pos_conv_weight(state: dict[str, torch.Tensor]) -> torch.Tensor:
    """The positional convolution's weight a weight-norm checkpoint stands for: g * v / ||v||, the norm over every
    dimension but the kernel position (`weight_norm(dim=2)`)."""
    magnitude, direction = state["encoder.pos_conv_embed.conv.weight_g"], state["encoder.pos_conv_embed.conv.weight_v"]
    return magnitude * direction / direction.norm(dim=(0, 1), keepdim=True)
