"""Tests of CMTConfig, CMTModel and the task heads on tiny backbones built locally (paper §3.2, §3.4)."""

import copy
import types

import pytest
import torch
from testing_utils import CMTAudioModelTester, CMTModelTester
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    BertConfig,
    HubertModel,
    RobertaModel,
)

from configuration_cmt import audio_frame_lengths, audio_receptive_field
from modeling_cmt import (
    CMTConfig,
    CMTForSequenceClassification,
    CMTForSequenceRegression,
    CMTModel,
    orthogonality_loss,
)


@pytest.fixture
def tester():
    return CMTModelTester()


def frames_for(config, num_samples):
    return int(audio_frame_lengths(config.audio_config, torch.tensor(num_samples)))


# --- configuration -------------------------------------------------------------------------------------------------


def test_default_config_is_cmt_base_on_roberta_and_hubert_large():
    config = CMTConfig()
    assert config.text_config.model_type == "roberta" and config.text_config.hidden_size == 1024
    assert config.audio_config.model_type == "hubert" and config.audio_config.num_hidden_layers == 24
    assert config.audio_config.feat_extract_norm == "layer" and config.audio_config.do_stable_layer_norm
    assert (config.num_cross_layers, config.num_cross_attention_heads) == (2, 4)
    assert config.cross_intermediate_size == 4096 and config.ortho_loss_weight == 10


def test_presets_by_name():
    large = CMTConfig.from_preset("cmt-large", num_labels=4)
    assert (large.num_cross_layers, large.num_cross_attention_heads, large.num_labels) == (4, 8, 4)
    with pytest.raises(ValueError, match="cmt-huge"):
        CMTConfig.from_preset("cmt-huge")


