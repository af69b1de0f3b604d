# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of `benchmarks/flops.py`: the FLOP formulas and counter against hand-computed counts, on small shapes and at
the committed base-size shapes (the figures the README cites). The report, helpers and driver: test_benchmarks.py."""

import benchmark_testing  # noqa: F401  # isort: skip  (first: puts benchmarks/ on sys.path)
import common  # noqa: E402
import flops  # noqa: E402
import pytest
import torch
from benchmark_testing import REPO_ROOT, STORED, one_thread  # noqa: F401  (one_thread: an autouse fixture)
from torch.utils.flop_counter import FlopCounterMode
from transformers import (  # noqa: E402
    HubertConfig,
    HubertForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
)


# ---------------------------------------------------------------------------------------------------------------------
# FLOP formulas and counter, on small shapes


def test_conv_backward_formula_counts_one_forward_per_requested_gradient():
    # aten.convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed,
    # output_padding, groups, output_mask): 16 -> 16 channels in 4 groups, kernel 8, 50 -> 51 positions
    def count(transposed, mask):
        shapes = ((2, 16, 51), (2, 16, 50), (16, 4, 8))
        return flops._conv_backward_flop(*shapes, [16], [1], [4], [1], transposed, [0], 4, mask)

    forward = 2 * (2 * 16 * 51) * (4 * 8)  # every output position: 4 input channels x 8 taps, a multiply and an add
    assert count(False, [True, True, False]) == 2 * forward == 208896
    assert count(False, [False, True, True]) == count(False, [True, False, False]) == forward
    assert count(False, [False, False, True]) == 0  # the bias gradient is a sum, not counted
    assert count(True, [True, True, False]) == 2 * (2 * (2 * 16 * 50) * (4 * 8))  # transposed: the input's positions


def test_grouped_convolution_backward_flops():
    """Each requested gradient of a convolution costs one forward, grouped or not (torch's own formula counts the
    weight gradient of a grouped convolution once per group)."""
    conv = torch.nn.Conv1d(16, 16, kernel_size=8, padding=4, groups=4)
    inputs = torch.randn(2, 16, 50, requires_grad=True)
    with FlopCounterMode(display=False, custom_mapping=flops.FLOP_FORMULAS) as counter:
        output = conv(inputs)
        forward = counter.get_total_flops()
        output.sum().backward()
    assert forward == 2 * output.numel() * (16 // 4) * 8
    assert counter.get_total_flops() == 3 * forward  # forward + input gradient + weight gradient


def test_cpu_attention_formulas():
    # batch 2, 4 heads, 7 queries, 11 keys, head widths 8 (query/key) and 6 (value)
    query, key, value = (2, 4, 7, 8), (2, 4, 11, 8), (2, 4, 11, 6)
    assert flops._cpu_attention_flop(query, key, value) == 2 * 2 * 4 * 7 * 11 * (8 + 6) == 17248
    # scores recomputed, dP, dV, dQ, dK
    assert flops._cpu_attention_backward_flop((2, 4, 7, 6), query, key, value) == 2 * 2 * 4 * 7 * 11 * (24 + 12)


def test_cpu_flash_attention_counted_like_eager():
    """sdpa's CPU flash kernel (eval mode) is counted as the eager attention's two matmuls."""
    query, key, value = torch.randn(2, 4, 7, 8), torch.randn(2, 4, 11, 8), torch.randn(2, 4, 11, 8)
    mask = torch.zeros(2, 1, 7, 11)
    with FlopCounterMode(display=False, custom_mapping=flops.FLOP_FORMULAS) as fused:
        torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=mask)
    with FlopCounterMode(display=False) as eager:
        torch.softmax(query @ key.transpose(-1, -2) / 8**0.5 + mask, -1) @ value
    counted_ops = {str(op) for op in fused.get_flop_counts()["Global"]}
    assert counted_ops == {"aten._scaled_dot_product_flash_attention_for_cpu"}
    assert fused.get_total_flops() == eager.get_total_flops() == 2 * 2 * (2 * 4 * 7 * 11 * 8)


def test_cpu_flash_attention_backward_counted():
    query, key, value = (torch.randn(2, 4, length, 8, requires_grad=True) for length in (7, 11, 11))
    with FlopCounterMode(display=False, custom_mapping=flops.FLOP_FORMULAS) as counter:
        torch.nn.functional.scaled_dot_product_attention(query, key, value).sum().backward()
    counts = {str(op): count for op, count in counter.get_flop_counts()["Global"].items()}
    assert counts == {
        "aten._scaled_dot_product_flash_attention_for_cpu": 2 * 2 * 4 * 7 * 11 * 16,
        "aten._scaled_dot_product_flash_attention_for_cpu_backward": 2 * 2 * 4 * 7 * 11 * 40,
    }


def test_count_flops_splits_the_forward_by_module():
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    inputs = torch.randn(5, 8)
    first, second = 2 * 5 * 8 * 16, 2 * 5 * 16 * 4

    def step(mark):
        loss = model(inputs).sum()
        mark()  # before backward: forward FLOPs only
        loss.backward()

    total, forward_by_module = flops.count_flops(step)
    # backward: input and weight gradients of the second layer, the weight gradient alone of the first
    assert total == first + second + 2 * second + first
    assert forward_by_module["Sequential"] == forward_by_module["Global"] == first + second
    assert flops.module_flops(forward_by_module, ".0") == first
    assert flops.module_flops(forward_by_module, ".2") == second
    assert flops.module_flops(forward_by_module, ".1") == 0  # ReLU: elementwise, not counted


# ---------------------------------------------------------------------------------------------------------------------
# FLOP arithmetic at the committed base-size shapes: closed forms of the backbones, the counter on meta-device models,
# and the figures of results/latest.json (which README.md cites)


def linear(rows: int, inputs: int, outputs: int) -> int:
    return 2 * rows * inputs * outputs


def attention(batch: int, q_len: int, kv_len: int, width: int) -> int:
    # QK^T and PV over all heads: two (q_len x kv_len x width) products
    return 2 * 2 * batch * q_len * kv_len * width


def encoder_layer(batch: int, length: int, width: int, ffn: int) -> int:
    """A RoBERTa or HuBERT layer: Q, K, V and output projections, self-attention, FFN."""
    rows = batch * length
    return 4 * linear(rows, width, width) + attention(batch, length, length, width) + 2 * linear(rows, width, ffn)


def cross_modal_layer(batch: int, length: int, other_length: int, width: int, ffn: int) -> int:
    """A CMT block: self-attention, cross-attention whose keys and values come from the other modality, FFN."""
    rows = batch * length
    self_attention = 4 * linear(rows, width, width) + attention(batch, length, length, width)
    cross_attention = 2 * linear(rows, width, width) + 2 * linear(batch * other_length, width, width)
    cross_attention += attention(batch, length, other_length, width)
    return self_attention + cross_attention + 2 * linear(rows, width, ffn)


def conv_feature_encoder(batch: int, samples: int, audio_config) -> tuple[int, int]:
    """FLOPs of HuBERT's convolution stack and the number of frames it outputs."""
    total, length, channels = 0, samples, 1
    for dim, kernel, stride in zip(audio_config.conv_dim, audio_config.conv_kernel, audio_config.conv_stride):
        length = (length - kernel) // stride + 1
        total += 2 * batch * length * dim * channels * kernel
        channels = dim
    return total, length


