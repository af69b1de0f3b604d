# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Pieces shared by `run_pretraining.py` and `run_finetuning.py`: corpus preprocessing and a Trainer that logs the loss
components CMT models return."""

import logging
import os
import sys

import datasets
import torch
import transformers
from datasets import DatasetDict
from torch.utils.data import SequentialSampler
from transformers import Trainer, TrainerState
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_pt_utils import LengthGroupedSampler


logger = logging.getLogger(__name__)

# The components each CMT head reports next to its loss: L_w and L_a (§3.2.2), L_task and L_ortho (Eq. 8).
LOSS_COMPONENTS = ("text_mlm_loss", "audio_mlm_loss", "task_loss", "ortho_loss")


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


def preprocess_corpus(
    corpus: DatasetDict,
    processor,
    training_args,
    max_audio_seconds: float | None = None,
    keep_columns: tuple[str, ...] = (),
    num_proc: int | None = None,
) -> DatasetDict:
    """Tokenises the transcripts and decodes, resamples and normalises the audio of every split once, unpadded
    (collators pad per batch). Adds a `length` column (audio samples) for `train_sampling_strategy="group_by_length"`.

    Runs on the main process first so that the other processes read the cached result.
    """

    def prepare(batch):
        features = processor(
            text=batch["text"], audio=batch["audio"], padding=False, max_audio_seconds=max_audio_seconds
        )
        return {
            "input_ids": features["input_ids"],
            "input_values": features["input_values"],
            "length": [len(values) for values in features["input_values"]],
        }

    with training_args.main_process_first(desc="preprocessing the corpus"):
        processed = DatasetDict()
        for split, dataset in corpus.items():
            drop = [c for c in dataset.column_names if c not in keep_columns]
            processed[split] = dataset.map(
                prepare, batched=True, batch_size=32, remove_columns=drop, num_proc=num_proc, desc=f"Preparing {split}"
            )
    return processed


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


def describe_run(training_args, num_examples: int) -> str:
    """One line with the effective batch size and the number of updates, for the start-of-run summary."""
    effective = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps
    effective *= training_args.world_size
    return (
        f"{num_examples} training examples, effective batch size {effective} "
        f"({training_args.per_device_train_batch_size} per device x {training_args.gradient_accumulation_steps} "
        f"accumulation x {training_args.world_size} processes), output in {os.path.abspath(training_args.output_dir)}"
    )


def parse_overrides(overrides: str | None) -> dict:
    """'a=1,b=x' -> {"a": 1, "b": "x"} (numbers parsed), as run_mlm's --config_overrides."""
    parsed = {}
    for item in filter(None, (overrides or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--config_overrides item {item!r} is not key=value.")
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        parsed[key.strip()] = value
    return parsed
