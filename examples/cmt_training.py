# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Pieces shared by `run_pretraining.py` and `run_finetuning.py`: logging, the models they train (a new CMT from two
backbones or a CMT checkpoint; the paper's comparison rows as CMT configurations) and a Trainer that logs the loss
components CMT models return."""

import logging
import os
import sys
from functools import partial

import datasets
import numpy as np
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
from torch.utils.data import DataLoader, Sampler, SequentialSampler
from transformers import AutoConfig, Trainer, TrainerCallback, TrainerState
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_pt_utils import LengthGroupedSampler
from transformers.trainer_utils import seed_worker

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
    # cmt_data logs what the length rule dropped
    for name in (__name__, "cmt_data", "processing_cmt", "__main__"):
        logging.getLogger(name).setLevel(log_level)
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
        record_backbone_sources(model.config, None, None)  # random weights: no backbone checkpoint to claim
    else:
        model = CMTForPreTraining.from_text_audio_pretrained(
            model_args.text_model, model_args.audio_model, preset=model_args.preset, **config_kwargs
        )
        record_backbone_sources(model.config, model_args.text_model, model_args.audio_model)
    if codebook is not None:
        model.set_codebook(codebook[0])  # codeword embeddings start from the k-means centroids
    return model, processor


def record_backbone_sources(config: CMTConfig, text_model: str | None, audio_model: str | None) -> None:
    """Records where each backbone's weights came from as its sub-config's `_name_or_path`, which `config.json` keeps
    and the model card reads (`modeling_cmt.model_card.backbone_base_models`): a Hub id as given, a local folder as
    its absolute path (never mistaken for a Hub id), random weights as "" (nothing to claim)."""
    for sub_config, source in ((config.text_config, text_model), (config.audio_config, audio_model)):
        if source is None:
            sub_config._name_or_path = ""
        else:
            sub_config._name_or_path = os.path.abspath(source) if os.path.exists(source) else str(source)


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
        record_backbone_sources(model.config, model_args.text_model, model_args.audio_model)
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


class AudioBudgetBatchSampler(Sampler[list[int]]):
    """
    Length-grouped training batches whose padded audio stays within a budget, so that memory is bounded however long
    the utterances are (none is ever cut). The utterances, longest first, are packed into batches of at most
    `max_batch_size` whose size x longest utterance stays within `max_batch_samples`: batches of long utterances
    hold fewer. The batches are made once, as fairseq's `batch_by_size` makes them; each epoch shuffles their order
    from (seed, epoch), with the batch of the longest utterances first (an out-of-memory error shows at the first
    step, as with transformers' `LengthGroupedSampler`), so a resumed run sees the batches of an uninterrupted one.

    Under accelerate, each process takes every n-th batch (`BatchSamplerShard`); as this sampler has no fixed
    `batch_size`, the last round is completed with the first batches, so every process runs the same number of steps.

    Args:
        lengths (`list[int]`): audio samples of each example.
        max_batch_samples (`int`): most padded audio samples per batch.
        max_batch_size (`int`): most examples per batch.
        seed (`int`): seeds the order of the batches, with the epoch.

    Raises:
        `ValueError`: when one utterance alone is over the budget (it cannot be cut).
    """

    def __init__(self, lengths: list[int], max_batch_samples: int, max_batch_size: int, seed: int):
        lengths = np.asarray(lengths, dtype=np.int64)
        if len(lengths) == 0:
            raise ValueError("AudioBudgetBatchSampler got no examples.")
        order = np.argsort(-lengths, kind="stable")
        if lengths[order[0]] > max_batch_samples:
            raise ValueError(
                f"Example {int(order[0])} has {int(lengths[order[0]])} audio samples, more than a batch may hold "
                f"({max_batch_samples}): raise --max_batch_audio_seconds above its duration, or drop the longest "
                "utterances with --max_audio_seconds."
            )
        self.batches, batch = [], []
        for index in order.tolist():
            # sorted longest first: a batch's first example is its longest
            if batch and (len(batch) == max_batch_size or (len(batch) + 1) * lengths[batch[0]] > max_batch_samples):
                self.batches.append(batch)
                batch = []
            batch.append(index)
        self.batches.append(batch)
        self.lengths, self.max_batch_samples, self.seed, self.epoch = lengths, max_batch_samples, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        rest = (1 + torch.randperm(len(self.batches) - 1, generator=generator)).tolist()
        for position in [0, *rest]:  # batch 0 holds the longest utterance
            yield list(self.batches[position])

    def describe(self, sampling_rate: int) -> str:
        """One line for the log: the batches, their sizes and the padding they carry."""
        sizes = [len(batch) for batch in self.batches]
        padded = sum(len(batch) * self.lengths[batch[0]] for batch in self.batches)
        return (
            f"{len(self.batches):,} length-grouped batches of {min(sizes)}-{max(sizes)} utterances (mean "
            f"{np.mean(sizes):.1f}), each within {self.max_batch_samples / sampling_rate:g} s of padded audio; "
            f"padding {1 - self.lengths.sum() / padded:.1%} of the audio samples."
        )


class SeededSamplerEpoch(TrainerCallback):
    """Sets the epoch of the trainer's seeded sampler as each epoch begins. Trainer's own `set_epoch` call does not
    reach it where accelerate wraps it twice: a multi-process run resumed within an epoch (`SkipBatchSampler` around
    `BatchSamplerShard`), which would then replay epoch 0's order."""

    def __init__(self, trainer: "CMTTrainer"):
        self.trainer = trainer

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self.trainer.seeded_sampler is not None:
            # `state.epoch` is the fraction of epochs done: whole at an epoch's end, restored with the checkpoint
            self.trainer.seeded_sampler.set_epoch(int(state.epoch or 0))


def find_unused_parameters_for_layerdrop(model, args) -> None:
    """LayerDrop (HuBERT-large as published: 0.1) skips whole layers at random, so on some steps a process's layers get
    no gradient. DistributedDataParallel then needs `find_unused_parameters=True`, which Trainer turns off under
    activation checkpointing: the second step fails ("parameters that were not used in producing the loss", seen with
    two processes). Unless the run says otherwise (`--ddp_find_unused_parameters`), a model with LayerDrop gets it on;
    with it explicitly off, a warning."""
    if args is None or getattr(model, "config", None) is None:  # not a transformers model: no backbones to check
        return
    dropping = {
        name: config.layerdrop
        for name in ("text", "audio")
        if (config := getattr(model.config, f"{name}_config", None)) is not None
        and getattr(config, "layerdrop", 0) > 0
    }
    if not dropping:
        return
    described = ", ".join(f"the {name} backbone's layerdrop={value:g}" for name, value in dropping.items())
    if args.ddp_find_unused_parameters is None:
        args.ddp_find_unused_parameters = True
        if args.world_size > 1:
            logger.info("DDP with find_unused_parameters=True: %s skips layers at random.", described)
    elif not args.ddp_find_unused_parameters and args.world_size > 1:
        logger.warning(
            "--ddp_find_unused_parameters false with %s: a step on which a process drops a layer fails in "
            "DistributedDataParallel: set it true.",
            described,
        )


class CMTTrainer(Trainer):
    """A [`~transformers.Trainer`] that also logs, next to `loss`, the mean of each loss component the model returns
    over the logging window: `text_mlm_loss` / `audio_mlm_loss` in pretraining, `task_loss` / `ortho_loss` in
    fine-tuning (averaged over processes); whose `group_by_length` order is reproducible on resume; whose training
    batches, with `max_batch_audio_seconds`, hold a bounded amount of padded audio ([`AudioBudgetBatchSampler`]);
    and whose evaluation keeps the dataset's order, so that predictions line up with the examples.

    Args:
        max_batch_audio_seconds (`float`, *optional*):
            Most padded audio per device batch, in seconds at the processor's `sampling_rate`; the batches then hold
            at most `per_device_train_batch_size` utterances, fewer when they are long.
        args, kwargs: as for [`~transformers.Trainer`].
    """

    def __init__(self, *args, max_batch_audio_seconds: float | None = None, **kwargs):
        find_unused_parameters_for_layerdrop(kwargs.get("model"), kwargs.get("args"))
        super().__init__(*args, **kwargs)
        if max_batch_audio_seconds is not None and not 0 < max_batch_audio_seconds < float("inf"):
            raise ValueError(
                f"--max_batch_audio_seconds must be a positive, finite number of seconds, got {max_batch_audio_seconds!r}"
                " (leave it unset for batches of --per_device_train_batch_size utterances)."
            )
        self.max_batch_audio_seconds = max_batch_audio_seconds
        self.seeded_sampler: EpochSeededLengthGroupedSampler | AudioBudgetBatchSampler | None = None
        self.add_callback(SeededSamplerEpoch(self))
        self._component_sums: dict[str, torch.Tensor] = {}
        self._component_steps = 0

    def _data_seed(self) -> int:
        return self.args.data_seed if self.args.data_seed is not None else self.args.seed

    def _stored_lengths(self, dataset) -> list[int] | None:
        # read as stored: through the dataset's transform (`AudioDecoding`) the column would decode every example
        name = self.args.length_column_name
        if not isinstance(dataset, datasets.Dataset) or name not in dataset.column_names:
            return None
        return dataset.with_format(None)[name][:]

    def get_train_dataloader(self) -> DataLoader:
        if self.max_batch_audio_seconds is None:
            return super().get_train_dataloader()
        lengths = self._stored_lengths(self.train_dataset)
        if lengths is None:
            raise ValueError(
                f"--max_batch_audio_seconds needs the training set's `{self.args.length_column_name}` column (audio "
                "samples per example, as `preprocess_corpus` writes it)."
            )
        sampling_rate = self.processing_class.sampling_rate
        scale = max(1, self.args.n_gpu)  # one process driving several GPUs (DataParallel) batches for all of them
        batch_sampler = AudioBudgetBatchSampler(
            lengths,
            max_batch_samples=int(self.max_batch_audio_seconds * sampling_rate * scale),
            max_batch_size=self.args.train_batch_size,
            seed=self._data_seed(),
        )
        logger.info(f"Training batches: {batch_sampler.describe(sampling_rate)}")
        self.seeded_sampler = batch_sampler
        # Trainer's own DataLoader settings, with the batch sampler in place of batch_size + sampler
        dataloader = DataLoader(
            self.train_dataset,
            batch_sampler=batch_sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory,
            persistent_workers=self.args.dataloader_persistent_workers,
            multiprocessing_context=self.args.dataloader_multiprocessing_context,
            prefetch_factor=self.args.dataloader_prefetch_factor,
            in_order=self.args.dataloader_in_order,
            worker_init_fn=partial(
                seed_worker, num_workers=self.args.dataloader_num_workers, rank=self.args.process_index
            ),
        )
        return self.accelerator.prepare(dataloader)

    def _get_train_sampler(self, train_dataset=None):
        # one of the two private Trainer hooks we override: a resumable length-grouped order, whose lengths are read
        # from the stored column (Trainer's own read goes through the decoding transform)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        lengths = self._stored_lengths(dataset)
        if self.args.train_sampling_strategy == "group_by_length" and lengths is not None:
            batch_size = self.args.train_batch_size * self.args.gradient_accumulation_steps
            self.seeded_sampler = EpochSeededLengthGroupedSampler(batch_size, lengths, self._data_seed())
            return self.seeded_sampler
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler:
            self.seeded_sampler = EpochSeededLengthGroupedSampler(
                sampler.batch_size, sampler.lengths, self._data_seed()
            )
            return self.seeded_sampler
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
