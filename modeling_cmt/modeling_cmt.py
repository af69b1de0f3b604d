# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""PyTorch Cross-Modal Transformer (CMT) for audio-text speech emotion recognition and sentiment analysis.

Paper: "Cross-modal pretrained transformer for audio-text emotion and sentiment" (`shared/paper/cmt-paper.txt`).
A text backbone (RoBERTa) and an audio backbone (HuBERT) encode their modality; a symmetric cross-modal encoder
(§3.2.1, Eq. 1-5) lets each stream attend to the other modality's backbone output; the fused vector h_fuse (Eq. 6)
feeds the task heads, trained with the orthogonality regulariser of Eq. (7)-(8) (§3.4). Pretraining (§3.2.2) masks
text tokens (MLM) and audio frames (codeword prediction).
"""

import copy
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import MODEL_MAPPING, AutoConfig, AutoModel, PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.utils import ModelOutput

from configuration_cmt import CMTConfig, audio_frame_lengths, audio_receptive_field


logger = logging.getLogger(__name__)


@dataclass
class CMTModelOutput(ModelOutput):
    r"""
    Outputs of [`CMTModel`].

    Args:
        text_last_hidden_state (`torch.FloatTensor` of shape `(batch, text_len, text_hidden_size)`):
            h_w, the last cross-modal text states.
        audio_last_hidden_state (`torch.FloatTensor` of shape `(batch, frames, audio_hidden_size)`):
            h_a, the last cross-modal audio states.
        fused_output (`torch.FloatTensor` of shape `(batch, audio_hidden_size + text_hidden_size)`):
            h_fuse = h̄_a ⊕ h_w[CLS] (Eq. 6); h̄_a averages the audio states chosen by `audio_layer_pooling` over
            the valid frames.
        audio_mean (`torch.FloatTensor` of shape `(batch, audio_hidden_size)`):
            h̄_a of Eq. (6) and (7).
        text_mean (`torch.FloatTensor` of shape `(batch, text_hidden_size)`):
            h̄_w of Eq. (7): the last text states averaged over the valid tokens.
        audio_frame_mask (`torch.LongTensor` of shape `(batch, frames)`):
            1 on the audio frames that come from real samples, 0 on frames of padding (after the conv stack).
        text_hidden_states, audio_hidden_states (`tuple(torch.FloatTensor)`, *optional*):
            With `output_hidden_states=True`: the backbone output (h^[0]) then the output of every cross-modal block.
        text_attentions, audio_attentions (`tuple(torch.FloatTensor)`, *optional*):
            With `output_attentions=True`: self-attention weights (Eq. 1) of every block, `(batch, heads, q, k)`.
        text_cross_attentions, audio_cross_attentions (`tuple(torch.FloatTensor)`, *optional*):
            With `output_attentions=True`: cross-attention weights (Eq. 3) of every block.
    """

    text_last_hidden_state: torch.FloatTensor | None = None
    audio_last_hidden_state: torch.FloatTensor | None = None
    fused_output: torch.FloatTensor | None = None
    audio_mean: torch.FloatTensor | None = None
    text_mean: torch.FloatTensor | None = None
    audio_frame_mask: torch.LongTensor | None = None
    text_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    audio_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    text_attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_attentions: tuple[torch.FloatTensor, ...] | None = None
    text_cross_attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_cross_attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class CMTSequenceClassifierOutput(ModelOutput):
    r"""
    Outputs of [`CMTForSequenceClassification`] and [`CMTForSequenceRegression`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            L_FT = L_task + α·L_ortho (Eq. 8), when `labels` are given.
        logits (`torch.FloatTensor` of shape `(batch, num_labels)`):
            Classification scores (before softmax), or the regression output when `num_labels=1`.
        task_loss (`torch.FloatTensor` of shape `()`, *optional*):
            L_task: cross-entropy, MSE or BCE following `problem_type`.
        ortho_loss (`torch.FloatTensor` of shape `()`):
            L_ortho of Eq. (7), averaged over the batch (computed whether or not labels are given).
        fused_output (`torch.FloatTensor` of shape `(batch, audio_hidden_size + text_hidden_size)`):
            h_fuse (Eq. 6), the input of the head.
        text_hidden_states, audio_hidden_states, text_attentions, audio_attentions, text_cross_attentions,
        audio_cross_attentions: as in [`CMTModelOutput`].
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    task_loss: torch.FloatTensor | None = None
    ortho_loss: torch.FloatTensor | None = None
    fused_output: torch.FloatTensor | None = None
    text_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    audio_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    text_attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_attentions: tuple[torch.FloatTensor, ...] | None = None
    text_cross_attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_cross_attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class CMTForPreTrainingOutput(ModelOutput):
    r"""
    Outputs of [`CMTForPreTraining`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            L_tot = L_a + L_w (§3.2.2), the sum of the components that have labels.
        text_mlm_loss (`torch.FloatTensor` of shape `()`, *optional*):
            L_w, cross-entropy on the masked tokens.
        audio_mlm_loss (`torch.FloatTensor` of shape `()`, *optional*):
            L_a, cross-entropy of the codeword predictions on the masked frames.
        text_logits (`torch.FloatTensor` of shape `(num_masked_tokens, vocab_size)`, *optional*):
            Vocabulary scores at the masked tokens only (in batch-major order), which is all the loss reads; scoring
            every position would cost a (batch, tokens, vocab) tensor.
        audio_logits (`torch.FloatTensor` of shape `(num_masked_frames, num_codewords)`, *optional*):
            cos(projected frame, codeword) / temperature at the masked frames only.
        text_last_hidden_state, audio_last_hidden_state, audio_frame_mask: as in [`CMTModelOutput`].
        text_hidden_states, audio_hidden_states, text_attentions, audio_attentions, text_cross_attentions,
        audio_cross_attentions: as in [`CMTModelOutput`], with `output_hidden_states` / `output_attentions`.
    """

    loss: torch.FloatTensor | None = None
    text_mlm_loss: torch.FloatTensor | None = None
    audio_mlm_loss: torch.FloatTensor | None = None
    text_logits: torch.FloatTensor | None = None
    audio_logits: torch.FloatTensor | None = None
    text_last_hidden_state: torch.FloatTensor | None = None
    audio_last_hidden_state: torch.FloatTensor | None = None
    audio_frame_mask: torch.LongTensor | None = None
    text_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    audio_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    text_attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_attentions: tuple[torch.FloatTensor, ...] | None = None
    text_cross_attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_cross_attentions: tuple[torch.FloatTensor, ...] | None = None


def on_host(*tensors: torch.Tensor | None) -> bool:
    """Whether the value checks on these tensors are free: all on the CPU. On an accelerator, reading a value back
    (`.any()`, `.tolist()`) waits for the device every step, so the forward checks shapes only there; the processor
    and the collators check the same values on the host, where the data is."""
    return all(tensor is None or tensor.device.type == "cpu" for tensor in tensors)


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `states` (batch, length, dim) over the positions where `mask` (batch, length) is 1."""
    mask = mask.to(states.dtype).unsqueeze(-1)  # (batch, length, 1)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def key_padding_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Turns a (batch, kv_len) 1/0 padding mask into the additive (batch, 1, 1, kv_len) bias the attention adds."""
    bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    bias = bias.masked_fill(mask == 0, torch.finfo(dtype).min)
    return bias[:, None, None, :]


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    attn_weights = torch.matmul(query, key.transpose(2, 3)) * scaling  # (batch, heads, q_len, kv_len)
    if attention_mask is not None:
        attn_weights = attn_weights + attention_mask
    attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
    attn_weights = nn.functional.dropout(attn_weights, p=dropout, training=module.training)
    attn_output = torch.matmul(attn_weights, value).transpose(1, 2).contiguous()  # (batch, q_len, heads, head_dim)
    return attn_output, attn_weights


class CMTAttention(nn.Module):
    """Multi-head attention of one stream. As self-attention (Eq. 1) keys and values come from the stream; as
    cross-attention (Eq. 3) they come from the other modality's backbone output, whose width `kv_dim` may differ:
    then `k_proj`/`v_proj` map it to the stream's width (with equal widths no extra parameter exists)."""

    def __init__(self, config: CMTConfig, dim: int, kv_dim: int | None = None):
        super().__init__()
        self.config = config
        self.num_heads = config.num_cross_attention_heads
        self.head_dim = dim // self.num_heads
        self.scaling = self.head_dim**-0.5
        self.dropout = config.attention_probs_dropout_prob
        self.is_causal = False
        kv_dim = dim if kv_dim is None else kv_dim
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(kv_dim, dim)
        self.v_proj = nn.Linear(kv_dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(
        self,
        hidden_states: torch.Tensor,
        key_value_states: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`key_padding_mask` (batch, kv_len) is 1 on the keys to attend to."""
        batch_size, q_len, _ = hidden_states.shape
        kv_len = key_value_states.shape[1]
        query = self.q_proj(hidden_states).view(batch_size, q_len, -1, self.head_dim).transpose(1, 2)
        key = self.k_proj(key_value_states).view(batch_size, kv_len, -1, self.head_dim).transpose(1, 2)
        value = self.v_proj(key_value_states).view(batch_size, kv_len, -1, self.head_dim).transpose(1, 2)

        # fused kernels (sdpa) return no weights: fall back to eager when the weights are asked for
        implementation = "eager" if output_attentions else self.config._attn_implementation
        attention_interface: Callable = ALL_ATTENTION_FUNCTIONS.get_interface(implementation, eager_attention_forward)
        # the bias in the query's dtype: sdpa wants a float mask of its dtype, and under bf16/fp16 autocast the
        # projections are half precision while the residual stream is fp32
        bias = None if key_padding_mask is None else key_padding_bias(key_padding_mask, query.dtype)
        attn_output, attn_weights = attention_interface(
            self,
            query,
            key,
            value,
            bias,
            dropout=self.dropout if self.training else 0.0,
            scaling=self.scaling,
        )
        attn_output = self.out_proj(attn_output.reshape(batch_size, q_len, -1))  # (batch, q_len, dim)
        return attn_output, attn_weights


class CMTCrossModalLayer(GradientCheckpointingLayer):
    """One block of one stream of the cross-modal encoder, Eq. (1)-(5), post-LayerNorm as in the paper."""

    def __init__(self, config: CMTConfig, dim: int, other_dim: int):
        super().__init__()
        self.self_attention = CMTAttention(config, dim)
        self.self_attention_layer_norm = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.cross_attention = CMTAttention(config, dim, kv_dim=other_dim)
        self.cross_attention_layer_norm = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.intermediate = nn.Linear(dim, config.cross_intermediate_size)
        self.activation = ACT2FN[config.hidden_act]
        self.output = nn.Linear(config.cross_intermediate_size, dim)
        self.final_layer_norm = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        hidden_states: torch.Tensor,
        context: torch.Tensor,
        stream_mask: torch.Tensor | None = None,
        context_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        # Eq. (1)-(2): self-attention on the stream, residual + LN
        attended, self_weights = self.self_attention(hidden_states, hidden_states, stream_mask, output_attentions)
        hidden_states = self.self_attention_layer_norm(hidden_states + self.dropout(attended))
        # Eq. (3)-(4): the stream queries the other modality's backbone output (e_w for audio, e_a for text)
        attended, cross_weights = self.cross_attention(hidden_states, context, context_mask, output_attentions)
        hidden_states = self.cross_attention_layer_norm(hidden_states + self.dropout(attended))
        # Eq. (5): FFN, residual + LN
        ffn = self.output(self.dropout(self.activation(self.intermediate(hidden_states))))
        hidden_states = self.final_layer_norm(hidden_states + self.dropout(ffn))
        return hidden_states, self_weights, cross_weights


class CMTCrossModalEncoder(nn.Module):
    """The symmetric cross-modal encoding module (§3.2.1): a text-referred and an audio-referred stack of
    [`CMTCrossModalLayer`]. The cross-attention of every block reads the other modality's *backbone* output, not
    the other stream's evolving states, so the two stacks are independent given (e_w, e_a)."""

    def __init__(self, config: CMTConfig):
        super().__init__()
        text_dim, audio_dim = config.text_config.hidden_size, config.audio_config.hidden_size
        self.text_layers = nn.ModuleList(
            [CMTCrossModalLayer(config, text_dim, audio_dim) for _ in range(config.num_cross_layers)]
        )
        self.audio_layers = nn.ModuleList(
            [CMTCrossModalLayer(config, audio_dim, text_dim) for _ in range(config.num_cross_layers)]
        )

    @staticmethod
    def _run_stream(layers, states, context, stream_mask, context_mask, output_hidden_states, output_attentions):
        all_states = (states,) if output_hidden_states else None
        self_weights, cross_weights = ((), ()) if output_attentions else (None, None)
        for layer in layers:
            states, self_w, cross_w = layer(states, context, stream_mask, context_mask, output_attentions)
            if output_hidden_states:
                all_states += (states,)
            if output_attentions:
                self_weights += (self_w,)
                cross_weights += (cross_w,)
        return states, all_states, self_weights, cross_weights

    def forward(
        self,
        text_states: torch.Tensor,
        audio_states: torch.Tensor,
        text_mask: torch.Tensor,
        audio_mask: torch.Tensor,
        text_context: torch.Tensor | None = None,
        audio_context: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        need_all_audio_states: bool = False,
    ) -> dict:
        """
        Args:
            text_states (`(batch, text_len, d_w)`): h_w^[0], the input of the text stream (e_w, or e_w of the
                masked tokens during pretraining).
            audio_states (`(batch, frames, d_a)`): h_a^[0] (e_a, or e_a with masked frames during pretraining).
            text_mask, audio_mask (`(batch, text_len)`, `(batch, frames)`): 1 on valid positions.
            text_context, audio_context: keys/values of the cross-attentions: the audio stream reads `text_context`
                (defaults to `text_states`), the text stream reads `audio_context` (defaults to `audio_states`).
                Pretraining passes the unmasked embeddings here (§3.2.2).
        """
        text_context = text_states if text_context is None else text_context
        audio_context = audio_states if audio_context is None else audio_context
        text = self._run_stream(
            self.text_layers,
            text_states,
            audio_context,
            text_mask,
            audio_mask,
            output_hidden_states,
            output_attentions,
        )
        audio = self._run_stream(
            self.audio_layers,
            audio_states,
            text_context,
            audio_mask,
            text_mask,
            output_hidden_states or need_all_audio_states,
            output_attentions,
        )
        return {
            "text_last_hidden_state": text[0],
            "audio_last_hidden_state": audio[0],
            "text_hidden_states": text[1],
            "audio_hidden_states": audio[1],
            "text_attentions": text[2],
            "audio_attentions": audio[2],
            "text_cross_attentions": text[3],
            "audio_cross_attentions": audio[3],
        }


class CMTPreTrainedModel(PreTrainedModel):
    config: CMTConfig
    config_class = CMTConfig
    base_model_prefix = "cmt"
    main_input_name = "input_ids"
    input_modalities = ("text", "audio")
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = False
    _no_split_modules = ["CMTCrossModalLayer"]
    # the losses are per-batch means: let Trainer scale them for gradient accumulation
    accepts_loss_kwargs = False

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, CMTModel) and module.audio_layer_weights is not None:
            init.zeros_(module.audio_layer_weights)  # softmax of zeros: a plain average to start from
        elif isinstance(module, CMTForPreTraining):
            init.uniform_(module.cmt.audio_model.masked_spec_embed)  # as HuBERT initialises it
            init.zeros_(module.text_mlm_bias)
            init.normal_(module.codeword_embeddings, std=1.0)

    @classmethod
    def from_text_audio_pretrained(
        cls,
        text_model_name_or_path: str,
        audio_model_name_or_path: str,
        text_model_kwargs: dict | None = None,
        audio_model_kwargs: dict | None = None,
        **config_kwargs,
    ) -> "CMTPreTrainedModel":
        """Builds a CMT model whose backbones are loaded from two checkpoints (local folders or Hub ids) and whose
        cross-modal layers and heads are freshly initialised.

        Each backbone is loaded with [`load_pretrained_backbone`], so every one of its weights comes from its
        checkpoint (RoBERTa-large's `RobertaForMaskedLM` file and HuBERT-large's legacy weight-norm keys included);
        an info line then says how many tensors each backbone gave and names CMT's own, freshly initialised layers.

        Args:
            text_model_name_or_path (`str`): text backbone, e.g. `"FacebookAI/roberta-large"`.
            audio_model_name_or_path (`str`): audio backbone, e.g. `"facebook/hubert-large-ll60k"`.
            text_model_kwargs, audio_model_kwargs (`dict`, *optional*): passed to each backbone's `from_pretrained`
                (`revision`, `cache_dir`, `token`, ...).
            config_kwargs: [`CMTConfig`] fields (`num_cross_layers`, `num_labels`, `ortho_loss_weight`, ...); a
                `preset="cmt-base"|"cmt-large"` picks the paper's preset first.

        Raises:
            `ValueError`: naming the weights a backbone checkpoint lacks (or stores in another shape).

        Example:

        ```python
        >>> model = CMTForSequenceClassification.from_text_audio_pretrained(
        ...     "FacebookAI/roberta-large", "facebook/hubert-large-ll60k", preset="cmt-base", num_labels=4
        ... )
        ```"""
        text_config = AutoConfig.from_pretrained(text_model_name_or_path, **(text_model_kwargs or {}))
        audio_config = AutoConfig.from_pretrained(audio_model_name_or_path, **(audio_model_kwargs or {}))
        preset = config_kwargs.pop("preset", None)
        config_kwargs.update(text_config=text_config, audio_config=audio_config)
        config = CMTConfig.from_preset(preset, **config_kwargs) if preset else CMTConfig(**config_kwargs)
        model = cls(config)
        base = model.base_model
        prefix = "" if base is model else f"{model.base_model_prefix}."
        loaded, fresh_in_backbones = [], []
        for attribute, name, kwargs in (
            ("text_model", text_model_name_or_path, text_model_kwargs),
            ("audio_model", audio_model_name_or_path, audio_model_kwargs),
        ):
            if getattr(base, attribute) is None:
                continue
            state = load_pretrained_backbone(name, **(kwargs or {})).state_dict()
            missing, unexpected = getattr(base, attribute).load_state_dict(state, strict=False)
            # CMTForPreTraining adds a mask embedding to an audio backbone published without SpecAugment: CMT's own
            allowed = {"masked_spec_embed"} if attribute == "audio_model" else set()
            if unexpected or set(missing) - allowed:
                raise RuntimeError(
                    f"The {attribute.removesuffix('_model')} backbone {name!r} does not match the one CMT built from "
                    f"its config: missing {sorted(missing)}, unexpected {sorted(unexpected)}."
                )
            loaded.append(f"{attribute.removesuffix('_model')} backbone {name!r} ({len(state)} tensors)")
            fresh_in_backbones += [f"{prefix}{attribute}.{key}" for key in missing]
        # Everything outside the backbones was initialised by `cls(config)`: name it by its top-level module
        backbones = tuple(f"{prefix}{attribute}." for attribute in ("text_model", "audio_model"))
        own = {}
        for key, tensor in model.state_dict().items():
            if key.startswith(backbones) and key not in fresh_in_backbones:
                continue
            depth = 2 if prefix and key.startswith(prefix) else 1
            module = key if key in fresh_in_backbones else ".".join(key.split(".")[:depth])
            own[module] = own.get(module, 0) + tensor.numel()
        logger.info(
            "%s: every weight of the %s loaded; freshly initialised, CMT's own layers only: %s (%d values).",
            type(model).__name__,
            " and of the ".join(loaded),
            ", ".join(sorted(own)) or "none",
            sum(own.values()),
        )
        return model

    def freeze_feature_encoder(self):
        """Stops gradients into the audio backbone's convolutional feature encoder (as HuBERT fine-tuning does)."""
        if self.base_model.audio_model is not None:
            self.base_model.audio_model.feature_extractor.requires_grad_(False)

    def freeze_backbones(self):
        """Stops gradients into both backbones: only the cross-modal layers and heads train."""
        for backbone in (self.base_model.text_model, self.base_model.audio_model):
            if backbone is not None:
                backbone.requires_grad_(False)


def _backbone_kwargs(text_config) -> dict:
    """RoBERTa/BERT-style text models come with a pooler that CMT never uses: build them without it."""
    model_class = MODEL_MAPPING[type(text_config)]
    return {"add_pooling_layer": False} if "add_pooling_layer" in inspect.signature(model_class).parameters else {}


# Heads of published checkpoints that CMT never uses: MLM / CTC heads (RoBERTa-large's `lm_head`, BERT's `cls`), the
# pooler CMT builds its text backbone without, wav2vec 2.0's quantizer and contrastive projections, task classifiers.
UNUSED_BACKBONE_HEADS = {
    "lm_head",
    "cls",
    "pooler",
    "quantizer",
    "project_q",
    "project_hid",
    "classifier",
    "projector",
}


def load_pretrained_backbone(name_or_path: str | os.PathLike, **kwargs) -> PreTrainedModel:
    """
    Loads a pretrained text or audio backbone as [`CMTModel`] holds it ([`~transformers.AutoModel`], without the
    pooler CMT never uses) and checks that every one of its weights comes from the checkpoint.

    transformers loads what a published checkpoint stores in an older layout (RoBERTa-large's `RobertaForMaskedLM`
    keys under `roberta.`, HuBERT-large's weight-norm `weight_g` / `weight_v`), but a weight the checkpoint lacks is
    randomly initialised with no more than a log line, and one it has beyond the model is dropped. Here the first is
    an error; the second a warning, or an info line for the heads CMT never uses (`UNUSED_BACKBONE_HEADS`:
    RoBERTa-large's MLM head, a pooler, ...).

    Args:
        name_or_path (`str` or `os.PathLike`):
            A local folder or a Hub id, e.g. `"FacebookAI/roberta-large"`, `"facebook/hubert-large-ll60k"`.
        kwargs:
            Passed to `AutoConfig.from_pretrained` and `AutoModel.from_pretrained` (`revision`, `cache_dir`,
            `token`, ...).

    Returns:
        `PreTrainedModel`: the backbone, every weight from the checkpoint.

    Raises:
        `ValueError`: naming the weights the checkpoint lacks or stores in another shape.
    """
    name = str(name_or_path)
    config = kwargs["config"] if "config" in kwargs else AutoConfig.from_pretrained(name, **kwargs)
    backbone, info = AutoModel.from_pretrained(
        name, **{**_backbone_kwargs(config), **kwargs, "output_loading_info": True}
    )
    model_name = type(backbone).__name__
    mismatched = sorted(info["mismatched_keys"])
    if info["missing_keys"] or mismatched:
        shapes = [f"{key} (checkpoint {tuple(stored)}, model {tuple(wanted)})" for key, stored, wanted in mismatched]
        raise ValueError(
            f"The checkpoint {name!r} lacks weights that {model_name} needs, which would be randomly initialised: "
            f"{', '.join(sorted(info['missing_keys']) + shapes)}. Is it a complete {config.model_type} checkpoint, "
            "and its config.json the one it was saved with?"
        )
    unexpected = sorted(info["unexpected_keys"])
    base_prefix = f"{backbone.base_model_prefix}."
    heads = [key for key in unexpected if key.removeprefix(base_prefix).split(".")[0] in UNUSED_BACKBONE_HEADS]
    unknown = [key for key in unexpected if key not in heads]
    if unknown:
        logger.warning(
            "The checkpoint %r has weights that %s does not have, which are NOT loaded: %s. Check that its "
            "config.json matches the weights.",
            name,
            model_name,
            ", ".join(unknown),
        )
    if heads:
        logger.info("Not loaded from %r, as CMT does not use them: %s.", name, ", ".join(heads))
    logger.info("Loaded %s from %r: all %d tensors from the checkpoint.", model_name, name, len(backbone.state_dict()))
    return backbone


class CMTModel(CMTPreTrainedModel):
    """The bare CMT: text and audio backbones, the cross-modal encoder, and the fused vector h_fuse (Eq. 6)."""

    def __init__(self, config: CMTConfig):
        super().__init__(config)
        self.uses_text, self.uses_audio = config.modalities in ("audio_text", "text"), config.modalities != "text"
        self.text_model = (
            AutoModel.from_config(config.text_config, **_backbone_kwargs(config.text_config))
            if self.uses_text
            else None
        )
        self.audio_model = AutoModel.from_config(config.audio_config) if self.uses_audio else None
        self.encoder = CMTCrossModalEncoder(config)
        # width of h_fuse (Eq. 6); a single-modal baseline uses its own modality's pooled vector alone
        self.fused_size = (
            self.uses_audio * config.audio_config.hidden_size + self.uses_text * config.text_config.hidden_size
        )
        # §4.3.2 / Table 3: learned softmax weights over the cross-modal audio layers
        self.audio_layer_weights = (
            nn.Parameter(torch.zeros(config.num_cross_layers)) if config.audio_layer_pooling == "weighted" else None
        )
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.text_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module):
        self.text_model.set_input_embeddings(value)

    def _check_inputs(self, input_ids, attention_mask, input_values, audio_attention_mask):
        needed = (("input_ids", input_ids),) * self.uses_text + (("input_values", input_values),) * self.uses_audio
        missing = " and ".join(name for name, x in needed if x is None)
        if missing:
            raise ValueError(
                f"This model (modalities={self.config.modalities!r}) needs {missing}, which is missing (text "
                "`input_ids`, audio `input_values`)."
            )
        if not self.uses_audio:
            input_values = audio_attention_mask = None  # a text-only baseline ignores the audio, if given
        if not self.uses_text:
            input_ids = attention_mask = None
        if input_ids is not None and input_ids.dim() != 2:
            raise ValueError(f"`input_ids` must be (batch, tokens), got shape {tuple(input_ids.shape)}.")
        if input_values is not None and input_values.dim() != 2:
            raise ValueError(
                f"`input_values` must be (batch, samples) mono audio, got shape {tuple(input_values.shape)}."
            )
        if input_ids is not None and input_values is not None and input_ids.shape[0] != input_values.shape[0]:
            raise ValueError(
                f"Text and audio batch sizes differ: `input_ids` {tuple(input_ids.shape)} vs `input_values` "
                f"{tuple(input_values.shape)}."
            )
        for name, mask, ref_name, ref in (
            ("attention_mask", attention_mask, "input_ids", input_ids),
            ("audio_attention_mask", audio_attention_mask, "input_values", input_values),
        ):
            if mask is not None and ref is not None and mask.shape != ref.shape:
                raise ValueError(
                    f"`{name}` has shape {tuple(mask.shape)} but `{ref_name}` has shape {tuple(ref.shape)}."
                )
        if not on_host(input_ids, attention_mask, input_values, audio_attention_mask):
            return
        # Value checks, on the host only (see `on_host`): hand-built batches the processor would never make.
        if attention_mask is not None:
            empty = (attention_mask.sum(-1) == 0).nonzero().flatten().tolist()
            if empty:
                raise ValueError(
                    f"`attention_mask` of batch item(s) {empty} is all zeros: no token to read the transcript from. "
                    "Each transcript needs at least its `<s>` token marked 1."
                )
        if input_values is None:
            return
        if not torch.isfinite(input_values).all():
            bad = (~torch.isfinite(input_values)).any(-1).nonzero().flatten().tolist()
            raise ValueError(f"`input_values` of batch item(s) {bad} hold NaN or infinite samples.")
        if audio_attention_mask is not None:
            # The frame mask is rebuilt from the number of valid samples as a prefix (`audio_frame_mask`), so any
            # other mask (left padding, holes) would silently attend to padding and drop real audio.
            mask = audio_attention_mask != 0
            not_prefix = (mask[:, 1:] & ~mask[:, :-1]).any(-1).nonzero().flatten().tolist()
            if not_prefix:
                raise ValueError(
                    f"`audio_attention_mask` of batch item(s) {not_prefix} is not right-padded (a run of 1s, then "
                    "0s): CMT reads the audio's valid samples as a prefix. Pad audio on the right, as "
                    "`CMTProcessor.pad_audio` does."
                )
        sample_lengths = (
            audio_attention_mask.sum(-1)
            if audio_attention_mask is not None
            else torch.full((input_values.shape[0],), input_values.shape[1])
        )
        too_short = (audio_frame_lengths(self.config.audio_config, sample_lengths) < 1).nonzero().flatten().tolist()
        if too_short:
            raise ValueError(
                f"Audio of batch item(s) {too_short} has {sample_lengths[too_short].tolist()} valid samples, shorter "
                f"than the audio backbone's receptive field ({audio_receptive_field(self.config.audio_config)} samples)."
            )

    def embed_audio(
        self,
        input_values: torch.Tensor,
        audio_attention_mask: torch.Tensor | None,
        mask_time_indices: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio backbone output e_a (batch, frames, d_a) and its frame mask (batch, frames).

        `mask_time_indices` (batch, frames), for pretraining: the backbone replaces these frames of its CNN features
        with its learned mask embedding before its transformer (HuBERT's masking), and applies no SpecAugment of its
        own (an all-False mask switches it off)."""
        backbone_kwargs = {} if mask_time_indices is None else {"mask_time_indices": mask_time_indices.bool()}
        # The processor gives float32 audio; a model loaded in bfloat16 / float16 (`dtype=`) takes it in its own dtype,
        # as CLIP casts its pixel values: convolutions do not promote. A no-op under autocast (float32 weights).
        input_values = input_values.to(self.audio_model.dtype)
        audio_states = self.audio_model(
            input_values, attention_mask=audio_attention_mask, **backbone_kwargs
        ).last_hidden_state
        return audio_states, self.audio_frame_mask(input_values, audio_attention_mask)

    def audio_frame_mask(self, input_values: torch.Tensor, audio_attention_mask: torch.Tensor | None) -> torch.Tensor:
        """(batch, frames): 1 on the audio backbone's frames that come from real samples, from the lengths alone."""
        num_frames = int(audio_frame_lengths(self.config.audio_config, torch.tensor(input_values.shape[1])))
        if audio_attention_mask is None:
            return torch.ones(input_values.shape[0], num_frames, dtype=torch.long, device=input_values.device)
        frame_lengths = audio_frame_lengths(self.config.audio_config, audio_attention_mask.sum(-1))
        return (torch.arange(num_frames, device=input_values.device)[None, :] < frame_lengths[:, None]).long()

    def embed_text(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Text backbone output e_w (batch, tokens, d_w)."""
        kwargs = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        return self.text_model(input_ids=input_ids, attention_mask=attention_mask, **kwargs).last_hidden_state

    @staticmethod
    def first_token_state(text_states: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """h_w0: the state (batch, d_w) of each transcript's first valid token, its `<s>`/`[CLS]`.

        Read at the first 1 of the mask rather than at position 0, so that left-padded text (a tokenizer with
        `padding_side="left"`) gives the same vector as right-padded text; `argmax` finds it on the device, without
        reading the mask back to the host."""
        first = text_mask.ne(0).int().argmax(-1)  # (batch,): index of the first 1 (0 for a mask without padding)
        return text_states[torch.arange(text_states.shape[0], device=text_states.device), first]

    def fuse(
        self,
        encoded: dict,
        text_mask: torch.Tensor,
        audio_mask: torch.Tensor,
    ) -> dict:
        """h̄_a (audio states chosen by `audio_layer_pooling`, averaged over valid frames), h̄_w and h_fuse (Eq. 6)."""
        if self.uses_text:
            cls_state = self.first_token_state(encoded["text_last_hidden_state"], text_mask)  # (batch, d_w): h_w0
        if not self.uses_audio:  # text-only baseline: h_w0 alone
            return {
                "audio_mean": None,
                "text_mean": masked_mean(encoded["text_last_hidden_state"], text_mask),
                "fused_output": cls_state,
            }
        pooling = self.config.audio_layer_pooling
        if pooling == "last" or self.config.num_cross_layers == 0:
            audio_states = encoded["audio_last_hidden_state"]
        elif pooling == "weighted":
            layers = torch.stack(encoded["audio_hidden_states"][1:], dim=0)  # (layers, batch, frames, d_a)
            weights = self.audio_layer_weights.softmax(-1).to(layers.dtype)
            audio_states = (weights[:, None, None, None] * layers).sum(0)
        else:  # an index among the cross-modal layers, 1-based (negative from the last)
            audio_states = encoded["audio_hidden_states"][pooling if pooling > 0 else pooling]
        audio_mean = masked_mean(audio_states, audio_mask)  # (batch, d_a)
        if not self.uses_text:  # audio-only baseline: h̄_a alone
            return {"audio_mean": audio_mean, "text_mean": None, "fused_output": audio_mean}
        text_mean = masked_mean(encoded["text_last_hidden_state"], text_mask)  # (batch, d_w)
        return {
            "audio_mean": audio_mean,
            "text_mean": text_mean,
            "fused_output": torch.cat([audio_mean, cls_state], -1),
        }

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        input_values: torch.FloatTensor | None = None,
        audio_attention_mask: torch.LongTensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        token_type_ids: torch.LongTensor | None = None,
    ) -> CMTModelOutput | tuple:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch, tokens)`): token ids of the transcripts.
            attention_mask (`torch.LongTensor` of shape `(batch, tokens)`, *optional*): 1 on real tokens.
            input_values (`torch.FloatTensor` of shape `(batch, samples)`): raw mono audio at the feature
                extractor's rate (16 kHz for HuBERT), normalised as [`CMTProcessor`] does.
            audio_attention_mask (`torch.LongTensor` of shape `(batch, samples)`, *optional*): 1 on real samples.
            token_type_ids (`torch.LongTensor` of shape `(batch, tokens)`, *optional*): segment ids, for a text
                backbone that has them (BERT); RoBERTa's tokenizer returns none.

        An unknown keyword argument is a `TypeError` (a misspelled `audio_mask=` would otherwise run on padding).
        """
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        self._check_inputs(input_ids, attention_mask, input_values, audio_attention_mask)
        text_states = audio_states = frame_mask = None
        if self.uses_text:
            attention_mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
            text_states = self.embed_text(input_ids, attention_mask, token_type_ids)  # e_w: (batch, tokens, d_w)
        if self.uses_audio:
            audio_states, frame_mask = self.embed_audio(
                input_values, audio_attention_mask
            )  # e_a: (batch, frames, d_a)
        if self.uses_text and self.uses_audio:
            encoded = self.encoder(
                text_states,
                audio_states,
                attention_mask,
                frame_mask,
                output_hidden_states=output_hidden_states,
                output_attentions=output_attentions,
                need_all_audio_states=self.config.audio_layer_pooling != "last",
            )
        else:  # single-modal baseline: the backbone output is the final representation
            encoded = {
                "text_last_hidden_state": text_states,
                "audio_last_hidden_state": audio_states,
                "text_hidden_states": (text_states,) if self.uses_text else None,
                "audio_hidden_states": (audio_states,) if self.uses_audio else None,
            }
        fused = self.fuse(encoded, attention_mask, frame_mask)
        if not output_hidden_states:
            encoded["text_hidden_states"] = encoded["audio_hidden_states"] = None
        output = CMTModelOutput(**encoded, **fused, audio_frame_mask=frame_mask)
        return output if return_dict else output.to_tuple()


def orthogonality_loss(audio_mean: torch.Tensor, text_mean: torch.Tensor) -> torch.Tensor:
    """Eq. (7): |cos(h̄_a, h̄_w)|, averaged over the batch."""
    return F.cosine_similarity(audio_mean, text_mean, dim=-1).abs().mean()


class CMTForSequenceClassification(CMTPreTrainedModel):
    """CMT with a linear head on h_fuse (§3.4), for SER (cross-entropy) or SA (MSE with `num_labels=1`), trained with
    L_FT = L_task + α·L_ortho (Eq. 8). Unless `config.problem_type` says otherwise: regression when
    `num_labels == 1`, multi-label classification for `(batch, num_labels)` float labels, single-label
    classification otherwise (float `(batch,)` labels are then refused as likely regression scores)."""

    def __init__(self, config: CMTConfig):
        super().__init__(config)
        text_dim, audio_dim = config.text_config.hidden_size, config.audio_config.hidden_size
        if config.ortho_loss_weight > 0 and text_dim != audio_dim:
            raise ValueError(
                f"The orthogonality loss (Eq. 7) compares h̄_a and h̄_w, which needs equal widths, but the text backbone "
                f"has hidden_size {text_dim} and the audio backbone {audio_dim}: set `ortho_loss_weight=0`."
            )
        self.num_labels = config.num_labels
        self.cmt = CMTModel(config)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(self.cmt.fused_size, config.num_labels)
        self.post_init()

    def _problem_type(self, labels: torch.Tensor) -> str:
        if self.config.problem_type is not None:
            return self.config.problem_type
        if self.num_labels == 1:
            return "regression"
        # Only (batch, num_labels) float labels are multi-hot; (batch,) floats on a classification head are most
        # likely regression scores, which `task_loss` then refuses with a message saying so.
        if labels.is_floating_point() and labels.dim() == 2 and labels.shape[-1] == self.num_labels > 1:
            return "multi_label_classification"
        return "single_label_classification"

    def task_loss(self, logits: torch.Tensor, labels: Any) -> torch.Tensor:
        """
        L_task of Eq. (8): MSE for regression, cross-entropy for single-label and BCE-with-logits for multi-label
        classification (`problem_type`, or as [`~CMTForSequenceClassification._problem_type`] infers it).

        Args:
            logits (`torch.Tensor` of shape `(batch, num_labels)`): the head's output.
            labels (`torch.Tensor`, `np.ndarray` or `list`): class ids `(batch,)` (any integer dtype), scores
                `(batch,)` for regression, or multi-hot `(batch, num_labels)` for multi-label classification.

        Raises:
            `ValueError`: for labels of a dtype or shape the problem type cannot use (integer class ids on a
            regression head, float scores on a classification head), and, for labels on the CPU, NaN/infinite targets
            and class ids outside `0..num_labels - 1`.
        """
        if not isinstance(labels, torch.Tensor):
            try:  # a list or numpy array from a hand-written loop, as `Trainer` would have collated it
                labels = torch.as_tensor(labels, device=logits.device)
            except (TypeError, ValueError, RuntimeError) as error:
                raise ValueError(f"`labels` must be numbers, got {type(labels).__name__}: {error}") from error
        if labels.is_complex():
            raise ValueError(f"`labels` must be real numbers, got dtype {labels.dtype}.")
        if labels.dtype == torch.bool:  # multi-hot flags, or the class ids of a two-class head
            multi_hot = labels.dim() == 2 and labels.shape[-1] == self.num_labels > 1
            labels = labels.float() if multi_hot else labels.long()
        problem_type = self._problem_type(labels)
        if problem_type == "regression":
            if not labels.is_floating_point():
                raise ValueError(
                    f"Regression needs float `labels` (scores), got integer labels of dtype {labels.dtype}: are these "
                    f"class ids? Use CMTForSequenceClassification with `num_labels` classes for them; if they are "
                    "integer scores, cast them to float."
                )
            if labels.numel() != logits.shape[0] * self.num_labels:
                raise ValueError(
                    f"Regression `labels` of shape {tuple(labels.shape)} do not match logits {tuple(logits.shape)}."
                )
            self._check_finite(labels)
            return F.mse_loss(logits.squeeze(-1), labels.to(logits.dtype).view(logits.shape).squeeze(-1))
        if problem_type == "single_label_classification":
            if labels.is_floating_point():
                raise ValueError(
                    f"Single-label classification needs integer `labels` (class ids), got floats of shape "
                    f"{tuple(labels.shape)}: is this a regression dataset? Use `num_labels=1` for regression. For "
                    f"multi-label classification pass (batch, {self.num_labels}) labels or set "
                    "`problem_type='multi_label_classification'`."
                )
            if labels.numel() != logits.shape[0]:
                raise ValueError(
                    f"Single-label classification needs one class id per example, got `labels` of shape "
                    f"{tuple(labels.shape)} for {logits.shape[0]} examples."
                )
            out_of_range = (labels < 0) | (labels >= self.num_labels)
            if on_host(labels) and out_of_range.any():
                raise ValueError(
                    f"`labels` {labels[out_of_range].tolist()} are outside 0..{self.num_labels - 1} (num_labels)."
                )
            # cross_entropy takes int64 targets only; int32 / uint8 class ids are as good.
            return F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1).long())
        if labels.shape != logits.shape:
            raise ValueError(
                f"Multi-label classification needs `labels` of shape {tuple(logits.shape)} (one 0/1 per class), got "
                f"{tuple(labels.shape)}."
            )
        labels = labels.to(logits.dtype)
        self._check_finite(labels)
        if on_host(labels) and ((labels < 0) | (labels > 1)).any():
            raise ValueError("Multi-label `labels` must lie in [0, 1] (a probability per class).")
        return F.binary_cross_entropy_with_logits(logits, labels)

    @staticmethod
    def _check_finite(labels: torch.Tensor) -> None:
        if on_host(labels) and not torch.isfinite(labels).all():
            rows = (~torch.isfinite(labels)).reshape(labels.shape[0] if labels.dim() else 1, -1)  # (batch, -1)
            bad = rows.any(-1).nonzero().flatten().tolist()
            raise ValueError(f"`labels` of batch item(s) {bad} are NaN or infinite.")

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        input_values: torch.FloatTensor | None = None,
        audio_attention_mask: torch.LongTensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        token_type_ids: torch.LongTensor | None = None,
    ) -> CMTSequenceClassifierOutput | tuple:
        r"""
        Args:
            input_ids, attention_mask, input_values, audio_attention_mask, token_type_ids: as in [`CMTModel`].
            labels (`torch.Tensor` of shape `(batch,)`, *optional*): class ids (classification, any integer dtype)
                or float scores (regression, e.g. CMU-MOSEI sentiment in [-3, 3]); `(batch, num_labels)` floats in
                [0, 1] for multi-label classification. Lists and numpy arrays are taken too.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.cmt(
            input_ids,
            attention_mask,
            input_values,
            audio_attention_mask,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            token_type_ids=token_type_ids,
        )
        logits = self.classifier(self.dropout(outputs.fused_output))  # (batch, num_labels)
        ortho_loss = None
        if outputs.audio_mean is not None and outputs.text_mean is not None:
            if outputs.audio_mean.shape[-1] == outputs.text_mean.shape[-1]:
                ortho_loss = orthogonality_loss(outputs.audio_mean, outputs.text_mean)
        loss = task_loss = None
        if labels is not None:
            task_loss = self.task_loss(logits, labels)
            loss = task_loss
            if self.config.ortho_loss_weight > 0:
                loss = task_loss + self.config.ortho_loss_weight * ortho_loss  # Eq. (8)
        output = CMTSequenceClassifierOutput(
            loss=loss,
            logits=logits,
            task_loss=task_loss,
            ortho_loss=ortho_loss,
            fused_output=outputs.fused_output,
            text_hidden_states=outputs.text_hidden_states,
            audio_hidden_states=outputs.audio_hidden_states,
            text_attentions=outputs.text_attentions,
            audio_attentions=outputs.audio_attentions,
            text_cross_attentions=outputs.text_cross_attentions,
            audio_cross_attentions=outputs.audio_cross_attentions,
        )
        return output if return_dict else output.to_tuple()


class CMTForSequenceRegression(CMTForSequenceClassification):
    """CMT for sentiment regression (CMU-MOSEI scores in [-3, 3]): one output, MSE task loss, plus α·L_ortho."""

    def __init__(self, config: CMTConfig):
        default_names = {f"LABEL_{i}" for i in range(config.num_labels)}
        if config.num_labels != 1 and set(config.id2label.values()) != default_names:
            raise ValueError(
                f"CMTForSequenceRegression predicts one score, but the config names {config.num_labels} classes "
                f"{list(config.id2label.values())}: is this a classification checkpoint? Use "
                "CMTForSequenceClassification for it."
            )
        if config.problem_type not in (None, "regression"):
            raise ValueError(f"CMTForSequenceRegression needs problem_type='regression', got {config.problem_type!r}.")
        config = copy.deepcopy(config)  # the caller's config stays as it was
        config.num_labels, config.problem_type = 1, "regression"
        super().__init__(config)


class CMTForPreTraining(CMTPreTrainedModel):
    """CMT with the cross-modal masked pretraining heads of §3.2.2 (also used for task-adaptive pretraining, §3.3).

    - Text MLM: the text stream reads the backbone output of the *masked* tokens and cross-attends to the unmasked
      audio embeddings e_a; a linear output layer (sharing its weight with the input word embeddings, as RoBERTa's
      LM head does) predicts the masked tokens; L_w is their cross-entropy.
    - Audio MLM: the masked frames are masked at the audio backbone's *input*, as text tokens are at RoBERTa's: HuBERT
      replaces their CNN features by its learned mask embedding (`masked_spec_embed`, HuBERT's own pretraining
      masking) before its transformer, so no unmasked frame carries the masked audio into the prediction ("forces the
      model to learn the masked audio frames based on global audio information rather than the local information from
      the neighbouring audio frames"). The audio stream reads that output and cross-attends to the embeddings of the
      *unmasked* tokens (the text backbone runs a second time on them, recovered from `input_ids` and `labels`); a
      projection of each output frame is scored against the codeword embeddings by cosine similarity divided by
      `logit_temperature`, as HuBERT does; L_a is the cross-entropy on the masked frames.
    - Mirrored, the text stream's keys and values are e_a of the *unmasked* audio: the audio backbone runs a second
      time, without the mask (with gradients unless `config.audio_context_gradients=False`).
    - L_tot = L_a + L_w.

    The masks come from [`DataCollatorForCMTPretraining`]. The codeword embeddings can start from k-means centroids
    ([`set_codebook`]); the centroids are kept in the `codebook` buffer, saved with the model.
    """

    def __init__(self, config: CMTConfig):
        if config.modalities != "audio_text":
            raise ValueError(f"Cross-modal pretraining needs both modalities, got modalities={config.modalities!r}.")
        super().__init__(config)
        audio_dim = config.audio_config.hidden_size
        self.cmt = CMTModel(config)
        audio_model = self.cmt.audio_model
        if not getattr(audio_model.config, "apply_spec_augment", True):
            raise ValueError(
                "Cross-modal audio MLM masks frames through the audio backbone's `mask_time_indices`, which "
                "`audio_config.apply_spec_augment=False` switches off: set it to True (SpecAugment during fine-tuning "
                "still follows `audio_config.mask_time_prob`)."
            )
        if getattr(audio_model, "masked_spec_embed", None) is None:
            # HuBERT creates its mask embedding only when it does SpecAugment (mask_time_prob > 0)
            audio_model.masked_spec_embed = nn.Parameter(torch.empty(audio_dim))
        self.text_mlm_bias = nn.Parameter(torch.zeros(config.text_config.vocab_size))
        self.audio_projection = nn.Linear(audio_dim, config.codeword_dim)
        self.codeword_embeddings = nn.Parameter(torch.empty(config.num_codewords, config.codeword_dim))
        self.register_buffer("codebook", torch.zeros(config.num_codewords, config.codeword_dim))
        self.post_init()

    # checkpoints from before the mask moved to the backbone's input carry the post-backbone mask vector
    _keys_to_ignore_on_load_unexpected = [r"^masked_audio_embed$"]

    def resize_token_embeddings(
        self, new_num_tokens=None, pad_to_multiple_of=None, mean_resizing=True
    ) -> nn.Embedding:
        """[`~transformers.PreTrainedModel.resize_token_embeddings`], and the MLM output bias with it (the output
        layer's weight is the input word embeddings themselves, so it follows)."""
        embeddings = super().resize_token_embeddings(new_num_tokens, pad_to_multiple_of, mean_resizing)
        old_bias = self.text_mlm_bias
        new_size = embeddings.weight.shape[0]
        if old_bias.shape[0] != new_size:
            new_bias = torch.zeros(new_size, dtype=old_bias.dtype, device=old_bias.device)
            kept = min(new_size, old_bias.shape[0])
            new_bias[:kept] = old_bias.detach()[:kept]
            self.text_mlm_bias = nn.Parameter(new_bias, requires_grad=old_bias.requires_grad)
        return embeddings

    @torch.no_grad()
    def set_codebook(self, centroids: torch.Tensor):
        """Keeps the k-means `centroids` (num_codewords, codeword_dim) and starts the codeword embeddings from them."""
        expected = (self.config.num_codewords, self.config.codeword_dim)
        if tuple(centroids.shape) != expected:
            raise ValueError(
                f"The codebook has shape {tuple(centroids.shape)} but the model expects (num_codewords, codeword_dim) "
                f"= {expected}: build the config with num_codewords={centroids.shape[0]} and "
                f"codeword_dim={centroids.shape[-1]}."
            )
        self.codebook.copy_(centroids)
        self.codeword_embeddings.copy_(centroids)

    def _check_pretraining_inputs(self, labels, input_ids, audio_labels, mask_time_indices, frame_mask):
        if labels is not None and labels.shape != input_ids.shape:
            raise ValueError(f"`labels` has shape {tuple(labels.shape)} but `input_ids` has {tuple(input_ids.shape)}.")
        for name, tensor in (("mask_time_indices", mask_time_indices), ("audio_labels", audio_labels)):
            if tensor is not None and tensor.shape != frame_mask.shape:
                raise ValueError(
                    f"`{name}` has shape {tuple(tensor.shape)} but the audio backbone outputs (batch, frames) = "
                    f"{tuple(frame_mask.shape)}: codes and masks must be aligned with the backbone's frames."
                )
        if audio_labels is not None and mask_time_indices is None:
            raise ValueError("`audio_labels` need `mask_time_indices` (DataCollatorForCMTPretraining returns both).")
        if not on_host(mask_time_indices, audio_labels):
            return
        if mask_time_indices is not None and (mask_time_indices.bool() & (frame_mask == 0)).any():
            raise ValueError("`mask_time_indices` masks padded audio frames.")
        if audio_labels is not None:
            targets = audio_labels[mask_time_indices.bool()]
            if ((targets < 0) | (targets >= self.config.num_codewords)).any():
                raise ValueError(
                    f"`audio_labels` at masked frames must be codeword ids in 0..{self.config.num_codewords - 1}, "
                    f"got {targets[(targets < 0) | (targets >= self.config.num_codewords)].unique().tolist()}."
                )

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        input_values: torch.FloatTensor | None = None,
        audio_attention_mask: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        audio_labels: torch.LongTensor | None = None,
        mask_time_indices: torch.BoolTensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        token_type_ids: torch.LongTensor | None = None,
    ) -> CMTForPreTrainingOutput | tuple:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch, tokens)`): token ids after MLM masking.
            attention_mask, input_values, audio_attention_mask: as in [`CMTModel`].
            labels (`torch.LongTensor` of shape `(batch, tokens)`, *optional*): the original ids at masked tokens,
                -100 elsewhere. The unmasked text is `where(labels != -100, labels, input_ids)`.
            audio_labels (`torch.LongTensor` of shape `(batch, frames)`, *optional*): one codeword id per backbone
                frame, -100 on padding.
            mask_time_indices (`torch.BoolTensor` of shape `(batch, frames)`, *optional*): the masked audio frames.
            output_attentions, output_hidden_states, token_type_ids: as in [`CMTModel`].
        """
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        cmt = self.cmt
        cmt._check_inputs(input_ids, attention_mask, input_values, audio_attention_mask)
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        batch_size = input_ids.shape[0]
        frame_mask = cmt.audio_frame_mask(input_values, audio_attention_mask)
        self._check_pretraining_inputs(labels, input_ids, audio_labels, mask_time_indices, frame_mask)

        text_masked = labels is not None and bool((labels != -100).any())
        if text_masked:
            # e_w of the masked tokens (the text stream's input) and of the unmasked ones (the audio stream's keys and
            # values), in one backbone call over both batches: one embedding gradient instead of two dense ones, and
            # matmuls twice as tall
            unmasked_ids = torch.where(labels != -100, labels, input_ids)
            token_types = None if token_type_ids is None else token_type_ids.repeat(2, 1)
            both = cmt.embed_text(torch.cat([input_ids, unmasked_ids]), attention_mask.repeat(2, 1), token_types)
            text_states, text_context = both.split(batch_size)
        else:
            text_states = text_context = cmt.embed_text(input_ids, attention_mask, token_type_ids)
        audio_states, audio_context = self._embed_masked_and_unmasked_audio(
            input_values, audio_attention_mask, mask_time_indices, frame_mask
        )
        encoded = cmt.encoder(
            text_states,
            audio_states,
            attention_mask,
            frame_mask,
            text_context=text_context,
            audio_context=audio_context,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
        )

        text_logits = text_loss = audio_logits = audio_loss = None
        if text_masked:
            selected = labels != -100
            word_embeddings = cmt.get_input_embeddings().weight  # (vocab, d_w)
            text_logits = F.linear(encoded["text_last_hidden_state"][selected], word_embeddings, self.text_mlm_bias)
            text_loss = F.cross_entropy(text_logits, labels[selected])
        if mask_time_indices is not None and mask_time_indices.any():
            selected = mask_time_indices.bool()
            projected = self.audio_projection(encoded["audio_last_hidden_state"][selected])  # (masked, codeword_dim)
            # cosine similarity as a matmul of unit vectors: broadcasting F.cosine_similarity would materialise a
            # (masked, num_codewords, codeword_dim) tensor and its gradient
            cosine = F.normalize(projected, dim=-1) @ F.normalize(self.codeword_embeddings, dim=-1).T
            audio_logits = cosine / self.config.logit_temperature  # (masked, num_codewords)
            if audio_labels is not None:
                audio_loss = F.cross_entropy(audio_logits, audio_labels[selected])
        components = [x for x in (audio_loss, text_loss) if x is not None]
        loss = sum(components) if components else None  # L_tot = L_a + L_w

        output = CMTForPreTrainingOutput(
            loss=loss,
            text_mlm_loss=text_loss,
            audio_mlm_loss=audio_loss,
            text_logits=text_logits,
            audio_logits=audio_logits,
            text_last_hidden_state=encoded["text_last_hidden_state"],
            audio_last_hidden_state=encoded["audio_last_hidden_state"],
            audio_frame_mask=frame_mask,
            text_hidden_states=encoded["text_hidden_states"],
            audio_hidden_states=encoded["audio_hidden_states"],
            text_attentions=encoded["text_attentions"],
            audio_attentions=encoded["audio_attentions"],
            text_cross_attentions=encoded["text_cross_attentions"],
            audio_cross_attentions=encoded["audio_cross_attentions"],
        )
        return output if return_dict else output.to_tuple()

    def _embed_masked_and_unmasked_audio(self, input_values, audio_attention_mask, mask_time_indices, frame_mask):
        """e_a with the masked frames masked at the backbone's input (the audio stream's input h_a^[0]) and e_a of the
        unmasked audio (the text stream's keys and values). Without a mask both are one unmasked pass; the backbone's
        own SpecAugment stays off either way (pretraining masks frames itself)."""
        embed_audio = self.cmt.embed_audio
        no_mask = torch.zeros_like(frame_mask, dtype=torch.bool)
        if mask_time_indices is None:
            audio_states = embed_audio(input_values, audio_attention_mask, no_mask)[0]
            return audio_states, audio_states
        if not self.config.audio_context_gradients:
            audio_states = embed_audio(input_values, audio_attention_mask, mask_time_indices)[0]
            with torch.no_grad():
                audio_context = embed_audio(input_values, audio_attention_mask, no_mask)[0]
            return audio_states, audio_context
        # both passes in one backbone call, as the text side does: matmuls twice as tall
        both_masks = None if audio_attention_mask is None else audio_attention_mask.repeat(2, 1)
        both = embed_audio(input_values.repeat(2, 1), both_masks, torch.cat([mask_time_indices.bool(), no_mask]))[0]
        return both.split(input_values.shape[0])


__all__ = [
    "CMTModelOutput",
    "CMTSequenceClassifierOutput",
    "CMTForPreTrainingOutput",
    "CMTPreTrainedModel",
    "CMTModel",
    "CMTForSequenceClassification",
    "CMTForSequenceRegression",
    "CMTForPreTraining",
    "orthogonality_loss",
    "load_pretrained_backbone",
]
