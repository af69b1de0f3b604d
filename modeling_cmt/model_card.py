# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Model cards of CMT checkpoints.

`model_cards/` holds one Jinja2 template per published variant ([`MODEL_CARD_VARIANTS`]); [`create_model_card`]
renders one with huggingface_hub's `ModelCard.from_template`, metadata in `ModelCardData` and `model-index` results as
`EvalResult`s; its install line lists what the checkpoint's remote code needs ([`~modeling_cmt.remote_code`]).
[`~modeling_cmt.hub.push_to_hub`] writes it as `README.md` when the repo has none.
"""

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import PreTrainedConfig

from configuration_cmt import CMT_PRESETS, CMTConfig

from .modeling_cmt import CMTForSequenceClassification, CMTPreTrainedModel
from .remote_code import remote_code_requirements


__all__ = [
    "KNOWN_DATASETS",
    "MODEL_CARD_VARIANTS",
    "MODEL_CARDS_DIR",
    "CardVariant",
    "backbone_base_models",
    "checkpoint_lineage",
    "create_model_card",
    "is_hub_id",
    "model_card_variant",
]

# installed: modeling_cmt/model_cards (setup.py maps the repository's model_cards/ there); a source checkout: the
# repository's own folder
MODEL_CARDS_DIR = next(
    (
        folder
        for folder in (
            Path(__file__).resolve().parent / "model_cards",
            Path(__file__).resolve().parents[1] / "model_cards",
        )
        if folder.is_dir()
    ),
    Path(__file__).resolve().parents[1] / "model_cards",
)


BACKBONES = ["FacebookAI/roberta-large", "facebook/hubert-large-ll60k"]
PRETRAINING_DATASET = "openslr/librispeech_asr"
# The corpora the scripts read, by the id a card lists them under (`datasets`, model-index `dataset.type`).
KNOWN_DATASETS = {"librispeech": PRETRAINING_DATASET, "iemocap": "iemocap", "cmu-mosei": "cmu-mosei"}

# "name" or "org/name" (huggingface_hub's repo id rules, loosely): a local path has more parts, or a leading / . ~
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def is_hub_id(name: Any) -> bool:
    """
    Whether `name` (a `from_pretrained` argument, or a config's `_name_or_path`) is a Hub repo id rather than a local
    folder: "name" or "org/name", and no folder of that name here.

    Args:
        name: the name or path.
    """
    return isinstance(name, str) and bool(_HUB_ID.match(name)) and ".." not in name and not os.path.exists(name)


def backbone_base_models(config: CMTConfig) -> list[str]:
    """
    The Hub ids of the backbones whose weights the model was built from, in text, audio order: the backbone
    sub-configs' `_name_or_path`, which `from_text_audio_pretrained` gets from `AutoConfig.from_pretrained` and
    `save_pretrained` keeps in `config.json`. A backbone loaded from a local folder, or built with random weights (the
    scripts' `--random_init` clears the name), claims none; nor does the backbone of a modality the model does not use.

    Args:
        config ([`CMTConfig`]): the model's config.
    """
    used = {"audio_text": ("text", "audio"), "text": ("text",), "audio": ("audio",)}[config.modalities]
    names = [getattr(getattr(config, f"{modality}_config"), "_name_or_path", None) for modality in used]
    return [name for name in names if is_hub_id(name)]


def checkpoint_lineage(checkpoint: str | os.PathLike, config: CMTConfig | None = None) -> dict[str, list[str]]:
    """
    What a checkpoint was made from, for the card of a model trained from it: `{"base_model": [...], "datasets":
    [...]}`. A Hub checkpoint is itself the base model; a local one passes on its own card's `base_model` and `datasets`
    (the README.md `run_pretraining.py` writes next to it), or without a card the Hub backbones its `config` records,
    and no data (none is known).

    Args:
        checkpoint (`str` or `os.PathLike`): the checkpoint's Hub id or folder.
        config ([`CMTConfig`], *optional*): its config, for the backbones when it has no card.
    """
    name = os.fspath(checkpoint)
    card_path = Path(name) / "README.md"
    card_data = None
    if card_path.is_file():
        try:
            card_data = ModelCard.load(card_path).data
        except Exception:  # a README that is not a model card (e.g. malformed YAML) states no lineage
            card_data = None
    if is_hub_id(name):
        return {"base_model": [name], "datasets": list(getattr(card_data, "datasets", None) or [])}
    if card_data is not None and (card_data.base_model or card_data.datasets):
        base_model = card_data.base_model
        return {
            "base_model": [base_model] if isinstance(base_model, str) else list(base_model or []),
            "datasets": list(card_data.datasets or []),
        }
    return {"base_model": backbone_base_models(config) if config is not None else [], "datasets": []}


@dataclass(frozen=True)
class CardVariant:
    """What a published variant's card says by default."""

    title: str
    template: str
    pipeline_tag: str
    datasets: list[str]
    tags: list[str]
    # model-index defaults; `None` for the pretrained variants, which have no downstream task
    task_type: str | None = None
    task_name: str | None = None
    dataset_type: str | None = None
    dataset_name: str | None = None
    dataset_split: str | None = None
    # the paper's recipe (§4.2) for this variant, shown as a reference next to the checkpoint's own hyperparameters
    paper_recipe: dict[str, Any] = field(default_factory=dict)


_COMMON_TAGS = ["cmt", "audio-text", "multimodal", "custom_code"]
_PRETRAINING_RECIPE = {
    "pretraining data": "LibriSpeech 960 h (audio + transcripts)",
    "optimizer": "AdamW",
    "learning rate": "5e-5, linear decay",
    "effective batch size": 256,
    "updates": "100,000",
    "text masking": "15% of tokens (RoBERTa's 80/10/10)",
    "audio masking": "span starts p = 0.075, span length 10 frames",
}
_FINETUNING_RECIPE = {
    "optimizer": "Adam",
    "learning rate": "1e-5",
    "effective batch size": 16,
    "epochs": 25,
    "orthogonality weight α (Eq. 8)": 10,
}

MODEL_CARD_VARIANTS: dict[str, CardVariant] = {
    "cmt-base": CardVariant(
        title="CMT-Base",
        template="cmt-base.md",
        pipeline_tag="feature-extraction",
        datasets=[PRETRAINING_DATASET],
        tags=_COMMON_TAGS + ["pretraining"],
        paper_recipe=_PRETRAINING_RECIPE,
    ),
    "cmt-large": CardVariant(
        title="CMT-Large",
        template="cmt-large.md",
        pipeline_tag="feature-extraction",
        datasets=[PRETRAINING_DATASET],
        tags=_COMMON_TAGS + ["pretraining"],
        paper_recipe=_PRETRAINING_RECIPE,
    ),
    "cmt-ser": CardVariant(
        title="CMT for speech emotion recognition (IEMOCAP)",
        template="cmt-ser.md",
        pipeline_tag="audio-classification",
        datasets=[PRETRAINING_DATASET, "iemocap"],
        tags=_COMMON_TAGS + ["speech-emotion-recognition", "audio-text-sentiment"],
        task_type="audio-classification",
        task_name="Speech emotion recognition",
        dataset_type="iemocap",
        dataset_name="IEMOCAP (4 classes, leave-one-session-out)",
        dataset_split="test",
        paper_recipe=_FINETUNING_RECIPE,
    ),
    "cmt-sa": CardVariant(
        title="CMT for sentiment analysis (CMU-MOSEI)",
        template="cmt-sa.md",
        pipeline_tag="audio-classification",
        datasets=[PRETRAINING_DATASET, "cmu-mosei"],
        tags=_COMMON_TAGS + ["sentiment-analysis", "audio-text-sentiment"],
        task_type="audio-classification",
        task_name="Sentiment analysis (regression in [-3, 3])",
        dataset_type="cmu-mosei",
        dataset_name="CMU-MOSEI",
        dataset_split="test",
        paper_recipe=_FINETUNING_RECIPE,
    ),
}

# metric key (as processing_cmt.metrics returns it) -> (model-index metric type, display name)
_METRIC_NAMES = {
    "wa": ("accuracy", "Weighted accuracy (WA)"),
    "ua": ("unweighted_accuracy", "Unweighted accuracy (UA)"),
    "macro_f1": ("f1", "Macro F1"),
    "weighted_f1": ("f1", "Weighted F1"),
    "acc7": ("accuracy", "Acc7"),
    "acc5": ("accuracy", "Acc5"),
    "acc2_non0": ("accuracy", "Acc2 (negative vs positive)"),
    "f1_non0": ("f1", "F1 (negative vs positive)"),
    "acc2_has0": ("accuracy", "Acc2 (negative vs non-negative)"),
    "f1_has0": ("f1", "F1 (negative vs non-negative)"),
    "mae": ("mae", "MAE"),
    "corr": ("pearsonr", "Pearson correlation"),
}
_PER_CLASS_METRICS = {
    "binary_acc_": ("accuracy", "Binary accuracy ({})"),
    "binary_f1_": ("f1", "Binary F1 ({})"),
    "recall_": ("recall", "Recall ({})"),
}
# Trainer's bookkeeping next to the metrics in `trainer.evaluate()` output: not model-index results
_TRAINER_KEYS = {"loss", "runtime", "samples_per_second", "steps_per_second", "epoch"}
_RESULT_PREFIXES = ("eval_", "test_", "predict_")

# `create_model_card` fields read by the templates / model-index rather than stored as card metadata
_TEMPLATE_FIELDS = {
    "repo_id",
    "config",
    "preset",
    "hyperparameters",
    "training_summary",
    "task_type",
    "task_name",
    "dataset_type",
    "dataset_name",
    "dataset_split",
    "dataset_config",
    "source_name",
    "source_url",
}
_CARD_DATA_FIELDS = {
    "base_model",
    "datasets",
    "language",
    "library_name",
    "license",
    "license_name",
    "license_link",
    "metrics",
    "model_name",
    "pipeline_tag",
    "tags",
}


def _preset_of(config: PreTrainedConfig | None) -> str | None:
    if config is None:
        return None
    for name, preset in CMT_PRESETS.items():
        if all(getattr(config, key, None) == value for key, value in preset.items()):
            return name
    return None


def model_card_variant(model: CMTPreTrainedModel) -> str:
    """
    The card variant matching a model: `"cmt-sa"` for a regression head, `"cmt-ser"` for a classification head,
    `"cmt-large"` for a headless model with the CMT-Large preset, else `"cmt-base"`.

    Args:
        model ([`CMTPreTrainedModel`]): the model to describe.
    """
    if isinstance(model, CMTForSequenceClassification):
        is_regression = model.config.problem_type == "regression" or model.config.num_labels == 1
        return "cmt-sa" if is_regression else "cmt-ser"
    return "cmt-large" if _preset_of(model.config) == "cmt-large" else "cmt-base"


def _result_value(name: str, value: Any) -> tuple[float, str]:
    """A results entry -> (value, display); `{"mean", "std", "n"}` (from `aggregate_results`) reads as mean ± std."""
    if isinstance(value, Mapping):
        if "mean" not in value:
            raise ValueError(f"results[{name!r}] is a mapping without 'mean': {dict(value)!r}.")
        mean, std = value["mean"], value.get("std")
        mean_value, _ = _result_value(name, mean)
        if std is None or (isinstance(std, float) and math.isnan(std)):
            return mean_value, f"{mean_value:.4f}"
        runs = f" ({value['n']} runs)" if "n" in value else ""
        return mean_value, f"{mean_value:.4f} ± {float(std):.4f}{runs}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"results[{name!r}] is not a number: {value!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(
            f"results[{name!r}] is {number}: a model card cannot report a non-finite value (e.g. the recall of a "
            "class absent from the evaluation set); leave that metric out."
        )
    return number, f"{number:.4f}"


def _metric_names(key: str) -> tuple[str, str]:
    if key in _METRIC_NAMES:
        return _METRIC_NAMES[key]
    for prefix, (metric_type, display) in _PER_CLASS_METRICS.items():
        if key.startswith(prefix):
            return metric_type, display.format(key[len(prefix) :])
    return key, key


def _eval_results(
    results: Mapping[str, Any], variant: CardVariant, fields: dict[str, Any]
) -> tuple[list[EvalResult], list[dict[str, str]]]:
    task_type = fields.get("task_type", variant.task_type)
    dataset_type = fields.get("dataset_type", variant.dataset_type)
    dataset_name = fields.get("dataset_name", variant.dataset_name)
    if task_type is None or dataset_type is None or dataset_name is None:
        raise ValueError(
            f"{variant.title} is a pretrained checkpoint with no downstream task: to report `results`, also pass "
            "`task_type`, `dataset_type` and `dataset_name`."
        )
    eval_results, rows = [], []
    for raw_key, raw_value in results.items():
        key = raw_key
        for prefix in _RESULT_PREFIXES:
            key = key.removeprefix(prefix)
        if key in _TRAINER_KEYS:
            continue
        value, display = _result_value(raw_key, raw_value)
        metric_type, metric_name = _metric_names(key)
        eval_results.append(
            EvalResult(
                task_type=task_type,
                task_name=fields.get("task_name", variant.task_name),
                dataset_type=dataset_type,
                dataset_name=dataset_name,
                dataset_split=fields.get("dataset_split", variant.dataset_split),
                dataset_config=fields.get("dataset_config"),
                metric_type=metric_type,
                metric_name=metric_name,
                metric_value=value,
                source_name=fields.get("source_name"),
                source_url=fields.get("source_url"),
            )
        )
        rows.append({"metric": metric_name, "key": key, "value": display})
    if not eval_results:
        raise ValueError(f"results has no metric (only Trainer bookkeeping keys): {sorted(results)}.")
    return eval_results, rows


def _architecture(config: CMTConfig | None, preset: str | None) -> dict[str, Any] | None:
    if config is None:
        return None
    text, audio = config.text_config, config.audio_config
    return {
        "preset": preset or "custom",
        "modalities": config.modalities,
        "num_cross_layers": config.num_cross_layers,
        "num_cross_attention_heads": config.num_cross_attention_heads,
        "cross_intermediate_size": config.cross_intermediate_size,
        "audio_layer_pooling": config.audio_layer_pooling,
        "text_backbone": f"{text.model_type}, {text.num_hidden_layers} layers, hidden size {text.hidden_size}",
        "audio_backbone": f"{audio.model_type}, {audio.num_hidden_layers} layers, hidden size {audio.hidden_size}",
        "labels": [config.id2label[i] for i in sorted(config.id2label)] if config.num_labels > 1 else None,
        "num_labels": config.num_labels,
    }


def create_model_card(variant: str, results: Mapping[str, Any] | None = None, **fields: Any) -> ModelCard:
    r"""
    Renders the model card of a published CMT variant from its template in `model_cards/`.

    Args:
        variant (`str`):
            One of [`MODEL_CARD_VARIANTS`]: `"cmt-base"`, `"cmt-large"` (pretrained), `"cmt-ser"` (fine-tuned on
            IEMOCAP) or `"cmt-sa"` (fine-tuned on CMU-MOSEI).
        results (`dict`, *optional*):
            Evaluation results for `model-index` and the card's table: metric -> number (what
            `processing_cmt.ser_metrics` / `sa_metrics` or `Trainer.evaluate` return; `eval_`/`test_` prefixes are
            stripped and Trainer's bookkeeping keys `loss`, `runtime`, `samples_per_second`, `steps_per_second`,
            `epoch` are not results) or metric -> `{"mean", "std", "n"}` (what `aggregate_results` returns).
        fields:
            Card metadata (`ModelCardData` fields, overriding the variant's defaults; `base_model` defaults to the
            Hub backbones `config` records, [`backbone_base_models`], else the paper's): `base_model`, `datasets`,
            `language`, `library_name`, `license`, `license_name`, `license_link`, `metrics`, `model_name`,
            `pipeline_tag`, `tags`. Template fields: `repo_id` (the Hub id or folder in the usage snippet), `config`
            (a [`CMTConfig`]: architecture table, label names, preset), `preset`, `hyperparameters` (`dict` of this
            checkpoint's training hyperparameters), `training_summary` (free text). `model-index` fields:
            `task_type`, `task_name`, `dataset_type`, `dataset_name`, `dataset_split`, `dataset_config`,
            `source_name`, `source_url`.

    Returns:
        `huggingface_hub.ModelCard`

    Raises:
        `ValueError`: for an unknown variant or field, a non-numeric or non-finite result, or results for a
        pretrained variant without `task_type`/`dataset_type`/`dataset_name`.

    Example:

    ```python
    >>> from modeling_cmt.model_card import create_model_card

    >>> card = create_model_card(
    ...     "cmt-ser", results={"wa": 0.751, "ua": 0.763}, repo_id="my-org/cmt-base-iemocap", license="apache-2.0"
    ... )
    >>> card.save("README.md")
    ```
    """
    if variant not in MODEL_CARD_VARIANTS:
        raise ValueError(f"Unknown model card variant {variant!r}; choose one of {sorted(MODEL_CARD_VARIANTS)}.")
    unknown = sorted(set(fields) - _TEMPLATE_FIELDS - _CARD_DATA_FIELDS)
    if unknown:
        raise ValueError(
            f"Unknown model card field(s) {unknown}; card metadata: {sorted(_CARD_DATA_FIELDS)}, template and "
            f"model-index fields: {sorted(_TEMPLATE_FIELDS)}."
        )
    spec = MODEL_CARD_VARIANTS[variant]
    template_path = MODEL_CARDS_DIR / spec.template
    if not template_path.is_file():
        raise FileNotFoundError(
            f"Model card template {template_path} is missing: create_model_card reads the templates from the "
            "repository's model_cards/ folder (pass your own card as `modeling_cmt.hub.push_to_hub(..., model_card=...)`)."
        )
    config = fields.get("config")
    if config is not None and not isinstance(config, CMTConfig):
        raise ValueError(f"`config` must be a CMTConfig, got {type(config).__name__}.")
    preset = fields.get("preset") or _preset_of(config)
    if preset is None and variant in CMT_PRESETS:
        preset = variant

    eval_results, result_rows = _eval_results(results, spec, fields) if results else (None, [])
    card_fields = {
        # a model's own backbones when its config is given (none claimed for local or random ones), else the paper's
        "base_model": (backbone_base_models(config) or None) if config is not None else list(BACKBONES),
        "datasets": list(spec.datasets),
        "language": "en",
        "library_name": "transformers",
        "pipeline_tag": spec.pipeline_tag,
        "tags": list(spec.tags),
        "model_name": spec.title,
    }
    card_fields.update({key: value for key, value in fields.items() if key in _CARD_DATA_FIELDS})
    card_data = ModelCardData(eval_results=eval_results, **card_fields)
    card = ModelCard.from_template(
        card_data,
        template_path=str(template_path),
        title=card_fields["model_name"],
        repo_id=fields.get("repo_id") or "path/to/checkpoint",
        preset=preset,
        architecture=_architecture(config, preset),
        hyperparameters=fields.get("hyperparameters"),
        paper_recipe=spec.paper_recipe,
        requirements=remote_code_requirements(include_pipeline=spec.task_type is not None),
        training_summary=fields.get("training_summary"),
        result_rows=result_rows,
        eval_dataset=fields.get("dataset_name", spec.dataset_name),
        eval_split=fields.get("dataset_split", spec.dataset_split),
    )
    # optional template sections leave runs of blank lines behind
    return ModelCard(re.sub(r"\n{3,}", "\n\n", str(card)))
