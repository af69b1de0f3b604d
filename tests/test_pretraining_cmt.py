"""Tests of CMTForPreTraining: cross-modal text MLM and audio codeword prediction (paper §3.2.2)."""

import pytest
import torch
import torch.nn.functional as F
from testing_utils import CMTModelTester
from transformers import AutoModelForPreTraining

from modeling_cmt import CMTForPreTraining


MASK_TOKEN_ID = 4


def pretraining_batch(config, seed=0):
    """Inputs as DataCollatorForCMTPretraining returns them, with masks drawn by hand."""
    generator = torch.Generator().manual_seed(seed)
    inputs = CMTModelTester().prepare_inputs(seed)
    inputs["audio_attention_mask"][2, 800:] = 0
    original_ids = inputs["input_ids"].clone()
    labels = torch.full_like(original_ids, -100)
    labels[:, 2:5] = original_ids[:, 2:5]
    inputs["input_ids"] = original_ids.masked_fill(labels != -100, MASK_TOKEN_ID)
    model_frames = CMTForPreTraining(config).cmt.embed_audio(inputs["input_values"], inputs["audio_attention_mask"])[1]
    mask_time_indices = torch.zeros_like(model_frames, dtype=torch.bool)
    mask_time_indices[:, 10:30] = True
    codes = torch.randint(0, config.num_codewords, model_frames.shape, generator=generator)
    codes[model_frames == 0] = -100
    return {**inputs, "labels": labels, "audio_labels": codes, "mask_time_indices": mask_time_indices}, original_ids


@pytest.fixture
def config():
    return CMTModelTester().get_config(num_codewords=12)


def test_losses_are_the_papers(config):
    torch.manual_seed(0)
    model = CMTForPreTraining(config).eval()
    batch, _ = pretraining_batch(config)
    out = model(**batch)
    selected = batch["labels"] != -100
    assert out.text_logits.shape == (int(selected.sum()), 99)
    assert torch.allclose(out.text_mlm_loss, F.cross_entropy(out.text_logits, batch["labels"][selected]))
    frames = batch["mask_time_indices"]
    assert out.audio_logits.shape == (int(frames.sum()), 12)
    assert torch.allclose(out.audio_mlm_loss, F.cross_entropy(out.audio_logits, batch["audio_labels"][frames]))
    assert torch.allclose(out.loss, out.audio_mlm_loss + out.text_mlm_loss)  # L_tot = L_a + L_w
    # HuBERT's prediction: cosine similarity between projected frames and codewords / temperature 0.1
    with torch.no_grad():
        projected = model.audio_projection(out.audio_last_hidden_state[frames])
        expected = F.cosine_similarity(projected[:, None], model.codeword_embeddings[None], dim=-1) / 0.1
    torch.testing.assert_close(out.audio_logits, expected, atol=1e-4, rtol=1e-4)


def test_a_bf16_model_pretrains_on_float32_audio(config):
    torch.manual_seed(0)
    model = CMTForPreTraining(config).eval()
    batch, _ = pretraining_batch(config)
    with torch.no_grad():
        reference = model(**batch)
        half = model.to(torch.bfloat16)(**batch)
    for name in ("text_mlm_loss", "audio_mlm_loss"):
        assert torch.isfinite(getattr(half, name))
        torch.testing.assert_close(getattr(half, name).float(), getattr(reference, name), atol=0.05, rtol=0.05)


def test_each_stream_cross_attends_to_the_unmasked_other_modality(config):
    torch.manual_seed(0)
    model = CMTForPreTraining(config).eval()
    batch, original_ids = pretraining_batch(config)
    seen = {}

    def record(name):
        def hook(module, args, output):
            seen[name] = args

        return hook

    hooks = [
        model.cmt.encoder.text_layers[0].cross_attention.register_forward_hook(record("text_cross")),
        model.cmt.encoder.audio_layers[0].cross_attention.register_forward_hook(record("audio_cross")),
        model.cmt.encoder.audio_layers[0].register_forward_hook(record("audio_input")),
        model.cmt.encoder.text_layers[0].register_forward_hook(record("text_input")),
    ]
    with torch.no_grad():
        model(**batch)
        unmasked_audio, _ = model.cmt.embed_audio(batch["input_values"], batch["audio_attention_mask"])
        masked_audio, _ = model.cmt.embed_audio(
            batch["input_values"], batch["audio_attention_mask"], batch["mask_time_indices"]
        )
        unmasked_text = model.cmt.embed_text(original_ids, batch["attention_mask"])
        masked_text = model.cmt.embed_text(batch["input_ids"], batch["attention_mask"])
    for hook in hooks:
        hook.remove()
    torch.testing.assert_close(seen["text_cross"][1], unmasked_audio)  # text stream keys/values: unmasked e_a
    torch.testing.assert_close(seen["audio_cross"][1], unmasked_text)  # audio stream keys/values: unmasked e_w
    torch.testing.assert_close(seen["text_input"][0], masked_text)  # text stream input: e_w of the masked tokens
    # audio stream input: e_a of the audio masked at the backbone's input (HuBERT's mask embedding over its CNN features)
    torch.testing.assert_close(seen["audio_input"][0], masked_audio)
    assert not torch.allclose(masked_audio, unmasked_audio, atol=1e-3)