def test_config_dict_round_trip_keeps_sub_configs():
    config = CMTModelTester().get_config(audio_layer_pooling=2)
    restored = CMTConfig.from_dict(config.to_dict())
    assert restored.text_config.hidden_size == 32 and restored.audio_config.conv_kernel == [10, 3]
    assert restored.audio_layer_pooling == 2 and restored.num_labels == 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"audio_layer_pooling": "mean"}, "audio_layer_pooling"),
        ({"audio_layer_pooling": 3}, "outside the cross-modal layers"),
        ({"num_cross_attention_heads": 5}, "divisible"),
        ({"ortho_loss_weight": -1.0}, "ortho_loss_weight"),
        ({"num_cross_layers": -1}, "num_cross_layers"),
    ],
)
def test_config_rejects_bad_fields(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CMTModelTester().get_config(**kwargs)


def test_frame_lengths_match_the_backbone():
    audio_config = CMTAudioModelTester().get_config()
    backbone = HubertModel(audio_config)
    lengths = torch.tensor([audio_receptive_field(audio_config), 400, 1200, 1601])
    assert torch.equal(audio_frame_lengths(audio_config, lengths), backbone._get_feat_extract_output_lengths(lengths))
    assert int(audio_frame_lengths(audio_config, torch.tensor(audio_receptive_field(audio_config) - 1))) == 0
    for num_samples in (400, 1200, 1601):
        assert backbone(torch.randn(1, num_samples)).last_hidden_state.shape[1] == frames_for(
            CMTConfig(audio_config=audio_config), num_samples
        )


# --- architecture: the paper's parameter counts ------------------------------------------------------------------


@pytest.mark.parametrize("preset, cross_mib, total_mib", [("cmt-base", 64.07, 702.8), ("cmt-large", 128.15, 766.9)])
def test_parameter_counts_match_the_paper(preset, cross_mib, total_mib):
    # §4.2: 64M / 128M cross-modal parameters, 703M / 767M in all, counted in units of 2^20
    with torch.device("meta"):
        model = CMTModel(CMTConfig.from_preset(preset))
    cross = sum(p.numel() for p in model.encoder.parameters()) / 2**20
    total = sum(p.numel() for p in model.parameters()) / 2**20
    assert round(cross, 2) == cross_mib
    assert round(total, 1) == total_mib
    assert not hasattr(model.text_model, "pooler") or model.text_model.pooler is None


def test_no_projection_parameters_when_widths_are_equal_and_projection_when_they_differ():
    tester = CMTModelTester()
    equal = CMTModel(tester.get_config()).encoder.text_layers[0].cross_attention
    assert equal.k_proj.weight.shape == (32, 32)
    text_config = BertConfig(
        vocab_size=99, hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20
    )
    config = tester.get_config(text_config=text_config, num_cross_attention_heads=2, ortho_loss_weight=0.0)
    encoder = CMTModel(config).encoder
    assert encoder.text_layers[0].cross_attention.k_proj.weight.shape == (24, 32)  # audio keys -> text width
    assert encoder.audio_layers[0].cross_attention.v_proj.weight.shape == (32, 24)  # text values -> audio width


# --- forward shapes and heads ------------------------------------------------------------------------------------


def test_model_outputs(tester):
    config = tester.get_config()
    model = CMTModel(config).eval()
    inputs = tester.prepare_inputs()
    out = model(**inputs, output_hidden_states=True, output_attentions=True)
    frames = frames_for(config, 1200)
    assert out.text_last_hidden_state.shape == (3, 9, 32)
    assert out.audio_last_hidden_state.shape == (3, frames, 32)
    assert out.fused_output.shape == (3, 64)
    assert out.audio_frame_mask.shape == (3, frames) and out.audio_frame_mask.all()
    assert len(out.text_hidden_states) == len(out.audio_hidden_states) == 3
    assert out.text_attentions[0].shape == (3, 4, 9, 9)
    assert out.text_cross_attentions[0].shape == (3, 4, 9, frames)
    assert out.audio_cross_attentions[0].shape == (3, 4, frames, 9)
    # Eq. (6): h_fuse = mean over frames of h_a, then h_w[CLS]
    assert torch.allclose(out.fused_output[:, :32], out.audio_last_hidden_state.mean(1), atol=1e-6)
    assert torch.equal(out.fused_output[:, 32:], out.text_last_hidden_state[:, 0])
    assert isinstance(model(**inputs, return_dict=False), tuple)


def test_cross_attention_reads_the_other_backbone_output(tester):
    """Eq. (3): keys/values of every block are e_w / e_a, the backbone outputs, not the other stream's states."""
    model = CMTModel(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    seen = []
    handle = model.encoder.audio_layers[1].cross_attention.register_forward_hook(
        lambda module, args, output: seen.append(args[1])
    )
    out = model(**inputs, output_hidden_states=True)
    handle.remove()
    assert torch.equal(seen[0], out.text_hidden_states[0])


def test_classification_head_and_losses(tester):
    model = CMTForSequenceClassification(tester.get_config())
    inputs = tester.prepare_inputs()
    labels = torch.tensor([0, 3, 1])
    out = model(**inputs, labels=labels)
    assert out.logits.shape == (3, 4)
    assert torch.allclose(out.task_loss, torch.nn.functional.cross_entropy(out.logits, labels))
    assert torch.allclose(out.loss, out.task_loss + 10.0 * out.ortho_loss)  # Eq. (8), alpha = 10
    assert 0 <= out.ortho_loss <= 1
    assert model(**inputs).loss is None


def test_orthogonality_loss_matches_eq_7():
    audio, text = torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 2.0], [-1.0, -1.0]])
    # |cos| per example: 0 and 1; averaged over the batch
    assert torch.isclose(orthogonality_loss(audio, text), torch.tensor(0.5))