def hubert_backbone(batch: int, samples: int, audio_config) -> int:
    conv, frames = conv_feature_encoder(batch, samples, audio_config)
    width, kernel = audio_config.hidden_size, audio_config.num_conv_pos_embeddings
    # the grouped positional convolution, padded by kernel // 2 on each side
    positions = frames + 2 * (kernel // 2) - kernel + 1
    positional = 2 * batch * positions * width * (width // audio_config.num_conv_pos_embedding_groups) * kernel
    layer = encoder_layer(batch, frames, width, audio_config.intermediate_size)
    projection = linear(batch * frames, audio_config.conv_dim[-1], width)
    return conv + projection + positional + audio_config.num_hidden_layers * layer


def roberta_backbone(batch: int, tokens: int, text_config) -> int:
    layer = encoder_layer(batch, tokens, text_config.hidden_size, text_config.intermediate_size)
    return text_config.num_hidden_layers * layer


def hubert_classifier(batch: int, samples: int, audio_config) -> int:
    # HubertForSequenceClassification projects every frame, then classifies the mean-pooled vector
    frames = conv_feature_encoder(batch, samples, audio_config)[1]
    projector = linear(batch * frames, audio_config.hidden_size, audio_config.classifier_proj_size)
    return (
        hubert_backbone(batch, samples, audio_config)
        + projector
        + linear(batch, audio_config.classifier_proj_size, common.NUM_LABELS)
    )


def roberta_classifier(batch: int, tokens: int, text_config) -> int:
    # RobertaClassificationHead: dense + out_proj on the <s> token
    width = text_config.hidden_size
    head = linear(batch, width, width) + linear(batch, width, common.NUM_LABELS)
    return roberta_backbone(batch, tokens, text_config) + head


def cross_modal_encoder(batch: int, tokens: int, frames: int, config) -> int:
    text_width, audio_width = config.text_config.hidden_size, config.audio_config.hidden_size
    text_stream = cross_modal_layer(batch, tokens, frames, text_width, config.cross_intermediate_size)
    audio_stream = cross_modal_layer(batch, frames, tokens, audio_width, config.cross_intermediate_size)
    return config.num_cross_layers * (text_stream + audio_stream)


@pytest.fixture(scope="module")
def base_config():
    return common.cmt_config(common.SIZES["base"], 500)


@pytest.fixture(scope="module")
def tokenizer():
    return common.build_tokenizer(10**9)


def test_stored_setup_is_the_base_preset(base_config):
    setup = STORED["setup"]
    assert setup["size"] == "base" and setup["arguments"]["inference_batch_size"] == STORED["inference"]["batch_size"]
    assert (setup["cross_layers"], setup["cross_intermediate_size"]) == (
        base_config.num_cross_layers,
        base_config.cross_intermediate_size,
    )
    assert setup["audio_samples"] == setup["audio_seconds"] * common.SAMPLING_RATE
    _, frames = conv_feature_encoder(1, setup["audio_samples"], base_config.audio_config)
    assert setup["audio_frames"] == frames == 199


def test_first_inference_batch_has_the_nominal_shape(tokenizer):
    """The closed forms below take the first inference batch at the nominal lengths: the first of every four
    utterances has them (`build_utterances`), and the batch is padded to its longest."""
    setup, batch_size = STORED["setup"], STORED["inference"]["batch_size"]
    seed = setup["arguments"]["seed"] + 1  # the inference utterances' seed
    utterances = common.build_utterances(tokenizer, batch_size, setup["audio_seconds"], setup["text_tokens"], seed)
    assert max(u["audio"].size for u in utterances) == setup["audio_samples"]
    assert max(len(tokenizer(u["text"])["input_ids"]) for u in utterances) == setup["text_tokens"]


def test_closed_forms_match_the_counter(base_config):
    """HuBERT-base and RoBERTa-base classifiers built on the meta device (no memory, no compute) and counted as section
    4 counts them: the closed forms above are exact. Padding masks are left out: they change no matmul's shape."""
    setup, batch = STORED["setup"], STORED["inference"]["batch_size"]
    with torch.device("meta"):
        text_config = RobertaConfig(**{**base_config.text_config.to_dict(), "num_labels": common.NUM_LABELS})
        audio_config = HubertConfig(**{**base_config.audio_config.to_dict(), "num_labels": common.NUM_LABELS})
        text_model = RobertaForSequenceClassification(text_config).eval()
        audio_model = HubertForSequenceClassification(audio_config).eval()
        input_values = torch.zeros(batch, setup["audio_samples"])
        input_ids = torch.zeros(batch, setup["text_tokens"], dtype=torch.long)
    with torch.no_grad():
        audio_flops, audio_by_module = flops.count_flops(lambda mark: (audio_model(input_values=input_values), mark()))
        text_flops, _ = flops.count_flops(lambda mark: text_model(input_ids=input_ids))
    assert audio_flops == hubert_classifier(batch, setup["audio_samples"], audio_config)
    conv, _ = conv_feature_encoder(batch, setup["audio_samples"], audio_config)
    assert flops.module_flops(audio_by_module, ".feature_extractor") == conv
    assert text_flops == roberta_classifier(batch, setup["text_tokens"], text_config)
    assert (audio_flops, text_flops) == (
        STORED["inference"]["forward_flops_first_batch"]["hubert"],
        STORED["inference"]["forward_flops_first_batch"]["roberta"],
    )


def test_stored_inference_flops(base_config):
    setup, inference = STORED["setup"], STORED["inference"]
    batch, samples, tokens, frames = (
        inference["batch_size"],
        setup["audio_samples"],
        setup["text_tokens"],
        setup["audio_frames"],
    )
    text_config, audio_config = base_config.text_config, base_config.audio_config
    hubert = hubert_classifier(batch, samples, audio_config)
    roberta = roberta_classifier(batch, tokens, text_config)
    fused = text_config.hidden_size + audio_config.hidden_size  # h_fuse: pooled audio ⊕ <s> of the text stream
    cmt = hubert_backbone(batch, samples, audio_config) + roberta_backbone(batch, tokens, text_config)
    cmt += cross_modal_encoder(batch, tokens, frames, base_config) + linear(batch, fused, common.NUM_LABELS)
    assert inference["forward_flops_first_batch"] == {"cmt": cmt, "hubert": hubert, "roberta": roberta}
    assert inference["flop_bound_vs_transformers"] == pytest.approx((hubert + roberta) / cmt)
    # the figures README.md cites, as the report prints them
    assert (f"{cmt / 1e9:.1f}", f"{hubert / 1e9:.1f}", f"{roberta / 1e9:.1f}") == ("571.6", "456.1", "43.8")
    assert f"{(hubert + roberta) / cmt:.3f}" == "0.874"
    readme = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"{cmt / 1e9:.1f} GFLOP per batch of {batch} against {hubert / 1e9:.1f} + {roberta / 1e9:.1f}" in readme
    assert f"FLOPs allow {(hubert + roberta) / cmt:.3f}x" in readme


def test_stored_training_flops(base_config):
    """Every counted op's backward costs two forwards (input and weight gradients; HuBERT's feature encoder makes its
    waveform require a gradient, so even the first convolution computes both): each step is 3x its forward."""
    setup, fine, pre = STORED["setup"], STORED["fine_tuning"], STORED["pretraining"]
    batch, samples, tokens, frames = (
        setup["batch_size"],
        setup["audio_samples"],
        setup["text_tokens"],
        setup["audio_frames"],
    )
    text_config, audio_config = base_config.text_config, base_config.audio_config
    text = roberta_backbone(batch, tokens, text_config)
    audio = hubert_backbone(batch, samples, audio_config)
    cross = cross_modal_encoder(batch, tokens, frames, base_config)
    fused = text_config.hidden_size + audio_config.hidden_size
    forward = {
        "cmt": text + audio + cross + linear(batch, fused, common.NUM_LABELS),
        "shallow": text + audio + linear(batch, fused, common.NUM_LABELS),
        "text": text + linear(batch, text_config.hidden_size, common.NUM_LABELS),
        "audio": audio + linear(batch, audio_config.hidden_size, common.NUM_LABELS),
    }
    for name, row in fine["variants"].items():
        assert row["forward_flops"] == forward[name], name
        assert row["flops"] == 3 * forward[name], name
    assert fine["variants"]["cmt"]["forward_flops_by_component"] == {
        "text_backbone": text,
        "audio_backbone": audio,
        "audio_conv_feature_encoder": conv_feature_encoder(batch, samples, audio_config)[0],
        "cross_modal_encoder": cross,
    }
    assert fine["flop_ratio"] == pytest.approx(forward["cmt"] / forward["shallow"], rel=1e-12)
    assert f"{100 * cross / forward['cmt']:.1f}%" == "12.7%"  # README: the cross-modal encoder's share

    # pretraining: both backbones twice (masked and unmasked inputs, §3.2.2), the cross-modal encoder once, its heads
    row = pre["pretraining"]
    assert row["forward_flops_by_component"]["text_backbone"] == 2 * text
    assert pre["text_backbone_forward_flops"] == {"fine_tuning": text, "pretraining": 2 * text}
    assert pre["text_backbone_passes"] == 2.0
    assert row["forward_flops_by_component"]["audio_backbone"] == 2 * audio
    assert row["forward_flops_by_component"]["cross_modal_encoder"] == cross
    assert row["flops"] == 3 * row["forward_flops"] and row["forward_flops"] > 2 * text + 2 * audio + cross
    # the unmasked audio pass under no_grad: the same forward, no backward through that pass
    frozen = pre["frozen_context"]["pretraining"]
    assert frozen["forward_flops"] == row["forward_flops"]
    # (the text stream's key/value projections of that pass need no input gradient either: a little more)
    assert frozen["flops"] == pytest.approx(row["flops"] - 2 * audio, rel=0.01)
    assert pre["flop_ratio"] == row["flops"] / fine["variants"]["cmt"]["flops"]
