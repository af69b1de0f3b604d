# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Cross-modal masked pretraining of CMT (§3.2.2, §4.2.1) and task-adaptive pretraining (TAPT, §3.3).

Pretraining on LibriSpeech 960 h from two pretrained backbones, the paper's setup:

    accelerate launch examples/run_pretraining.py \
        --text_model FacebookAI/roberta-large --audio_model facebook/hubert-large-ll60k --preset cmt-base \
        --librispeech_root /data/LibriSpeech --codebook codebook.safetensors \
        --output_dir runs/cmt-base-pt --per_device_train_batch_size 16 --gradient_accumulation_steps 2 --bf16

(8 GPUs x 16 x 2 = the paper's effective batch of 256; build the codebook first with `examples/build_codebook.py`.)

TAPT continues from that checkpoint on the downstream task's own audio + transcripts, labels dropped:

    accelerate launch examples/run_pretraining.py --stage tapt --model_name_or_path runs/cmt-base-pt \
        --iemocap_root /data/IEMOCAP_full_release --fold 1 --codebook codebook.safetensors \
        --codebook_model facebook/hubert-large-ll60k --output_dir runs/cmt-base-tapt-fold1 --max_steps 5000

Multi-GPU and multi-node runs use the same command through `accelerate config` (DeepSpeed ZeRO and FSDP included).
"""

import logging
import os
import sys
from dataclasses import dataclass, field

from datasets import DatasetDict
from transformers import AutoConfig, HfArgumentParser, TrainingArguments, set_seed


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a source checkout, uninstalled

from cmt_training import (  # noqa: E402
    CMTTrainer,
    describe_run,
    parse_overrides,
    preprocess_corpus,
    resume_collator,
    setup_logging,
)

import modeling_cmt  # noqa: E402, F401  (registers CMT with the Auto classes)
from modeling_cmt import CMTConfig, CMTForPreTraining  # noqa: E402
from processing_cmt import (  # noqa: E402
    CMTProcessor,
    DataCollatorForCMTPretraining,
    load_iemocap,
    load_librispeech,
    load_mosei_mmsa,
    load_speech_text_corpus,
)
from processing_cmt.codebook import label_audio_codes, load_codebook  # noqa: E402


logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
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
            "help": "Audio model whose features the codebook was fitted on (labels the frames). Defaults to "
            "--audio_model, or the checkpoint's own audio backbone."
        },
    )


@dataclass
class DataArguments:
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
    max_audio_seconds: float | None = field(default=15.0, metadata={"help": "Truncate longer utterances."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only this many training examples."})
    preprocessing_num_workers: int | None = field(default=None, metadata={"help": "Processes for preprocessing."})


def load_corpus(data_args: DataArguments, stage: str):
    """The unlabelled audio + transcript corpus: LibriSpeech or any corpus for pretraining, the task's data for TAPT."""
    if stage == "tapt":
        if data_args.iemocap_root:
            if data_args.fold is None:
                raise ValueError("TAPT on IEMOCAP needs --fold (1-5): its test session must stay unseen.")
            corpus = load_iemocap(data_args.iemocap_root, fold=data_args.fold)
            return corpus.remove_columns("label")
        if data_args.mosei_mmsa_root:
            corpus = load_mosei_mmsa(data_args.mosei_mmsa_root)  # its test split stays unseen
            return DatasetDict({split: corpus[split].remove_columns("score") for split in ("train", "validation")})
    if data_args.librispeech_root:
        subsets = None
        if data_args.librispeech_subsets:
            subsets = {"train": data_args.librispeech_subsets}
        return load_librispeech(data_args.librispeech_root, subsets, normalize_text=data_args.normalize_text)
    if data_args.corpus:
        return load_speech_text_corpus(
            data_args.corpus,
            audio_column=data_args.audio_column,
            text_column=data_args.text_column,
            normalize_text=data_args.normalize_text,
        )
    raise ValueError(
        "No corpus: pass --librispeech_root or --corpus"
        + (", or --iemocap_root with --fold / --mosei_mmsa_root for TAPT." if stage == "tapt" else ".")
    )


def build_model_and_processor(model_args: ModelArguments, codebook) -> tuple[CMTForPreTraining, CMTProcessor]:
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


def attach_codes(corpus, model: CMTForPreTraining, model_args: ModelArguments, codebook, max_audio_seconds):
    """Labels every frame with its codeword id, unless the corpus already has an `audio_codes` column."""
    if all("audio_codes" in split.column_names for split in corpus.values()):
        return corpus
    if codebook is None:
        raise ValueError("The corpus has no `audio_codes` column: pass --codebook (see examples/build_codebook.py).")
    if codebook[0].shape != model.codebook.shape:
        raise ValueError(
            f"Codebook {model_args.codebook} has shape {tuple(codebook[0].shape)} but the model expects "
            f"(num_codewords, codeword_dim) = {tuple(model.codebook.shape)}."
        )
    labeller = model_args.codebook_model or model_args.audio_model or model.cmt.audio_model
    for split in list(corpus):
        corpus[split] = label_audio_codes(corpus[split], labeller, codebook, max_audio_seconds=max_audio_seconds)
    return corpus


def main():
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    # The paper's pretraining recipe (§4.2.1): AdamW, lr 5e-5 with linear decay, 100k updates.
    parser.set_defaults(
        learning_rate=5e-5,
        lr_scheduler_type="linear",
        optim="adamw_torch",
        max_steps=100_000,
        train_sampling_strategy="group_by_length",
        remove_unused_columns=False,
        logging_steps=50,
        save_steps=5_000,
    )
    if len(sys.argv) == 2 and sys.argv[1].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(os.path.abspath(sys.argv[1]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses()

    # 1. logging and seed
    setup_logging(training_args)
    logger.info(f"Stage {model_args.stage}; training arguments {training_args}")
    set_seed(training_args.seed)

    # 2. model and processor
    codebook = load_codebook(model_args.codebook) if model_args.codebook else None
    model, processor = build_model_and_processor(model_args, codebook)

    # 3. corpus: read, tokenise + normalise audio once, label frames with codewords
    corpus = load_corpus(data_args, model_args.stage)
    if data_args.max_train_samples is not None:
        corpus["train"] = corpus["train"].select(range(min(data_args.max_train_samples, len(corpus["train"]))))
    keep = ("audio_codes",)
    corpus = preprocess_corpus(
        corpus, processor, training_args, data_args.max_audio_seconds, keep, data_args.preprocessing_num_workers
    )
    with training_args.main_process_first(desc="labelling frames with codewords"):
        corpus = attach_codes(corpus, model, model_args, codebook, data_args.max_audio_seconds)

    # 4. collator: RoBERTa text masking + HuBERT-style span masking, seeded per batch so that a resumed run draws
    #    the same masks as an uninterrupted one
    config = model.config
    collator = DataCollatorForCMTPretraining(
        tokenizer=processor.tokenizer,
        audio_config=config.audio_config,
        mlm_probability=config.mlm_probability,
        mask_time_prob=config.mask_time_prob,
        mask_time_length=config.mask_time_length,
        mask_time_min_masks=config.mask_time_min_masks,
        num_codewords=config.num_codewords,
        seed=training_args.seed + training_args.process_index,
    )

    # 5. train
    trainer = CMTTrainer(
        model=model,
        args=training_args,
        train_dataset=corpus["train"],
        eval_dataset=corpus.get("validation") if training_args.eval_strategy != "no" else None,
        data_collator=collator,
        processing_class=processor,
    )
    logger.info(describe_run(training_args, len(corpus["train"])))
    if training_args.resume_from_checkpoint:
        resume_collator(collator, training_args.resume_from_checkpoint, training_args.gradient_accumulation_steps)
    result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    if trainer.is_world_process_zero():
        processor.save_pretrained(training_args.output_dir)
    last = next((log for log in reversed(trainer.state.log_history) if "loss" in log), {})
    components = ", ".join(f"{k} {last[k]:.4f}" for k in ("audio_mlm_loss", "text_mlm_loss") if k in last)
    print(
        f"Done: {model_args.stage} for {trainer.state.global_step} steps, mean train loss {result.training_loss:.4f}, "
        f"last logged {components or 'n/a'}; model and processor in {os.path.abspath(training_args.output_dir)}"
    )


if __name__ == "__main__":
    main()