def test_ortho_means_use_valid_positions_only(tester):
    model = CMTModel(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    inputs["attention_mask"][0, 5:] = 0
    out = model(**inputs)
    assert torch.allclose(out.text_mean[0], out.text_last_hidden_state[0, :5].mean(0), atol=1e-6)


def test_regression_head(tester):
    model = CMTForSequenceRegression(tester.get_config(num_labels=1, ortho_loss_weight=0.0))
    inputs = tester.prepare_inputs()
    scores = torch.tensor([-2.4, 0.0, 1.6])
    out = model(**inputs, labels=scores)
    assert out.logits.shape == (3, 1) and model.config.problem_type == "regression"
    assert torch.allclose(out.loss, torch.nn.functional.mse_loss(out.logits.squeeze(-1), scores))


def test_regression_leaves_the_callers_config_alone(tester):
    config = tester.get_config(ortho_loss_weight=0.0)  # num_labels=4, problem_type None
    model = CMTForSequenceRegression(config)
    assert (config.num_labels, config.problem_type) == (4, None)
    assert (model.config.num_labels, model.config.problem_type) == (1, "regression")


def test_regression_refuses_a_classification_config(tester):
    config = tester.get_config(id2label={0: "angry", 1: "happy", 2: "neutral", 3: "sad"})
    with pytest.raises(ValueError, match="classification checkpoint"):
        CMTForSequenceRegression(config)


def test_classification_rejects_out_of_range_and_float_labels(tester):
    model = CMTForSequenceClassification(tester.get_config())
    inputs = tester.prepare_inputs()
    with pytest.raises(ValueError, match="outside 0..3"):
        model(**inputs, labels=torch.tensor([0, 4, 1]))
    model.config.problem_type = "single_label_classification"
    with pytest.raises(ValueError, match="integer `labels`"):
        model(**inputs, labels=torch.tensor([0.5, 1.0, 2.0]))


@pytest.mark.parametrize("pooling", ["weighted", 1, -2])
def test_audio_layer_pooling(tester, pooling):
    model = CMTModel(tester.get_config(audio_layer_pooling=pooling)).eval()
    out = model(**tester.prepare_inputs(), output_hidden_states=True)
    layers = out.audio_hidden_states[1:]
    if pooling == "weighted":
        assert model.audio_layer_weights.shape == (2,)
        expected = torch.stack(layers).mean(0).mean(1)  # zero-initialised weights: a plain average
    else:
        expected = layers[pooling - 1 if pooling > 0 else pooling].mean(1)
    assert torch.allclose(out.audio_mean, expected, atol=1e-5)


def test_shallow_fusion_has_no_cross_layers(tester):
    model = CMTModel(tester.get_config(num_cross_layers=0)).eval()
    out = model(**tester.prepare_inputs(), output_hidden_states=True)
    assert sum(p.numel() for p in model.encoder.parameters()) == 0
    assert torch.allclose(out.audio_mean, out.audio_hidden_states[0].mean(1), atol=1e-6)


# --- training -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["last", "weighted"])
def test_backward_reaches_every_trainable_parameter(tester, pooling):
    torch.manual_seed(0)
    config = tester.get_config(audio_layer_pooling=pooling)
    config.audio_config.mask_time_prob = 0.05  # HuBERT's SpecAugment so that its masked embedding gets gradient
    model = CMTForSequenceClassification(config).train()
    model(**tester.prepare_inputs(), labels=torch.tensor([0, 1, 2])).loss.backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert no_grad == []


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(tester):
    torch.manual_seed(0)
    config = tester.get_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config.audio_config.apply_spec_augment = False
    for sub in (config.text_config, config.audio_config):
        for name in (
            "hidden_dropout_prob",
            "attention_probs_dropout_prob",
            "hidden_dropout",
            "attention_dropout",
            "activation_dropout",
            "feat_proj_dropout",
        ):
            if hasattr(sub, name):
                setattr(sub, name, 0.0)
    model = CMTForSequenceClassification(config).train()
    checkpointed = copy.deepcopy(model)
    checkpointed.activation_checkpointing_enable()
    assert checkpointed.cmt.encoder.text_layers[0].gradient_checkpointing
    inputs, labels = tester.prepare_inputs(), torch.tensor([0, 1, 2])
    loss, loss_ckpt = model(**inputs, labels=labels).loss, checkpointed(**inputs, labels=labels).loss
    loss.backward()
    loss_ckpt.backward()
    assert torch.allclose(loss, loss_ckpt)
    grad = model.cmt.encoder.audio_layers[0].self_attention.q_proj.weight.grad
    grad_ckpt = checkpointed.cmt.encoder.audio_layers[0].self_attention.q_proj.weight.grad
    assert torch.allclose(grad, grad_ckpt, atol=1e-6)


def test_freezing(tester):
    model = CMTForSequenceClassification(tester.get_config())
    model.freeze_feature_encoder()
    assert not any(p.requires_grad for p in model.cmt.audio_model.feature_extractor.parameters())
    assert all(p.requires_grad for p in model.cmt.audio_model.encoder.parameters())
    model.freeze_backbones()
    trainable = {
        n.split(".")[0] if not n.startswith("cmt.") else n.split(".")[1]
        for n, p in model.named_parameters()
        if p.requires_grad
    }
    assert trainable == {"encoder", "classifier"}


# --- padding, attention implementations, save/load ---------------------------------------------------------------


def test_padding_invariance(tester):
    """An example's logits inside a batch padded on text and on audio equal its logits alone."""
    torch.manual_seed(0)
    model = CMTForSequenceClassification(tester.get_config()).eval()
    generator = torch.Generator().manual_seed(1)
    lengths = [(9, 1200), (5, 700), (7, 950)]
    batch = {
        "input_ids": torch.full((3, 9), 1),
        "attention_mask": torch.zeros(3, 9, dtype=torch.long),
        "input_values": torch.zeros(3, 1200),
        "audio_attention_mask": torch.zeros(3, 1200, dtype=torch.long),
    }
    singles = []
    for i, (num_tokens, num_samples) in enumerate(lengths):
        ids = torch.randint(3, 99, (num_tokens,), generator=generator)
        audio = torch.randn(num_samples, generator=generator)
        batch["input_ids"][i, :num_tokens], batch["attention_mask"][i, :num_tokens] = ids, 1
        batch["input_values"][i, :num_samples], batch["audio_attention_mask"][i, :num_samples] = audio, 1
        with torch.no_grad():
            singles.append(model(input_ids=ids[None], input_values=audio[None]).logits[0])
    with torch.no_grad():
        batched = model(**batch).logits
    torch.testing.assert_close(batched, torch.stack(singles), atol=1e-4, rtol=0)


def test_eager_and_sdpa_agree(tester):
    torch.manual_seed(0)
    config = tester.get_config()
    eager = CMTForSequenceClassification(config).eval()
    eager.set_attn_implementation("eager")
    sdpa = copy.deepcopy(eager)
    sdpa.set_attn_implementation("sdpa")
    assert eager.config._attn_implementation == "eager" and sdpa.config._attn_implementation == "sdpa"
    inputs = tester.prepare_inputs()
    inputs["attention_mask"][1, 4:] = 0
    inputs["audio_attention_mask"][2, 700:] = 0
    with torch.no_grad():
        torch.testing.assert_close(eager(**inputs).logits, sdpa(**inputs).logits, atol=1e-5, rtol=1e-4)


def test_save_load_and_auto_round_trip(tester, tmp_path):
    torch.manual_seed(0)
    model = CMTForSequenceClassification(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert AutoConfig.from_pretrained(tmp_path).model_type == "cmt"
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    assert type(reloaded) is CMTForSequenceClassification
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).logits, reloaded(**inputs).logits, atol=0, rtol=0)
    base = AutoModel.from_pretrained(tmp_path).eval()  # the bare model inside the classifier checkpoint
    assert type(base) is CMTModel
    with torch.no_grad():
        torch.testing.assert_close(base(**inputs).fused_output, model.cmt(**inputs).fused_output, atol=0, rtol=0)


