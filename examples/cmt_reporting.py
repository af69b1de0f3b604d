# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What `run_pretraining.py` and `run_finetuning.py` report: the start-of-run and end-of-run summary lines, and for
fine-tuning `results.json`, `results.md` (laid out like Table 1 or Table 2), `test_predictions.csv`, the confusion
matrix or prediction scatter plot, and the model card."""

import csv
import json
import math
import os
from pathlib import Path

import numpy as np

from modeling_cmt import CMT_PRESETS
from modeling_cmt.model_card import (
    KNOWN_DATASETS,
    backbone_base_models,
    checkpoint_lineage,
    create_model_card,
    is_hub_id,
)
from modeling_cmt.remote_code import export_remote_code
from processing_cmt import aggregate_results, format_mean_std


# Trainer's bookkeeping next to the metrics in `evaluate()` / `predict()` output.
TRAINER_KEYS = ("runtime", "samples_per_second", "steps_per_second", "epoch")
# The metrics of the final summary line, in table order.
SUMMARY_METRICS = ("wa", "ua", "acc7", "acc2_non0", "f1_non0", "mae")


# --- summary lines ---------------------------------------------------------------------------------------------------


def describe_run(training_args, num_examples: int) -> str:
    """One line with the effective batch size and the number of updates, for the start-of-run summary."""
    effective = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps
    effective *= training_args.world_size
    return (
        f"{num_examples} training examples, effective batch size {effective} "
        f"({training_args.per_device_train_batch_size} per device x {training_args.gradient_accumulation_steps} "
        f"accumulation x {training_args.world_size} processes), output in {os.path.abspath(training_args.output_dir)}"
    )


def pretraining_summary(stage: str, trainer, train_result, output_dir: str) -> str:
    """The end-of-run line: steps, mean train loss and the last logged L_a and L_w (§3.2.2)."""
    last = next((log for log in reversed(trainer.state.log_history) if "loss" in log), {})
    components = ", ".join(f"{k} {last[k]:.4f}" for k in ("audio_mlm_loss", "text_mlm_loss") if k in last)
    return (
        f"Done: {stage} for {trainer.state.global_step} steps, mean train loss {train_result.training_loss:.4f}, "
        f"last logged {components or 'n/a'}; model and processor in {os.path.abspath(output_dir)}"
    )


def finetuning_summary(results: dict, output_dir: Path) -> str:
    """The end-of-run line: the method, the data, the headline test metrics and where the table is."""
    summary = ", ".join(
        f"{header.rstrip(' ↑↓')} {_cell(results['test'].get(metric))}"
        for metric, header in table_columns(results["task"], results["label_names"])
        if metric in SUMMARY_METRICS
    )
    return (
        f"Done: {results['method']}, {results['task']} on {results['data']}: test {summary}; results in "
        f"{output_dir.resolve() / 'results.md'}"
    )


# --- results ---------------------------------------------------------------------------------------------------------


def metrics_only(metrics: dict, prefix: str) -> dict:
    return {
        key.removeprefix(prefix): value
        for key, value in metrics.items()
        if key.removeprefix(prefix) not in TRAINER_KEYS
    }


def describe_model(model_args, config, checkpoint: str | None) -> dict:
    """Where the model comes from (a checkpoint or two backbones) and the config fields the tables compare."""
    source = (
        {"checkpoint": checkpoint}
        if checkpoint
        else {"text_model": model_args.text_model, "audio_model": model_args.audio_model}
    )
    return {
        **source,
        "modalities": config.modalities,
        "num_cross_layers": config.num_cross_layers,
        "num_cross_attention_heads": config.num_cross_attention_heads,
        "audio_layer_pooling": config.audio_layer_pooling,
        "ortho_loss_weight": config.ortho_loss_weight,
        "text_backbone": f"{config.text_config.model_type} ({config.text_config.num_hidden_layers} layers)",
        "audio_backbone": f"{config.audio_config.model_type} ({config.audio_config.num_hidden_layers} layers)",
    }


def describe_training(training_args, trainer, train_result) -> dict:
    state = trainer.state
    best = state.best_model_checkpoint
    return {
        "optimizer": f"{training_args.optim.value} (weight decay {training_args.weight_decay:g})",
        "learning_rate": training_args.learning_rate,
        "lr_scheduler": training_args.lr_scheduler_type.value,
        "effective_batch_size": training_args.per_device_train_batch_size
        * training_args.gradient_accumulation_steps
        * training_args.world_size,
        "epochs": training_args.num_train_epochs,
        "steps": state.global_step,
        "seed": training_args.seed,
        "train_loss": train_result.training_loss,
        "best_metric": training_args.metric_for_best_model,
        "greater_is_better": training_args.greater_is_better,
        "best_metric_value": state.best_metric,
        "best_checkpoint": os.path.relpath(best, training_args.output_dir) if best else None,
    }


def combine_folds(runs: list[dict]) -> dict:
    """The results of `--all_folds`: each metric's mean ± std over the folds, the summed confusion matrix (every
    utterance is tested once) and the runs themselves."""
    first = runs[0]
    combined = {
        "task": first["task"],
        "method": first["method"],
        "baseline": first["baseline"],
        "folds": [run["fold"] for run in runs],
        "data": f"IEMOCAP, {len(runs)}-fold leave-one-session-out cross-validation",
        "label_names": first["label_names"],
        "model": {key: value for key, value in first["model"].items() if key != "checkpoint"},
        "training": first["training"],
        "validation": aggregate_results([run["validation"] for run in runs]),
        "test": aggregate_results([run["test"] for run in runs]),
        "runs": runs,
    }
    if first["task"] == "ser":
        combined["confusion_matrix"] = np.sum([run["confusion_matrix"] for run in runs], axis=0).tolist()
    return combined


# --- files -----------------------------------------------------------------------------------------------------------


def _json_safe(value):
    """NaN (e.g. the recall of a class absent from a split) is not JSON: written as null."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _cell(value: float | dict | None) -> str:
    if isinstance(value, dict):
        return "n/a" if not math.isfinite(value["mean"]) else format_mean_std(value["mean"], value["std"])
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.3f}"


