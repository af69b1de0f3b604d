# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Command-line arguments of `run_pretraining.py` and `run_finetuning.py`: their dataclasses, the paper's recipes as
Trainer defaults, parsing (a command line or one JSON file) and the checks that run before anything is loaded."""

import argparse
import json
import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cmt_reporting import check_model_card_template
from transformers import HfArgumentParser, TrainingArguments

from modeling_cmt import CMT_PRESETS, CMTConfig


logger = logging.getLogger(__name__)

TASKS = ("ser", "sa")
IEMOCAP_FOLDS = (1, 2, 3, 4, 5)
# The paper's comparison rows (Tables 1-2: RoBERTa, HuBERT, Shallow-Fusion) as CMT configurations.
BASELINES = {
    "text_only": {"modalities": "text", "num_cross_layers": 0},
    "audio_only": {"modalities": "audio", "num_cross_layers": 0},
    "shallow_fusion": {"num_cross_layers": 0},
}
# The paper's pretraining recipe (§4.2.1) as Trainer defaults: AdamW, lr 5e-5 with linear decay, 100k updates.
PAPER_PRETRAINING_DEFAULTS = {
    "learning_rate": 5e-5,
    "lr_scheduler_type": "linear",
    "optim": "adamw_torch",
    "max_steps": 100_000,
    "train_sampling_strategy": "group_by_length",
    "remove_unused_columns": False,
    "logging_steps": 50,
    "save_steps": 5_000,
}
# The paper's fine-tuning recipe (§4.2.2) as Trainer defaults; `adamw_torch` with weight decay 0 is Adam.
PAPER_FINETUNING_DEFAULTS = {
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
# The metric that picks the best checkpoint on the validation split, and whether higher is better. MOSEI: MAE, the
# continuous metric of Table 2 (Acc7 moves in steps of 1/N and ties often on the valid fold).
BEST_METRIC = {"ser": ("ua", True), "sa": ("mae", False)}
RECIPE_HELP = (
    "Defaults follow the paper's fine-tuning recipe (§4.2.2): Adam (--optim adamw_torch with --weight_decay 0, which "
    "is Adam), --learning_rate 1e-5, an effective batch of 16 (--per_device_train_batch_size x "
    "--gradient_accumulation_steps x processes), --num_train_epochs 25, α = 10 (--ortho_loss_weight), evaluation and "
    "a checkpoint every epoch, and the best checkpoint by the validation metric (--metric_for_best_model: ua for ser, "
    "mae for sa) loaded at the end."
)


# Keyword-only, so that a script's dataclass may add required fields (--task) after these.
@dataclass(kw_only=True)
class PreprocessingArguments:
    """What both scripts do to a corpus before and while training: `preprocess_corpus` and `CMTTrainer` read these."""

    max_audio_seconds: float | None = field(
        default=None,
        metadata={
            "help": "Drop training utterances longer than this many seconds, with their transcripts (the log says how "
            "many). Audio is never cut, so a transcript always comes with all of its audio; validation and test "
            "splits stay whole. Default: keep every utterance."
        },
    )
    max_batch_audio_seconds: float | None = field(
        default=None,
        metadata={
            "help": "Most padded audio per device batch, in seconds (utterances x the longest one): training batches "
            "are then grouped by length and hold at most --per_device_train_batch_size utterances, fewer when they "
            "are long, so that memory stays bounded whatever the utterances' lengths. Default: fixed batches."
        },
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only this many training examples."})
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for preprocessing."})


@dataclass
class CMTTrainingArguments(TrainingArguments):
    """transformers' `TrainingArguments` with `--overwrite_output_dir`, which transformers 5 removed: both scripts
    refuse an `--output_dir` that holds a run ([`check_output_dir`]) unless the run resumes from a checkpoint in it or
    this flag says to replace it."""

    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace the run in --output_dir (its checkpoints are deleted; its model, results and card are "
            "overwritten). Without it, a folder that holds a run is refused unless --resume_from_checkpoint resumes "
            "from a checkpoint in it."
        },
    )


# --- run_pretraining.py ----------------------------------------------------------------------------------------------


@dataclass
class PretrainingModelArguments:
    stage: str = field(
        default="pretrain",
        metadata={
            "help": "'pretrain' (§3.2.2, from two backbones) or 'tapt' (§3.3, from a CMT checkpoint).",
            "choices": ["pretrain", "tapt"],
        },
    )
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "A CMT checkpoint to continue from (required for --stage tapt)."}
    )
    text_model: str | None = field(default=None, metadata={"help": "Text backbone name or path (RoBERTa)."})
    audio_model: str | None = field(default=None, metadata={"help": "Audio backbone name or path (HuBERT)."})
    preset: str = field(default="cmt-base", metadata={"help": "cmt-base (2 layers, 4 heads) or cmt-large (4, 8)."})
    random_init: bool = field(
        default=False,
        metadata={"help": "Build the backbones from their configs with random weights (no download of weights)."},
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "Override CMTConfig fields of a new model, e.g. 'cross_intermediate_size=64,num_cross_layers=1'."
        },
    )
    codebook: str | None = field(
        default=None,
        metadata={
            "help": "k-means codebook (.safetensors from build_codebook.py) used to label frames when the "
            "corpus has no `audio_codes` column; the codeword embeddings start from its centroids."
        },
    )
    codebook_model: str | None = field(
        default=None,
        metadata={
            "help": "Where the audio model the codebook was fitted on is (labels the frames), when the codebook's "
            "own record of it (local path or Hub id) is out of reach or the codebook predates that record. It is "
            "checked against the codebook's fingerprint. Default: the model the codebook records (this run's own "
            "audio backbone when it is that model)."
        },
    )
    allow_codebook_mismatch: bool = field(
        default=False,
        metadata={
            "help": "Label frames even with an audio model, layer or normalisation other than the codebook's (a "
            "warning instead of an error); when the codebook's model cannot be loaded, label with this run's own "
            "audio backbone (for TAPT, the checkpoint's, whose targets drift from the pretraining's)."
        },
    )


@dataclass
class PretrainingDataArguments(PreprocessingArguments):
    librispeech_root: str | None = field(default=None, metadata={"help": "Local LibriSpeech release folder."})
    librispeech_subsets: list[str] | None = field(
        default=None,
        metadata={
            "help": "Training subsets, as build_codebook.py takes them (default: every train-* subset; dev-* "
            "for validation)."
        },
    )
    corpus: str | None = field(
        default=None,
        metadata={"help": "Any audio + text corpus: a CSV manifest or a dataset saved with save_to_disk."},
    )
    audio_column: str = field(default="audio", metadata={"help": "Audio column of --corpus."})
    text_column: str = field(default="text", metadata={"help": "Transcript column of --corpus."})
    iemocap_root: str | None = field(default=None, metadata={"help": "TAPT on IEMOCAP_full_release (labels dropped)."})
    fold: int | None = field(
        default=None,
        metadata={"help": "IEMOCAP fold 1-5: TAPT reads the fold's training sessions only, never its test session."},
    )
    mosei_mmsa_root: str | None = field(
        default=None, metadata={"help": "TAPT on CMU-MOSEI in the MMSA layout (train split, labels dropped)."}
    )
    normalize_text: bool = field(default=True, metadata={"help": "Re-case upper-case (LibriSpeech) transcripts."})
    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "The name of --corpus on the model card (e.g. a Hub dataset id). Default: its folder's name, never "
            "a local path; the known corpora (LibriSpeech, IEMOCAP, CMU-MOSEI) go by their ids."
        },
    )


# --- run_finetuning.py -----------------------------------------------------------------------------------------------


@dataclass
class FinetuningModelArguments:
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
class FinetuningDataArguments(PreprocessingArguments):
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
    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "The name of --corpus / the CSV files on the model card (e.g. a Hub dataset id). Default: the "
            "corpus folder's name, never a local path; IEMOCAP and CMU-MOSEI go by their ids."
        },
    )
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Use only this many validation and test examples (for quick checks)."}
    )
    cache_dir: str | None = field(default=None, metadata={"help": "Cache of the segments cut from the MOSEI SDK."})


# --- parsing ---------------------------------------------------------------------------------------------------------


def parse_arguments(dataclass_types: tuple, argv: list[str], defaults: dict, epilog: str | None = None) -> tuple:
    """Parses `argv`, a command line or the path of one JSON file, with `defaults` in place of the dataclasses'."""
    parser = HfArgumentParser(dataclass_types, epilog=epilog)
    if len(argv) == 1 and argv[0].endswith(".json"):
        # parse_dict ignores parser defaults: merge them
        return parser.parse_dict({**defaults, **json.loads(Path(argv[0]).read_text())})
    parser.set_defaults(**defaults)
    return parser.parse_args_into_dataclasses(args=argv)