def test_backward_and_codebook(config, tmp_path):
    torch.manual_seed(0)
    model = CMTForPreTraining(config).train()
    centroids = torch.randn(12, 32)
    model.set_codebook(centroids)
    assert torch.equal(model.codeword_embeddings.detach(), centroids) and torch.equal(model.codebook, centroids)
    batch, _ = pretraining_batch(config)
    model(**batch).loss.backward()
    # every parameter learns, HuBERT's mask embedding (which masks the pretraining frames) included
    no_grad = [
        name for name, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())
    ]
    assert no_grad == []
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForPreTraining.from_pretrained(tmp_path)
    assert type(reloaded) is CMTForPreTraining and torch.equal(reloaded.codebook, centroids)


def test_text_only_or_audio_only_objective(config):
    model = CMTForPreTraining(config).eval()
    batch, _ = pretraining_batch(config)
    text_only = model(**{k: v for k, v in batch.items() if k not in ("audio_labels", "mask_time_indices")})
    assert text_only.audio_mlm_loss is None and torch.allclose(text_only.loss, text_only.text_mlm_loss)
    audio_only = model(**{k: v for k, v in batch.items() if k != "labels"})
    assert audio_only.text_mlm_loss is None and torch.allclose(audio_only.loss, audio_only.audio_mlm_loss)


def test_bad_pretraining_inputs(config):
    model = CMTForPreTraining(config).eval()
    batch, _ = pretraining_batch(config)
    with pytest.raises(ValueError, match=r"codebook has shape \(12, 16\).*\(12, 32\)"):
        model.set_codebook(torch.randn(12, 16))
    with pytest.raises(ValueError, match="`audio_labels` has shape .* aligned with the backbone's frames"):
        model(**{**batch, "audio_labels": batch["audio_labels"][:, :-3]})
    padded = batch["mask_time_indices"].clone()
    padded[2, -5:] = True
    with pytest.raises(ValueError, match="masks padded audio frames"):
        model(**{**batch, "mask_time_indices": padded})
    bad_codes = batch["audio_labels"].clone()
    bad_codes[0, 12] = 40
    with pytest.raises(ValueError, match=r"codeword ids in 0..11, got \[40\]"):
        model(**{**batch, "audio_labels": bad_codes})
    with pytest.raises(ValueError, match="need `mask_time_indices`"):
        model(**{**batch, "mask_time_indices": None})


def test_backbone_without_spec_augment(config):
    """HuBERT built with mask_time_prob = mask_feature_prob = 0 has no mask embedding: pretraining gives it one, which
    learns; with `apply_spec_augment=False` the backbone would ignore the mask, which is refused."""
    config.audio_config.mask_time_prob = 0.0
    model = CMTForPreTraining(config).train()
    batch, _ = pretraining_batch(config)
    loss = model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss) and model.cmt.audio_model.masked_spec_embed.grad.any()
    config.audio_config.apply_spec_augment = False
    with pytest.raises(ValueError, match="apply_spec_augment=False"):
        CMTForPreTraining(config)


def _masked_span_samples(config, batch):
    """The audio samples that only masked frames see: inside the masked span of frames 10-29, outside the receptive
    field of every unmasked frame (tiny conv stack: frame t reads samples [10 t, 10 t + 20))."""
    frames = batch["mask_time_indices"][0].nonzero().flatten()
    assert frames.tolist() == list(range(10, 30))
    return slice(10 * 9 + 20, 10 * 30)  # after frame 9's field ends, before frame 30's starts