def table_columns(task: str, label_names: list[str] | None) -> list[tuple[str, str]]:
    """(metric key, column header) of Table 1 (SER) or Table 2 (SA)."""
    if task == "ser":
        emotions = [(f"binary_acc_{name}", f"{name.capitalize()} ↑") for name in label_names]
        return emotions + [("wa", "WA ↑"), ("ua", "UA ↑")]
    return [("acc7", "Acc7 ↑"), ("acc2_non0", "Acc2 ↑"), ("f1_non0", "F1-score ↑"), ("mae", "MAE ↓")]


def markdown_table(columns: list[tuple[str, str]], rows: list[tuple[str, dict]]) -> list[str]:
    lines = ["| " + " | ".join(["Method"] + [header for _, header in columns]) + " |"]
    lines.append("|" + "---|" * (len(columns) + 1))
    for name, metrics in rows:
        lines.append("| " + " | ".join([name] + [_cell(metrics.get(key)) for key, _ in columns]) + " |")
    return lines


def write_results(output_dir: Path, results: dict) -> None:
    """`results.json` and `results.md` of one run, or of the folds of `--all_folds` (`combine_folds`)."""
    task, method, runs = results["task"], results["method"], results.get("runs")
    columns = table_columns(task, results["label_names"])
    title = "speech emotion recognition" if task == "ser" else "sentiment analysis"
    lines = [f"# {method}: {title}", ""]
    if runs is None:
        lines += [f"Data: {results['data']}.", f"Test split: {results['num_examples']['test']} examples.", ""]
        lines += markdown_table(columns, [(method, results["test"])])
    else:
        lines += [f"{results['data']}: mean ± std (sample std) over the folds' test sessions.", ""]
        lines += markdown_table(columns, [(method, results["test"])])
        lines += ["", "## Per fold (test session)", ""]
        lines += markdown_table(columns, [(f"fold {run['fold']}", run["test"]) for run in runs])
    lines.append("")
    if task == "ser":
        lines.append(
            "Emotion columns: one-vs-rest binary accuracy of each class (Table 1, MulT's protocol); WA: overall "
            "accuracy; UA: mean per-class recall."
        )
    else:
        lines.append(
            "Acc7: 7-class accuracy of the rounded scores; Acc2 / F1-score: negative (< 0) vs positive (> 0), true "
            "zeros left out (Table 2, MulT's protocol); MAE: mean absolute error."
        )
    extra = [key for key in results["test"] if key not in dict(columns) and key != "loss"]
    lines += ["", "## All test metrics", "", "| Metric | Test | Validation |", "|---|---|---|"]
    lines += [f"| {key} | {_cell(results['test'][key])} | {_cell(results['validation'].get(key))} |" for key in extra]
    lines += ["", "## Setup", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in results["model"].items()]
    training = results["training"]
    for key in ("optimizer", "learning_rate", "lr_scheduler", "effective_batch_size", "epochs", "seed"):
        lines.append(f"| {key} | {training[key]} |")
    direction = "higher" if training["greater_is_better"] else "lower"
    lines.append(f"| best checkpoint | by validation {training['best_metric']} ({direction} is better) |")
    (output_dir / "results.md").write_text("\n".join(lines) + "\n")
    (output_dir / "results.json").write_text(json.dumps(_json_safe(results), indent=2, ensure_ascii=False) + "\n")