def parse_pretraining_arguments(
    argv: list[str] | None = None,
) -> tuple[PretrainingModelArguments, PretrainingDataArguments, CMTTrainingArguments]:
    """Parses the command line (or one JSON file) with the paper's pretraining recipe as defaults."""
    argv = sys.argv[1:] if argv is None else list(argv)
    types = (PretrainingModelArguments, PretrainingDataArguments, CMTTrainingArguments)
    return parse_arguments(types, argv, PAPER_PRETRAINING_DEFAULTS)


def parse_finetuning_arguments(
    argv: list[str] | None = None,
) -> tuple[FinetuningModelArguments, FinetuningDataArguments, CMTTrainingArguments]:
    """Parses the command line (or one JSON file) with the paper's recipe and the task's best-checkpoint metric as
    defaults."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) == 1 and argv[0].endswith(".json"):
        task = json.loads(Path(argv[0]).read_text()).get("task")
    else:  # the defaults depend on --task: read it ahead of the full parse
        peek = argparse.ArgumentParser(add_help=False)
        peek.add_argument("--task")
        task = peek.parse_known_args(argv)[0].task
    defaults = dict(PAPER_FINETUNING_DEFAULTS)
    if task in BEST_METRIC:
        defaults["metric_for_best_model"], defaults["greater_is_better"] = BEST_METRIC[task]
    types = (FinetuningModelArguments, FinetuningDataArguments, CMTTrainingArguments)
    return parse_arguments(types, argv, defaults, epilog=RECIPE_HELP)


def parse_overrides(overrides: str | None) -> dict:
    """'a=1,b=x,c=false' -> {"a": 1, "b": "x", "c": False} (numbers and booleans parsed), as run_mlm's
    --config_overrides."""
    parsed = {}
    for item in filter(None, (overrides or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--config_overrides item {item!r} is not key=value.")
        if value.lower() in ("true", "false"):  # a string "False" would be truthy in a bool field
            parsed[key.strip()] = value.lower() == "true"
            continue
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        parsed[key.strip()] = value
    return parsed


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


def run_folds(data_args: FinetuningDataArguments) -> list[int | None]:
    """The IEMOCAP folds to run, or `[None]` for a corpus with one fixed split."""
    if data_args.all_folds:
        return list(IEMOCAP_FOLDS)
    return [data_args.fold]


def checkpoint_path(model_args: FinetuningModelArguments, fold: int | None) -> str | None:
    """--model_name_or_path with '{fold}' replaced by the fold number; None when starting from two backbones."""
    path = model_args.model_name_or_path
    return path.replace("{fold}", str(fold)) if path and fold is not None else path


# --- checks ----------------------------------------------------------------------------------------------------------

# What a run of either script leaves in its --output_dir (Trainer's files and the reports), by kind.
RUN_FILES = {
    "model files": ("config.json", "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"),
    "training state": ("trainer_state.json", "training_args.bin"),
    "results": (
        "results.json",
        "results.md",
        "all_results.json",
        "train_results.json",
        "eval_results.json",
        "test_results.json",
        "test_predictions.csv",
    ),
    "model card": ("README.md",),
}


def _checkpoint_step(path: Path) -> int:
    suffix = path.name.removeprefix("checkpoint-")
    return int(suffix) if suffix.isdigit() else -1


def existing_run(output_dir: str | Path) -> dict[str, list[str]]:
    """What of a training run `output_dir` holds, by kind (`checkpoints`, `folds`, `model files`, `training state`,
    `results`, `model card`); empty when it holds none (missing, empty, or only other files)."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return {}
    found = {}
    checkpoints = sorted((p for p in folder.glob("checkpoint-*") if p.is_dir()), key=_checkpoint_step)
    if checkpoints:
        found["checkpoints"] = [p.name for p in checkpoints]
    folds = sorted(p.name for p in folder.glob("fold-*") if p.is_dir() and existing_run(p))
    if folds:
        found["folds"] = folds  # --all_folds: one run per fold
    for kind, names in RUN_FILES.items():
        present = [name for name in names if (folder / name).is_file()]
        if present:
            found[kind] = present
    return found


