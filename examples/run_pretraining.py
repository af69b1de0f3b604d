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
        --output_dir runs/cmt-base-tapt-fold1 --max_steps 5000

Its frames are labelled by the audio model the codebook records (here facebook/hubert-large-ll60k, as published), not
by the checkpoint's backbone that pretraining updated, so that the targets stay the pretraining's; pass
--codebook_model where that model lives if its recorded path or Hub id is out of reach.

Multi-GPU and multi-node runs use the same command through `accelerate config` (DeepSpeed ZeRO and FSDP included).

An `--output_dir` that holds a run (checkpoints, model files, results) is refused, not replaced: continue it with
`--resume_from_checkpoint <output_dir>/checkpoint-N`, or replace it with `--overwrite_output_dir`.
"""

import logging
import os
import sys

from transformers import set_seed


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a source checkout, uninstalled

from cmt_arguments import check_output_dir, parse_pretraining_arguments  # noqa: E402
from cmt_data import (  # noqa: E402
    attach_codes,
    load_pretraining_corpus,
    main_process_first,
    preprocess_corpus,
    with_audio_decoding,
)
from cmt_reporting import (  # noqa: E402
    corpus_on_card,
    describe_run,
    model_provenance,
    pretraining_card_variant,
    pretraining_summary,
    write_pretraining_card,
)
from cmt_training import CMTTrainer, build_pretraining_model, resume_collator, setup_logging  # noqa: E402

from modeling_cmt.model_card import create_model_card  # noqa: E402
from processing_cmt import DataCollatorForCMTPretraining, load_codebook  # noqa: E402


logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    model_args, data_args, training_args = parse_pretraining_arguments(argv)

    # 1. logging, an --output_dir that holds a run refused (unless resumed or --overwrite_output_dir), seed
    setup_logging(training_args)
    check_output_dir(training_args)
    logger.info(f"Stage {model_args.stage}; training arguments {training_args}")
    set_seed(training_args.seed)

    # 2. model and processor
    codebook = load_codebook(model_args.codebook) if model_args.codebook else None
    model, processor = build_pretraining_model(model_args, codebook)
    create_model_card(pretraining_card_variant(model.config))  # its template, checked before training, not after

    # 3. corpus: read, tokenise, lengths from the file headers (long training utterances dropped whole, never cut),
    #    label every frame with its codeword; the audio is decoded as batches are read
    corpus = load_pretraining_corpus(data_args, model_args.stage)
    corpus = preprocess_corpus(corpus, processor, training_args, data_args, keep_columns=("audio_codes",))
    with main_process_first(training_args, "labelling frames with codewords"):
        corpus = attach_codes(
            corpus, model, model_args, codebook, None, processor.feature_extractor, training_args.device
        )
    corpus = with_audio_decoding(corpus, processor)

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
        max_batch_audio_seconds=data_args.max_batch_audio_seconds,
    )
    logger.info(describe_run(training_args, len(corpus["train"])))
    if training_args.resume_from_checkpoint:
        resume_collator(collator, training_args.resume_from_checkpoint, training_args.gradient_accumulation_steps)
    result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)

    # 6. save the model, its processor and the run's metrics; the summary line
    trainer.save_model()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    trainer.save_state()
    if trainer.is_world_process_zero():
        processor.save_pretrained(training_args.output_dir)
        # the card names the backbones and data (and a continued checkpoint's lineage) for what is trained from it
        corpus_name = corpus_on_card(data_args, model_args.stage)
        provenance = model_provenance(model.config, model_args.model_name_or_path, corpus_name)
        write_pretraining_card(
            training_args.output_dir, model_args.stage, provenance, model.config, training_args, trainer
        )
    print(pretraining_summary(model_args.stage, trainer, result, training_args.output_dir))


if __name__ == "__main__":
    main()