def write_predictions(path: Path, rows, prediction, label_names: list[str] | None) -> None:
    """One line per test example: its id and transcript, the true label and the prediction."""
    predictions, labels = np.asarray(prediction.predictions), np.asarray(prediction.label_ids)
    ids = rows["id"] if "id" in rows.column_names else list(range(len(labels)))
    texts = rows["text"]
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        if label_names is not None:
            probabilities = np.exp(predictions - predictions.max(-1, keepdims=True))
            probabilities /= probabilities.sum(-1, keepdims=True)
            writer.writerow(["id", "text", "label", "prediction"] + [f"p_{name}" for name in label_names])
            for index, row in enumerate(probabilities):
                true, predicted = label_names[int(labels[index])], label_names[int(row.argmax())]
                writer.writerow([ids[index], texts[index], true, predicted] + [f"{p:.4f}" for p in row])
        else:
            writer.writerow(["id", "text", "score", "prediction"])
            for index, score in enumerate(predictions.reshape(len(labels))):
                writer.writerow([ids[index], texts[index], f"{labels[index]:.4f}", f"{score:.4f}"])


def write_reports(output_dir: Path, results: dict, prediction, test_rows, config, training_args) -> None:
    """Everything one fine-tuning run writes next to its model: predictions, plot, results tables, model card and the
    remote code with which the folder loads where cmt is not installed."""
    write_predictions(output_dir / "test_predictions.csv", test_rows, prediction, results["label_names"])
    if results["task"] == "ser":
        matrix = np.array(results["confusion_matrix"])
        plot_confusion_matrix(matrix, results["label_names"], output_dir, results["method"])
    else:
        plot_scatter(prediction.predictions, prediction.label_ids, output_dir, results["method"])
    write_results(output_dir, results)
    write_model_card(output_dir, results, config, training_args)
    # the card shows loading with trust_remote_code where cmt is not installed: the flat remote code makes that true
    export_remote_code(output_dir)


