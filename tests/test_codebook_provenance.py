# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Codeword targets stay those of the pretraining (issue 11, §4): a codebook records the audio model, layer and
normalisation that made it, labelling uses that model by default, and labelling with anything else is refused unless
asked for (`allow_codebook_mismatch` / `--allow_codebook_mismatch`). TAPT used to label with the checkpoint's audio
backbone, which pretraining had updated, so its targets drifted from the pretraining's."""

import logging
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from datasets import Dataset, DatasetDict
from testing_utils import tiny_hubert_config
from transformers import AutoModel, HubertModel, Wav2Vec2FeatureExtractor

from processing_cmt.codebook import fit_codebook, label_audio_codes, load_codebook, save_codebook
from processing_cmt.codebook_provenance import FINGERPRINT_METHOD, backbone_fingerprint, codebook_mismatches


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NUM_CODEWORDS = 6
LAYER = 1


def trained_further(directory: Path, lr: float = 0.5) -> HubertModel:
    """The backbone in `directory` after a few optimiser steps, as a CMT checkpoint's is after pretraining."""
    torch.manual_seed(1)
    model = AutoModel.from_pretrained(directory)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(3):
        hidden = model(torch.randn(2, 1600), output_hidden_states=True).hidden_states[LAYER]
        (hidden - 1.0).pow(2).mean().backward()  # pull every frame one way: the layer's features move
        optimizer.step()
        optimizer.zero_grad()
    return model.eval()


@pytest.fixture(scope="module")
def backbone_dir(tiny_backbones):
    """The published audio backbone: a local folder with its feature extractor (HuBERT-large's, normalising)."""
    return Path(tiny_backbones["audio"])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, write_wav):
    directory = tmp_path_factory.mktemp("provenance_corpus")
    paths = [str(write_wav(directory / f"u{i}.wav", seconds=0.08 + 0.02 * i, seed=i)) for i in range(6)]
    return Dataset.from_dict({"audio": paths})


@pytest.fixture(scope="module")
def codebook(backbone_dir, corpus, tmp_path_factory):
    """A codebook fitted on layer 1 of the published backbone, named by its folder as build_codebook.py does."""
    centroids, metadata = fit_codebook(
        corpus, str(backbone_dir), LAYER, NUM_CODEWORDS, kmeans_kwargs={"n_init": 1}, show_progress=False
    )
    return save_codebook(tmp_path_factory.mktemp("codebook") / "codebook.safetensors", centroids, metadata)


@pytest.fixture(scope="module")
def codes(corpus, backbone_dir, codebook):
    """The targets: the corpus labelled by the model the codebook was fitted on."""
    return label_audio_codes(corpus, str(backbone_dir), codebook)["audio_codes"]


# ---------------------------------------------------------------------------------------------- what is recorded


def test_the_codebook_records_what_made_it(backbone_dir, codebook):
    centroids, metadata = load_codebook(codebook)
    published = AutoModel.from_pretrained(backbone_dir)
    assert metadata["backbone"] == str(backbone_dir) and metadata["backbone_local_path"] == str(backbone_dir.resolve())
    assert metadata["backbone_fingerprint"] == backbone_fingerprint(published)
    assert metadata["fingerprint_method"] == FINGERPRINT_METHOD
    assert metadata["model_type"] == "hubert" and metadata["layer"] == LAYER
    assert (metadata["conv_kernel"], metadata["conv_stride"]) == ([10, 3], [5, 2])
    assert metadata["feature_extractor"] == {"sampling_rate": 16000, "do_normalize": True}
    assert metadata["sampling_rate"] == 16000 and metadata["num_codewords"] == NUM_CODEWORDS == centroids.shape[0]


def test_a_relative_backbone_path_is_recorded_as_given_and_found_from_elsewhere(
    backbone_dir, corpus, codes, tmp_path, monkeypatch
):
    monkeypatch.chdir(backbone_dir.parent)
    centroids, metadata = fit_codebook(
        corpus, backbone_dir.name, LAYER, NUM_CODEWORDS, kmeans_kwargs={"n_init": 1}, show_progress=False
    )
    assert metadata["backbone"] == backbone_dir.name and metadata["backbone_local_path"] == str(backbone_dir)
    monkeypatch.chdir(tmp_path)  # where the relative name means nothing
    path = save_codebook(tmp_path / "codebook.safetensors", centroids, metadata)
    assert len(label_audio_codes(corpus, None, path)["audio_codes"]) == len(codes)


