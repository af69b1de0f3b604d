# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Configuration of the Cross-Modal Transformer (CMT) for speech emotion recognition and sentiment analysis.

Paper: "Cross-modal pretrained transformer for audio-text emotion and sentiment" (see `shared/paper/cmt-paper.txt`),
§3.2 (architecture), §3.2.2 (pretraining), §3.4 (fine-tuning), §4.2 (the CMT-Base and CMT-Large presets).
"""

import torch
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec


# RoBERTa-large (https://huggingface.co/FacebookAI/roberta-large) and HuBERT-large (facebook/hubert-large-ll60k) shapes.
ROBERTA_LARGE_KWARGS = {
    "vocab_size": 50265,
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}
HUBERT_LARGE_KWARGS = {
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "conv_bias": True,
    "layer_norm_eps": 1e-5,
}

# §4.2: "CMT BASE has two cross-modal transformer layers and 4 attention heads for each modality. CMT LARGE has four
# cross-modal transformer layers and 8 attention heads."
CMT_PRESETS = {
    "cmt-base": {"num_cross_layers": 2, "num_cross_attention_heads": 4},
    "cmt-large": {"num_cross_layers": 4, "num_cross_attention_heads": 8},
}


class CMTConfig(PreTrainedConfig):
    r"""
    Configuration of a [`CMTModel`]: a text backbone (RoBERTa-large by default), an audio backbone (HuBERT-large by
    default) and the symmetric cross-modal encoder of §3.2.1 on top. The defaults give CMT-Base; see
    [`CMTConfig.from_preset`] for CMT-Large.

    Args:
        text_config (`dict` or `PreTrainedConfig`, *optional*):
            Config of the text backbone; any model type [`~transformers.AutoModel`] can build. A dict without
            `model_type` is read as RoBERTa. Defaults to the RoBERTa-large shape.
        audio_config (`dict` or `PreTrainedConfig`, *optional*):
            Config of the audio backbone; any wav2vec 2.0-family model type (HuBERT, wav2vec 2.0, WavLM, ...). A dict
            without `model_type` is read as HuBERT. Defaults to the HuBERT-large shape (`feat_extract_norm="layer"`,
            `do_stable_layer_norm=True`).
        modalities (`str`, *optional*, defaults to `"audio_text"`):
            `"audio_text"` for CMT; `"text"` or `"audio"` build only that backbone and a head on it, the paper's
            single-modal baselines (Tables 1-2: RoBERTa, HuBERT). Single-modal models need `num_cross_layers=0` and
            `ortho_loss_weight=0`.
        num_cross_layers (`int`, *optional*, defaults to 2):
            Number of cross-modal blocks in each of the text and audio streams. `0` gives the shallow-fusion
            baseline: backbone outputs pooled and concatenated, no cross-modal layers.
        num_cross_attention_heads (`int`, *optional*, defaults to 4):
            Attention heads of every self- and cross-attention in the cross-modal blocks, per modality.
        cross_intermediate_size (`int`, *optional*, defaults to 4096):
            Inner size of the feed-forward network of each cross-modal block (Eq. 5).
        hidden_act (`str`, *optional*, defaults to `"gelu"`):
            Activation of that feed-forward network.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on the outputs of attention and feed-forward sub-layers before each residual connection.
        attention_probs_dropout_prob (`float`, *optional*, defaults to 0.1):
            Dropout on the attention probabilities.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the LayerNorms of Eq. (2), (4) and (5).
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the normal initialiser of the cross-modal layers and heads.
        audio_layer_pooling (`str` or `int`, *optional*, defaults to `"last"`):
            Which cross-modal audio states feed the fused vector (§4.3.2, Table 3): `"last"` (the paper's default),
            `"weighted"` (a learned softmax-weighted average over the cross-modal audio layers) or an integer index
            `1..num_cross_layers` of one layer (negative indices count from the last).
        ortho_loss_weight (`float`, *optional*, defaults to 10.0):
            α of Eq. (8), the weight of the orthogonality regulariser during fine-tuning. `0` switches it off.
        classifier_dropout (`float`, *optional*):
            Dropout before the classification/regression head; defaults to `hidden_dropout_prob`.
        mlm_probability (`float`, *optional*, defaults to 0.15):
            Share of text tokens masked for the cross-modal text MLM (§3.2.2, RoBERTa's 80/10/10 recipe).
        mask_time_prob (`float`, *optional*, defaults to 0.075):
            Probability that a (non-padded) audio frame *starts* a masked span (§3.2.2, p = 0.075, as wav2vec 2.0 /
            HuBERT). Note: unlike transformers' `mask_time_prob`, this is the per-frame start probability, not the
            expected masked fraction; about half of the frames end up masked.
        mask_time_length (`int`, *optional*, defaults to 10):
            Length of each masked audio span, in frames.
        mask_time_min_masks (`int`, *optional*, defaults to 2):
            Minimum number of masked spans per utterance.
        num_codewords (`int`, *optional*, defaults to 500):
            Size of the k-means codebook whose ids are the targets of the cross-modal audio MLM (HuBERT's K = 500).
        codeword_dim (`int`, *optional*):
            Width of the codeword embeddings and of the projection of the audio output frames compared with them.
            Defaults to the audio backbone's hidden size, the width of k-means centroids fitted on its features, so
            that the codeword embeddings can start from the centroids ([`CMTForPreTraining.set_codebook`]).
        logit_temperature (`float`, *optional*, defaults to 0.1):
            Temperature dividing the cosine similarities between projected frames and codewords (HuBERT's 0.1).
        audio_context_gradients (`bool`, *optional*, defaults to `True`):
            Pretraining runs the audio backbone twice: on the masked audio (the audio stream's input) and on the
            unmasked audio (the text stream's keys and values, §3.2.2). With `True` the unmasked pass carries
            gradients, so the text MLM also trains the audio backbone, mirroring the text side (both text passes carry
            gradients); both passes then run as one batch. `False` runs the unmasked pass under `torch.no_grad()`:
            less compute and activation memory per step (benchmarks/README.md has the figures).

    Example:

    ```python
    >>> from modeling_cmt import CMTConfig, CMTModel

    >>> # CMT-Base on RoBERTa-large + HuBERT-large shapes
    >>> config = CMTConfig()

    >>> # CMT-Large, the paper's second preset
    >>> config = CMTConfig.from_preset("cmt-large", num_labels=4)

    >>> # a tiny CMT with a BERT text backbone of another width
    >>> config = CMTConfig(
    ...     text_config={"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
    ...                  "intermediate_size": 37},
    ...     audio_config={"hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 37,
    ...                   "conv_dim": [16, 16], "conv_kernel": [10, 3], "conv_stride": [5, 2]},
    ...     num_cross_layers=1, num_cross_attention_heads=2, cross_intermediate_size=64,
    ... )
    >>> model = CMTModel(config)
    ```"""

    model_type = "cmt"
    sub_configs_defaults = {
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="roberta", init_kwargs=ROBERTA_LARGE_KWARGS),
        "audio_config": SubConfigSpec(config_class=AutoConfig, model_type="hubert", init_kwargs=HUBERT_LARGE_KWARGS),
    }

    text_config: dict | PreTrainedConfig | None = None
    audio_config: dict | PreTrainedConfig | None = None
    modalities: str = "audio_text"
    num_cross_layers: int = 2
    num_cross_attention_heads: int = 4
    cross_intermediate_size: int = 4096
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    audio_layer_pooling: str | int = "last"
    ortho_loss_weight: float = 10.0
    classifier_dropout: float | None = None
    mlm_probability: float = 0.15
    mask_time_prob: float = 0.075
    mask_time_length: int = 10
    mask_time_min_masks: int = 2
    num_codewords: int = 500
    codeword_dim: int | None = None
    logit_temperature: float = 0.1
    audio_context_gradients: bool = True

    def __post_init__(self, **kwargs):
        # A dict sub-config without `model_type` is read as the default backbone family, filled with the defaults.
        for key, spec in self.sub_configs_defaults.items():
            sub = getattr(self, key)
            if isinstance(sub, dict) and "model_type" not in sub:
                setattr(self, key, {"model_type": spec.model_type, **spec.init_kwargs, **sub})
        super().__post_init__(**kwargs)
        if self.codeword_dim is None:
            self.codeword_dim = self.audio_config.hidden_size
        self.validate_cross_modal()

    def validate_cross_modal(self):
        """Checks the cross-modal fields against the backbones, naming the offending field."""
        if self.num_cross_layers < 0:
            raise ValueError(f"`num_cross_layers` must be >= 0, got {self.num_cross_layers}.")
        if self.modalities not in ("audio_text", "text", "audio"):
            raise ValueError(f"`modalities` must be 'audio_text', 'text' or 'audio', got {self.modalities!r}.")
        if self.modalities != "audio_text" and (self.num_cross_layers or self.ortho_loss_weight):
            raise ValueError(
                f"A single-modal model (modalities={self.modalities!r}) has no cross-modal layers and no "
                f"orthogonality loss: set num_cross_layers=0 and ortho_loss_weight=0 (got {self.num_cross_layers} "
                f"and {self.ortho_loss_weight})."
            )
        for name in ("text_config", "audio_config"):
            hidden_size = getattr(self, name).hidden_size
            if self.num_cross_layers and hidden_size % self.num_cross_attention_heads:
                raise ValueError(
                    f"`{name}.hidden_size` ({hidden_size}) must be divisible by `num_cross_attention_heads` "
                    f"({self.num_cross_attention_heads})."
                )
        if not hasattr(self.audio_config, "conv_kernel"):
            raise ValueError(
                f"`audio_config` must be a wav2vec 2.0-family config with a convolutional feature encoder "
                f"(`conv_kernel`, `conv_stride`), got model type {self.audio_config.model_type!r}."
            )
        pooling = self.audio_layer_pooling
        if isinstance(pooling, str):
            if pooling not in ("last", "weighted"):
                raise ValueError(
                    f"`audio_layer_pooling` must be 'last', 'weighted' or a layer index, got {pooling!r}."
                )
            if pooling == "weighted" and self.num_cross_layers == 0:
                raise ValueError("`audio_layer_pooling='weighted'` needs `num_cross_layers` >= 1.")
        elif not (1 <= pooling <= self.num_cross_layers or -self.num_cross_layers <= pooling <= -1):
            raise ValueError(
                f"`audio_layer_pooling` index {pooling} is outside the cross-modal layers 1..{self.num_cross_layers}."
            )
        if self.ortho_loss_weight < 0:
            raise ValueError(f"`ortho_loss_weight` (alpha of Eq. 8) must be >= 0, got {self.ortho_loss_weight}.")

    @classmethod
    def from_preset(cls, preset: str, **kwargs) -> "CMTConfig":
        """Builds the paper's CMT-Base (`"cmt-base"`) or CMT-Large (`"cmt-large"`) config; `kwargs` override fields."""
        if preset not in CMT_PRESETS:
            raise ValueError(f"Unknown CMT preset {preset!r}; choose one of {sorted(CMT_PRESETS)}.")
        return cls(**{**CMT_PRESETS[preset], **kwargs})

    @classmethod
    def from_text_audio_configs(
        cls, text_config: PreTrainedConfig, audio_config: PreTrainedConfig, **kwargs
    ) -> "CMTConfig":
        """Builds a CMT config from two backbone configs (e.g. `AutoConfig.from_pretrained(...)` of each)."""
        return cls(text_config=text_config, audio_config=audio_config, **kwargs)


def audio_frame_lengths(audio_config: PreTrainedConfig, sample_lengths: torch.Tensor) -> torch.Tensor:
    """Number of frames the audio backbone's convolutional feature encoder outputs for each input length.

    One formula for everyone who must align with the backbone's frames: the model's frame mask, the pretraining
    collator's span masking and the codeword labeller. Each conv layer maps L to floor((L - kernel) / stride) + 1;
    lengths shorter than the receptive field give 0 (or less, clamped to 0).

    Args:
        audio_config (`PreTrainedConfig`): a wav2vec 2.0-family config with `conv_kernel` and `conv_stride`.
        sample_lengths (`torch.Tensor`): integer tensor of input lengths in samples, any shape.
    """
    lengths = torch.as_tensor(sample_lengths, dtype=torch.long)
    for kernel, stride in zip(audio_config.conv_kernel, audio_config.conv_stride):
        lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
    return lengths.clamp(min=0)


def audio_receptive_field(audio_config: PreTrainedConfig) -> int:
    """Smallest input length, in samples, for which the audio backbone outputs one frame."""
    length = 1
    for kernel, stride in reversed(list(zip(audio_config.conv_kernel, audio_config.conv_stride))):
        length = (length - 1) * stride + kernel
    return length


__all__ = ["CMTConfig", "CMT_PRESETS", "audio_frame_lengths", "audio_receptive_field"]
