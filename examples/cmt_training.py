# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Pieces shared by `run_pretraining.py` and `run_finetuning.py`: logging, the models they train (a new CMT from two
backbones or a CMT checkpoint; the paper's comparison rows as CMT configurations) and a Trainer that logs the loss
components CMT models return."""

import logging
import os
import sys

import datasets
import torch
import transformers
from cmt_arguments import (
    BASELINES,
    FinetuningModelArguments,
    PretrainingModelArguments,
    check_checkpoint_task,
    checkpoint_path,
    checkpoint_task,
    parse_layer_pooling,
    parse_overrides,
)
from torch.utils.data import SequentialSampler
from transformers import AutoConfig, Trainer, TrainerState
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_pt_utils import LengthGroupedSampler

from modeling_cmt import (
    CMT_PRESETS,
    CMTConfig,
    CMTForPreTraining,
    CMTForSequenceClassification,
    CMTForSequenceRegression,
)
from processing_cmt import CMTProcessor


logger = logging.getLogger(__name__)

# The components each CMT head reports next to its loss: L_w and L_a (§3.2.2), L_task and L_ortho (Eq. 8).
LOSS_COMPONENTS = ("text_mlm_loss", "audio_mlm_loss", "task_loss", "ortho_loss")
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
# α of Eq. (8), §4.2.2; the baselines are the backbones (+ concatenation) and a head, without the regulariser.
PAPER_ORTHO_LOSS_WEIGHT = 10.0


def setup_logging(training_args) -> None:
    """transformers-style logging: INFO on the main process, warnings elsewhere."""
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    if training_args.should_log:  # the main process logs at INFO, as transformers' example scripts do
        transformers.utils.logging.set_verbosity_info()
    log_level = training_args.get_process_log_level()
    for lib_logger in (logger, logging.getLogger("processing_cmt"), logging.getLogger("__main__")):
        lib_logger.setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()


# --- models ----------------------------------------------------------------------------------------------------------


def build_pretraining_model(model_args: PretrainingModelArguments, codebook) -> tuple[CMTForPreTraining, CMTProcessor]:
    """A CMT checkpoint to continue (TAPT), or a new CMT from two backbones whose codewords fit the codebook."""
    if model_args.stage == "tapt" or model_args.model_name_or_path:
        if not model_args.model_name_or_path:
            raise ValueError("--stage tapt continues a pretrained CMT: pass --model_name_or_path.")
        model = CMTForPreTraining.from_pretrained(model_args.model_name_or_path)
        return model, CMTProcessor.from_pretrained(model_args.model_name_or_path)
    if not (model_args.text_model and model_args.audio_model):
        raise ValueError("Pretraining starts from two backbones: pass --text_model and --audio_model.")
    processor = CMTProcessor.from_text_audio_pretrained(model_args.text_model, model_args.audio_model)
    config_kwargs = parse_overrides(model_args.config_overrides)
    if codebook is not None:
        centroids, _ = codebook
        config_kwargs.update(num_codewords=centroids.shape[0], codeword_dim=centroids.shape[1])
    if model_args.random_init:
        config = CMTConfig.from_preset(
            model_args.preset,
            text_config=AutoConfig.from_pretrained(model_args.text_model),
            audio_config=AutoConfig.from_pretrained(model_args.audio_model),
            **config_kwargs,
        )
        model = CMTForPreTraining(config)
    else:
        model = CMTForPreTraining.from_text_audio_pretrained(
            model_args.text_model, model_args.audio_model, preset=model_args.preset, **config_kwargs
        )
    if codebook is not None:
        model.set_codebook(codebook[0])  # codeword embeddings start from the k-means centroids
    return model, processor


def model_overrides(model_args: FinetuningModelArguments) -> dict:
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


def build_finetuning_model(
    model_args: FinetuningModelArguments, task: str, label_names: list[str] | None, fold: int | None = None
) -> tuple[CMTForSequenceClassification | CMTForSequenceRegression, CMTProcessor]:
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


def method_name(model_args: FinetuningModelArguments, config: CMTConfig) -> str:
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


# --- Trainer ---------------------------------------------------------------------------------------------------------


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """transformers' length-grouped order, drawn from (seed, epoch) instead of the global RNG: Trainer restores the
    global RNG only after it has built the resumed epoch's order, so a resumed run would otherwise see other batches."""

    def __init__(self, batch_size: int, lengths: list[int], seed: int):
        super().__init__(batch_size, lengths=lengths)
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        self.generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return super().__iter__()


class CMTTrainer(Trainer):
    """A [`~transformers.Trainer`] that also logs, next to `loss`, the mean of each loss component the model returns
    over the logging window: `text_mlm_loss` / `audio_mlm_loss` in pretraining, `task_loss` / `ortho_loss` in
    fine-tuning (averaged over processes); whose `group_by_length` order is reproducible on resume; and whose
    evaluation keeps the dataset's order, so that predictions line up with the examples."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._component_sums: dict[str, torch.Tensor] = {}
        self._component_steps = 0

    def _get_train_sampler(self, train_dataset=None):
        # one of the two private Trainer hooks we override: swap the sampler for its resumable twin
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
        return sampler

    def _get_eval_sampler(self, eval_dataset):
        # transformers also groups *evaluation* batches by length under `train_sampling_strategy="group_by_length"`,
        # which shuffles `predict()` output against the dataset; keep Trainer's sequential / sharded order instead
        if eval_dataset is None or not hasattr(eval_dataset, "__len__"):
            return None
        return SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        if model.training:
            for name in LOSS_COMPONENTS:
                value = outputs.get(name) if isinstance(outputs, dict) else None
                if value is not None:
                    self._component_sums[name] = self._component_sums.get(name, 0.0) + value.detach().float()
            self._component_steps += 1
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._component_steps:
            for name, total in sorted(self._component_sums.items()):
                mean = self.accelerator.reduce(total / self._component_steps, reduction="mean")
                logs[name] = round(mean.item(), 4)
            self._component_sums, self._component_steps = {}, 0
        super().log(logs, start_time)


def resume_collator(collator, checkpoint: str, gradient_accumulation_steps: int) -> None:
    """Tells a seeded masking collator how many batches the checkpoint consumed, so that a resumed run draws the same
    masks as an uninterrupted one (Trainer restores the global RNGs, but only after it has collated the first batch)."""
    state = TrainerState.load_from_json(os.path.join(checkpoint, TRAINER_STATE_NAME))
    collator.num_batches = state.global_step * gradient_accumulation_steps