def test_the_fingerprint_tells_the_published_backbone_from_one_trained_further(tiny_backbones, backbone_dir):
    from modeling_cmt import CMTForPreTraining

    published = backbone_fingerprint(AutoModel.from_pretrained(backbone_dir))
    # the same weights inside a CMT model built from it, as pretraining starts (its mask embedding apart)
    cmt = CMTForPreTraining.from_text_audio_pretrained(tiny_backbones["text"], backbone_dir, preset="cmt-base")
    assert backbone_fingerprint(cmt.cmt.audio_model) == published
    with torch.no_grad():
        cmt.cmt.audio_model.masked_spec_embed.add_(1.0)  # trained by the audio MLM; never in an unmasked pass
    assert backbone_fingerprint(cmt.cmt.audio_model) == published
    assert backbone_fingerprint(trained_further(backbone_dir, lr=1e-4)) != published


# ---------------------------------------------------------------------------------------------------- labelling


def test_labelling_defaults_to_the_recorded_model(corpus, codebook, codes):
    assert label_audio_codes(corpus, None, codebook)["audio_codes"] == codes


def test_labelling_with_a_backbone_trained_further_is_refused(corpus, backbone_dir, codebook, codes, caplog):
    updated = trained_further(backbone_dir)
    with pytest.raises(ValueError) as error:
        label_audio_codes(corpus, updated, codebook)
    message = str(error.value)
    assert f"Codebook '{codebook}' was fitted on layer 1 of '{backbone_dir}', but the labeller '" in message
    assert "its weights (fingerprint" in message and "trained further" in message
    assert "`audio_model=None`" in message and "allow_codebook_mismatch=True" in message

    with caplog.at_level(logging.WARNING, logger="processing_cmt.codebook"):
        drifted = label_audio_codes(corpus, updated, codebook, allow_codebook_mismatch=True)["audio_codes"]
    assert "Labelling anyway (allow_codebook_mismatch=True)" in caplog.text
    assert drifted != codes, "the updated backbone's codes are other targets: what the check prevents"


def test_labelling_from_another_layer_or_normalisation_is_refused(corpus, backbone_dir, codebook):
    with pytest.raises(ValueError, match="`layer` 2 differs from the layer the codebook was fitted on \\(1\\)"):
        label_audio_codes(corpus, None, codebook, layer=2)
    unnormalised = Wav2Vec2FeatureExtractor(do_normalize=False)
    with pytest.raises(
        ValueError, match="prepared at 16000 Hz with do_normalize=False, the codebook's at 16000 Hz with do_normalize"
    ):
        label_audio_codes(corpus, None, codebook, feature_extractor=unnormalised)
    # `input_values` prepared by that extractor: it is still checked, though not applied
    processed = Dataset.from_dict({"input_values": [[0.1, -0.2] * 400]})
    with pytest.raises(ValueError, match="do_normalize=False"):
        label_audio_codes(processed, None, codebook, feature_extractor=unnormalised)


def test_labelling_prepares_the_audio_as_the_codebook_did(backbone_dir, corpus, tmp_path):
    """Raw audio is normalised as the k-means features were (recorded), not as the model folder's extractor says."""
    unnormalised = Wav2Vec2FeatureExtractor(do_normalize=False)
    centroids, metadata = fit_codebook(
        corpus, str(backbone_dir), LAYER, NUM_CODEWORDS, feature_extractor=unnormalised, show_progress=False
    )
    assert metadata["feature_extractor"] == {"sampling_rate": 16000, "do_normalize": False}
    path = save_codebook(tmp_path / "codebook.safetensors", centroids, metadata)
    by_default = label_audio_codes(corpus, None, path)["audio_codes"]
    assert by_default == label_audio_codes(corpus, None, path, feature_extractor=unnormalised)["audio_codes"]