def describe_existing_run(found: dict[str, list[str]]) -> str:
    """'checkpoints: checkpoint-2, checkpoint-4; results: results.json' (at most 5 names of a kind)."""
    parts = []
    for kind, names in found.items():
        shown = ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")
        parts.append(f"{kind}: {shown}")
    return "; ".join(parts)


def check_output_dir(training_args: TrainingArguments) -> None:
    """
    Refuses an `--output_dir` that holds a run (checkpoints, model files, results), which this run would replace,
    unless it resumes from a checkpoint in that folder (`--resume_from_checkpoint`) or `--overwrite_output_dir` says
    to replace it; then the old run's checkpoints are deleted (by the main process), so that neither checkpoint
    rotation nor a later resume mixes them with the new run's. Runs before anything is loaded.

    Raises:
        `ValueError`: naming the folder and what it holds.
    """
    output_dir = Path(training_args.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output_dir {str(output_dir)!r} is a file, not a folder.")
    found = existing_run(output_dir)
    if not found:
        return
    resume = training_args.resume_from_checkpoint
    if resume and output_dir.resolve() in Path(resume).resolve().parents:
        return  # continuing the run that is there
    if getattr(training_args, "overwrite_output_dir", False):
        logger.warning(f"--overwrite_output_dir: replacing the run in {output_dir} ({describe_existing_run(found)}).")
        if training_args.process_index == 0:
            for name in found.get("checkpoints", []):
                shutil.rmtree(output_dir / name)
        return
    resume_hint = ""
    if "checkpoints" in found:
        resume_hint = f"resume it with --resume_from_checkpoint {output_dir / found['checkpoints'][-1]}, "
    raise ValueError(
        f"--output_dir {str(output_dir)!r} holds a run already ({describe_existing_run(found)}), which this run would "
        f"replace: {resume_hint}pass --overwrite_output_dir to replace it, or choose another --output_dir."
    )


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


def check_finetuning_arguments(
    model_args: FinetuningModelArguments, data_args: FinetuningDataArguments, training_args: TrainingArguments
) -> None:
    """Refuses inconsistent arguments before anything is loaded, naming the flags, and an --output_dir that holds a
    run ([`check_output_dir`])."""
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
    check_model_card_template(task)  # the card is written after training: a missing template must not lose the run
    check_output_dir(training_args)
