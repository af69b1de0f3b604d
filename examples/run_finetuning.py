# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Fine-tuning and evaluation of CMT (§3.4, §4.2.2) for speech emotion recognition (IEMOCAP, Table 1) and sentiment
analysis (CMU-MOSEI, Table 2), with the paper's comparison rows (Tables 1, 2 and 4) as configurations.

SER on one IEMOCAP leave-one-session-out fold, from a pretrained + task-adapted CMT, with the paper's recipe (Adam,
lr 1e-5, effective batch 16, 25 epochs, α = 10; best checkpoint by UA on a validation speaker held out of the training
sessions):

    accelerate launch examples/run_finetuning.py --task ser --model_name_or_path runs/cmt-base-tapt-fold1 \
        --iemocap_root /data/IEMOCAP_full_release --fold 1 --output_dir runs/cmt-base-iemocap-fold1

All five folds in one run, reported as mean ± std. `{fold}` in `--model_name_or_path` is replaced by the fold number,
so that each fold starts from its own TAPT checkpoint, which never saw that fold's test session:

    accelerate launch examples/run_finetuning.py --task ser --model_name_or_path runs/cmt-base-tapt-fold{fold} \
        --iemocap_root /data/IEMOCAP_full_release --all_folds --output_dir runs/cmt-base-iemocap

SA on CMU-MOSEI's standard split (the MMSA layout here; `--mosei_labels`, `--mosei_audio_dir`,
`--mosei_transcripts_dir` and `--mosei_folds` read the CMU-MultimodalSDK release), best checkpoint by MAE on the valid
fold:

    accelerate launch examples/run_finetuning.py --task sa --model_name_or_path runs/cmt-base-tapt-mosei \
        --mosei_mmsa_root /data/MOSEI --output_dir runs/cmt-base-mosei

Any other labelled audio + text data: `--corpus` (a dataset saved with `save_to_disk` with train / validation / test
splits, or a CSV manifest with a `split` column) or `--train_file`, `--validation_file`, `--test_file` (CSV manifests),
with `--label_column` holding class names (SER) or scores in [-3, 3] (SA).