def test_a_codebook_without_provenance_needs_its_model_named(corpus, backbone_dir, codebook, codes, tmp_path, caplog):
    centroids, metadata = load_codebook(codebook)
    old = save_codebook(tmp_path / "old.safetensors", centroids, {"backbone": str(backbone_dir), "layer": LAYER})
    with caplog.at_level(logging.WARNING, logger="processing_cmt.codebook"):
        load_codebook(old)
    assert "records no fingerprint of the audio model it was fitted on" in caplog.text
    with pytest.raises(ValueError, match=f"records no fingerprint .* pass that model \\('{backbone_dir}' by its"):
        label_audio_codes(corpus, None, old)
    assert label_audio_codes(corpus, str(backbone_dir), old)["audio_codes"] == codes


def test_an_unreachable_recorded_model_is_named(corpus, backbone_dir, tmp_path):
    moved = tmp_path / "hubert"
    shutil.copytree(backbone_dir, moved)
    centroids, metadata = fit_codebook(corpus, str(moved), LAYER, NUM_CODEWORDS, show_progress=False)
    path = save_codebook(tmp_path / "codebook.safetensors", centroids, metadata)
    shutil.rmtree(moved)
    with pytest.raises(ValueError, match=f"was fitted on the audio model '{moved}', which cannot be loaded here"):
        label_audio_codes(corpus, None, path)
    # the same weights from where they are now pass the check
    assert len(label_audio_codes(corpus, str(backbone_dir), path)["audio_codes"]) == len(corpus)


def test_mfcc_targets_need_only_the_same_framing(corpus, tmp_path):
    """MFCCs do not depend on the weights: any backbone framing the audio the same way gives the same targets."""
    stride_config = {"conv_dim": [8] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2]}
    torch.manual_seed(0)
    fitted_on = HubertModel(tiny_hubert_config(**stride_config)).eval()
    centroids, metadata = fit_codebook(corpus, fitted_on, "mfcc", 2, kmeans_kwargs={"n_init": 1})
    codes = label_audio_codes(corpus, fitted_on, (centroids, metadata))["audio_codes"]
    other_weights = HubertModel(tiny_hubert_config(**stride_config)).eval()
    assert codebook_mismatches(metadata, other_weights) == []
    assert label_audio_codes(corpus, other_weights, (centroids, metadata))["audio_codes"] == codes
    other_framing = HubertModel(tiny_hubert_config(**{**stride_config, "conv_stride": [5, 2, 2, 2, 2, 2, 4]}))
    with pytest.raises(
        ValueError, match="frames the audio with conv_kernel .* / conv_stride \\[5, 2, 2, 2, 2, 2, 4\\]"
    ):
        label_audio_codes(corpus, other_framing, (centroids, metadata))


# ---------------------------------------------------------------------- run_pretraining.py's labelling (attach_codes)


@pytest.fixture(scope="module")
def examples_on_path():
    sys.path.insert(0, str(EXAMPLES))
    yield
    sys.path.remove(str(EXAMPLES))


def attach(corpus, own_backbone, codebook_path, feature_extractor=None, device=None, **flags):
    """`attach_codes` as run_pretraining.py calls it, for a model whose audio backbone is `own_backbone`."""
    from cmt_arguments import PretrainingModelArguments
    from cmt_data import attach_codes

    centroids, metadata = load_codebook(codebook_path)
    model = SimpleNamespace(codebook=torch.zeros_like(centroids), cmt=SimpleNamespace(audio_model=own_backbone))
    model_args = PretrainingModelArguments(
        stage="tapt", model_name_or_path="runs/cmt-base-pt", codebook=str(codebook_path), **flags
    )
    corpus = DatasetDict({"train": corpus, "validation": corpus.select(range(2))})
    labelled = attach_codes(corpus, model, model_args, (centroids, metadata), None, feature_extractor, device)
    return labelled["train"]["audio_codes"]


def test_tapt_labels_with_the_codebook_model_not_the_checkpoint_backbone(
    examples_on_path, corpus, backbone_dir, codebook, codes
):
    """No --codebook_model: the checkpoint's backbone, updated by pretraining, is not the labeller."""
    updated = trained_further(backbone_dir)
    assert attach(corpus, updated, codebook, Wav2Vec2FeatureExtractor()) == codes