def test_from_text_audio_pretrained(tester, tmp_path):
    torch.manual_seed(0)
    text_backbone = RobertaModel(tester.text_tester.get_config(), add_pooling_layer=True)
    audio_backbone = HubertModel(tester.audio_tester.get_config())
    text_backbone.save_pretrained(tmp_path / "text")
    audio_backbone.save_pretrained(tmp_path / "audio")
    model = CMTForSequenceClassification.from_text_audio_pretrained(
        str(tmp_path / "text"), str(tmp_path / "audio"), preset="cmt-base", num_labels=4, cross_intermediate_size=48
    )
    assert (model.config.num_cross_layers, model.config.num_cross_attention_heads) == (2, 4)
    assert model.config.num_labels == 4
    for backbone, loaded in ((text_backbone, model.cmt.text_model), (audio_backbone, model.cmt.audio_model)):
        state = loaded.state_dict()
        for name, tensor in state.items():
            assert torch.equal(tensor, backbone.state_dict()[name]), name
    assert "pooler.dense.weight" not in model.cmt.text_model.state_dict()


def test_bert_text_backbone_of_another_width(tester):
    text_config = BertConfig(
        vocab_size=99, hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20
    )
    config = tester.get_config(text_config=text_config, num_cross_attention_heads=2, ortho_loss_weight=0.0)
    model = CMTForSequenceClassification(config)
    out = model(**tester.prepare_inputs(), labels=torch.tensor([1, 2, 3]))
    assert out.fused_output.shape == (3, 32 + 24) and out.ortho_loss is None
    out.loss.backward()
    with pytest.raises(ValueError, match="ortho_loss_weight=0"):
        CMTForSequenceClassification(tester.get_config(text_config=text_config, num_cross_attention_heads=2))


