# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of the model cards of CMT checkpoints (`modeling_cmt.model_card`), and of which card
`modeling_cmt.hub.push_to_hub` writes, against the loopback Hub of `tests/hub_server.py`."""

import pytest
import torch
import yaml
from hub_server import LoopbackHub, client_endpoint
from huggingface_hub import HfApi, ModelCard
from testing_utils import CMTModelTester

from modeling_cmt import CMTForPreTraining, CMTForSequenceClassification, CMTForSequenceRegression
from modeling_cmt.hub import push_to_hub
from modeling_cmt.model_card import (
    MODEL_CARD_VARIANTS,
    backbone_base_models,
    checkpoint_lineage,
    create_model_card,
    is_hub_id,
    model_card_variant,
)
from modeling_cmt.remote_code import remote_code_requirements
from processing_cmt import aggregate_results, sa_metrics, ser_metrics


LABELS = ["angry", "happy", "neutral", "sad"]


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    config = CMTModelTester().get_config(
        id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)}
    )
    return CMTForSequenceClassification(config).eval()


@pytest.mark.parametrize("variant", sorted(MODEL_CARD_VARIANTS))
def test_every_variant_renders_a_card_with_hub_metadata(variant):
    card = create_model_card(variant, repo_id="my-org/my-cmt", license="apache-2.0")
    reloaded = ModelCard(str(card))  # what the Hub parses
    data = reloaded.data
    assert data.library_name == "transformers"
    assert data.pipeline_tag == MODEL_CARD_VARIANTS[variant].pipeline_tag
    assert data.base_model == ["FacebookAI/roberta-large", "facebook/hubert-large-ll60k"]
    assert "openslr/librispeech_asr" in data.datasets and data.license == "apache-2.0"
    assert data.eval_results is None  # no results given, none invented
    for section in ("## How to use", "## Training procedure", "## Limitations", "## Evaluation"):
        assert section in card.text, section
    assert '"my-org/my-cmt", trust_remote_code=True' in card.text
    # the install line lists what transformers' check_imports will demand of the shipped code
    requirements = remote_code_requirements(include_pipeline=MODEL_CARD_VARIANTS[variant].task_type is not None)
    assert f"pip install {' '.join(requirements)}" in card.text
    assert {"torch", "transformers", "librosa", "soundfile"} <= set(requirements)
    assert "{{" not in card.content and "{%" not in card.content and "\n\n\n" not in card.content


def test_results_fill_model_index_and_the_card_table(classifier):
    logits = torch.tensor([[3.0, 0, 0, 0], [0, 3.0, 0, 0], [0, 0, 3.0, 0], [0, 0, 3.0, 0], [0, 0, 0, 3.0]])
    labels = torch.tensor([0, 1, 2, 3, 3])
    results = {f"eval_{key}": value for key, value in ser_metrics(logits.numpy(), labels.numpy(), LABELS).items()}
    results.update({"eval_loss": 0.3, "eval_runtime": 1.2, "epoch": 3.0})  # Trainer bookkeeping: not results
    card = create_model_card("cmt-ser", results=results, repo_id="my-org/cmt-ser", config=classifier.config)

    model_index = yaml.safe_load(card.content.split("---")[1])["model-index"]
    assert model_index[0]["name"] == "CMT for speech emotion recognition (IEMOCAP)"
    entry = model_index[0]["results"][0]
    assert entry["task"]["type"] == "audio-classification"
    assert entry["dataset"]["type"] == "iemocap"
    metrics = {metric["name"]: metric for metric in entry["metrics"]}
    assert metrics["Weighted accuracy (WA)"]["value"] == pytest.approx(0.8)
    assert metrics["Weighted accuracy (WA)"]["type"] == "accuracy"
    assert metrics["Unweighted accuracy (UA)"]["value"] == pytest.approx(results["eval_ua"])
    assert metrics["Binary accuracy (sad)"]["value"] == pytest.approx(results["eval_binary_acc_sad"])
    assert not {"loss", "runtime", "epoch", "eval_loss"} & set(metrics)
    assert "| Weighted accuracy (WA) | 0.8000 |" in card.text
    assert "angry, happy, neutral, sad" in card.text  # label names from the config

    folds = [
        sa_metrics([1.2, -0.4, 2.2, -2.0], [1.0, -1.0, 2.5, -1.5]),
        sa_metrics([0.5, -1.0, 1.0], [1.0, -2.0, 1.5]),
    ]
    aggregated = {key: value for key, value in aggregate_results(folds).items() if key in ("acc7", "mae")}
    card = create_model_card("cmt-sa", results=aggregated)
    metrics = {metric.metric_name: metric for metric in card.data.eval_results}
    assert metrics["MAE"].metric_value == pytest.approx(aggregated["mae"]["mean"])
    assert f"{aggregated['mae']['mean']:.4f} ± {aggregated['mae']['std']:.4f} (2 runs)" in card.text


def test_bad_card_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="Unknown model card variant 'cmt-huge'"):
        create_model_card("cmt-huge")
    with pytest.raises(ValueError, match=r"Unknown model card field\(s\) \['hyperparameter'\]"):
        create_model_card("cmt-ser", hyperparameter={"lr": 1e-5})
    with pytest.raises(ValueError, match=r"results\['recall_sad'\] is nan"):
        create_model_card("cmt-ser", results={"wa": 0.7, "recall_sad": float("nan")})
    with pytest.raises(ValueError, match=r"results\['wa'\] is not a number: 'high'"):
        create_model_card("cmt-ser", results={"wa": "high"})
    with pytest.raises(ValueError, match="only Trainer bookkeeping keys"):
        create_model_card("cmt-ser", results={"eval_loss": 0.2})
    with pytest.raises(ValueError, match="pretrained checkpoint with no downstream task"):
        create_model_card("cmt-base", results={"text_mlm_loss": 2.1})
    card = create_model_card(
        "cmt-base", results={"text_mlm_loss": 2.1}, task_type="fill-mask", dataset_type="librispeech", dataset_name="X"
    )
    assert card.data.eval_results[0].metric_value == pytest.approx(2.1)


def test_card_variant_follows_the_model_head(classifier):
    assert model_card_variant(classifier) == "cmt-ser"
    assert model_card_variant(CMTForSequenceRegression(CMTModelTester().get_config(num_labels=1))) == "cmt-sa"
    large = CMTModelTester().get_config(num_cross_layers=4, num_cross_attention_heads=8)
    assert model_card_variant(CMTForPreTraining(large)) == "cmt-large"


def test_push_writes_a_card_only_where_none_was_written(classifier, tiny_processor):
    repo_id = "cmt-org/card-rules"
    with LoopbackHub() as hub, client_endpoint(hub.url):
        api = HfApi(endpoint=hub.url, token=hub.token)
        # a processor pushed first leaves transformers' placeholder card: the model's push replaces it
        tiny_processor.push_to_hub(repo_id, token=hub.token)
        assert "automatically generated" in hub.files(repo_id)["README.md"].content.decode()
        push_to_hub(classifier, repo_id, token=hub.token)
        assert "# CMT for speech emotion recognition" in hub.files(repo_id)["README.md"].content.decode()
        # a card someone wrote is kept, tags added
        api.upload_file(
            path_or_fileobj=b"---\nlicense: mit\n---\n# Hand-written card\n", path_in_repo="README.md", repo_id=repo_id
        )
        push_to_hub(classifier, repo_id, token=hub.token, tags=["iemocap-fold-1"])
        card = ModelCard(hub.files(repo_id)["README.md"].content.decode())
        assert "# Hand-written card" in card.text and card.data.license == "mit"
        assert card.data.tags == ["iemocap-fold-1"]
        # an explicit card replaces whatever is there
        push_to_hub(classifier, repo_id, token=hub.token, model_card=create_model_card("cmt-ser", license="other"))
        card = ModelCard(hub.files(repo_id)["README.md"].content.decode())
        assert card.data.license == "other" and "# Hand-written card" not in card.text
        assert hub.unknown_requests == []


# --- what made the model (issue #14): backbones, data and lineage as they were, not the paper's ----------------------

HUB_BACKBONES = ["FacebookAI/roberta-large", "facebook/hubert-large-ll60k"]


def _config_from(text_source: str, audio_source: str, **kwargs):
    """A tiny CMT config whose backbones record these sources, as `from_text_audio_pretrained` records them
    (`AutoConfig.from_pretrained(name)` sets each sub-config's `_name_or_path`)."""
    config = CMTModelTester().get_config(**kwargs)
    config.text_config._name_or_path, config.audio_config._name_or_path = text_source, audio_source
    return config


@pytest.mark.parametrize(
    "name, expected",
    [
        ("FacebookAI/roberta-large", True),
        ("roberta-base", True),
        ("/data/backbones/roberta", False),
        ("runs/quickstart/backbones/text", False),
        ("./text", False),
        ("~/models/text", False),
        ("org/../etc", False),
        ("", False),
        (None, False),
    ],
)
def test_hub_ids_are_told_from_local_paths(name, expected):
    assert is_hub_id(name) is expected


def test_a_folder_that_exists_here_is_local_even_if_it_reads_like_a_hub_id(tmp_path, monkeypatch):
    (tmp_path / "org" / "text").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert not is_hub_id("org/text") and is_hub_id("org/audio")


def test_base_model_is_the_hub_backbones_the_config_records(tmp_path):
    hub = _config_from(*HUB_BACKBONES)
    assert backbone_base_models(hub) == HUB_BACKBONES
    local = _config_from(str(tmp_path / "text"), str(tmp_path / "audio"))
    assert backbone_base_models(local) == []
    mixed = _config_from(str(tmp_path / "text"), HUB_BACKBONES[1])
    assert backbone_base_models(mixed) == [HUB_BACKBONES[1]]
    # a text-only baseline claims no audio backbone; random weights ("" as the scripts record them) claim nothing
    text_only = _config_from(*HUB_BACKBONES, modalities="text", num_cross_layers=0, ortho_loss_weight=0.0)
    assert backbone_base_models(text_only) == [HUB_BACKBONES[0]]
    assert backbone_base_models(_config_from("", "")) == []

    card = create_model_card("cmt-ser", config=hub)
    assert card.data.base_model == HUB_BACKBONES
    card = create_model_card("cmt-ser", config=local)
    assert card.data.base_model is None and "base_model" not in card.content.split("---")[1]
    assert str(tmp_path) not in str(card)


def test_backbones_loaded_from_local_folders_claim_no_hub_model(tiny_backbones, tmp_path):
    model = CMTForSequenceClassification.from_text_audio_pretrained(
        str(tiny_backbones["text"]), str(tiny_backbones["audio"]), num_labels=2
    )
    model.save_pretrained(tmp_path / "checkpoint")
    reloaded = CMTForSequenceClassification.from_pretrained(tmp_path / "checkpoint")
    for config in (model.config, reloaded.config):  # the record survives save_pretrained / from_pretrained
        assert config.text_config._name_or_path == str(tiny_backbones["text"])
        assert backbone_base_models(config) == []


def test_lineage_of_a_checkpoint_hub_or_local_with_or_without_its_card(tmp_path):
    hub_config = _config_from(*HUB_BACKBONES)
    # a Hub checkpoint is the base model itself
    assert checkpoint_lineage("my-org/cmt-base-pt", hub_config) == {
        "base_model": ["my-org/cmt-base-pt"],
        "datasets": [],
    }
    # a local one without a card: the Hub backbones its config records, no data claimed
    folder = tmp_path / "cmt-pt"
    folder.mkdir()
    assert checkpoint_lineage(folder, hub_config) == {"base_model": HUB_BACKBONES, "datasets": []}
    assert checkpoint_lineage(folder, _config_from(str(tmp_path / "t"), str(tmp_path / "a"))) == {
        "base_model": [],
        "datasets": [],
    }
    # a README that is no model card states no lineage
    (folder / "README.md").write_text("---\nbase_model: [unclosed\n---\n# My notes\n")
    assert checkpoint_lineage(folder, hub_config) == {"base_model": HUB_BACKBONES, "datasets": []}
    # a local one with the card its pretraining wrote: what that card says
    create_model_card("cmt-base", base_model=HUB_BACKBONES, datasets=["openslr/librispeech_asr"]).save(
        folder / "README.md"
    )
    assert checkpoint_lineage(folder, None) == {"base_model": HUB_BACKBONES, "datasets": ["openslr/librispeech_asr"]}


@pytest.mark.parametrize("variant", sorted(MODEL_CARD_VARIANTS))
def test_the_card_prose_names_the_backbones_the_model_has(variant):
    """With a config the card describes that model's backbones, not the paper's RoBERTa-large / HuBERT-large, and a
    training summary marks the numbered recipe as the paper's, not this checkpoint's."""
    card = str(create_model_card(variant, config=CMTModelTester().get_config(), training_summary="Made here."))
    assert "RoBERTa-large reads" not in card and "RoBERTa-large encodes" not in card
    assert "text backbone (roberta, 2 layers, hidden size 32)" in card
    assert "audio backbone (hubert, 2 layers, hidden size 32)" in card
    assert "The paper's recipe (what made this checkpoint is below it)" in card
    paper = str(create_model_card(variant))
    assert "RoBERTa-large" in paper and "(what made this checkpoint is below it)" not in paper