@pytest.mark.parametrize("audio_context_gradients", [True, False])
def test_audio_mlm_does_not_leak_the_masked_audio(config, audio_context_gradients):
    """§3.2.2: the masked frames are predicted from the rest of the audio and the text, not from the masked audio.
    Changing only samples that no unmasked frame sees leaves the audio logits and loss unchanged; the text MLM, whose
    keys and values are the unmasked audio, does see them."""
    config.audio_context_gradients = audio_context_gradients
    torch.manual_seed(0)
    model = CMTForPreTraining(config).eval()
    batch, _ = pretraining_batch(config)
    inside = _masked_span_samples(config, batch)
    changed = {**batch, "input_values": batch["input_values"].clone()}
    changed["input_values"][:, inside] = torch.randn_like(changed["input_values"][:, inside]) * 3
    with torch.no_grad():
        reference, other = model(**batch), model(**changed)
    torch.testing.assert_close(other.audio_logits, reference.audio_logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(other.audio_mlm_loss, reference.audio_mlm_loss, atol=1e-6, rtol=0)
    assert not torch.allclose(other.text_logits, reference.text_logits, atol=1e-6)


def test_text_mlm_does_not_leak_the_masked_tokens(config):
    """The mirror: the masked tokens' ids reach neither the text logits nor the text loss (labels hold them)."""
    torch.manual_seed(0)
    model = CMTForPreTraining(config).eval()
    batch, original_ids = pretraining_batch(config)
    with torch.no_grad():
        reference = model(**batch)
        replaced = batch["input_ids"].clone()
        replaced[batch["labels"] != -100] = 7  # another id than <mask> in the same places
        other = model(**{**batch, "input_ids": replaced})
        unchanged = model(**{**batch, "input_ids": batch["input_ids"].clone()})
    torch.testing.assert_close(unchanged.text_logits, reference.text_logits, atol=1e-6, rtol=0)
    assert not torch.allclose(other.text_logits, reference.text_logits)  # the input at masked positions matters
    # ... but the original tokens never enter the text stream: only the audio stream's keys and values see them
    assert torch.equal(batch["input_ids"][batch["labels"] != -100], torch.full_like(original_ids[:, 2:5], 4).flatten())


def test_unmasked_audio_pass_carries_gradients_unless_asked(config):
    """`audio_context_gradients`: whether the text MLM trains the audio backbone through the unmasked audio pass."""
    batch, _ = pretraining_batch(config)
    grads = {}
    for setting in (True, False):
        config.audio_context_gradients = setting
        torch.manual_seed(0)
        model = CMTForPreTraining(config).train()
        model.config.hidden_dropout_prob = 0.0
        text_only = model(**{k: v for k, v in batch.items() if k != "audio_labels"})
        text_only.text_mlm_loss.backward()
        grads[setting] = model.cmt.audio_model.encoder.layers[0].attention.q_proj.weight.grad
    assert grads[True] is not None and grads[True].abs().sum() > 0
    assert grads[False] is None or grads[False].abs().sum() == 0


def test_pretraining_outputs_hidden_states_and_attentions(config):
    model = CMTForPreTraining(config).eval()
    batch, _ = pretraining_batch(config)
    out = model(**batch, output_hidden_states=True, output_attentions=True)
    layers = config.num_cross_layers
    assert len(out.text_hidden_states) == len(out.audio_hidden_states) == layers + 1
    assert len(out.text_attentions) == len(out.audio_cross_attentions) == layers
    assert model(**batch).text_hidden_states is None


def test_resize_token_embeddings_resizes_the_mlm_head(config):
    torch.manual_seed(0)
    model = CMTForPreTraining(config).eval()
    batch, _ = pretraining_batch(config)
    model.resize_token_embeddings(config.text_config.vocab_size + 5)
    assert model.text_mlm_bias.shape == (104,) and model.config.text_config.vocab_size == 104
    out = model(**batch)
    assert out.text_logits.shape[-1] == 104 and torch.isfinite(out.loss)


def test_unknown_keyword_arguments_are_refused(config):
    model = CMTForPreTraining(config).eval()
    batch, _ = pretraining_batch(config)
    with pytest.raises(TypeError, match="audio_mask"):
        model(**batch, audio_mask=batch["audio_attention_mask"])