def test_token_type_ids_reach_a_bert_text_backbone(tester):
    """A BERT tokenizer returns `token_type_ids`; the processor passes them and the model hands them to BERT."""
    text_config = BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=20,
        type_vocab_size=2,
    )
    model = CMTModel(tester.get_config(text_config=text_config)).eval()
    inputs = tester.prepare_inputs()
    segments = torch.zeros_like(inputs["input_ids"])
    segments[:, 4:] = 1
    with torch.no_grad():
        plain, with_segments = model(**inputs), model(**inputs, token_type_ids=segments)
    assert not torch.allclose(plain.text_last_hidden_state, with_segments.text_last_hidden_state)


@pytest.mark.parametrize("model_class", [CMTModel, CMTForSequenceClassification, CMTForSequenceRegression])
def test_unknown_keyword_arguments_are_refused(tester, model_class):
    """A misspelled `audio_mask=` would train on padding without a word: it is a TypeError naming it."""
    config = tester.get_config(num_labels=1) if model_class is CMTForSequenceRegression else tester.get_config()
    model = model_class(config).eval()
    inputs = tester.prepare_inputs()
    with pytest.raises(TypeError, match="audio_mask"):
        model(**inputs, audio_mask=inputs["audio_attention_mask"])


# --- bad input ----------------------------------------------------------------------------------------------------


def test_bad_inputs_name_the_argument_and_shapes(tester):
    model = CMTModel(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    with pytest.raises(ValueError, match="needs input_values, which is missing"):
        model(input_ids=inputs["input_ids"])
    with pytest.raises(ValueError, match="needs input_ids, which is missing"):
        model(input_values=inputs["input_values"])
    with pytest.raises(ValueError, match=r"batch sizes differ.*\(3, 9\).*\(2, 1200\)"):
        model(input_ids=inputs["input_ids"], input_values=inputs["input_values"][:2])
    with pytest.raises(ValueError, match=r"`attention_mask` has shape \(3, 8\)"):
        model(**{**inputs, "attention_mask": inputs["attention_mask"][:, :8]})
    with pytest.raises(ValueError, match=r"`audio_attention_mask` has shape \(3, 1000\)"):
        model(**{**inputs, "audio_attention_mask": inputs["audio_attention_mask"][:, :1000]})
    with pytest.raises(ValueError, match=r"`input_values` must be \(batch, samples\)"):
        model(input_ids=inputs["input_ids"], input_values=inputs["input_values"][:, None])
    short = dict(inputs)
    short["audio_attention_mask"] = inputs["audio_attention_mask"].clone()
    short["audio_attention_mask"][1, 10:] = 0
    with pytest.raises(ValueError, match=r"batch item\(s\) \[1\] has \[10\] valid samples.*receptive field \(20"):
        model(**short)


@pytest.mark.parametrize("modalities", ["text", "audio"])
def test_single_modal_baselines(tester, modalities):
    config = tester.get_config(modalities=modalities, num_cross_layers=0, ortho_loss_weight=0.0)
    model = CMTForSequenceClassification(config).eval()
    assert (model.cmt.text_model is None) == (modalities == "audio")
    assert (model.cmt.audio_model is None) == (modalities == "text")
    assert model.classifier.in_features == 32
    inputs = tester.prepare_inputs()
    needed = ("input_ids", "attention_mask") if modalities == "text" else ("input_values", "audio_attention_mask")
    out = model(**{k: inputs[k] for k in needed}, labels=torch.tensor([0, 1, 2]), output_hidden_states=True)
    assert out.ortho_loss is None and torch.allclose(out.loss, out.task_loss)
    if modalities == "text":  # RoBERTa baseline: h_w0 of the backbone
        assert torch.equal(out.fused_output, out.text_hidden_states[0][:, 0])
    else:  # HuBERT baseline: backbone frames averaged
        assert torch.allclose(out.fused_output, out.audio_hidden_states[0].mean(1), atol=1e-6)
    with pytest.raises(ValueError, match="single-modal model"):
        tester.get_config(modalities=modalities)


def test_bf16_autocast_with_sdpa_and_padding(tester):
    """Mixed precision as Trainer's --bf16 runs it (bf16 projections, fp32 residual stream), with padding on both
    modalities and sdpa: finite, and close to the fp32 result."""
    torch.manual_seed(0)
    model = CMTForSequenceClassification(tester.get_config()).eval()
    model.set_attn_implementation("sdpa")
    inputs = tester.prepare_inputs()
    inputs["attention_mask"][1, 4:] = 0
    inputs["audio_attention_mask"][2, 700:] = 0
    with torch.no_grad():
        reference = model(**inputs).logits
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(**inputs).logits
    assert torch.isfinite(mixed).all()
    torch.testing.assert_close(mixed.float(), reference, atol=0.1, rtol=0.1)


def test_a_bf16_model_takes_the_processors_float32_audio(tester):
    """A model loaded with `dtype=torch.bfloat16` (no autocast) runs on the float32 audio a processor gives, as
    transformers' vision models cast their pixel values; its output is close to the fp32 model's."""
    torch.manual_seed(0)
    model = CMTForSequenceClassification(tester.get_config()).eval()
    inputs = tester.prepare_inputs()
    inputs["audio_attention_mask"][2, 700:] = 0
    assert inputs["input_values"].dtype == torch.float32
    with torch.no_grad():
        reference = model(**inputs).logits
        logits = copy.deepcopy(model).to(torch.bfloat16)(**inputs).logits
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits).all()
    torch.testing.assert_close(logits.float(), reference, atol=0.1, rtol=0.1)