def test_pretraining_labels_with_its_own_backbone_when_it_is_the_codebook_model(
    examples_on_path, corpus, backbone_dir, codebook, codes, monkeypatch
):
    import cmt_data

    def no_load(*args, **kwargs):
        raise AssertionError("the run's own backbone is the codebook's: nothing to load")

    monkeypatch.setattr(cmt_data, "load_codebook_backbone", no_load)
    assert attach(corpus, AutoModel.from_pretrained(backbone_dir), codebook) == codes


def test_the_labeller_runs_on_the_run_s_device_then_goes_back(
    examples_on_path, corpus, backbone_dir, codebook, codes, monkeypatch
):
    """run_pretraining.py labels before Trainer places the model: on the run's device, not the CPU (about 70 min per
    hour of audio at full size), and the backbone is left where it was."""
    import cmt_data

    own = AutoModel.from_pretrained(backbone_dir)
    moves, to = [], own.to
    monkeypatch.setattr(own, "to", lambda device: moves.append(str(device)) or to("cpu"))
    label, moves_when_labelling = cmt_data.label_audio_codes, []
    monkeypatch.setattr(
        cmt_data,
        "label_audio_codes",
        lambda *args, **kwargs: moves_when_labelling.append(list(moves)) or label(*args, **kwargs),
    )
    assert attach(corpus, own, codebook, device="cuda:3") == codes
    assert moves_when_labelling == [["cuda:3"], ["cuda:3"]]  # train and validation
    assert moves == ["cuda:3", "cpu"]


def test_another_codebook_model_is_refused_unless_allowed(examples_on_path, corpus, backbone_dir, codebook, tmp_path):
    other = tmp_path / "other-hubert"
    trained_further(backbone_dir).save_pretrained(other)
    with pytest.raises(ValueError, match=f"fitted on layer 1 of '{backbone_dir}', but the labeller '{other}'"):
        attach(corpus, None, codebook, codebook_model=str(other))
    assert len(attach(corpus, None, codebook, codebook_model=str(other), allow_codebook_mismatch=True)) == 6


def test_the_processor_normalisation_is_checked(examples_on_path, corpus, backbone_dir, codebook):
    own = AutoModel.from_pretrained(backbone_dir)
    with pytest.raises(ValueError, match="do_normalize=False, the codebook's at 16000 Hz with do_normalize=True"):
        attach(corpus, own, codebook, Wav2Vec2FeatureExtractor(do_normalize=False))


def test_an_old_codebook_needs_codebook_model(examples_on_path, corpus, backbone_dir, codebook, codes, tmp_path):
    centroids, _ = load_codebook(codebook)
    old = save_codebook(tmp_path / "old.safetensors", centroids, {"backbone": str(backbone_dir), "layer": LAYER})
    with pytest.raises(ValueError, match="records no fingerprint .* pass --codebook_model with that model"):
        attach(corpus, AutoModel.from_pretrained(backbone_dir), old)
    assert attach(corpus, trained_further(backbone_dir), old, codebook_model=str(backbone_dir)) == codes


def test_unreachable_codebook_model_and_a_changed_backbone_is_refused_unless_allowed(
    examples_on_path, corpus, backbone_dir, tmp_path, caplog
):
    moved = tmp_path / "hubert"
    shutil.copytree(backbone_dir, moved)
    centroids, metadata = fit_codebook(corpus, str(moved), LAYER, NUM_CODEWORDS, show_progress=False)
    path = save_codebook(tmp_path / "codebook.safetensors", centroids, metadata)
    shutil.rmtree(moved)
    updated = trained_further(backbone_dir)
    with pytest.raises(ValueError) as error:
        attach(corpus, updated, path)
    message = str(error.value)
    assert f"was fitted on the audio model '{moved}', which cannot be loaded here" in message
    assert "Nor can this run's audio backbone (from 'runs/cmt-base-pt') stand in for it: its weights" in message
    assert "--codebook_model" in message and "--allow_codebook_mismatch" in message
    with caplog.at_level(logging.WARNING):
        drifted = attach(corpus, updated, path, allow_codebook_mismatch=True)
    assert "Labelling with this run's audio backbone" in caplog.text
    assert drifted == label_audio_codes(corpus, updated, path, allow_codebook_mismatch=True)["audio_codes"]