Every row of the paper's tables is one command (B = `--text_model FacebookAI/roberta-large --audio_model
facebook/hubert-large-ll60k`; PT, TAPT = checkpoints of `run_pretraining.py`):

    RoBERTa / HuBERT (Tables 1-2)   B --baseline text_only   /   B --baseline audio_only
    Shallow-Fusion (Tables 1-2)     B --baseline shallow_fusion
    CMT-4 w/o PT (Table 4)          B --preset cmt-large --ortho_loss_weight 0
    CMT-4 PT                        --model_name_or_path <cmt-large PT> --ortho_loss_weight 0
    CMT-4 PT + TAPT                 --model_name_or_path <cmt-large PT + TAPT> --ortho_loss_weight 0
    CMT-4 PT + Layer pooler         --model_name_or_path <cmt-large PT> --ortho_loss_weight 0 \
                                        --audio_layer_pooling weighted
    CMT-4 PT + Ortho                --model_name_or_path <cmt-large PT>                 (α = 10 is the default)
    CMT Base / CMT Large            --model_name_or_path <cmt-base / cmt-large PT + TAPT>

Written to `--output_dir`: `results.json`, `results.md` (laid out like Table 1 or Table 2), `confusion_matrix.png`
(SER) or `predictions_scatter.png` (SA), `test_predictions.csv`, and the fine-tuned model and processor with a filled
model card (`README.md`). With `--all_folds`, each fold's run goes to `fold-<N>/` and the aggregate to `--output_dir`.
"""

import argparse
import csv
import dataclasses
import gc
import json
import logging
import math
import os
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from datasets import ClassLabel, DatasetDict
from transformers import HfArgumentParser, TrainingArguments, set_seed


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a source checkout, uninstalled

from cmt_training import CMTTrainer, describe_run, parse_overrides, preprocess_corpus, setup_logging  # noqa: E402

import modeling_cmt  # noqa: E402, F401  (registers CMT with the Auto classes)
from modeling_cmt import CMT_PRESETS, CMTConfig, CMTForSequenceClassification, CMTForSequenceRegression  # noqa: E402
from modeling_cmt.hub_cmt import create_model_card  # noqa: E402
from processing_cmt import (  # noqa: E402
    CMTProcessor,
    DataCollatorForCMT,
    aggregate_results,
    compute_sa_metrics,
    compute_ser_metrics,
    format_mean_std,
    iemocap_validation_speaker,
    load_iemocap,
    load_mosei,
    load_mosei_mmsa,
    load_speech_text_corpus,
    ser_confusion_matrix,
)


logger = logging.getLogger(__name__)

TASKS = ("ser", "sa")
IEMOCAP_FOLDS = (1, 2, 3, 4, 5)
# The paper's comparison rows (Tables 1-2: RoBERTa, HuBERT, Shallow-Fusion) as CMT configurations.
BASELINES = {
    "text_only": {"modalities": "text", "num_cross_layers": 0},
    "audio_only": {"modalities": "audio", "num_cross_layers": 0},
    "shallow_fusion": {"num_cross_layers": 0},
}
# α of Eq. (8), §4.2.2; the baselines are the backbones (+ concatenation) and a head, without the regulariser.
PAPER_ORTHO_LOSS_WEIGHT = 10.0
# The metric that picks the best checkpoint on the validation split, and whether higher is better. MOSEI: MAE, the
# continuous metric of Table 2 (Acc7 moves in steps of 1/N and ties often on the valid fold).
BEST_METRIC = {"ser": ("ua", True), "sa": ("mae", False)}
# The paper's fine-tuning recipe (§4.2.2) as Trainer defaults; `adamw_torch` with weight decay 0 is Adam.
PAPER_TRAINING_DEFAULTS = {
    "learning_rate": 1e-5,
    "optim": "adamw_torch",
    "weight_decay": 0.0,
    "num_train_epochs": 25,
    "per_device_train_batch_size": 16,
    "per_device_eval_batch_size": 16,
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "save_total_limit": 1,  # plus the best checkpoint, which Trainer always keeps
    "load_best_model_at_end": True,
    "train_sampling_strategy": "group_by_length",
    "remove_unused_columns": False,
    "logging_steps": 10,
}
RECIPE_HELP = (
    "Defaults follow the paper's fine-tuning recipe (§4.2.2): Adam (--optim adamw_torch with --weight_decay 0, which "
    "is Adam), --learning_rate 1e-5, an effective batch of 16 (--per_device_train_batch_size x "
    "--gradient_accumulation_steps x processes), --num_train_epochs 25, α = 10 (--ortho_loss_weight), evaluation and "
    "a checkpoint every epoch, and the best checkpoint by the validation metric (--metric_for_best_model: ua for ser, "
    "mae for sa) loaded at the end."
)
SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "dev": "validation",
    "test": "test",
}
# Model outputs that are not predictions: left out of what evaluation gathers.
NON_PREDICTION_OUTPUTS = [
    "task_loss",
    "ortho_loss",
    "fused_output",
    "text_hidden_states",
    "audio_hidden_states",
    "text_attentions",
    "audio_attentions",
    "text_cross_attentions",
    "audio_cross_attentions",
]
# Trainer's bookkeeping next to the metrics in `evaluate()` / `predict()` output.
TRAINER_KEYS = ("runtime", "samples_per_second", "steps_per_second", "epoch")


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "A CMT checkpoint to fine-tune: pretrained or TAPT (run_pretraining.py), or already fine-tuned on "
            "the same task. '{fold}' in the path is replaced by the IEMOCAP fold number."
        },
    )
    text_model: str | None = field(
        default=None, metadata={"help": "Text backbone (RoBERTa) for a CMT without cross-modal pretraining."}
    )
    audio_model: str | None = field(default=None, metadata={"help": "Audio backbone (HuBERT), with --text_model."})
    preset: str | None = field(
        default=None,
        metadata={
            "help": "With --text_model/--audio_model: cmt-base (the default; 2 cross-modal layers, 4 heads) or "
            "cmt-large (4 layers, 8 heads). A checkpoint keeps its own.",
            "choices": sorted(CMT_PRESETS),
        },
    )
    baseline: str | None = field(
        default=None,
        metadata={
            "help": "A comparison row instead of CMT: text_only (the text backbone + head, 'RoBERTa'), audio_only "
            "('HuBERT'), shallow_fusion (backbone outputs pooled and concatenated, no cross-modal layers).",
            "choices": list(BASELINES),
        },
    )
    audio_layer_pooling: str | None = field(
        default=None,
        metadata={
            "help": "Cross-modal audio states feeding the head (§4.3.2, Table 4): 'last', 'weighted' (the layer "
            "pooler) or a layer index (1-based, negative from the last). Default: the checkpoint's, else 'last'."
        },
    )
    ortho_loss_weight: float | None = field(
        default=None,
        metadata={"help": "α of Eq. (8). Default: 10 (§4.2.2) for CMT, 0 for the baselines."},
    )
    freeze_feature_encoder: bool = field(
        default=False, metadata={"help": "Freeze the audio backbone's convolutional feature encoder."}
    )
    config_overrides: str | None = field(
        default=None,
        metadata={"help": "Override CMTConfig fields, e.g. 'hidden_dropout_prob=0.2,cross_intermediate_size=64'."},
    )


@dataclass
class DataArguments:
    task: str = field(
        metadata={
            "help": "ser: emotion classification (cross-entropy); sa: sentiment regression in [-3, 3] (MSE).",
            "choices": list(TASKS),
        }
    )
    iemocap_root: str | None = field(default=None, metadata={"help": "IEMOCAP_full_release (or its parent folder)."})
    fold: int | None = field(
        default=None, metadata={"help": "IEMOCAP leave-one-session-out fold 1-5: its session is the test split."}
    )
    all_folds: bool = field(
        default=False, metadata={"help": "Run the five IEMOCAP folds one after the other and report mean ± std."}
    )
    mosei_mmsa_root: str | None = field(
        default=None, metadata={"help": "CMU-MOSEI in the MMSA layout (label.csv + Raw/<video>/<clip>.wav)."}
    )
    mosei_labels: str | None = field(default=None, metadata={"help": "CMU-MOSEI SDK: CMU_MOSEI_Labels.csd."})
    mosei_audio_dir: str | None = field(default=None, metadata={"help": "CMU-MOSEI SDK: folder of <video_id>.wav."})
    mosei_transcripts_dir: str | None = field(
        default=None, metadata={"help": "CMU-MOSEI SDK: folder of the segmented <video_id>.txt transcripts."}
    )
    mosei_folds: str | None = field(
        default=None, metadata={"help": "CMU-MOSEI SDK: JSON of the standard train / valid / test video ids."}
    )
    corpus: str | None = field(
        default=None,
        metadata={
            "help": "Any labelled audio + text data: a dataset saved with save_to_disk (train / validation / test "
            "splits) or a CSV manifest with a --split_column."
        },
    )
    train_file: str | None = field(default=None, metadata={"help": "CSV manifest of the training split."})
    validation_file: str | None = field(default=None, metadata={"help": "CSV manifest of the validation split."})
    test_file: str | None = field(default=None, metadata={"help": "CSV manifest of the test split."})
    audio_column: str = field(default="audio", metadata={"help": "Audio column of --corpus / the CSV files."})
    text_column: str = field(default="text", metadata={"help": "Transcript column of --corpus / the CSV files."})
    label_column: str | None = field(
        default=None,
        metadata={
            "help": "Column with the class names or ids (ser; default 'label') or scores (sa; default 'score')."
        },
    )
    class_names: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated class names in id order, e.g. 'angry,happy,neutral,sad'. Every label must be "
            "one of them. Default: the dataset's ClassLabel names, else the sorted names seen in training."
        },
    )
    split_column: str = field(default="split", metadata={"help": "Split column (train/validation/test) of a CSV."})
    normalize_text: bool = field(default=True, metadata={"help": "Re-case all-upper-case transcripts."})
    max_audio_seconds: float | None = field(default=15.0, metadata={"help": "Truncate longer utterances."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only this many training examples."})
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Use only this many validation and test examples (for quick checks)."}
    )
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for preprocessing."})
    cache_dir: str | None = field(default=None, metadata={"help": "Cache of the segments cut from the MOSEI SDK."})


@dataclass
class TaskData:
    """A labelled corpus ready for fine-tuning and what the reports say about it."""

    corpus: DatasetDict
    """train / validation / test with `audio`, `text`, `labels` (class ids or scores) and the source's columns."""
    label_names: list[str] | None
    description: str


# --- arguments -------------------------------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> tuple[ModelArguments, DataArguments, TrainingArguments]:
    """Parses the command line (or one JSON file) with the paper's recipe and the task's best-checkpoint metric as
    defaults."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments), epilog=RECIPE_HELP)
    if len(argv) == 1 and argv[0].endswith(".json"):
        values = json.loads(Path(argv[0]).read_text())
        task = values.get("task")
    else:
        values = None
        peek = argparse.ArgumentParser(add_help=False)
        peek.add_argument("--task")
        task = peek.parse_known_args(argv)[0].task
    defaults = dict(PAPER_TRAINING_DEFAULTS)
    if task in BEST_METRIC:
        defaults["metric_for_best_model"], defaults["greater_is_better"] = BEST_METRIC[task]
    if values is not None:  # parse_dict ignores parser defaults: merge them
        return parser.parse_dict({**defaults, **values})
    parser.set_defaults(**defaults)
    return parser.parse_args_into_dataclasses(args=argv)


def check_arguments(model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments) -> None:
    """Refuses inconsistent arguments before anything is loaded, naming the flags."""
    task = data_args.task
    iemocap = data_args.iemocap_root is not None
    mosei_sdk = [data_args.mosei_labels, data_args.mosei_audio_dir, data_args.mosei_transcripts_dir]
    csv_files = [data_args.train_file, data_args.validation_file, data_args.test_file]
    sources = {
        "--iemocap_root": iemocap,
        "--mosei_mmsa_root": data_args.mosei_mmsa_root is not None,
        "--mosei_labels/--mosei_audio_dir/--mosei_transcripts_dir": any(mosei_sdk),
        "--corpus": data_args.corpus is not None,
        "--train_file/--validation_file/--test_file": any(csv_files),
    }
    given = [name for name, present in sources.items() if present]
    if len(given) != 1:
        raise ValueError(
            f"Give exactly one labelled corpus, got {given or 'none'}: --iemocap_root (ser), --mosei_mmsa_root or the "
            "--mosei_* SDK files (sa), --corpus, or --train_file/--validation_file/--test_file."
        )
    if task == "sa" and iemocap:
        raise ValueError("IEMOCAP is an emotion classification corpus: use --task ser with --iemocap_root.")
    if task == "ser" and given[0].startswith("--mosei"):
        raise ValueError("CMU-MOSEI sentiment is a regression corpus: use --task sa with the --mosei_* arguments.")
    if any(mosei_sdk) and not (all(mosei_sdk) and data_args.mosei_folds):
        raise ValueError(
            "The CMU-MOSEI SDK release needs --mosei_labels, --mosei_audio_dir, --mosei_transcripts_dir and "
            "--mosei_folds (the standard train / valid / test video ids)."
        )
    if any(csv_files) and not all(csv_files):
        raise ValueError("Give all three of --train_file, --validation_file and --test_file.")
    if data_args.fold is not None and data_args.fold not in IEMOCAP_FOLDS:
        raise ValueError(f"--fold must be one of {IEMOCAP_FOLDS} (the IEMOCAP test session), got {data_args.fold}.")
    if iemocap and (data_args.fold is None) == (not data_args.all_folds):
        raise ValueError("IEMOCAP needs either --fold N (one leave-one-session-out fold, 1-5) or --all_folds.")
    if not iemocap and (data_args.fold is not None or data_args.all_folds):
        raise ValueError("--fold and --all_folds select IEMOCAP leave-one-session-out folds: pass --iemocap_root.")
    if data_args.all_folds and training_args.resume_from_checkpoint:
        raise ValueError("--resume_from_checkpoint resumes one run: use it with --fold, not --all_folds.")

    if model_args.model_name_or_path and (model_args.text_model or model_args.audio_model):
        raise ValueError(
            "Start from a CMT checkpoint (--model_name_or_path) or from two backbones (--text_model and "
            "--audio_model), not both."
        )
    if not model_args.model_name_or_path and not (model_args.text_model and model_args.audio_model):
        raise ValueError(
            "No model: pass --model_name_or_path (a CMT checkpoint) or both --text_model and --audio_model."
        )
    if model_args.model_name_or_path and model_args.preset:
        raise ValueError("--preset builds a new CMT from two backbones; a checkpoint keeps its own architecture.")
    if "{fold}" in (model_args.model_name_or_path or "") and not iemocap:
        raise ValueError("'{fold}' in --model_name_or_path needs IEMOCAP folds (--iemocap_root).")
    for fold in run_folds(data_args):
        if model_args.model_name_or_path:
            path = checkpoint_path(model_args, fold)
            check_checkpoint_task(CMTConfig.from_pretrained(path), task, path)
    create_model_card(card_variant(task))  # the templates exist: the card is written after training, not lost


def run_folds(data_args: DataArguments) -> list[int | None]:
    """The IEMOCAP folds to run, or `[None]` for a corpus with one fixed split."""
    if data_args.all_folds:
        return list(IEMOCAP_FOLDS)
    return [data_args.fold]


def checkpoint_path(model_args: ModelArguments, fold: int | None) -> str:
    path = model_args.model_name_or_path
    return path.replace("{fold}", str(fold)) if fold is not None else path


def parse_layer_pooling(value: str) -> str | int:
    """'last' | 'weighted' | a layer index as text -> the `audio_layer_pooling` config value."""
    if value in ("last", "weighted"):
        return value
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f"--audio_layer_pooling must be 'last', 'weighted' or a layer index, got {value!r}."
        ) from None


def card_variant(task: str) -> str:
    return "cmt-ser" if task == "ser" else "cmt-sa"


# --- data ------------------------------------------------------------------------------------------------------------


def load_task_data(data_args: DataArguments, fold: int | None) -> TaskData:
    """The labelled train / validation / test splits of the task, with `labels` checked against the label set."""
    task, label_column = data_args.task, data_args.label_column
    if data_args.iemocap_root:
        corpus = load_iemocap(data_args.iemocap_root, fold=fold)
        label_column = label_column or "label"
        description = (
            f"IEMOCAP fold {fold}: test session {fold}, validation speaker {iemocap_validation_speaker(fold)}"
        )
    elif data_args.mosei_mmsa_root:
        corpus = load_mosei_mmsa(data_args.mosei_mmsa_root)
        label_column = label_column or "score"
        description = "CMU-MOSEI (MMSA layout), standard train / valid / test split"
    elif data_args.mosei_labels:
        corpus = load_mosei(
            data_args.mosei_labels,
            data_args.mosei_audio_dir,
            data_args.mosei_transcripts_dir,
            folds=data_args.mosei_folds,
            cache_dir=data_args.cache_dir,
        )
        label_column = label_column or "score"
        description = "CMU-MOSEI (SDK release), standard train / valid / test folds"
    else:
        corpus = load_labelled_corpus(data_args)
        label_column = label_column or ("label" if task == "ser" else "score")
        description = f"{data_args.corpus or Path(data_args.train_file).parent} (column {label_column!r})"
    missing = [split for split in ("train", "validation", "test") if split not in corpus]
    if missing:
        raise ValueError(f"The corpus has no {missing} split(s) (it has {list(corpus)}); fine-tuning needs all three.")
    corpus = DatasetDict({split: corpus[split] for split in ("train", "validation", "test")})
    for split, dataset in corpus.items():
        if label_column not in dataset.column_names:
            raise ValueError(
                f"Split {split!r} has no label column {label_column!r}; its columns are {dataset.column_names}. Pass "
                "--label_column to name yours."
            )
        if len(dataset) == 0:
            raise ValueError(f"Split {split!r} is empty.")
    if task == "ser":
        names = [name.strip() for name in data_args.class_names.split(",")] if data_args.class_names else None
        corpus, names = encode_class_labels(corpus, label_column, names)
    else:
        corpus, names = encode_scores(corpus, label_column), None
    for split, limit in (
        ("train", data_args.max_train_samples),
        ("validation", data_args.max_eval_samples),
        ("test", data_args.max_eval_samples),
    ):
        if limit is not None:
            corpus[split] = corpus[split].select(range(min(limit, len(corpus[split]))))
    return TaskData(corpus, names, description)


def load_labelled_corpus(data_args: DataArguments) -> DatasetDict:
    """--corpus (a saved DatasetDict, or a CSV with a split column) or the three CSV files, split names unified."""
    read = partial(
        load_speech_text_corpus,
        audio_column=data_args.audio_column,
        text_column=data_args.text_column,
        normalize_text=data_args.normalize_text,
    )
    if data_args.train_file:
        files = {"train": data_args.train_file, "validation": data_args.validation_file, "test": data_args.test_file}
        return DatasetDict({split: read(path)["train"] for split, path in files.items()})
    corpus = read(data_args.corpus)
    renamed = DatasetDict()
    for split, dataset in corpus.items():
        name = SPLIT_ALIASES.get(split, split)
        if name in renamed:
            raise ValueError(f"{data_args.corpus!r} has two {name!r} splits: {sorted(corpus)}; keep one.")
        renamed[name] = dataset
    if set(renamed) != {"train"}:
        return renamed
    dataset, column = renamed["train"], data_args.split_column
    if column not in dataset.column_names:
        raise ValueError(
            f"{data_args.corpus!r} has a single split and no split column {column!r} (columns "
            f"{dataset.column_names}): add a column with train / validation / test per row, name it with "
            "--split_column, or pass --train_file, --validation_file and --test_file."
        )
    values = [str(value).strip().lower() for value in dataset[column]]
    unknown = [(index, value) for index, value in enumerate(values) if value not in SPLIT_ALIASES]
    if unknown:
        index, value = unknown[0]
        raise ValueError(
            f"{data_args.corpus!r} row {index}: split {value!r} in column {column!r} is not one of "
            f"{sorted(SPLIT_ALIASES)} ({len(unknown)} such rows)."
        )
    splits = {}
    for split in ("train", "validation", "test"):
        indices = [index for index, value in enumerate(values) if SPLIT_ALIASES[value] == split]
        splits[split] = dataset.select(indices).remove_columns(column)
    return DatasetDict(splits)


def _row_name(dataset, split: str, index: int) -> str:
    """`test[4] (id 'Ses01F_impro01_F002')`, or with the audio path when the rows have no id."""
    row = dataset.select_columns([c for c in ("id", "audio") if c in dataset.column_names])[index]
    if "id" in row:
        return f"{split}[{index}] (id {row['id']!r})"
    audio = row.get("audio")
    return f"{split}[{index}]" + (f" (audio {audio!r})" if isinstance(audio, str) else "")


def encode_class_labels(
    corpus: DatasetDict, column: str, label_names: list[str] | None
) -> tuple[DatasetDict, list[str]]:
    """Replaces `column` with integer `labels` in id order of `label_names`; any label outside the set is an error.

    A `ClassLabel` column brings its names; class names as text map through `label_names` (default: the sorted names
    of the training split); integer ids must lie in 0..len(label_names) - 1.
    """
    feature = corpus["train"].features[column]
    train_values = corpus["train"][column]
    if isinstance(feature, ClassLabel):
        if label_names is not None and label_names != feature.names:
            raise ValueError(
                f"--class_names {label_names} differ from the dataset's classes {feature.names} (column {column!r})."
            )
        label_names, by_name = list(feature.names), False
        for split, dataset in corpus.items():
            if dataset.features[column] != feature:  # ids of another class order would be read as these classes
                raise ValueError(
                    f"Split {split!r} labels {column!r} with {dataset.features[column]}, split 'train' with {feature}."
                )
    elif all(isinstance(value, str) for value in train_values):
        label_names, by_name = label_names or sorted({value.strip() for value in train_values}), True
    elif all(isinstance(value, int) and not isinstance(value, bool) for value in train_values):
        label_names, by_name = label_names or [str(i) for i in range(max(train_values) + 1)], False
    else:
        kinds = sorted({type(value).__name__ for value in train_values})
        raise ValueError(
            f"Label column {column!r} holds {kinds}; SER needs class names or integer class ids (scores: --task sa)."
        )
    if len(set(label_names)) != len(label_names) or len(label_names) < 2:
        raise ValueError(f"SER needs at least two distinct class names, got {label_names}.")
    id_of = {name: index for index, name in enumerate(label_names)}

    def class_id(value) -> int | None:
        if by_name:
            return id_of.get(value.strip()) if isinstance(value, str) else None
        is_id = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(label_names)
        return value if is_id else None

    encoded = DatasetDict()
    for split, dataset in corpus.items():
        ids = []
        for index, value in enumerate(dataset[column]):
            label = class_id(value)
            if label is None:
                raise ValueError(
                    f"{_row_name(dataset, split, index)}: label {value!r} is outside the label set {label_names}."
                )
            ids.append(label)
        dataset = dataset.remove_columns(column)
        encoded[split] = dataset.add_column("labels", ids, feature=ClassLabel(names=label_names))
    return encoded, label_names


def encode_scores(corpus: DatasetDict, column: str) -> DatasetDict:
    """Replaces `column` with float `labels`; every score must be a finite number in [-3, 3] (the MOSEI scale)."""
    encoded = DatasetDict()
    for split, dataset in corpus.items():
        if isinstance(dataset.features[column], ClassLabel):
            raise ValueError(
                f"Split {split!r}: column {column!r} holds class labels {dataset.features[column].names}, not "
                "sentiment scores: use --task ser."
            )
        scores = []
        for index, value in enumerate(dataset[column]):
            try:
                score = float(value) if not isinstance(value, bool) else math.nan
            except (TypeError, ValueError):
                score = math.nan
            if not (math.isfinite(score) and -3.0 <= score <= 3.0):
                raise ValueError(
                    f"{_row_name(dataset, split, index)}: score {value!r} is not a number in [-3, 3] (sentiment "
                    f"regression, column {column!r}); is this a classification dataset (--task ser)?"
                )
            scores.append(score)
        encoded[split] = dataset.remove_columns(column).add_column("labels", scores)
    return encoded


# --- model -----------------------------------------------------------------------------------------------------------


def checkpoint_task(config: CMTConfig) -> str:
    """'pretrained' (no task head: a CMTForPreTraining or CMTModel checkpoint), 'classification' or 'regression'."""
    architectures = config.architectures or []
    if not any(name.startswith("CMTForSequence") for name in architectures):
        return "pretrained"
    if "CMTForSequenceRegression" in architectures or config.problem_type == "regression" or config.num_labels == 1:
        return "regression"
    return "classification"


def check_checkpoint_task(config: CMTConfig, task: str, path: str) -> None:
    kind = checkpoint_task(config)
    if kind == "regression" and task == "ser":
        raise ValueError(
            f"{path} is a regression (sentiment score) checkpoint, but --task ser is classification: start SER from a "
            "pretrained, TAPT or SER checkpoint."
        )
    if kind == "classification" and task == "sa":
        raise ValueError(
            f"{path} is a classification checkpoint ({config.num_labels} classes: "
            f"{[config.id2label[i] for i in sorted(config.id2label)]}), but --task sa is regression: start SA from a "
            "pretrained, TAPT or SA checkpoint."
        )


def model_overrides(model_args: ModelArguments) -> dict:
    """The CMTConfig fields the flags set: --config_overrides, --baseline, --audio_layer_pooling, α."""
    overrides = parse_overrides(model_args.config_overrides)
    if model_args.baseline:
        overrides.update(BASELINES[model_args.baseline])
        overrides.setdefault("audio_layer_pooling", "last")  # no cross-modal layers to pool over
    if model_args.audio_layer_pooling is not None:
        overrides["audio_layer_pooling"] = parse_layer_pooling(model_args.audio_layer_pooling)
    if model_args.ortho_loss_weight is not None:
        overrides["ortho_loss_weight"] = model_args.ortho_loss_weight
    else:
        overrides["ortho_loss_weight"] = 0.0 if model_args.baseline else PAPER_ORTHO_LOSS_WEIGHT
    return overrides


def build_model_and_processor(
    model_args: ModelArguments, task: str, label_names: list[str] | None, fold: int | None = None
) -> tuple[CMTForSequenceClassification, CMTProcessor]:
    """The model to fine-tune with its processor: from a CMT checkpoint (its `cmt.*` weights; a new head unless it is
    a checkpoint of the same task) or from two backbones (new cross-modal layers and head)."""
    model_class = CMTForSequenceClassification if task == "ser" else CMTForSequenceRegression
    fields = model_overrides(model_args)
    if task == "ser":
        fields.update(
            id2label=dict(enumerate(label_names)),
            label2id={name: index for index, name in enumerate(label_names)},
            problem_type="single_label_classification",
        )
    if model_args.model_name_or_path:
        path = checkpoint_path(model_args, fold)
        config = CMTConfig.from_pretrained(path)
        check_checkpoint_task(config, task, path)
        if task == "ser" and checkpoint_task(config) == "classification":
            names = [config.id2label[i] for i in sorted(config.id2label)]
            if names != list(label_names):
                raise ValueError(
                    f"{path} classifies {names} but the data's classes are {list(label_names)}: fine-tune from a "
                    "pretrained or TAPT checkpoint, or give --class_names in the checkpoint's order."
                )
        for key, value in fields.items():
            setattr(config, key, value)
        config.validate_cross_modal()
        model = model_class.from_pretrained(path, config=config)
        processor = CMTProcessor.from_pretrained(path)
    else:
        model = model_class.from_text_audio_pretrained(
            model_args.text_model, model_args.audio_model, preset=model_args.preset or "cmt-base", **fields
        )
        processor = CMTProcessor.from_text_audio_pretrained(model_args.text_model, model_args.audio_model)
    if model_args.freeze_feature_encoder:
        model.freeze_feature_encoder()
    return model, processor


def method_name(model_args: ModelArguments, config: CMTConfig) -> str:
    """The row name in the results table, as the paper names its rows, with what differs from the paper's setup."""
    baseline_names = {
        "text_only": f"Text-only ({config.text_config.model_type})",
        "audio_only": f"Audio-only ({config.audio_config.model_type})",
        "shallow_fusion": "Shallow-Fusion",
    }
    if model_args.baseline:
        name = baseline_names[model_args.baseline]
        # a baseline's backbones are the single-modal models, unless they come from a CMT checkpoint
        notes = ["PT backbones"] if model_args.model_name_or_path else []
    else:
        preset = next(
            (key for key, values in CMT_PRESETS.items() if all(getattr(config, k) == v for k, v in values.items())),
            None,
        )
        name = {"cmt-base": "CMT Base", "cmt-large": "CMT Large"}.get(preset, f"CMT-{config.num_cross_layers}")
        notes = [] if model_args.model_name_or_path else ["w/o PT"]
    if config.num_cross_layers and config.audio_layer_pooling != "last":
        pooling = config.audio_layer_pooling
        notes.append("layer pooler" if pooling == "weighted" else f"audio layer {pooling}")
    if config.ortho_loss_weight != (0.0 if model_args.baseline else PAPER_ORTHO_LOSS_WEIGHT):
        notes.append(f"α={config.ortho_loss_weight:g}")
    return name + (f" ({', '.join(notes)})" if notes else "")


# --- one fine-tuning run ---------------------------------------------------------------------------------------------


def finetune(
    model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments, fold: int | None
) -> dict:
    """Fine-tunes on one split (one IEMOCAP fold), evaluates the best checkpoint on validation and test, and writes
    the model and the reports to `training_args.output_dir`. Returns the results (as in `results.json`)."""
    task = data_args.task
    set_seed(training_args.seed)

    # 1. data, labels checked; 2. model: every input error surfaces here, before the slow preprocessing
    data = load_task_data(data_args, fold)
    model, processor = build_model_and_processor(model_args, task, data.label_names, fold)
    method = method_name(model_args, model.config)
    logger.info(f"{method} on {data.description}: " + ", ".join(f"{s} {len(d)}" for s, d in data.corpus.items()))

    # 3. tokenise + normalise audio once
    test_rows = data.corpus["test"].select_columns(
        [c for c in ("id", "text") if c in data.corpus["test"].column_names]
    )
    features = prepare_features(data, processor, training_args, data_args)

    # 4. train, keeping the best checkpoint on the validation split
    if task == "ser":
        compute_metrics = partial(compute_ser_metrics, label_names=data.label_names)
    else:
        compute_metrics = compute_sa_metrics
    trainer = CMTTrainer(
        model=model,
        args=training_args,
        train_dataset=features["train"],
        eval_dataset=features["validation"],
        data_collator=DataCollatorForCMT(processor.tokenizer),
        processing_class=processor,
        compute_metrics=compute_metrics,
    )
    logger.info(f"{method}: " + describe_run(training_args, len(features["train"])))
    train_result = trainer.train(
        resume_from_checkpoint=training_args.resume_from_checkpoint, ignore_keys_for_eval=NON_PREDICTION_OUTPUTS
    )
    trainer.save_model()  # the best checkpoint (loaded back at the end of training) and the processor
    trainer.save_state()

    # 5. evaluate it on the validation split and on the held-out test split
    validation = trainer.evaluate(ignore_keys=NON_PREDICTION_OUTPUTS)
    prediction = trainer.predict(features["test"], ignore_keys=NON_PREDICTION_OUTPUTS, metric_key_prefix="test")
    trainer.log_metrics("test", prediction.metrics)
    results = {
        "task": task,
        "method": method,
        "baseline": model_args.baseline,
        "fold": fold,
        "data": data.description,
        "num_examples": {split: len(dataset) for split, dataset in features.items()},
        "label_names": data.label_names,
        "model": describe_model(model_args, model.config, fold),
        "training": describe_training(training_args, trainer, train_result),
        "validation": metrics_only(validation, "eval_"),
        "test": metrics_only(prediction.metrics, "test_"),
    }
    if task == "ser":
        matrix = ser_confusion_matrix(prediction.predictions, prediction.label_ids, label_names=data.label_names)
        results["confusion_matrix"] = matrix.tolist()

    # 6. reports and the model card next to the model
    if trainer.is_world_process_zero():
        output_dir = Path(training_args.output_dir)
        write_predictions(output_dir / "test_predictions.csv", test_rows, prediction, data.label_names)
        if task == "ser":
            plot_confusion_matrix(np.array(results["confusion_matrix"]), data.label_names, output_dir, method)
        else:
            plot_scatter(prediction.predictions, prediction.label_ids, output_dir, method)
        write_results(output_dir, results)
        write_model_card(output_dir, results, model.config, training_args)
    del trainer, model
    gc.collect()
    return results


def prepare_features(
    data: TaskData, processor: CMTProcessor, training_args: TrainingArguments, data_args: DataArguments
) -> DatasetDict:
    """Everything the model sees: `input_ids` (the transcript), `input_values` (the audio), and `labels` for the loss;
    plus `length` for the sampler. Every other column (ids, speakers, emotion codes, ...) is dropped here."""
    return preprocess_corpus(
        data.corpus,
        processor,
        training_args,
        data_args.max_audio_seconds,
        keep_columns=("labels",),
        num_proc=data_args.preprocessing_num_workers,
    )


def metrics_only(metrics: dict, prefix: str) -> dict:
    return {
        key.removeprefix(prefix): value
        for key, value in metrics.items()
        if key.removeprefix(prefix) not in TRAINER_KEYS
    }


def describe_model(model_args: ModelArguments, config: CMTConfig, fold: int | None) -> dict:
    source = (
        {"checkpoint": checkpoint_path(model_args, fold)}
        if model_args.model_name_or_path
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


def describe_training(training_args: TrainingArguments, trainer: CMTTrainer, train_result) -> dict:
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


# --- reports ---------------------------------------------------------------------------------------------------------


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


def write_model_card(output_dir: Path, results: dict, config: CMTConfig, training_args: TrainingArguments) -> Path:
    """README.md next to the model: the task's card template filled with this run's setup and test results."""
    task, training = results["task"], results["training"]
    finite = {key: value for key, value in results["test"].items() if key != "loss" and math.isfinite(value)}
    fields = {"dataset_name": results["data"]}
    if not results["data"].startswith(("IEMOCAP", "CMU-MOSEI")):
        fields["dataset_type"] = "custom"
    card = create_model_card(
        card_variant(task),
        results=finite,
        config=config,
        repo_id=training_args.hub_model_id or str(output_dir),
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
            f"Fine-tuned with `examples/run_finetuning.py`: {results['method']} on {results['data']} "
            f"({results['num_examples']['train']} training examples); the results are on the test split "
            f"({results['num_examples']['test']} examples)."
        ),
        **fields,
    )
    path = output_dir / "README.md"
    card.save(path)
    return path


def main(argv: list[str] | None = None) -> dict:
    model_args, data_args, training_args = parse_arguments(argv)

    # 1. logging, and every argument error before anything heavy is loaded
    setup_logging(training_args)
    check_arguments(model_args, data_args, training_args)
    logger.info(f"Task {data_args.task}; training arguments {training_args}")

    # 2. one run per fold (IEMOCAP --all_folds: five, one after the other)
    folds = run_folds(data_args)
    runs = []
    for number, fold in enumerate(folds, start=1):
        run_args = training_args
        if len(folds) > 1:
            logger.info(f"*** Fold {fold} ({number}/{len(folds)}) ***")
            run_args = dataclasses.replace(
                training_args, output_dir=os.path.join(training_args.output_dir, f"fold-{fold}")
            )
        runs.append(finetune(model_args, data_args, run_args, fold))

    # 3. the folds' mean ± std
    output_dir = Path(training_args.output_dir)
    results = combine_folds(runs) if len(runs) > 1 else runs[0]
    if len(runs) > 1 and training_args.process_index == 0:
        write_results(output_dir, results)
        title = f"{results['method']}, {len(runs)} folds"
        plot_confusion_matrix(np.array(results["confusion_matrix"]), results["label_names"], output_dir, title)
    summary = ", ".join(
        f"{header.rstrip(' ↑↓')} {_cell(results['test'].get(metric))}"
        for metric, header in table_columns(data_args.task, results["label_names"])
        if metric in ("wa", "ua", "acc7", "acc2_non0", "f1_non0", "mae")
    )
    print(
        f"Done: {results['method']}, {data_args.task} on {results['data']}: test {summary}; results in "
        f"{output_dir.resolve() / 'results.md'}"
    )
    return results


if __name__ == "__main__":
    main()