@pytest.mark.slow
def test_real_backbones_from_the_hub():
    """The paper's backbones (needs Hub access; RUN_SLOW=1): CMT-Base on roberta-large + hubert-large-ll60k has the
    paper's 703M parameters, loads both checkpoints unchanged and runs on a processor batch."""
    import numpy as np
    from transformers import AutoModel

    from processing_cmt import CMTProcessor

    text_name, audio_name = "FacebookAI/roberta-large", "facebook/hubert-large-ll60k"
    model = CMTForSequenceClassification.from_text_audio_pretrained(
        text_name, audio_name, preset="cmt-base", num_labels=4
    )
    assert round(sum(p.numel() for p in model.cmt.parameters()) / 2**20, 1) == 702.8
    hubert = AutoModel.from_pretrained(audio_name)
    torch.testing.assert_close(
        model.cmt.audio_model.encoder.layers[0].attention.q_proj.weight,
        hubert.encoder.layers[0].attention.q_proj.weight,
    )
    processor = CMTProcessor.from_text_audio_pretrained(text_name, audio_name)
    audio = [np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1]
    batch = processor(text=["I can't believe it!"], audio=audio, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        out = model.eval()(**batch)
    assert out.logits.shape == (1, 4) and torch.isfinite(out.logits).all()


class _MetaBackbone(torch.nn.Module):
    """Stands in for a transformers backbone (whose own code reads values back, e.g. RoBERTa's sdpa mask check):
    returns states of the right shape on the input's device, so that only CMT's own code runs on meta tensors."""

    def __init__(self, backbone, frames_of=None):
        super().__init__()
        self.hidden_size, self.dtype, self.frames_of = backbone.config.hidden_size, backbone.dtype, frames_of

    def forward(self, inputs=None, attention_mask=None, input_ids=None, **kwargs):
        inputs = input_ids if inputs is None else inputs
        length = inputs.shape[1] if self.frames_of is None else self.frames_of(inputs.shape[1])
        states = torch.randn(inputs.shape[0], length, self.hidden_size, device=inputs.device, requires_grad=True)
        return types.SimpleNamespace(last_hidden_state=states)


@pytest.mark.parametrize("head", ["classification", "regression"])
@pytest.mark.parametrize("pooling", ["last", "weighted", 1])
def test_cmt_training_forward_reads_no_value_back_from_the_device(head, pooling):
    """A value read back from an accelerator (`.any()`, `.tolist()`, boolean indexing) waits for it every step. On
    meta tensors any such read raises, so a training forward and backward that run on meta read nothing back: input
    checks that need values run on host tensors only (test_classification_rejects_out_of_range_and_float_labels)."""
    tester = CMTModelTester(audio_layer_pooling=pooling)
    config = tester.get_config(num_labels=1) if head == "regression" else tester.get_config()
    model_class = CMTForSequenceRegression if head == "regression" else CMTForSequenceClassification
    with torch.device("meta"):
        model = model_class(config)
    model.train()
    cmt = model.cmt
    cmt.text_model = _MetaBackbone(cmt.text_model)
    cmt.audio_model = _MetaBackbone(cmt.audio_model, lambda samples: frames_for(config, samples))
    inputs = {name: tensor.to("meta") for name, tensor in tester.prepare_inputs().items()}
    labels = torch.tensor([0.5, -1.0, 2.0] if head == "regression" else [0, 1, 3]).to("meta")
    outputs = model(**inputs, labels=labels)
    outputs.loss.backward()
    assert outputs.loss.device.type == "meta" and outputs.logits.shape == (3, config.num_labels)