# --- plots -----------------------------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on training machines
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(matrix: np.ndarray, label_names: list[str], output_dir: Path, title: str) -> Path:
    """`confusion_matrix.png`: counts and the share of each true class (rows sum to 100 %)."""
    plt = _pyplot()
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 1.1 * len(label_names) + 2.5
    figure, axes = plt.subplots(figsize=(size, size - 0.6))
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for row in range(len(label_names)):
        for column in range(len(label_names)):
            color = "white" if shares[row, column] > 0.5 else "black"
            text = f"{matrix[row, column]}\n{shares[row, column]:.0%}"
            axes.text(column, row, text, ha="center", va="center", color=color, fontsize=9)
    axes.set_xticks(range(len(label_names)), label_names, rotation=30, ha="right")
    axes.set_yticks(range(len(label_names)), label_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{title}\n{matrix.sum()} test utterances")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    figure.tight_layout()
    path = output_dir / "confusion_matrix.png"
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_scatter(predictions: np.ndarray, labels: np.ndarray, output_dir: Path, title: str) -> Path:
    """`predictions_scatter.png`: predicted against true sentiment, with the diagonal."""
    plt = _pyplot()
    predictions, labels = np.asarray(predictions).reshape(-1), np.asarray(labels).reshape(-1)
    figure, axes = plt.subplots(figsize=(5.5, 5.0))
    axes.scatter(labels, predictions, s=10, alpha=0.5)
    low = min(-3.2, float(predictions.min()) - 0.2)
    high = max(3.2, float(predictions.max()) + 0.2)
    axes.plot([-3, 3], [-3, 3], "k--", linewidth=1, label="prediction = truth")
    axes.set_xlim(-3.2, 3.2)
    axes.set_ylim(low, high)
    axes.set_xlabel("true sentiment score")
    axes.set_ylabel("predicted score")
    mae = float(np.mean(np.abs(predictions - labels)))
    axes.set_title(f"{title}\n{len(labels)} test segments, MAE {mae:.3f}")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path = output_dir / "predictions_scatter.png"
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


# --- model card ------------------------------------------------------------------------------------------------------


# --- provenance: what made the model, as its card states it ---------------------------------------------------------


def corpus_on_card(data_args, stage: str | None = None) -> dict:
    """
    The data a run trains on as a card names it: `{"id", "name", "known"}`. The known corpora by their ids
    (`KNOWN_DATASETS`); a user's corpus by `--dataset_name`, else by its folder's name (a saved dataset's folder, a CSV
    manifest's folder), never by a local path. `stage` is run_pretraining's (`tapt` reads the task's corpus).
    """
    if stage in (None, "tapt") and getattr(data_args, "iemocap_root", None):
        return {"id": KNOWN_DATASETS["iemocap"], "name": "IEMOCAP", "known": True}
    mosei = getattr(data_args, "mosei_mmsa_root", None) or getattr(data_args, "mosei_labels", None)
    if stage in (None, "tapt") and mosei:
        return {"id": KNOWN_DATASETS["cmu-mosei"], "name": "CMU-MOSEI", "known": True}
    if getattr(data_args, "librispeech_root", None):
        return {"id": KNOWN_DATASETS["librispeech"], "name": "LibriSpeech", "known": True}
    name = data_args.dataset_name
    if not name:
        source = Path(getattr(data_args, "corpus", None) or data_args.train_file).resolve()
        name = source.name if source.is_dir() else source.parent.name
    return {"id": name, "name": name, "known": False}


def describe_backbones(config) -> str:
    """'the text backbone FacebookAI/roberta-large and a local hubert audio backbone' (no local path)."""
    used = {"audio_text": ("text", "audio"), "text": ("text",), "audio": ("audio",)}[config.modalities]
    parts = []
    for modality in used:
        sub_config = getattr(config, f"{modality}_config")
        source = getattr(sub_config, "_name_or_path", "")
        if is_hub_id(source):
            parts.append(f"the {modality} backbone {source}")
        elif source:
            parts.append(f"a local {sub_config.model_type} {modality} backbone")
        else:
            parts.append(f"a {sub_config.model_type} {modality} backbone without pretrained weights")
    return " and ".join(parts)


def model_provenance(config, checkpoint: str | None, corpus: dict) -> dict:
    """What the card says made the model: `base_model` (Hub ids only), `datasets` (the checkpoint's lineage, then
    this run's corpus) and `started_from` (prose, no local path)."""
    if checkpoint:
        lineage = checkpoint_lineage(checkpoint, config)
        name = checkpoint if is_hub_id(checkpoint) else Path(checkpoint).name
        started_from = f"the CMT checkpoint {name}, made from {describe_backbones(config)}"
    else:
        lineage = {"base_model": backbone_base_models(config), "datasets": []}
        started_from = describe_backbones(config)
    return {
        "base_model": lineage["base_model"],
        "datasets": list(dict.fromkeys([*lineage["datasets"], corpus["id"]])),
        "lineage_datasets": lineage["datasets"],
        "started_from": started_from,
        "corpus": corpus,
    }


def _lineage_sentence(provenance: dict) -> str:
    earlier = [name for name in provenance["lineage_datasets"] if name != provenance["corpus"]["id"]]
    return f" The starting checkpoint was trained on {', '.join(earlier)}." if earlier else ""


def pretraining_card_variant(config) -> str:
    """The card of a pretrained checkpoint: CMT-Large's for that preset, else CMT-Base's."""
    large = CMT_PRESETS["cmt-large"]
    return "cmt-large" if all(getattr(config, key) == value for key, value in large.items()) else "cmt-base"


def write_pretraining_card(output_dir: str, stage: str, provenance: dict, config, training_args, trainer) -> Path:
    """README.md next to a pretrained (or TAPT) checkpoint: its backbones and data, so that a model fine-tuned from it
    can name its lineage ([`checkpoint_lineage`])."""
    what = "cross-modal masked pretraining" if stage == "pretrain" else "task-adaptive pretraining (TAPT)"
    output_dir = Path(output_dir)
    card = create_model_card(
        pretraining_card_variant(config),
        config=config,
        base_model=provenance["base_model"] or None,
        datasets=provenance["datasets"],
        repo_id=training_args.hub_model_id or output_dir.name,
        hyperparameters={
            "stage": stage,
            "optimizer": f"{training_args.optim.value} (weight decay {training_args.weight_decay:g})",
            "learning rate": training_args.learning_rate,
            "effective batch size": training_args.per_device_train_batch_size
            * training_args.gradient_accumulation_steps
            * training_args.world_size,
            "steps": trainer.state.global_step,
            "seed": training_args.seed,
        },
        training_summary=(
            f"This checkpoint: {what} with `examples/run_pretraining.py` on {provenance['corpus']['name']} for "
            f"{trainer.state.global_step} steps, from {provenance['started_from']}.{_lineage_sentence(provenance)}"
        ),
    )
    path = output_dir / "README.md"
    card.save(path)
    return path


def card_variant(task: str) -> str:
    return "cmt-ser" if task == "ser" else "cmt-sa"


def check_model_card_template(task: str) -> None:
    """Fails if the task's card template is missing: better before training than after it."""
    create_model_card(card_variant(task))


def write_model_card(output_dir: Path, results: dict, config, training_args) -> Path:
    """README.md next to the model: the task's card template filled with this run's setup and test results."""
    task, training, provenance = results["task"], results["training"], results["provenance"]
    finite = {key: value for key, value in results["test"].items() if key != "loss" and math.isfinite(value)}
    corpus = provenance["corpus"]
    # the known corpora's descriptions name no path (e.g. "IEMOCAP fold 1: ..."); a user's corpus goes by its name
    dataset_name = results["data"] if corpus["known"] else corpus["name"]
    card = create_model_card(
        card_variant(task),
        results=finite,
        config=config,
        base_model=provenance["base_model"] or None,
        datasets=provenance["datasets"],
        dataset_type=corpus["id"] if corpus["known"] else "custom",
        dataset_name=dataset_name,
        repo_id=training_args.hub_model_id or output_dir.name,
        model_name=results["method"] + (" (speech emotion recognition)" if task == "ser" else " (sentiment analysis)"),
        hyperparameters={
            "optimizer": training["optimizer"],
            "learning rate": training["learning_rate"],
            "effective batch size": training["effective_batch_size"],
            "epochs": training["epochs"],
            "orthogonality weight α (Eq. 8)": config.ortho_loss_weight,
            "best checkpoint by (validation)": training["best_metric"],
            "seed": training["seed"],
        },
        training_summary=(
            f"This checkpoint: fine-tuned with `examples/run_finetuning.py` from {provenance['started_from']}: "
            f"{results['method']} on {dataset_name} ({results['num_examples']['train']} training examples); the "
            f"results are on the test split ({results['num_examples']['test']} examples).{_lineage_sentence(provenance)}"
        ),
    )
    path = output_dir / "README.md"
    card.save(path)
    return path
